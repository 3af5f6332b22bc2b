package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/meshperf/meshperf/internal/design"
)

// ErrNotReady: the wait ended (timeout) before every object was ready,
// or removed.
var ErrNotReady = errors.New("not ready")

// State is one object's readiness (or removal) at the end of a wait.
type State struct {
	Ref    string
	Ready  bool
	Detail string // why not, or what ready means for it
}

// pollEvery is how often a wait looks again.
var pollEvery = 500 * time.Millisecond

// Wait waits until every resource of the design is ready, or timeout
// passes; it reports progress as the count of ready objects changes. Not
// all ready by the timeout is ErrNotReady, with each object's state.
func (c *Client) Wait(ctx context.Context, d *design.Design, o Options, timeout time.Duration) ([]State, error) {
	rs, _, err := c.prepare(d, o)
	if err != nil {
		return nil, err
	}
	ts, _, err := c.targets(ctx, rs, c.namespace(d, o))
	if err != nil {
		return nil, err
	}
	return c.waitFor(ctx, ts, o, timeout, "ready", c.readiness)
}

// WaitGone waits until every resource of the design is gone from the
// cluster, or timeout passes (ErrNotReady then, with what is left and the
// finalizers holding it).
func (c *Client) WaitGone(ctx context.Context, d *design.Design, o Options, timeout time.Duration) ([]State, error) {
	rs, _, err := c.prepare(d, o)
	if err != nil {
		return nil, err
	}
	ns := c.namespace(d, o)
	var ts []target
	for _, r := range rs {
		m, err := c.resolve(ctx, r)
		if errors.Is(err, ErrNotServed) {
			continue
		}
		if err != nil {
			return nil, err
		}
		t := target{r: r, m: m, ns: r.Namespace()}
		if m.namespaced && t.ns == "" {
			t.ns = ns
		}
		ts = append(ts, t)
	}
	return c.waitFor(ctx, ts, o, timeout, "removed", func(ctx context.Context, t target) (bool, string, error) {
		live, err := c.get(ctx, t.m, t.ns, t.r.Name())
		if err != nil || live == nil {
			return live == nil && err == nil, "", err
		}
		why := "still there"
		if design.Get(live, "metadata", "deletionTimestamp") != nil {
			why = "terminating"
		}
		if f, _ := design.Get(live, "metadata", "finalizers").([]any); len(f) > 0 {
			why += fmt.Sprintf(", held by finalizers %v (removed by the controller that owns them)", f)
		}
		return false, why, nil
	})
}

func (c *Client) waitFor(ctx context.Context, ts []target, o Options, timeout time.Duration, what string,
	check func(context.Context, target) (bool, string, error)) ([]State, error) {
	deadline := time.Now().Add(timeout)
	states := make([]State, len(ts))
	for i, t := range ts {
		states[i].Ref = t.ref()
	}
	lastReady := -1
	for {
		n := 0
		for i, t := range ts {
			if states[i].Ready {
				n++
				continue
			}
			ok, detail, err := check(ctx, t)
			if err != nil {
				return states, c.explain(err, "check "+t.ref())
			}
			states[i].Ready, states[i].Detail = ok, detail
			if ok {
				n++
				o.progress(t.ref(), what, detail)
			}
		}
		if n != lastReady {
			o.progress("", "waiting", fmt.Sprintf("%d of %d %s", n, len(ts), what))
			lastReady = n
		}
		if n == len(ts) {
			return states, nil
		}
		if time.Now().After(deadline) {
			var not []string
			for _, s := range states {
				if !s.Ready {
					not = append(not, s.Ref+" ("+s.Detail+")")
				}
			}
			return states, fmt.Errorf("%w: after %s, %d of %d %s; not: %s", ErrNotReady, timeout, n, len(ts), what, strings.Join(not, "; "))
		}
		select {
		case <-ctx.Done():
			return states, ctx.Err()
		case <-time.After(min(pollEvery, time.Until(deadline)+time.Millisecond)):
		}
	}
}

// waitCRDs waits until the design's CRDs are Established.
func (c *Client) waitCRDs(ctx context.Context, ts []target, o Options) error {
	var crds []target
	for _, t := range ts {
		if t.r.Kind() == "CustomResourceDefinition" {
			crds = append(crds, t)
		}
	}
	_, err := c.waitFor(ctx, crds, o, time.Minute, "established", c.readiness)
	return err
}

// readiness says whether the live object is ready, and if not why.
func (c *Client) readiness(ctx context.Context, t target) (bool, string, error) {
	live, err := c.get(ctx, t.m, t.ns, t.r.Name())
	if err != nil {
		return false, "", err
	}
	if live == nil {
		return false, "not found", nil
	}
	return c.ready(ctx, t, live)
}

func num(obj map[string]any, path ...string) int64 {
	switch v := design.Get(obj, path...).(type) {
	case float64:
		return int64(v)
	case int64:
		return v
	}
	return 0
}

func condition(obj map[string]any, typ string) (string, string) {
	l, _ := design.Get(obj, "status", "conditions").([]any)
	for _, e := range l {
		m, _ := e.(map[string]any)
		if m["type"] == typ {
			s, _ := m["status"].(string)
			msg, _ := m["message"].(string)
			return s, msg
		}
	}
	return "", ""
}

// observed checks that a controller has seen the object's latest spec.
func observed(obj map[string]any) (bool, string) {
	gen, seen := num(obj, "metadata", "generation"), num(obj, "status", "observedGeneration")
	if seen < gen {
		if seen == 0 {
			return false, "no controller has observed it yet (status.observedGeneration 0)"
		}
		return false, fmt.Sprintf("its controller has seen generation %d of %d", seen, gen)
	}
	return true, ""
}

func (c *Client) ready(ctx context.Context, t target, obj map[string]any) (bool, string, error) {
	replicas := func() int64 {
		if v := design.Get(obj, "spec", "replicas"); v == nil {
			return 1
		}
		return num(obj, "spec", "replicas")
	}
	switch t.r.Kind() {
	case "Deployment":
		if ok, why := observed(obj); !ok {
			return false, why, nil
		}
		want, upd, avail := replicas(), num(obj, "status", "updatedReplicas"), num(obj, "status", "availableReplicas")
		if upd < want || avail < want || num(obj, "status", "replicas") > want {
			return false, fmt.Sprintf("%d of %d updated, %d available", upd, want, avail), nil
		}
		return true, fmt.Sprintf("%d of %d available", avail, want), nil
	case "StatefulSet", "ReplicaSet":
		if ok, why := observed(obj); !ok {
			return false, why, nil
		}
		want, rdy := replicas(), num(obj, "status", "readyReplicas")
		if rdy < want {
			return false, fmt.Sprintf("%d of %d ready", rdy, want), nil
		}
		return true, fmt.Sprintf("%d of %d ready", rdy, want), nil
	case "DaemonSet":
		if ok, why := observed(obj); !ok {
			return false, why, nil
		}
		want, rdy := num(obj, "status", "desiredNumberScheduled"), num(obj, "status", "numberReady")
		if rdy < want {
			return false, fmt.Sprintf("%d of %d ready", rdy, want), nil
		}
		return true, fmt.Sprintf("%d of %d ready", rdy, want), nil
	case "Pod":
		if s, _ := condition(obj, "Ready"); s == "True" || design.Get(obj, "status", "phase") == "Succeeded" {
			return true, "", nil
		}
		phase, _ := design.Get(obj, "status", "phase").(string)
		if phase == "" {
			return false, "not scheduled (no node has taken it)", nil
		}
		return false, "phase " + phase, nil
	case "Job":
		if s, _ := condition(obj, "Complete"); s == "True" {
			return true, "complete", nil
		}
		if s, msg := condition(obj, "Failed"); s == "True" {
			return false, "failed: " + msg, nil
		}
		return false, "not complete", nil
	case "PersistentVolumeClaim":
		if p := design.Get(obj, "status", "phase"); p == "Bound" {
			return true, "bound", nil
		}
		return false, "not bound to a volume", nil
	case "CustomResourceDefinition":
		if s, _ := condition(obj, "Established"); s == "True" {
			return true, "established", nil
		}
		return false, "not established", nil
	case "APIService":
		if s, msg := condition(obj, "Available"); s != "True" {
			return false, "not available: " + msg, nil
		}
		return true, "", nil
	case "Namespace":
		if p := design.Get(obj, "status", "phase"); p != "Active" {
			return false, fmt.Sprintf("phase %v", p), nil
		}
		return true, "", nil
	case "Service":
		return c.serviceReady(ctx, t, obj)
	}
	return true, "exists", nil
}

// serviceReady: a Service with a selector is ready when one of its
// endpoints is; a LoadBalancer when it has an address.
func (c *Client) serviceReady(ctx context.Context, t target, obj map[string]any) (bool, string, error) {
	if design.Get(obj, "spec", "type") == "LoadBalancer" {
		if l, _ := design.Get(obj, "status", "loadBalancer", "ingress").([]any); len(l) == 0 {
			return false, "no load balancer address yet", nil
		}
	}
	if sel, _ := design.Get(obj, "spec", "selector").(map[string]any); len(sel) == 0 {
		return true, "no selector", nil
	}
	slices, err := c.list(ctx, "/apis/discovery.k8s.io/v1/namespaces/"+t.ns+"/endpointslices", "kubernetes.io/service-name="+t.r.Name())
	if err != nil {
		return false, "", err
	}
	n := 0
	for _, s := range slices {
		eps, _ := s["endpoints"].([]any)
		for _, e := range eps {
			if r, _ := design.Get(e.(map[string]any), "conditions", "ready").(bool); r {
				n++
			}
		}
	}
	if n == 0 {
		if len(slices) == 0 {
			return false, "no endpoints (no EndpointSlice: is a controller manager running?)", nil
		}
		return false, "no ready endpoint", nil
	}
	return true, fmt.Sprintf("%d ready endpoints", n), nil
}
