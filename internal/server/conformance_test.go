package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/meshperf/meshperf/internal/api"
	"github.com/meshperf/meshperf/internal/cluster/kubetest"
	"github.com/meshperf/meshperf/internal/conformance"
	"github.com/meshperf/meshperf/internal/conformance/result"
	"github.com/meshperf/meshperf/internal/experiment"
	"github.com/meshperf/meshperf/internal/server"
	"github.com/meshperf/meshperf/kube"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
	"github.com/meshperf/meshperf/store/sqlite"
	"github.com/meshperf/meshperf/store/storetest"
)

// envConformanceChild makes this test binary the conformance suite's
// child process (what `meshperf conformance suite` is).
const envConformanceChild = "MESHPERF_SERVER_TEST_CONFORMANCE_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(envConformanceChild); path != "" {
		conformance.SuiteMain(path)
		return
	}
	os.Exit(m.Run())
}

func conformanceChild(ctx context.Context, optionsPath string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(os.Environ(), envConformanceChild+"="+optionsPath)
	return cmd
}

func newConformanceServer(t *testing.T, runner server.ConformanceRunner) (string, store.Store) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv := server.New(server.Options{Store: st, Version: "test", MaxBody: 64 << 10, Conformance: runner})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	return hs.URL, st
}

// saveConformance stores a result of mesh at version, started at start,
// with tests name=status.
func saveConformance(t *testing.T, st store.Store, mesh, version string, start time.Time, tests ...string) *result.Result {
	t.Helper()
	res := &result.Result{ID: store.NewID(), Kind: "gateway-api", Profile: "MESH-HTTP", SuiteVersion: "v1.6.3",
		Implementation: result.Implementation{Mesh: mesh, Version: version}, Started: start, Finished: start.Add(time.Minute)}
	for _, nt := range tests {
		name, status, _ := strings.Cut(nt, "=")
		res.Tests = append(res.Tests, result.TestResult{Name: name, Status: result.Status(status), Duration: time.Second, Message: "why " + name})
	}
	res.Count()
	rec, err := res.Record()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SaveConformance(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	return res
}

// TestConformanceAPI: bad requests answered 422 naming each field (the
// runner's checks are the suite's own lists), a server without a cluster
// 503, and the stored results listed a page at a time, one by id, and as
// a matrix.
func TestConformanceAPI(t *testing.T) {
	t.Run("no cluster", func(t *testing.T) {
		base, _ := newConformanceServer(t, nil)
		code, b := do(t, "POST", base+"/api/v1/conformance", "application/json", `{"profile": "MESH-HTTP"}`)
		if code != 503 || !strings.Contains(string(b), "start it with a cluster") {
			t.Errorf("%d %s", code, b)
		}
	})

	base, st := newConformanceServer(t, conformance.Runner{})
	for _, tc := range []struct {
		name, body string
		fields     []string
		says       string
	}{
		{"unknown profile", `{"profile": "MESH-HTPP"}`, []string{"profile"}, `did you mean \"MESH-HTTP\"`},
		{"unknown feature", `{"profile": "MESH-HTTP", "supported_features": ["MeshHTTPRouteRewritePat"]}`, []string{"supported_features"}, "MeshHTTPRouteRewritePath"},
		{"feature of another profile", `{"profile": "MESH-HTTP", "supported_features": ["GatewayPort8080"]}`, []string{"supported_features"}, "not part of profile MESH-HTTP"},
		{"gateway without class", `{"profile": "GATEWAY-HTTP"}`, []string{"gateway_class"}, "GatewayClass"},
		{"test not in profile", `{"profile": "MESH-HTTP", "run_test": "MeshBasics"}`, []string{"run_test"}, "MeshBasic"},
		{"timeouts", `{"profile": "MESH-HTTP", "timeout": "7h", "setup_timeout": "0s"}`, []string{"setup_timeout", "timeout"}, "is not from"},
		{"labels", `{"profile": "MESH-HTTP", "labels": {"conformance": "x"}, "namespace_labels": {"bad key!": "v"}}`, []string{"labels", "namespace_labels"}, "bad key!"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, b := do(t, "POST", base+"/api/v1/conformance", "application/json", tc.body)
			var e apiError
			if err := json.Unmarshal(b, &e); err != nil || code != 422 || e.Error.Code != "invalid" {
				t.Fatalf("%d %s", code, b)
			}
			var fields []string
			for _, d := range e.Error.Details {
				fields = append(fields, d.Field)
			}
			if strings.Join(fields, ",") != strings.Join(tc.fields, ",") || e.Error.Field != tc.fields[0] || !strings.Contains(string(b), tc.says) {
				t.Errorf("fields %v (%q), want %v, saying %q: %s", fields, e.Error.Field, tc.fields, tc.says, b)
			}
		})
	}

	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	a := saveConformance(t, st, "Istio", "1.28.0", t0, "MeshBasic=pass", "MeshPorts=fail", "MeshHTTPRouteRewritePath=skip")
	b := saveConformance(t, st, "Linkerd", "2.19.1", t0.Add(time.Hour), "MeshBasic=pass", "MeshPorts=pass")
	c := saveConformance(t, st, "Istio", "1.29.0", t0.Add(2*time.Hour), "MeshBasic=pass", "MeshPorts=pass", "MeshFrontend=fail")

	t.Run("list pages", func(t *testing.T) {
		var p1, p2 api.ConformanceList
		getJSON(t, base+"/api/v1/conformance?limit=2", &p1)
		if len(p1.Results) != 2 || p1.Results[0].ID != c.ID || p1.Results[1].ID != b.ID || p1.Next == "" {
			t.Fatalf("first page %+v", p1)
		}
		if s := p1.Results[0]; s.Mesh != "Istio" || s.MeshVersion != "1.29.0" || s.Counts != c.Counts || s.Outcome != "failed" {
			t.Errorf("summary %+v, result counts %+v", s, c.Counts)
		}
		getJSON(t, base+"/api/v1/conformance?limit=2&cursor="+p1.Next, &p2)
		if len(p2.Results) != 1 || p2.Results[0].ID != a.ID || p2.Next != "" {
			t.Errorf("second page %+v", p2)
		}
		var istio api.ConformanceList
		getJSON(t, base+"/api/v1/conformance?mesh=Istio", &istio)
		if len(istio.Results) != 2 {
			t.Errorf("mesh=Istio: %+v", istio)
		}
		for _, q := range []string{"cursor=nope", "limit=0", "limit=1001"} {
			if code, body := do(t, "GET", base+"/api/v1/conformance?"+q, "", ""); code != 400 {
				t.Errorf("%s: %d %s", q, code, body)
			}
		}
	})

	t.Run("one result", func(t *testing.T) {
		var v api.ConformanceView
		getJSON(t, base+"/api/v1/conformance/"+a.ID[:len(a.ID)-2], &v)
		if v.Result == nil || v.Result.ID != a.ID || v.Run != nil || len(v.Result.Tests) != 3 {
			t.Fatalf("view %+v", v)
		}
		if tr := v.Result.Tests[1]; tr.Name != "MeshPorts" || tr.Status != result.Fail || tr.Message != "why MeshPorts" || tr.Duration != time.Second {
			t.Errorf("test %+v", tr)
		}
		if code, _ := do(t, "GET", base+"/api/v1/conformance/ffffffffffff", "", ""); code != 404 {
			t.Errorf("unknown id: %d", code)
		}
	})

	t.Run("linked performance results", func(t *testing.T) {
		perf := storetest.SampleResult(nil, storetest.Sample{Start: t0, Values: 100, Seconds: 2})
		perf.Mesh = &spec.MeshContext{Meshes: []spec.MeshInstall{{Mesh: "istio", Name: "Istio", Version: "1.28.0"}}}
		id, err := st.SaveResult(t.Context(), perf, store.ResultRef{})
		if err != nil {
			t.Fatal(err)
		}
		var v api.ConformanceView
		getJSON(t, base+"/api/v1/conformance/"+a.ID, &v)
		if len(v.Performance) != 1 || v.Performance[0].ID != id {
			t.Errorf("Istio 1.28.0's performance results: %+v", v.Performance)
		}
		var v2 api.ConformanceView
		getJSON(t, base+"/api/v1/conformance/"+c.ID, &v2)
		if v2.Result == nil || len(v2.Performance) != 0 {
			t.Errorf("Istio 1.29.0 has none, got %+v", v2.Performance)
		}
		var page store.Page
		getJSON(t, base+"/api/v1/results?mesh=istio&mesh_version=1.28.0", &page)
		if len(page.Results) != 1 || page.Results[0].ID != id {
			t.Errorf("results of istio 1.28.0: %+v", page.Results)
		}
		var back api.ConformanceList
		getJSON(t, base+"/api/v1/conformance?mesh=istio&mesh_version=1.28.0", &back)
		if len(back.Results) != 1 || back.Results[0].ID != a.ID {
			t.Errorf("conformance of istio 1.28.0: %+v", back.Results)
		}
	})

	t.Run("overhead from an experiment", func(t *testing.T) {
		var before api.ConformanceView
		getJSON(t, base+"/api/v1/conformance/"+a.ID, &before)
		if before.Overhead != nil {
			t.Fatalf("no experiment measured Istio 1.28.0 yet, got %+v", before.Overhead)
		}
		// An experiment of two variants at one point, as the runner
		// stores its cells: the baseline without a mesh, "istio" with
		// Istio 1.28.0 found in its result's mesh context.
		f, err := experiment.Parse([]byte(`name: mesh-cost
duration: 2s
variants: [{name: direct, targets: ["http://127.0.0.1:9/"]}, {name: istio, targets: ["http://127.0.0.1:9/mesh"]}]
sweep: {rps: [1000], connections: [8]}
`))
		if err != nil {
			t.Fatal(err)
		}
		def, err := experiment.Resolve(f, ".")
		if err != nil {
			t.Fatal(err)
		}
		exp, _, err := experiment.Open(t.Context(), st, def, false)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range def.File.Cells() {
			k := c.Key()
			labels := map[string]string{experiment.LabelExperiment: exp.ID, experiment.LabelVariant: k.Variant,
				experiment.LabelRPS: k.RPS, experiment.LabelConnections: k.Connections, experiment.LabelRepeat: k.Repeat}
			// Another seed per cell: the variants' percentiles differ.
			res := storetest.SampleResult(rand.New(rand.NewPCG(uint64(i+7), 3)), storetest.Sample{Start: t0.Add(time.Duration(i+1) * time.Minute),
				Values: 2000, Seconds: 2, OpenLoop: true, Labels: labels})
			if k.Variant == "istio" {
				res.Mesh = &spec.MeshContext{Meshes: []spec.MeshInstall{{Mesh: "istio", Name: "Istio", Version: "1.28.0"}}}
			}
			if _, err := st.SaveResult(t.Context(), res, store.ResultRef{}); err != nil {
				t.Fatal(err)
			}
		}
		rep, err := experiment.BuildReport(t.Context(), st, exp)
		if err != nil {
			t.Fatal(err)
		}
		want := rep.Points[0].Variants[1].Overhead["p99"]
		if rep.Points[0].Variants[1].Name != "istio" || want.AddedMs == 0 {
			t.Fatalf("the report's istio overhead: %+v", rep.Points[0].Variants[1])
		}

		var v api.ConformanceView
		getJSON(t, base+"/api/v1/conformance/"+a.ID, &v)
		o := v.Overhead
		if o == nil {
			t.Fatal("Istio 1.28.0's conformance result links no overhead")
		}
		if o.ExperimentID != exp.ID || o.ExperimentName != "mesh-cost" || o.Variant != "istio" || o.Baseline != "direct" ||
			o.RPS != 1000 || o.Connections != 8 || o.Latency != "latency" || o.P99 != want {
			t.Errorf("overhead %+v, want istio against direct at 1000/s × 8 of experiment %s, p99 %+v", o, exp.ID, want)
		}
		var other api.ConformanceView
		getJSON(t, base+"/api/v1/conformance/"+c.ID, &other)
		if other.Overhead != nil {
			t.Errorf("Istio 1.29.0 was not measured, got %+v", other.Overhead)
		}
	})

	t.Run("matrix", func(t *testing.T) {
		var m api.ConformanceMatrix
		getJSON(t, base+"/api/v1/conformance/matrix?profile=MESH-HTTP", &m)
		var cols []string
		for _, c := range m.Columns {
			cols = append(cols, c.Mesh+" "+c.MeshVersion)
		}
		if strings.Join(cols, ",") != "Istio 1.28.0,Linkerd 2.19.1,Istio 1.29.0" {
			t.Errorf("columns %v, want oldest first", cols)
		}
		got := map[string]string{}
		for _, r := range m.Tests {
			got[r.Name] = fmt.Sprint(r.Statuses)
		}
		want := map[string]string{
			"MeshBasic": "[pass pass pass]", "MeshPorts": "[fail pass pass]",
			"MeshHTTPRouteRewritePath": "[skip  ]", "MeshFrontend": "[  fail]",
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("rows %v, want %v", got, want)
		}
		if code, _ := do(t, "GET", base+"/api/v1/conformance/matrix", "", ""); code != 400 {
			t.Errorf("no profile: %d", code)
		}
	})
}

// TestConformanceKube runs the real suite through the server against the
// real kube-apiserver without a node (MESHPERF_KUBE_TEST=1): a run whose
// pods never come ends failed with the suite's reason and its result
// stored under the run's id; a run cancelled while the suite waits for its
// pods ends cancelled, its namespaces deleted and named in the result.
func TestConformanceKube(t *testing.T) {
	kc := kubetest.Kubeconfig(t)
	t.Cleanup(kubetest.Stop)
	mod, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	if err != nil {
		t.Fatal(err)
	}
	kubetest.Kubectl(t, kc, "", "apply", "--server-side", "-f", filepath.Join(strings.TrimSpace(string(mod)), "config", "crd", "standard"))
	base, st := newConformanceServer(t, conformance.Runner{Kube: kube.Config{Kubeconfig: kc}, Command: conformanceChild, DiscoveryWait: 3 * time.Second})

	t.Run("pods never ready", func(t *testing.T) {
		code, b := do(t, "POST", base+"/api/v1/conformance", "application/json", `{"profile": "MESH-HTTP", "setup_timeout": "3s", "timeout": "2m", "labels": {"ci": "1"}}`)
		var run store.Run
		if err := json.Unmarshal(b, &run); code != 202 || err != nil || run.Labels["conformance"] != run.ID || run.Labels["ci"] != "1" {
			t.Fatalf("%d %s", code, b)
		}
		ended := waitEnded(t, base, run.ID, 2*time.Minute)
		if ended.State != store.RunFailed || !strings.HasPrefix(ended.Error, "MESH-HTTP not-run: 0 passed, 0 failed, 7 skipped, 7 not run") {
			t.Errorf("run %s %q", ended.State, ended.Error)
		}
		var v api.ConformanceView
		getJSON(t, base+"/api/v1/conformance/"+run.ID, &v)
		if v.Result == nil || v.Run == nil || v.Run.ID != run.ID || v.Result.Outcome != "not-run" {
			t.Fatalf("view %+v", v)
		}
		for _, tr := range v.Result.Tests {
			if tr.Status == result.NotRun && !strings.Contains(tr.Message, "its pods never became ready") {
				t.Errorf("%s: %q", tr.Name, tr.Message)
			}
		}
		if rec, err := st.GetConformance(t.Context(), run.ID); err != nil || rec.NotRun != 7 {
			t.Errorf("stored %+v %v", rec, err)
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		finalizeSuiteNamespaces(t, kc)
		code, b := do(t, "POST", base+"/api/v1/conformance", "application/json", `{"profile": "MESH-HTTP", "setup_timeout": "5m"}`)
		var run store.Run
		if err := json.Unmarshal(b, &run); code != 202 || err != nil {
			t.Fatalf("%d %s", code, b)
		}
		cs := clientset(t, kc)
		deadline := time.Now().Add(time.Minute)
		for {
			if _, err := cs.CoreV1().Namespaces().Get(t.Context(), "gateway-conformance-mesh-consumer", metav1.GetOptions{}); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the suite created no namespace within a minute")
			}
			time.Sleep(200 * time.Millisecond)
		}
		if code, b := do(t, "POST", base+"/api/v1/runs/"+run.ID+"/cancel", "", ""); code != 202 {
			t.Fatalf("cancel: %d %s", code, b)
		}
		ended := waitEnded(t, base, run.ID, time.Minute)
		if ended.State != store.RunCancelled {
			t.Errorf("run %s %q", ended.State, ended.Error)
		}
		var v api.ConformanceView
		getJSON(t, base+"/api/v1/conformance/"+run.ID, &v)
		if v.Result == nil || v.Result.Outcome != "cancelled" || strings.Join(v.Result.Cleanup, ",") != "gateway-conformance-mesh,gateway-conformance-mesh-consumer" {
			t.Fatalf("view %+v", v.Result)
		}
		for _, name := range v.Result.Cleanup {
			ns, err := cs.CoreV1().Namespaces().Get(t.Context(), name, metav1.GetOptions{})
			if err == nil && ns.DeletionTimestamp == nil {
				t.Errorf("namespace %s is not being deleted", name)
			}
		}
	})
}

func clientset(t *testing.T, kc string) kubernetes.Interface {
	t.Helper()
	rc, _, err := kube.RESTConfig(kube.Config{Kubeconfig: kc})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// finalizeSuiteNamespaces does what the namespace controller (absent
// here) does for the namespaces an earlier run deleted, and waits until
// they are gone.
func finalizeSuiteNamespaces(t *testing.T, kc string) {
	t.Helper()
	cs := clientset(t, kc)
	deadline := time.Now().Add(30 * time.Second)
	for _, name := range []string{"gateway-conformance-mesh", "gateway-conformance-mesh-consumer"} {
		for {
			ns, err := cs.CoreV1().Namespaces().Get(t.Context(), name, metav1.GetOptions{})
			if err != nil {
				break
			}
			if ns.DeletionTimestamp != nil && len(ns.Spec.Finalizers) > 0 {
				ns.Spec.Finalizers = nil
				_, _ = cs.CoreV1().Namespaces().Finalize(t.Context(), ns, metav1.UpdateOptions{})
			}
			if time.Now().After(deadline) {
				t.Fatalf("namespace %s still there", name)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}
