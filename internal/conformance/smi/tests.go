package smi

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The echo harness every test uses, created by Run in its namespace (or
// by whatever stands in for it): backends echo-v1 and echo-v2 behind
// their own Services and the root Service echo (both), running as
// ServiceAccount SABackend; two client pods that send the requests, one
// as SAClient (the source the TrafficTargets allow) and one as SAOther
// (never allowed).
const (
	ServiceRoot = "echo"
	ServiceV1   = "echo-v1"
	ServiceV2   = "echo-v2"
	SABackend   = "smi-echo"
	SAClient    = "smi-client"
	SAOther     = "smi-other"
)

// Request is what a client pod sends: Count requests to
// http://Host/Path (Host a Service of the namespace).
type Request struct {
	Host    string
	Path    string
	Method  string
	Headers map[string]string
	Count   int
}

// Sender sends requests from one client and says what each got.
type Sender interface {
	Send(ctx context.Context, r Request) ([]Response, error)
}

// Env is what a test runs against.
type Env struct {
	Namespace string
	APIs      APIs
	// Apply creates an SMI resource; the runner deletes what a test
	// applied when it ends.
	Apply func(ctx context.Context, u *unstructured.Unstructured) error
	// Client sends as SAClient, Other as SAOther.
	Client, Other Sender
	// Requests is N of the weight test (default 200); the other tests
	// send fewer.
	Requests int
	// Consistency is how long a mesh has to apply a resource: a check is
	// repeated until it passes or this has passed since the resources
	// were applied (default 30s).
	Consistency time.Duration
	// HostDomain, when set, makes the clients address Service S as
	// S.<Namespace>.<HostDomain> (Options.HostDomain).
	HostDomain string

	// logf, set by the runner, adds a line to the test's output.
	logf func(format string, a ...any)
}

// Test is one test of the set.
type Test struct {
	Name        string
	Description string
	// Needs are the groups it writes resources of; AtLeast the oldest
	// version of a group it can use, when not the first.
	Needs   []string
	AtLeast map[string]string
	Run     func(ctx context.Context, e *Env) error
}

// Tests is the SMI test set, in the order it runs.
var Tests = []Test{
	{Name: "SMITrafficSplitWeights", Description: "a TrafficSplit of the root service sends 80% of requests to echo-v1 and 20% to echo-v2, within a 99.9% binomial bound",
		Needs: []string{GroupSplit}, Run: splitWeights},
	{Name: "SMITrafficSplitSingleBackend", Description: "a TrafficSplit of weights 100/0 sends every request to echo-v1",
		Needs: []string{GroupSplit}, Run: splitSingle},
	{Name: "SMIAccessAllow", Description: "a TrafficTarget allowing the client's ServiceAccount on every route: all its requests are answered",
		Needs: []string{GroupAccess, GroupSpecs}, Run: accessAllow},
	{Name: "SMIAccessDeny", Description: "a client whose ServiceAccount no TrafficTarget names is refused",
		Needs: []string{GroupAccess, GroupSpecs}, Run: accessDeny},
	{Name: "SMIRouteMatchPath", Description: "a TrafficTarget whose route matches a path regex: that path is answered, another refused",
		Needs: []string{GroupAccess, GroupSpecs}, Run: routePath},
	{Name: "SMIRouteMatchMethod", Description: "a TrafficTarget whose route matches GET: GET is answered, POST refused",
		Needs: []string{GroupAccess, GroupSpecs}, Run: routeMethod},
	{Name: "SMIRouteMatchHeader", Description: "a TrafficTarget whose route matches a header: requests with it are answered, without it refused",
		Needs: []string{GroupAccess, GroupSpecs}, AtLeast: map[string]string{GroupSpecs: "v1alpha3"}, Run: routeHeader},
}

// skipReason says why t cannot run against apis ("" when it can).
func (t Test) skipReason(apis APIs) string {
	for _, g := range t.Needs {
		if !apis.Has(g) {
			return "needs " + g + ": " + apis.unknownNote(g)
		}
		if v := t.AtLeast[g]; v != "" && !apis.AtLeast(g, v) {
			return fmt.Sprintf("needs %s/%s or later (header filters): the cluster serves %s", g, v, apis.GV(g))
		}
	}
	return ""
}

// backendOf names the backend service of an echo pod's hostname.
func backendOf(hostname string) string {
	for _, s := range []string{ServiceV1, ServiceV2} {
		if strings.HasPrefix(hostname, s+"-") {
			return s
		}
	}
	return ""
}

func (e *Env) requests() int {
	if e.Requests <= 0 {
		return 200
	}
	return e.Requests
}

// eventually runs check until it passes or e.Consistency has passed,
// and returns its last error.
func (e *Env) eventually(ctx context.Context, check func() error) error {
	wait := e.Consistency
	if wait <= 0 {
		wait = 30 * time.Second
	}
	deadline := time.Now().Add(wait)
	for {
		err := check()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last check: %w)", ctx.Err(), err)
		case <-time.After(time.Second):
		}
	}
}

// tally sends r from s and counts the answers; the test's output notes
// what was observed, passing or not.
func (e *Env) tally(ctx context.Context, s Sender, from string, r Request) (Tally, error) {
	if e.HostDomain != "" {
		r.Host += "." + e.Namespace + "." + e.HostDomain
	}
	rs, err := s.Send(ctx, r)
	if err != nil {
		return Tally{}, err
	}
	t := Count(rs, backendOf)
	if e.logf != nil {
		method := r.Method
		if method == "" {
			method = "GET"
		}
		headers := ""
		keys := slices.Sorted(maps.Keys(r.Headers))
		for _, k := range keys {
			headers += " " + k + ":" + r.Headers[k]
		}
		if headers != "" {
			headers = " with" + headers
		}
		e.logf("%s: %s http://%s%s%s ×%d: %s", from, method, r.Host, r.Path, headers, r.Count, t)
	}
	return t, nil
}

// allowAll lets SAClient reach the backends on every route, where the
// cluster serves access control (an SMI mesh denies by default).
func allowAll(ctx context.Context, e *Env) error {
	if !e.APIs.Has(GroupAccess) || !e.APIs.Has(GroupSpecs) {
		return nil
	}
	return applyTarget(ctx, e, "smi-everything", RouteGroup{Name: "smi-everything", Matches: []Match{{Name: "everything", PathRegex: ".*", Methods: []string{"*"}}}}, nil, SAClient)
}

func applyTarget(ctx context.Context, e *Env, name string, g RouteGroup, matches []string, sources ...string) error {
	if err := e.Apply(ctx, g.Object(e.APIs.Version[GroupSpecs], e.Namespace)); err != nil {
		return err
	}
	t := Target{Name: name, Destination: SABackend, Sources: sources, RouteGroup: g.Name, Matches: matches}
	return e.Apply(ctx, t.Object(e.APIs.Version[GroupAccess], e.Namespace))
}

func split(ctx context.Context, e *Env, backends []Backend, n int) error {
	if err := allowAll(ctx, e); err != nil {
		return err
	}
	s := Split{Name: "smi-split", Service: ServiceRoot, Backends: backends}
	if err := e.Apply(ctx, s.Object(e.APIs.Version[GroupSplit], e.Namespace)); err != nil {
		return err
	}
	return e.eventually(ctx, func() error {
		t, err := e.tally(ctx, e.Client, SAClient, Request{Host: ServiceRoot, Path: "/", Count: n})
		if err != nil {
			return err
		}
		err = CheckSplit(t, backends, Z999)
		if err != nil && len(t.Failed) == 0 && CheckSplit(t, []Backend{{ServiceV1, 1}, {ServiceV2, 1}}, Z999) == nil {
			// What the root Service alone does: its endpoints share
			// the requests evenly.
			err = fmt.Errorf("no SMI implementation seems to have applied the split (the shares are consistent with the root service's even spread): %w", err)
		}
		return err
	})
}

func splitWeights(ctx context.Context, e *Env) error {
	return split(ctx, e, []Backend{{ServiceV1, 80}, {ServiceV2, 20}}, e.requests())
}

func splitSingle(ctx context.Context, e *Env) error {
	return split(ctx, e, []Backend{{ServiceV1, 100}, {ServiceV2, 0}}, min(e.requests(), 50))
}

const accessRequests = 20

func accessAllow(ctx context.Context, e *Env) error {
	if err := allowAll(ctx, e); err != nil {
		return err
	}
	return e.eventually(ctx, func() error {
		t, err := e.tally(ctx, e.Client, SAClient, Request{Host: ServiceV1, Path: "/", Count: accessRequests})
		if err != nil {
			return err
		}
		return CheckAllowed(t, SAClient+", allowed by a TrafficTarget, to "+ServiceV1)
	})
}

func accessDeny(ctx context.Context, e *Env) error {
	if err := allowAll(ctx, e); err != nil {
		return err
	}
	return e.eventually(ctx, func() error {
		// The allowed client first: a refusal of both says nothing of
		// access control.
		t, err := e.tally(ctx, e.Client, SAClient, Request{Host: ServiceV1, Path: "/", Count: 5})
		if err != nil {
			return err
		}
		if err := CheckAllowed(t, SAClient+", allowed by a TrafficTarget, to "+ServiceV1); err != nil {
			return err
		}
		t, err = e.tally(ctx, e.Other, SAOther, Request{Host: ServiceV1, Path: "/", Count: accessRequests})
		if err != nil {
			return err
		}
		return CheckRefused(t, SAOther+", which no TrafficTarget names, to "+ServiceV1)
	})
}

// routeCase is one route test: requests matching the route's rule
// answered, the others refused.
func routeCase(ctx context.Context, e *Env, m Match, match, miss Request, what string) error {
	g := RouteGroup{Name: "smi-route", Matches: []Match{m}}
	if err := applyTarget(ctx, e, "smi-route", g, []string{m.Name}, SAClient); err != nil {
		return err
	}
	return e.eventually(ctx, func() error {
		t, err := e.tally(ctx, e.Client, SAClient, match)
		if err != nil {
			return err
		}
		if err := CheckAllowed(t, "a request matching "+what); err != nil {
			return err
		}
		t, err = e.tally(ctx, e.Client, SAClient, miss)
		if err != nil {
			return err
		}
		return CheckRefused(t, "a request not matching "+what)
	})
}

func routePath(ctx context.Context, e *Env) error {
	m := Match{Name: "allowed-path", PathRegex: "/smi/allowed.*", Methods: []string{"*"}}
	return routeCase(ctx, e, m,
		Request{Host: ServiceV1, Path: "/smi/allowed/1", Count: accessRequests},
		Request{Host: ServiceV1, Path: "/smi/denied", Count: accessRequests},
		"pathRegex "+m.PathRegex)
}

func routeMethod(ctx context.Context, e *Env) error {
	m := Match{Name: "get-only", PathRegex: ".*", Methods: []string{"GET"}}
	return routeCase(ctx, e, m,
		Request{Host: ServiceV1, Path: "/", Method: "GET", Count: accessRequests},
		Request{Host: ServiceV1, Path: "/", Method: "POST", Count: accessRequests},
		"methods [GET]")
}

func routeHeader(ctx context.Context, e *Env) error {
	m := Match{Name: "header", PathRegex: ".*", Methods: []string{"*"}, Headers: map[string]string{"x-meshperf-smi": "^allow$"}}
	return routeCase(ctx, e, m,
		Request{Host: ServiceV1, Path: "/", Headers: map[string]string{"x-meshperf-smi": "allow"}, Count: accessRequests},
		Request{Host: ServiceV1, Path: "/", Count: accessRequests},
		"header x-meshperf-smi: ^allow$")
}
