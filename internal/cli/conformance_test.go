//go:build !noconformance

package cli_test

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/cli"
	"github.com/meshperf/meshperf/internal/cluster/kubetest"
)

// TestConformanceBadInput: wrong names and flags are refused before
// anything is read from a cluster, each naming what is wrong.
func TestConformanceBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no profile", []string{"run"}, "--profile is required: one of MESH-HTTP, MESH-GRPC, GATEWAY-HTTP"},
		{"unknown profile", []string{"run", "--profile", "MESH-HTPP"}, `unknown conformance profile "MESH-HTPP" (did you mean "MESH-HTTP"?)`},
		{"unknown feature", []string{"run", "--profile", "MESH-HTTP", "--supported-features", "MeshHTTPRouteRewritePth"}, `unknown feature "MeshHTTPRouteRewritePth" (did you mean "MeshHTTPRouteRewritePath"?)`},
		{"feature of another profile", []string{"run", "--profile", "MESH-HTTP", "--supported-features", "GatewayPort8080"}, `feature "GatewayPort8080" is not part of profile MESH-HTTP`},
		{"gateway without class", []string{"run", "--profile", "GATEWAY-HTTP"}, "name its GatewayClass (--gateway-class)"},
		{"namespace prefix", []string{"run", "--profile", "MESH-HTTP", "--namespace-prefix", "mine"}, `--namespace-prefix "mine": the Gateway API suite v1.6.3 creates fixed namespaces`},
		{"output", []string{"run", "--profile", "MESH-HTTP", "-o", "yaml"}, `--output "yaml": want text, json or junit`},
		{"label", []string{"run", "--profile", "MESH-HTTP", "--namespace-label", "novalue"}, `--namespace-label "novalue": want KEY=VALUE`},
		{"features of unknown profile", []string{"features", "--profile", "MESH"}, `unknown conformance profile "MESH"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := meshperf(t, append([]string{"conformance"}, tc.args...)...)
			if code != cli.ExitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, cli.ExitUsage, tc.want)
			}
		})
	}
	out, _, code := meshperf(t, "conformance", "features", "--profile", "MESH-HTTP")
	if code != 0 || !strings.Contains(out, "MeshHTTPRouteRewritePath\n") || strings.Contains(out, "GatewayPort8080") {
		t.Errorf("features --profile MESH-HTTP: exit %d\n%s", code, out)
	}
}

// TestConformanceAPIServer runs the suite as a user would, against the
// API server without a node: the report says why no test ran, the
// result is stored, shown, listed and compared.
func TestConformanceAPIServer(t *testing.T) {
	kc := kubetest.Kubeconfig(t)
	t.Cleanup(kubetest.Stop) // it leaves the Gateway API v1.6.3 installed
	gw := moduleDir(t, "sigs.k8s.io/gateway-api")
	kubetest.Kubectl(t, kc, "", "apply", "--server-side", "--force-conflicts", "-f", filepath.Join(gw, "config", "crd", "standard"))
	dir := t.TempDir()
	run := func(extra ...string) (string, string) {
		t.Helper()
		args := append([]string{"conformance", "run", "--profile", "MESH-HTTP", "--kubeconfig", kc, "--setup-timeout", "3s", "--timeout", "2m"}, extra...)
		out, stderr, code := meshperf(t, args...)
		if code != cli.ExitFailed {
			t.Fatalf("exit %d, want %d (no test could run)\n%s\n%s", code, cli.ExitFailed, out, stderr)
		}
		for _, ns := range []string{"gateway-conformance-mesh", "gateway-conformance-mesh-consumer"} {
			finalizeNamespace(t, kc, ns)
		}
		return out, stderr
	}
	report, junit, jsonOut := filepath.Join(dir, "report.yaml"), filepath.Join(dir, "junit.xml"), filepath.Join(dir, "result.json")
	out, stderr := run("--report", report, "--junit", junit, "--json", jsonOut)
	for _, want := range []string{"conformance MESH-HTTP, Gateway API suite v1.6.3, no mesh detected", "NOT-RUN MeshBasic",
		"the suite's setup failed: its pods never became ready", "SKIP    MeshHTTPRouteRewritePath", "not declared supported: MeshHTTPRouteRewritePath",
		"deleted namespaces: gateway-conformance-mesh, gateway-conformance-mesh-consumer"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(stderr, "meshperf: conformance not-run: 0 passed, 0 failed") {
		t.Errorf("stderr: %s", stderr)
	}
	var res struct {
		ID     string
		Tests  []struct{ Name, Status, Message string }
		Report string
	}
	readJSON(t, jsonOut, &res)
	if res.ID == "" || len(res.Tests) == 0 {
		t.Fatalf("JSON result %+v", res)
	}
	officialYAML, err := os.ReadFile(report)
	if err != nil || string(officialYAML) != res.Report || !strings.Contains(res.Report, "kind: ConformanceReport") {
		t.Errorf("--report wrote %q (%v), the result holds %q", officialYAML, err, res.Report)
	}
	var ju struct {
		Suites []struct {
			Tests  int `xml:"tests,attr"`
			Errors int `xml:"errors,attr"`
		} `xml:"testsuite"`
	}
	raw, _ := os.ReadFile(junit)
	if err := xml.Unmarshal(raw, &ju); err != nil || len(ju.Suites) != 1 || ju.Suites[0].Tests != len(res.Tests) || ju.Suites[0].Errors == 0 {
		t.Errorf("junit %+v, %v", ju, err)
	}

	// Stored: show gives back the same result and the official YAML.
	shown, _, code := meshperf(t, "conformance", "show", res.ID[:8], "-o", "yaml")
	if code != 0 || shown != string(officialYAML) {
		t.Errorf("show -o yaml: exit %d\n%s", code, shown)
	}
	shown, _, _ = meshperf(t, "conformance", "show", res.ID)
	if !strings.Contains(shown, "result "+res.ID) || !strings.Contains(shown, "NOT-RUN MeshBasic") {
		t.Errorf("show:\n%s", shown)
	}
	_, stderr, code = meshperf(t, "conformance", "show", "ffffffffffff")
	if code != cli.ExitUsage || !strings.Contains(stderr, `no conformance result "ffffffffffff" in the store`) {
		t.Errorf("show of an unknown ID: exit %d, %s", code, stderr)
	}

	// A second run declaring a feature: compare names what changed.
	out2, _ := run("--supported-features", "MeshHTTPRouteRewritePath", "-o", "json")
	var res2 struct{ ID string }
	if err := json.Unmarshal([]byte(out2), &res2); err != nil || res2.ID == "" {
		t.Fatalf("-o json: %v\n%s", err, out2)
	}
	list, _, code := meshperf(t, "conformance", "list", "--profile", "MESH-HTTP")
	if code != 0 || !strings.Contains(list, res.ID) || !strings.Contains(list, res2.ID) || !strings.Contains(list, "not-run") {
		t.Errorf("list: exit %d\n%s", code, list)
	}
	cmp, _, code := meshperf(t, "conformance", "compare", res.ID, res2.ID)
	if code != 0 || !strings.Contains(cmp, "other changes: 1") || !strings.Contains(cmp, "MeshHTTPRouteRewritePath") || !strings.Contains(cmp, "A skip     B not-run") {
		t.Errorf("compare: exit %d\n%s", code, cmp)
	}
}

// TestConformanceInterrupt: Ctrl-C while the suite waits for its pods
// stops it, deletes its namespaces, keeps the cancelled result and exits
// 130.
func TestConformanceInterrupt(t *testing.T) {
	kc := kubetest.Kubeconfig(t)
	t.Cleanup(kubetest.Stop)
	gw := moduleDir(t, "sigs.k8s.io/gateway-api")
	kubetest.Kubectl(t, kc, "", "apply", "--server-side", "--force-conflicts", "-f", filepath.Join(gw, "config", "crd", "standard"))
	cmd := exec.Command(binary, "conformance", "run", "--profile", "MESH-HTTP", "--kubeconfig", kc, "--setup-timeout", "2m", "--timeout", "5m")
	cmd.Env = testEnv(t)
	var out, errw strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(kubetest.Kubectl(t, kc, "", "get", "namespaces", "-l", "meshperf.io/conformance-run", "-o", "name"), "gateway-conformance-mesh-consumer") {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the suite created no namespace in 60s\n%s", errw.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != cli.ExitInterrupted {
		t.Fatalf("exit %v, want %d\n%s\n%s", err, cli.ExitInterrupted, out.String(), errw.String())
	}
	if !strings.Contains(out.String(), "cancelled: 0 passed") || !strings.Contains(out.String(), "the run was cancelled before this test ended") ||
		!strings.Contains(out.String(), "deleted namespaces: gateway-conformance-mesh, gateway-conformance-mesh-consumer") {
		t.Errorf("report:\n%s", out.String())
	}
	ns := kubetest.Kubectl(t, kc, "", "get", "namespace", "gateway-conformance-mesh", "-o", "jsonpath={.metadata.deletionTimestamp}")
	if strings.TrimSpace(ns) == "" {
		t.Error("gateway-conformance-mesh is not being deleted")
	}
	list, _, _ := meshperf(t, "conformance", "list")
	if !strings.Contains(list, "cancelled") {
		t.Errorf("the cancelled result is not stored:\n%s", list)
	}
}

// finalizeNamespace does what the namespace controller (absent here)
// does once a deleted namespace is empty: it drops the finalizer.
func finalizeNamespace(t *testing.T, kc, ns string) {
	t.Helper()
	obj := kubetest.Kubectl(t, kc, "", "get", "namespace", ns, "--ignore-not-found", "-o", "json")
	if strings.TrimSpace(obj) == "" {
		return
	}
	var n map[string]any
	if err := json.Unmarshal([]byte(obj), &n); err != nil {
		t.Fatal(err)
	}
	n["spec"] = map[string]any{"finalizers": []string{}}
	b, _ := json.Marshal(n)
	kubetest.Kubectl(t, kc, string(b), "replace", "--raw", "/api/v1/namespaces/"+ns+"/finalize", "-f", "-")
}

func moduleDir(t *testing.T, path string) string {
	t.Helper()
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", path)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", path, err)
	}
	return strings.TrimSpace(string(out))
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestConformanceImport: a result written elsewhere is stored under a new
// ID with its counts computed again from its tests, then listed and
// shown; a file that is not a result, of an unknown profile or status is
// refused with exit 2, naming what is wrong.
func TestConformanceImport(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `{"id": "ffffffffffff0000", "kind": "gateway-api", "profile": "MESH-HTTP", "suiteVersion": "v1.6.3",
		"implementation": {"mesh": "Istio", "version": "1.28.0", "detected": true}, "started": "2026-12-03T16:00:00Z",
		"finished": "2026-12-03T16:04:47Z", "outcome": "passed", "supportedFeatures": [], "unsupportedFeatures": [],
		"counts": {"passed": 99, "failed": 0, "skipped": 0, "notRun": 0},
		"tests": [{"name": "MeshBasic", "status": "pass", "durationNs": 1180000000},
		          {"name": "MeshHTTPRouteWeight", "status": "fail", "durationNs": 21280000000, "message": "Weighted distribution tests failed"}]}`)
	out, stderr, code := meshperf(t, "conformance", "import", good)
	if code != 0 || !strings.Contains(out, "(MESH-HTTP failed: 1 passed, 1 failed, 0 skipped, 0 not run)") {
		t.Fatalf("import: exit %d\n%s%s", code, out, stderr)
	}
	id := strings.Fields(out)[3]
	if id == "ffffffffffff0000" {
		t.Errorf("the file's ID was kept")
	}
	out, _, code = meshperf(t, "conformance", "list", "-o", "json")
	var rows []struct {
		ID, Mesh, Outcome string
		Passed, Failed    int
	}
	if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil || len(rows) != 1 || rows[0].ID != id || rows[0].Mesh != "Istio" ||
		rows[0].Outcome != "failed" || rows[0].Passed != 1 || rows[0].Failed != 1 {
		t.Errorf("list: exit %d %v %+v", code, err, rows)
	}
	out, _, _ = meshperf(t, "conformance", "show", id)
	if !strings.Contains(out, "Weighted distribution tests failed") {
		t.Errorf("show:\n%s", out)
	}
	// meshperf's SMI test set's results import too.
	smiFile := write("smi.json", `{"kind": "smi", "profile": "SMI", "suiteVersion": "meshperf-smi/1 split.smi-spec.io/v1alpha4",
		"started": "2026-12-03T16:00:00Z", "finished": "2026-12-03T16:01:00Z", "outcome": "failed",
		"tests": [{"name": "SMITrafficSplitWeights", "status": "fail", "message": "no SMI implementation seems to have applied the split"}]}`)
	if out, stderr, code := meshperf(t, "conformance", "import", smiFile); code != 0 || !strings.Contains(out, "(SMI failed: 0 passed, 1 failed") {
		t.Errorf("import SMI: exit %d\n%s%s", code, out, stderr)
	}
	for _, tc := range []struct{ name, body, want string }{
		{"not JSON", "profile: MESH-HTTP", "not a conformance result"},
		{"unknown field", `{"profile": "MESH-HTTP", "outcome": "passed", "verdict": 1}`, `unknown field "verdict"`},
		{"unknown profile", `{"profile": "MESH-HTPP", "outcome": "passed", "started": "2026-12-03T16:00:00Z"}`, `did you mean "MESH-HTTP"`},
		{"unknown status", `{"profile": "MESH-HTTP", "outcome": "passed", "started": "2026-12-03T16:00:00Z", "tests": [{"name": "MeshBasic", "status": "ok"}]}`, `status "ok"`},
		{"unknown outcome", `{"profile": "MESH-HTTP", "outcome": "great", "started": "2026-12-03T16:00:00Z"}`, `outcome "great"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := meshperf(t, "conformance", "import", write(tc.name+".json", tc.body))
			if code != cli.ExitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, cli.ExitUsage, tc.want)
			}
		})
	}
}
