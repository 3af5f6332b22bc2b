package lifecycle

import (
	"context"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/meshperf/meshperf/internal/design"
)

// Diff is how one object of the design differs from the cluster's.
type Diff struct {
	Ref string
	// State is "new" (not in the cluster), "changed" or "same".
	State string
	// Text is a unified diff of the live object (---) against what it
	// would be after an apply (+++), both as YAML without the fields the
	// server keeps for itself.
	Text string
}

// Diff compares each resource with the live object, as the server would
// make it: the live object against a dry-run apply of the design's.
func (c *Client) Diff(ctx context.Context, d *design.Design, o Options) ([]Diff, error) {
	ns := c.namespace(d, o)
	rs, _, err := c.prepare(d, o)
	if err != nil {
		return nil, err
	}
	ts, later, err := c.targets(ctx, rs, ns)
	if err != nil {
		return nil, err
	}
	var out []Diff
	for _, t := range ts {
		live, err := c.get(ctx, t.m, t.ns, t.r.Name())
		if err != nil {
			return out, c.explain(err, "get "+t.ref())
		}
		var after map[string]any
		if live == nil {
			after = t.r.Object
		} else if after, err = c.apply(ctx, t.m, t.ns, t.r.Name(), t.r.Object, true); err != nil {
			return out, c.explain(err, "dry-run apply "+t.ref())
		}
		a, err := cleanYAML(live)
		if err != nil {
			return out, err
		}
		b, err := cleanYAML(after)
		if err != nil {
			return out, err
		}
		df := Diff{Ref: t.ref(), State: "same"}
		switch {
		case live == nil:
			df.State = "new"
			df.Text = unified("/dev/null", t.ref(), "", b)
		case a != b:
			df.State = "changed"
			df.Text = unified("live "+t.ref(), "design "+t.ref(), a, b)
		}
		out = append(out, df)
	}
	for _, r := range later {
		b, err := cleanYAML(r.Object)
		if err != nil {
			return out, err
		}
		out = append(out, Diff{Ref: r.Ref(), State: "new", Text: unified("/dev/null", r.Ref(), "", b)})
	}
	return out, nil
}

// cleanYAML is obj as YAML without what the server alone writes.
func cleanYAML(obj map[string]any) (string, error) {
	if obj == nil {
		return "", nil
	}
	o := design.Resource{Object: obj}.Copy().Object
	delete(o, "status")
	if md, ok := o["metadata"].(map[string]any); ok {
		for _, k := range []string{"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink"} {
			delete(md, k)
		}
		if an, ok := md["annotations"].(map[string]any); ok {
			delete(an, "deployment.kubernetes.io/revision")
			delete(an, "kubectl.kubernetes.io/last-applied-configuration")
			if len(an) == 0 {
				delete(md, "annotations")
			}
		}
	}
	b, err := yaml.Marshal(o)
	if err != nil {
		return "", fmt.Errorf("encode %v: %w", design.Get(o, "metadata", "name"), err)
	}
	return string(b), nil
}

// maxDiffCells bounds the line comparison (lines of a × lines of b);
// past it the whole of a is shown replaced by the whole of b.
const maxDiffCells = 4 << 20

// unified returns a unified diff of a and b with three lines of context.
func unified(nameA, nameB, a, b string) string {
	la, lb := lines(a), lines(b)
	ops := diffLines(la, lb)
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", nameA, nameB)
	const ctx = 3
	// Group the ops into hunks around changes.
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		start := max(0, i-ctx)
		end := i
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run-end > 2*ctx || run == len(ops) {
				end = min(len(ops), end+ctx)
				break
			}
			end = run
		}
		aStart, bStart, aN, bN := 0, 0, 0, 0
		for _, op := range ops[:start] {
			if op.kind != '+' {
				aStart++
			}
			if op.kind != '-' {
				bStart++
			}
		}
		for _, op := range ops[start:end] {
			if op.kind != '+' {
				aN++
			}
			if op.kind != '-' {
				bN++
			}
		}
		fmt.Fprintf(&out, "@@ -%d,%d +%d,%d @@\n", aStart+1, aN, bStart+1, bN)
		for _, op := range ops[start:end] {
			fmt.Fprintf(&out, "%c%s\n", op.kind, op.line)
		}
		i = end
	}
	return out.String()
}

type op struct {
	kind byte // ' ', '-', '+'
	line string
}

func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// diffLines is a longest-common-subsequence line diff.
func diffLines(a, b []string) []op {
	if len(a)*len(b) > maxDiffCells {
		var out []op
		for _, l := range a {
			out = append(out, op{'-', l})
		}
		for _, l := range b {
			out = append(out, op{'+', l})
		}
		return out
	}
	n, m := len(a), len(b)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []op
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			out = append(out, op{' ', a[i]})
			i, j = i+1, j+1
		case lcs[i+1][j] >= lcs[i][j+1]:
			out = append(out, op{'-', a[i]})
			i++
		default:
			out = append(out, op{'+', b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		out = append(out, op{'-', a[i]})
	}
	for ; j < m; j++ {
		out = append(out, op{'+', b[j]})
	}
	return out
}
