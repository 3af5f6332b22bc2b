package smi

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/meshperf/meshperf/internal/conformance/result"
)

// standInMesh is a stand-in for an SMI implementation, in process: no
// SMI mesh can run on the test machine (docs/conformance.md, SMI). It is
// an HTTP proxy in front of two real echo servers that reads the
// TrafficSplits, TrafficTargets and HTTPRouteGroups the tests apply, at
// whatever version they were written, and enforces them as the SMI
// specification says: access denied unless a TrafficTarget allows the
// source on a matching route, requests to a split's root service shared
// by weight. The source's identity, which a mesh takes from mTLS, is a
// header the stand-in's clients set. Its faults make it a wrong mesh.
type standInMesh struct {
	backends map[string]string // service -> URL of its echo server
	mu       sync.Mutex
	objects  map[string]*unstructured.Unstructured // kind/name
	rnd      *rand.Rand
	rr       map[string]int // smooth weighted round robin state

	// Faults.
	ignoreSplits bool    // the root service spreads evenly whatever the split says
	skew         float64 // when > 0, a split's first backend gets this share instead
	ignoreAccess bool    // every request is allowed
	random       bool    // weighted random instead of weighted round robin
}

const sourceHeader = "X-Standin-Source"

func newStandIn(t *testing.T) *standInMesh {
	m := &standInMesh{backends: map[string]string{}, objects: map[string]*unstructured.Unstructured{}, rnd: rand.New(rand.NewPCG(1, 2)), rr: map[string]int{}}
	for _, svc := range []string{ServiceV1, ServiceV2} {
		hostname := svc + "-7d9f8-standin"
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The fields Istio's echo server writes.
			fmt.Fprintf(w, "ServiceVersion=%s\nHostname=%s\nMethod=%s\nURL=%s\n", strings.TrimPrefix(svc, "echo-"), hostname, r.Method, r.URL.Path)
		}))
		t.Cleanup(srv.Close)
		m.backends[svc] = srv.URL
	}
	return m
}

func (m *standInMesh) apply(_ context.Context, u *unstructured.Unstructured) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objects[u.GetKind()+"/"+u.GetName()] = u.DeepCopy()
	return nil
}

func (m *standInMesh) delete(_ context.Context, u *unstructured.Unstructured) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objects, u.GetKind()+"/"+u.GetName())
	return nil
}

// field reads a field of a resource at any SMI version: under spec, or
// at the top level (v1alpha1 of access and specs).
func field(u *unstructured.Unstructured, name string) any {
	if spec, ok := u.Object["spec"].(map[string]any); ok {
		if v, ok := spec[name]; ok {
			return v
		}
	}
	return u.Object[name]
}

func (m *standInMesh) ofKind(kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for k, u := range m.objects {
		if strings.HasPrefix(k, kind+"/") {
			out = append(out, u)
		}
	}
	return out
}

// allowed applies the TrafficTargets: deny unless one names source and
// a route of its rules matches r.
func (m *standInMesh) allowed(source string, r *http.Request) bool {
	if m.ignoreAccess {
		return true
	}
	for _, tt := range m.ofKind("TrafficTarget") {
		dest, _ := field(tt, "destination").(map[string]any)
		if dest["name"] != SABackend {
			continue
		}
		srcs, _ := field(tt, "sources").([]any)
		if !slices.ContainsFunc(srcs, func(s any) bool { return s.(map[string]any)["name"] == source }) {
			continue
		}
		rules, _ := field(tt, "rules").([]any)
		if rules == nil {
			rules, _ = field(tt, "specs").([]any)
		}
		for _, rule := range rules {
			rm := rule.(map[string]any)
			g := m.objects["HTTPRouteGroup/"+rm["name"].(string)]
			if g == nil {
				continue
			}
			names, _ := rm["matches"].([]any)
			matches, _ := field(g, "matches").([]any)
			for _, x := range matches {
				mm := x.(map[string]any)
				if len(names) > 0 && !slices.Contains(names, mm["name"]) {
					continue
				}
				if routeMatches(mm, r) {
					return true
				}
			}
		}
	}
	return false
}

func routeMatches(mm map[string]any, r *http.Request) bool {
	if p, ok := mm["pathRegex"].(string); ok && !regexp.MustCompile("^(?:"+p+")").MatchString(r.URL.Path) {
		return false
	}
	if ms, ok := mm["methods"].([]any); ok && !slices.Contains(ms, any("*")) && !slices.Contains(ms, any(r.Method)) {
		return false
	}
	// v1alpha4's map, or v1alpha3's list of one-entry maps.
	hs, _ := mm["headers"].(map[string]any)
	if list, ok := mm["headers"].([]any); ok {
		hs = map[string]any{}
		for _, e := range list {
			for k, v := range e.(map[string]any) {
				hs[k] = v
			}
		}
	}
	for k, re := range hs {
		if !regexp.MustCompile(re.(string)).MatchString(r.Header.Get(k)) {
			return false
		}
	}
	return true
}

// route picks the backend service of a request to host.
func (m *standInMesh) route(host string) string {
	if host != ServiceRoot {
		return host
	}
	var backends []Backend
	for _, ts := range m.ofKind("TrafficSplit") {
		if field(ts, "service") != ServiceRoot || m.ignoreSplits {
			continue
		}
		list, _ := field(ts, "backends").([]any)
		for _, b := range list {
			bm := b.(map[string]any)
			var w int
			switch x := bm["weight"].(type) {
			case int64:
				w = int(x)
			case string: // v1alpha1: a quantity
				fmt.Sscan(x, &w)
			}
			backends = append(backends, Backend{bm["service"].(string), w})
		}
	}
	if len(backends) == 0 {
		backends = []Backend{{ServiceV1, 1}, {ServiceV2, 1}}
	}
	if m.skew > 0 && len(backends) == 2 {
		backends = []Backend{{backends[0].Service, int(1000 * m.skew)}, {backends[1].Service, int(1000 * (1 - m.skew))}}
	}
	total := 0
	for _, b := range backends {
		total += b.Weight
	}
	if m.random {
		x := m.rnd.IntN(total)
		for _, b := range backends {
			if x < b.Weight {
				return b.Service
			}
			x -= b.Weight
		}
	}
	// Smooth weighted round robin (as nginx does).
	best := ""
	for _, b := range backends {
		m.rr[b.Service] += b.Weight
		if best == "" || m.rr[b.Service] > m.rr[best] {
			best = b.Service
		}
	}
	m.rr[best] -= total
	return best
}

func (m *standInMesh) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	ok := m.allowed(r.Header.Get(sourceHeader), r)
	backend := m.route(r.Host)
	m.mu.Unlock()
	if !ok {
		http.Error(w, "RBAC: access denied", http.StatusForbidden)
		return
	}
	u, _ := url.Parse(m.backends[backend] + r.URL.Path)
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, u.String(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// standInSender sends real HTTP requests through the stand-in mesh as
// one service account.
type standInSender struct {
	mesh   string // the stand-in's URL
	source string
}

var hostnameLine = regexp.MustCompile(`(?m)^Hostname=(.*)$`)

func (s standInSender) Send(ctx context.Context, r Request) ([]Response, error) {
	if _, err := r.Args(2); err != nil {
		return nil, err
	}
	out := make([]Response, r.Count)
	for i := range out {
		method := r.Method
		if method == "" {
			method = http.MethodGet
		}
		req, err := http.NewRequestWithContext(ctx, method, s.mesh+r.Path, nil)
		if err != nil {
			return nil, err
		}
		req.Host = r.Host
		req.Header.Set(sourceHeader, s.source)
		for k, v := range r.Headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			out[i].Err = err.Error()
			continue
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		out[i].Code = resp.StatusCode
		if m := hostnameLine.FindSubmatch(body); m != nil {
			out[i].Hostname = string(m[1])
		}
	}
	return out, nil
}

func standInEnv(t *testing.T, m *standInMesh, apis APIs) Env {
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return Env{
		Namespace: "stand-in", APIs: apis, Apply: m.apply,
		Client: standInSender{srv.URL, SAClient}, Other: standInSender{srv.URL, SAOther},
		Requests: 200, Consistency: 1, // a stand-in applies at once: check once
	}
}

func allAt(split, access, specs string) APIs {
	return APIs{Version: map[string]string{GroupSplit: split, GroupAccess: access, GroupSpecs: specs}}
}

func statuses(trs []result.TestResult) map[string]result.TestResult {
	out := map[string]result.TestResult{}
	for _, tr := range trs {
		out[tr.Name] = tr
	}
	return out
}

// Against the stand-in mesh, at the newest and the oldest SMI versions:
// every test passes (the header test is skipped where specs has no
// header filters), and each test deletes what it applied.
func TestStandInMeshPasses(t *testing.T) {
	for _, tc := range []struct {
		name string
		apis APIs
		skip []string
	}{
		{"newest", allAt("v1alpha4", "v1alpha3", "v1alpha4"), nil},
		{"oldest", allAt("v1alpha1", "v1alpha1", "v1alpha1"), []string{"SMIRouteMatchHeader"}},
		{"weighted random", allAt("v1alpha2", "v1alpha2", "v1alpha3"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newStandIn(t)
			m.random = tc.name == "weighted random"
			var told []string
			trs := RunTests(t.Context(), standInEnv(t, m, tc.apis), m.delete, Selection{}, func(tr result.TestResult) { told = append(told, tr.Name) })
			if len(trs) != len(Tests) || len(told) != len(Tests) {
				t.Fatalf("%d results, %d told, want %d", len(trs), len(told), len(Tests))
			}
			for _, tr := range trs {
				want := result.Pass
				if slices.Contains(tc.skip, tr.Name) {
					want = result.Skip
				}
				if tr.Status != want {
					t.Errorf("%s: %s %q, want %s", tr.Name, tr.Status, tr.Message, want)
				}
			}
			if h := statuses(trs)["SMIRouteMatchHeader"]; len(tc.skip) > 0 && !strings.Contains(h.Message, "needs specs.smi-spec.io/v1alpha3 or later") {
				t.Errorf("header test skipped with %q", h.Message)
			}
			if len(m.objects) != 0 {
				t.Errorf("left behind: %v", m.objects)
			}
		})
	}
}

// A wrong mesh fails the test its fault breaks, with a message giving
// what was observed next to what was expected.
func TestStandInMeshFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(m *standInMesh)
		fails map[string][]string // test -> what its message says
	}{
		{"split ignored", func(m *standInMesh) { m.ignoreSplits = true }, map[string][]string{
			"SMITrafficSplitWeights": {"no SMI implementation seems to have applied the split", "observed echo-v1 100/200 (50.0%), echo-v2 100/200 (50.0%)",
				"expected echo-v1 80.0% (weight 80), echo-v2 20.0% (weight 20) over 200 requests", "echo-v1 got 100/200 (50.0%), expected 160±19.6 (70.2%..89.8%)"},
			"SMITrafficSplitSingleBackend": {"no SMI implementation seems to have applied the split", "echo-v2 got 25/50 (50.0%), expected 0±0.0"},
		}},
		{"split skewed 65/35", func(m *standInMesh) { m.skew = 0.65 }, map[string][]string{
			"SMITrafficSplitWeights":       {"the split was not honoured: observed echo-v1 130/200 (65.0%), echo-v2 70/200 (35.0%)", "echo-v1 got 130/200 (65.0%), expected 160±19.6"},
			"SMITrafficSplitSingleBackend": {"observed echo-v1 33/50 (66.0%), echo-v2 17/50 (34.0%)", "echo-v1 got 33/50 (66.0%), expected 50±0.0"},
		}},
		{"access not enforced", func(m *standInMesh) { m.ignoreAccess = true }, map[string][]string{
			"SMIAccessDeny":       {"smi-other, which no TrafficTarget names, to echo-v1: 20 of 20 requests were answered, want all refused: echo-v1 20/20 (100.0%)"},
			"SMIRouteMatchPath":   {"a request not matching pathRegex /smi/allowed.*: 20 of 20 requests were answered"},
			"SMIRouteMatchMethod": {"a request not matching methods [GET]: 20 of 20"},
			"SMIRouteMatchHeader": {"a request not matching header x-meshperf-smi: ^allow$: 20 of 20"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newStandIn(t)
			tc.fault(m)
			trs := RunTests(t.Context(), standInEnv(t, m, allAt("v1alpha4", "v1alpha3", "v1alpha4")), m.delete, Selection{}, nil)
			for _, tr := range trs {
				wants, fails := tc.fails[tr.Name]
				if !fails {
					if tr.Status != result.Pass {
						t.Errorf("%s: %s %q, want pass", tr.Name, tr.Status, tr.Message)
					}
					continue
				}
				if tr.Status != result.Fail {
					t.Errorf("%s: %s, want fail", tr.Name, tr.Status)
				}
				for _, w := range wants {
					if !strings.Contains(tr.Message, w) {
						t.Errorf("%s: message %q lacks %q", tr.Name, tr.Message, w)
					}
				}
			}
		})
	}
}

// Each check's observed shares are in the test's output, passing or not
// (a pass names who answered), and the output keeps at most maxLogLines
// of them.
func TestOutputNotesObserved(t *testing.T) {
	m := newStandIn(t)
	m.ignoreAccess = true
	trs := statuses(RunTests(t.Context(), standInEnv(t, m, allAt("v1alpha4", "v1alpha3", "v1alpha4")), m.delete, Selection{}, nil))
	for name, want := range map[string]string{
		"SMIAccessAllow":         "smi-client: GET http://echo-v1/ ×20: echo-v1 20/20 (100.0%)\n",
		"SMIAccessDeny":          "smi-other: GET http://echo-v1/ ×20: echo-v1 20/20 (100.0%)\n",
		"SMIRouteMatchMethod":    "smi-client: POST http://echo-v1/ ×20: echo-v1 20/20 (100.0%)\n",
		"SMIRouteMatchHeader":    "smi-client: GET http://echo-v1/ with x-meshperf-smi:allow ×20: echo-v1 20/20 (100.0%)\n",
		"SMITrafficSplitWeights": "smi-client: GET http://echo/ ×200: echo-v1 160/200 (80.0%), echo-v2 40/200 (20.0%)\n",
	} {
		if tr := trs[name]; !strings.Contains(tr.Output, want) {
			t.Errorf("%s: output %q lacks %q", name, tr.Output, want)
		}
	}

	chatty := Test{Name: "chatty", Run: func(ctx context.Context, e *Env) error {
		for i := range maxLogLines + 5 {
			e.logf("check %d", i)
		}
		return nil
	}}
	tr := runOne(t.Context(), Env{}, chatty, nil)
	if n := strings.Count(tr.Output, "\n"); n != maxLogLines+1 || !strings.HasSuffix(tr.Output, "check 39\n(5 more lines not kept)\n") {
		t.Errorf("%d lines:\n%s", n, tr.Output)
	}
}
