package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshperf/meshperf/internal/design"
	"github.com/meshperf/meshperf/internal/design/lifecycle"
	"github.com/meshperf/meshperf/kube"
)

// designKubeFlags are the flags of the commands that touch the cluster.
type designKubeFlags struct {
	cfg       kube.Config
	revision  int
	namespace string
	inject    string
	timeout   time.Duration
	noWait    bool
}

func (f *designKubeFlags) register(cmd *cobra.Command, verb string) {
	fl := cmd.Flags()
	fl.StringVar(&f.cfg.Kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG, else ~/.kube/config, else the pod's service account)")
	fl.StringVar(&f.cfg.Context, "context", "", "kubeconfig context (default its current-context)")
	fl.DurationVar(&f.cfg.Timeout, "request-timeout", 30*time.Second, "limit on each request to the API server")
	fl.IntVar(&f.revision, "revision", 0, "a past revision of the design (default: the latest)")
	fl.StringVarP(&f.namespace, "namespace", "n", "", "namespace of resources that name none (default: the design's, else the kubeconfig's)")
	fl.StringVar(&f.inject, "inject", "", "turn on this mesh's sidecar injection for the design (istio, linkerd, kuma, ...): its namespace label or annotation, or its pod annotation")
	if verb == "apply" || verb == "delete" {
		what := "ready"
		if verb == "delete" {
			what = "removed"
		}
		fl.DurationVar(&f.timeout, "timeout", 5*time.Minute, "how long to wait for everything to be "+what)
		fl.BoolVar(&f.noWait, "no-wait", false, "do not wait until everything is "+what)
	}
}

func (f *designKubeFlags) options(w func(string)) lifecycle.Options {
	return lifecycle.Options{Namespace: f.namespace, Inject: f.inject, Progress: func(e lifecycle.Event) { w(e.String()) }}
}

var designVerbs = map[string]string{
	"validate": "Check a design against the cluster with a server-side dry run (errors name the resource and field)",
	"diff":     "Show how the cluster's objects differ from the design's",
	"apply":    "Put a design on the cluster (server-side apply), then wait until it is ready",
	"delete":   "Take a design off the cluster in reverse dependency order, then wait until it is gone",
}

func newDesignClusterCmd(stdio IO, g *globalOptions, verb string) *cobra.Command {
	var f designKubeFlags
	cmd := &cobra.Command{
		Use:   verb + " NAME",
		Short: designVerbs[verb],
		Args:  exactArgs(1, "design "+verb+" needs the design's name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.timeout < 0 {
				return usageErrorf("--timeout %s: want 0 or more", f.timeout)
			}
			return designOnCluster(cmd.Context(), stdio, g, args[0], verb, f)
		},
	}
	f.register(cmd, verb)
	return cmd
}

// designOnCluster reads the stored design ref (f.revision, 0 for the
// latest) and runs verb with it on the cluster f names.
func designOnCluster(ctx context.Context, stdio IO, g *globalOptions, ref, verb string, f designKubeFlags) error {
	_, d, err := g.readDesign(ctx, ref, f.revision)
	if err != nil {
		return err
	}
	c, err := lifecycle.Connect(f.cfg)
	if err != nil {
		return err
	}
	return runDesignVerb(ctx, stdio, c, d, verb, f)
}

func runDesignVerb(ctx context.Context, stdio IO, c *lifecycle.Client, d *design.Design, verb string, f designKubeFlags) error {
	progress := func(s string) { fmt.Fprintln(stdio.Err, s) }
	o := f.options(progress)
	switch verb {
	case "validate":
		o.Progress = nil
		res, err := c.Validate(ctx, d, o)
		if err != nil {
			return err
		}
		for _, r := range res.Checked {
			fmt.Fprintf(stdio.Out, "%s valid\n", r)
		}
		for _, p := range res.Unchecked {
			fmt.Fprintf(stdio.Out, "%s not checked: %v\n", p.Ref, p.Err)
		}
		if len(res.Problems) > 0 {
			var errs []error
			for _, p := range res.Problems {
				errs = append(errs, p.Err)
			}
			return fmt.Errorf("design %s: %d of %d resources refused by %s:\n%w", d.Name, len(res.Problems), len(d.Resources), c.Host(), errors.Join(errs...))
		}
		fmt.Fprintf(stdio.Out, "design %s: %d resources valid on %s, %d not checked\n", d.Name, len(res.Checked), c.Host(), len(res.Unchecked))
		return nil
	case "diff":
		diffs, err := c.Diff(ctx, d, o)
		if err != nil {
			return err
		}
		counts := map[string]int{}
		for _, df := range diffs {
			counts[df.State]++
			if df.State != "same" {
				fmt.Fprint(stdio.Out, df.Text)
			}
		}
		if counts["new"]+counts["changed"] == 0 {
			fmt.Fprintf(stdio.Out, "design %s: no changes (%d objects as in the cluster)\n", d.Name, counts["same"])
		} else {
			fmt.Fprintf(stdio.Out, "design %s: %d new, %d changed, %d unchanged\n", d.Name, counts["new"], counts["changed"], counts["same"])
		}
		return nil
	case "apply":
		o.Progress = nil
		return changeAndWait(stdio, d, f, "ready", func() ([]lifecycle.Change, error) { return c.Apply(ctx, d, o) },
			func(o lifecycle.Options) ([]lifecycle.State, error) { return c.Wait(ctx, d, o, f.timeout) })
	case "delete":
		o.Progress = nil
		return changeAndWait(stdio, d, f, "removed", func() ([]lifecycle.Change, error) { return c.Delete(ctx, d, o) },
			func(o lifecycle.Options) ([]lifecycle.State, error) { return c.WaitGone(ctx, d, o, f.timeout) })
	}
	return fmt.Errorf("unknown verb %s", verb)
}

// changeAndWait applies or deletes (change), prints what changed, then,
// unless f.noWait, waits until everything is what (ready, removed) with
// progress on stderr, and prints the summary.
func changeAndWait(stdio IO, d *design.Design, f designKubeFlags, what string,
	change func() ([]lifecycle.Change, error), wait func(lifecycle.Options) ([]lifecycle.State, error)) error {
	verb := map[string]string{"ready": "apply", "removed": "delete"}[what]
	changes, err := change()
	for _, ch := range changes {
		if ch.Err == nil {
			fmt.Fprintf(stdio.Out, "%s %s\n", ch.Ref, ch.Action)
		}
	}
	if err != nil {
		return fmt.Errorf("design %s: %s: %w", d.Name, verb, err)
	}
	if f.noWait {
		return nil
	}
	o := f.options(nil)
	o.Progress = func(e lifecycle.Event) {
		if e.Ref == "" {
			fmt.Fprintln(stdio.Err, e.String())
		}
	}
	states, err := wait(o)
	return readySummary(stdio, d, states, err, what)
}

// readySummary prints each object's state at the end of a wait and
// turns a timeout into the error the exit status comes from.
func readySummary(stdio IO, d *design.Design, states []lifecycle.State, err error, what string) error {
	n := 0
	var not []string
	for _, s := range states {
		if s.Ready {
			n++
			continue
		}
		not = append(not, fmt.Sprintf("  %s: %s", s.Ref, s.Detail))
	}
	fmt.Fprintf(stdio.Out, "%d of %d %s\n", n, len(states), what)
	if len(not) > 0 {
		fmt.Fprintf(stdio.Out, "not %s:\n%s\n", what, strings.Join(not, "\n"))
	}
	if errors.Is(err, lifecycle.ErrNotReady) {
		return fmt.Errorf("design %s: %d of %d objects not %s by the timeout", d.Name, len(not), len(states), what)
	}
	return err
}
