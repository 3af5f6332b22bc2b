package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/meshperf/meshperf/internal/cluster"
	"github.com/meshperf/meshperf/internal/design"
)

// Options say where and how a design is put on the cluster.
type Options struct {
	// Namespace is where namespaced resources that name none go: this,
	// else the design's, else the kubeconfig context's.
	Namespace string
	// Inject names a mesh (internal/cluster's Rules) whose injection is
	// turned on: its namespace marker on the namespace, or its pod marker
	// on the design's pod templates when it has no namespace marker.
	Inject string
	// Progress, if set, is told each step as it happens.
	Progress func(Event)
}

// Event is one step of a lifecycle operation.
type Event struct {
	Ref    string // deployment.apps/shop/web, or "" for a summary
	Action string // validated, created, configured, unchanged, deleted, ready, waiting...
	Detail string
}

func (e Event) String() string {
	s := e.Ref
	if s != "" {
		s += " "
	}
	s += e.Action
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Change is what apply or delete did to one object.
type Change struct {
	Ref    string
	Action string // created, configured, unchanged, deleted, gone
	Err    error
}

func (o Options) progress(ref, action, detail string) {
	if o.Progress != nil {
		o.Progress(Event{Ref: ref, Action: action, Detail: detail})
	}
}

// target is one resource ready to send: the object as it will be
// applied, where it is served, and its namespace.
type target struct {
	r  design.Resource
	m  mapping
	ns string
}

func (t target) ref() string {
	k := strings.ToLower(t.r.Kind())
	if g := t.r.Group(); g != "" {
		k += "." + g
	}
	if t.m.namespaced {
		return k + "/" + t.ns + "/" + t.r.Name()
	}
	return k + "/" + t.r.Name()
}

func (c *Client) namespace(d *design.Design, o Options) string {
	switch {
	case o.Namespace != "":
		return o.Namespace
	case d.Namespace != "":
		return d.Namespace
	case c.Namespace != "":
		return c.Namespace
	}
	return "default"
}

// prepare returns the design's resources as they are applied, in apply
// order: labelled with the design's name, the namespace filled in, pod
// markers of an injection added.
func (c *Client) prepare(d *design.Design, o Options) ([]design.Resource, *cluster.Rule, error) {
	var rule *cluster.Rule
	if o.Inject != "" {
		for i := range cluster.Rules {
			if cluster.Rules[i].Mesh == o.Inject {
				rule = &cluster.Rules[i]
			}
		}
		if rule == nil {
			var names []string
			for _, r := range cluster.Rules {
				if len(r.Injection) > 0 {
					names = append(names, r.Mesh)
				}
			}
			return nil, nil, fmt.Errorf("--inject %s: not a mesh meshperf knows (one of %s)", o.Inject, strings.Join(names, ", "))
		}
		if len(rule.Injection) == 0 {
			return nil, nil, fmt.Errorf("--inject %s: %s has no injection marker (it is not a sidecar mesh)", o.Inject, rule.Name)
		}
	}
	var out []design.Resource
	for _, r := range design.ApplyOrder(d.Resources) {
		r = r.Copy()
		labels, _ := design.Get(r.Object, "metadata", "labels").(map[string]any)
		if labels == nil {
			labels = map[string]any{}
		}
		labels[LabelDesign] = d.Name
		design.Set(r.Object, labels, "metadata", "labels")
		if rule != nil && namespaceMarker(rule) == nil {
			if t, ok := design.PodTemplate(r.Object); ok {
				for _, m := range rule.Injection {
					if m.Pod {
						setMarker(t, m)
						break
					}
				}
			}
		}
		out = append(out, r)
	}
	return out, rule, nil
}

func namespaceMarker(rule *cluster.Rule) *cluster.Marker {
	for i, m := range rule.Injection {
		if !m.Pod {
			return &rule.Injection[i]
		}
	}
	return nil
}

func setMarker(obj map[string]any, m cluster.Marker) {
	field := "labels"
	if m.Annotation {
		field = "annotations"
	}
	v := m.Value
	if v == "" {
		v = "default" // a marker that takes any value (istio.io/rev)
	}
	cur, _ := design.Get(obj, "metadata", field).(map[string]any)
	if cur == nil {
		cur = map[string]any{}
	}
	cur[m.Key] = v
	design.Set(obj, cur, "metadata", field)
}

// targets resolves each prepared resource. Kinds the cluster does not
// serve yet whose CRD is in the design are returned in later, to be
// resolved after the CRDs are applied.
func (c *Client) targets(ctx context.Context, rs []design.Resource, ns string) ([]target, []design.Resource, error) {
	defined := map[string]bool{} // group/kind the design's CRDs define
	for _, r := range rs {
		if r.Kind() == "CustomResourceDefinition" {
			g, _ := design.Get(r.Object, "spec", "group").(string)
			k, _ := design.Get(r.Object, "spec", "names", "kind").(string)
			defined[g+"/"+k] = true
		}
	}
	var ts []target
	var later []design.Resource
	var errs []error
	for _, r := range rs {
		m, err := c.resolve(ctx, r)
		switch {
		case errors.Is(err, ErrNotServed) && defined[r.Group()+"/"+r.Kind()]:
			later = append(later, r)
			continue
		case err != nil:
			errs = append(errs, err)
			continue
		}
		t := target{r: r, m: m}
		if m.namespaced {
			t.ns = r.Namespace()
			if t.ns == "" {
				t.ns = ns
				design.Set(r.Object, ns, "metadata", "namespace")
			}
		} else if r.Namespace() != "" {
			delete(r.Object["metadata"].(map[string]any), "namespace")
		}
		ts = append(ts, t)
	}
	return ts, later, errors.Join(errs...)
}

// Problem is a resource the server refused.
type Problem struct {
	Ref string
	Err error
}

// ValidateResult is what a validation found.
type ValidateResult struct {
	Checked  []string
	Problems []Problem
	// Unchecked are resources the server could not check yet, with why:
	// their namespace or their CRD does not exist before an apply.
	Unchecked []Problem
}

// Validate asks the API server to check every resource as it would be
// applied (server-side apply with dryRun=All), without changing anything.
// A refusal is the server's message, which names the resource and field.
func (c *Client) Validate(ctx context.Context, d *design.Design, o Options) (*ValidateResult, error) {
	ns := c.namespace(d, o)
	rs, _, err := c.prepare(d, o)
	if err != nil {
		return nil, err
	}
	ts, later, err := c.targets(ctx, rs, ns)
	res := &ValidateResult{}
	if err != nil {
		return nil, err
	}
	for _, r := range later {
		res.Unchecked = append(res.Unchecked, Problem{Ref: r.Ref(), Err: fmt.Errorf("its kind is defined by a CRD of this design, not installed yet")})
	}
	created := map[string]bool{} // namespaces the design itself creates
	for _, t := range ts {
		if t.r.Kind() == "Namespace" && t.r.Group() == "" {
			created[t.r.Name()] = true
		}
	}
	exists := map[string]bool{}
	nsMapping := mapping{prefix: "/api/v1", plural: "namespaces"}
	for _, t := range ts {
		if t.m.namespaced {
			ok, seen := exists[t.ns]
			if !seen {
				live, err := c.get(ctx, nsMapping, "", t.ns)
				ok = err != nil || live != nil // not allowed to read it: let the dry run say
				exists[t.ns] = ok
			}
			if !ok {
				why := "namespace " + t.ns + " does not exist yet (apply creates it)"
				if created[t.ns] {
					why = "namespace " + t.ns + " is created by this design"
				}
				res.Unchecked = append(res.Unchecked, Problem{Ref: t.ref(), Err: errors.New(why)})
				o.progress(t.ref(), "not checked", why)
				continue
			}
		}
		_, err := c.apply(ctx, t.m, t.ns, t.r.Name(), t.r.Object, true)
		if err != nil {
			e := c.explain(err, t.ref())
			if isTransport(e) {
				return res, e
			}
			res.Problems = append(res.Problems, Problem{Ref: t.ref(), Err: e})
			o.progress(t.ref(), "invalid", message(err))
			continue
		}
		res.Checked = append(res.Checked, t.ref())
		o.progress(t.ref(), "valid", "")
	}
	return res, nil
}

func isTransport(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "unreachable")
}

// Apply server-side applies the design's resources in dependency order,
// creating its namespace when missing and marking it for injection when
// asked. CRDs the design holds are waited for (Established) before the
// custom resources they define. It goes on past a refused resource and
// returns every refusal; applying again after an interruption converges.
func (c *Client) Apply(ctx context.Context, d *design.Design, o Options) ([]Change, error) {
	ns := c.namespace(d, o)
	rs, rule, err := c.prepare(d, o)
	if err != nil {
		return nil, err
	}
	var changes []Change
	ch, err := c.ensureNamespace(ctx, d, ns, rule)
	if err != nil {
		return nil, err
	}
	if ch != nil {
		changes = append(changes, *ch)
		o.progress(ch.Ref, ch.Action, "")
	}
	ts, later, err := c.targets(ctx, rs, ns)
	if err != nil {
		return changes, err
	}
	var errs []error
	run := func(ts []target) error {
		for _, t := range ts {
			ch := c.applyOne(ctx, t)
			changes = append(changes, ch)
			if ch.Err != nil {
				if isTransport(ch.Err) {
					return ch.Err
				}
				errs = append(errs, ch.Err)
				o.progress(ch.Ref, "failed", ch.Err.Error())
				continue
			}
			o.progress(ch.Ref, ch.Action, "")
		}
		return nil
	}
	if err := run(ts); err != nil {
		return changes, err
	}
	if len(later) > 0 {
		if err := c.waitCRDs(ctx, ts, o); err != nil {
			return changes, err
		}
		c.mu.Lock()
		for _, r := range later {
			delete(c.gvs, r.APIVersion())
		}
		c.mu.Unlock()
		lts, _, err := c.targets(ctx, later, ns)
		if err != nil {
			errs = append(errs, err)
		}
		if err := run(lts); err != nil {
			return changes, err
		}
	}
	return changes, errors.Join(errs...)
}

func (c *Client) applyOne(ctx context.Context, t target) Change {
	ch := Change{Ref: t.ref()}
	live, err := c.get(ctx, t.m, t.ns, t.r.Name())
	unreadable := apierrors.IsForbidden(err) // allowed to apply, maybe, not to read
	if err != nil && !unreadable {
		ch.Err = c.explain(err, "get "+ch.Ref)
		return ch
	}
	got, err := c.apply(ctx, t.m, t.ns, t.r.Name(), t.r.Object, false)
	if err != nil {
		ch.Err = c.explain(err, "apply "+ch.Ref)
		return ch
	}
	if unreadable {
		ch.Action = "applied"
		return ch
	}
	// Unchanged means the object reads the same, not that the server did
	// not write: it writes a PersistentVolumeClaim on every apply.
	ch.Action = "configured"
	if live == nil {
		ch.Action = "created"
	} else if a, err := cleanYAML(live); err == nil {
		if b, err := cleanYAML(got); err == nil && a == b {
			ch.Action = "unchanged"
		}
	}
	return ch
}

// ensureNamespace creates the design's namespace when missing and puts
// the injection marker on it; it changes nothing else on a namespace that
// exists.
func (c *Client) ensureNamespace(ctx context.Context, d *design.Design, ns string, rule *cluster.Rule) (*Change, error) {
	m := mapping{prefix: "/api/v1", plural: "namespaces"}
	ref := "namespace/" + ns
	for _, r := range d.Resources {
		if r.Kind() == "Namespace" && r.Name() == ns && rule == nil {
			return nil, nil // the design's own Namespace is applied with the rest
		}
	}
	live, err := c.get(ctx, m, "", ns)
	forbidden := err != nil && strings.Contains(c.explain(err, "").Error(), "forbidden")
	if err != nil && !forbidden {
		return nil, c.explain(err, "get "+ref)
	}
	if (live != nil || forbidden) && rule == nil {
		return nil, nil
	}
	obj := map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}
	if live == nil && !forbidden {
		design.Set(obj, map[string]any{"app.kubernetes.io/managed-by": "meshperf", LabelDesign: d.Name}, "metadata", "labels")
	}
	if rule != nil {
		if mk := namespaceMarker(rule); mk != nil {
			setMarker(obj, *mk)
		} else if live != nil {
			return nil, nil
		}
	}
	if _, err := c.apply(ctx, m, "", ns, obj, false); err != nil {
		return nil, c.explain(err, "apply "+ref)
	}
	action := "configured"
	if live == nil {
		action = "created"
	}
	if rule != nil {
		if mk := namespaceMarker(rule); mk != nil {
			action += " (" + mk.String() + " for " + rule.Name + ")"
		}
	}
	return &Change{Ref: ref, Action: action}, nil
}

// Delete deletes the design's objects in the reverse of the apply order;
// objects already gone are noted, not errors. The namespace is left (it
// may hold other things); a Namespace in the design is deleted.
func (c *Client) Delete(ctx context.Context, d *design.Design, o Options) ([]Change, error) {
	ns := c.namespace(d, o)
	rs, _, err := c.prepare(d, o)
	if err != nil {
		return nil, err
	}
	slices.Reverse(rs)
	var changes []Change
	var errs []error
	for _, r := range rs {
		m, err := c.resolve(ctx, r)
		if errors.Is(err, ErrNotServed) {
			// Its CRD is gone (deleted before it, or never installed):
			// so is the object.
			changes = append(changes, Change{Ref: r.Ref(), Action: "gone"})
			continue
		}
		if err != nil {
			return changes, err
		}
		t := target{r: r, m: m, ns: r.Namespace()}
		if m.namespaced && t.ns == "" {
			t.ns = ns
		}
		ch := Change{Ref: t.ref(), Action: "deleted"}
		if err := c.delete(ctx, m, t.ns, r.Name()); err != nil {
			if strings.Contains(err.Error(), "not found") {
				ch.Action = "gone"
			} else {
				ch.Err = c.explain(err, "delete "+ch.Ref)
				if isTransport(ch.Err) {
					return changes, ch.Err
				}
				errs = append(errs, ch.Err)
			}
		}
		changes = append(changes, ch)
		if ch.Err == nil {
			o.progress(ch.Ref, ch.Action, "")
		}
	}
	return changes, errors.Join(errs...)
}
