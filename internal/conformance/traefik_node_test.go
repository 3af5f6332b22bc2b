//go:build traefiknode

package conformance

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/meshperf/meshperf/internal/cluster/kubetest"
	"github.com/meshperf/meshperf/internal/kubenode"
	"github.com/meshperf/meshperf/kube"
)

const (
	// envTraefikReport names a file to which TestTraefikNode copies the
	// official report the suite wrote (docs/conformance/ keeps one).
	envTraefikReport = "MESHPERF_TRAEFIK_REPORT_OUT"
	// traefikVersion is the release test/traefik builds.
	traefikVersion = "v3.7.13"
)

// TestTraefikNode runs the GATEWAY-HTTP profile on the test node against a
// real Gateway API implementation: Traefik v3, built from its Go module
// (scripts/traefik-image.sh) and deployed with its Kubernetes Gateway
// provider (test/traefik/deploy/traefik.yaml), with the suite's echo
// images built from source. The extended features declared supported are
// the ones Traefik itself publishes in its GatewayClass's status. Every
// test of the profile ran or was skipped for an undeclared feature (none
// not-run), every failure carries the suite's reason, the result agrees
// test by test with the official report the suite wrote, and core tests
// that any conformant Gateway passes did pass here.
//
// The suite runs inside the node's network namespace (the Gateway's
// address is the traefik Service's cluster IP, reached through
// kube-proxy), talking to the API server at the node's address; meshperf's
// own calls (checks, cleanup) go through the host's forwarded port.
//
// Opt-in by the traefiknode build tag (make conformance-traefik, with
// MESHPERF_KUBE_TEST=1 as root): building Traefik the first time (then
// cached) took 41 minutes here on two loaded cores (14 minutes of CPU), so
// CI only compiles it (go vet -tags traefiknode in .ci/run).
func TestTraefikNode(t *testing.T) {
	n := kubenode.Get(t)
	start := time.Now()
	for _, script := range []string{"conformance-images.sh", "traefik-image.sh"} {
		cmd := exec.CommandContext(t.Context(), filepath.Join(kubetest.RepoRoot(), "scripts", script),
			filepath.Join(n.Dir, strings.TrimSuffix(script, ".sh")), n.ContainerdSock)
		cmd.Env = append(os.Environ(), "MESHPERF_BIN="+n.Meshperf, "MESHPERF_CONFORMANCE_COREDNS=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("scripts/%s: %v\n%s", script, err, out)
		}
	}
	t.Logf("images built and imported in %s", time.Since(start).Round(time.Second))

	gw := filepath.Join(moduleDir(t, "sigs.k8s.io/gateway-api"), "config", "crd", "standard")
	n.Kubectl(t, "", "apply", "--server-side", "--force-conflicts", "-f", gw)
	n.Kubectl(t, "", "wait", "--for", "condition=Established", "--timeout", "60s", "crd", "gatewayclasses.gateway.networking.k8s.io", "gateways.gateway.networking.k8s.io", "httproutes.gateway.networking.k8s.io")
	n.Kubectl(t, "", "apply", "-f", filepath.Join(kubetest.RepoRoot(), "test", "traefik", "deploy", "traefik.yaml"))
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := exec.Command("kubectl", "--kubeconfig", n.Kubeconfig, "-n", "traefik", "logs", "deploy/traefik", "--tail=200").CombinedOutput()
			t.Logf("traefik's log:\n%s", out)
		}
	})
	n.WaitPods(t, "traefik", "app=traefik", 1, 3*time.Minute)
	features := traefikFeatures(t, n, mustProfile(t, "GATEWAY-HTTP"))
	t.Logf("features Traefik declares (GATEWAY-HTTP's extended ones): %s", strings.Join(features, ", "))

	inner := innerKubeconfig(t, n)
	var ended []TestResult
	res, err := Run(t.Context(), Options{
		Kube: kube.Config{Kubeconfig: n.Kubeconfig}, Profile: "GATEWAY-HTTP", GatewayClass: "traefik",
		Features: features, Mesh: "traefik", MeshVersion: traefikVersion,
		Organization: "traefik", URL: "https://traefik.io/",
		Timeout: 45 * time.Minute, Command: nodeChildCommand(t, n, inner),
		Progress: func(tr TestResult) {
			ended = append(ended, tr)
			t.Logf("%s %s (%s)", strings.ToUpper(string(tr.Status)), tr.Name, tr.Duration.Round(time.Millisecond))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %+v in %s; deleted %v", res.Outcome, res.Counts, res.Finished.Sub(res.Started).Round(time.Second), res.Cleanup)
	for _, tr := range res.Tests {
		if tr.Status == Fail {
			t.Logf("FAIL %s (%s): %s", tr.Name, tr.Duration.Round(time.Millisecond), tr.Message)
			// The suite's own lines, for docs/conformance.md (its last 4 KiB).
			t.Logf("%s's output:\n%s", tr.Name, tr.Output[max(0, len(tr.Output)-4096):])
		}
	}
	if out := os.Getenv(envTraefikReport); out != "" && res.Report != "" {
		if err := os.WriteFile(out, []byte(res.Report), 0o644); err != nil {
			t.Error(err)
		}
	}
	if res.Counts.NotRun > 0 || res.Counts.Passed == 0 {
		t.Fatalf("tests did not run: %+v: %s", res.Counts, res.Reason)
	}
	if res.Report == "" {
		t.Fatal("the suite wrote no report")
	}
	if res.ReportMismatch != "" {
		t.Error(res.ReportMismatch)
	}
	if len(ended) < res.Counts.Passed+res.Counts.Failed {
		t.Errorf("progress told %d tests, the result has %d passed and failed", len(ended), res.Counts.Passed+res.Counts.Failed)
	}
	for _, tr := range res.Tests {
		if tr.Status == Fail && tr.Message == "" {
			t.Errorf("%s failed without a message:\n%s", tr.Name, tr.Output)
		}
		if tr.Status == Skip && !strings.HasPrefix(tr.Message, "not declared supported") {
			t.Logf("SKIP (by the suite) %s: %s", tr.Name, tr.Message)
		}
	}
	// Routing through a real Gateway: tests that only need core features
	// and that a working Gateway cannot fail.
	for _, name := range []string{"HTTPRouteSimpleSameNamespace", "HTTPRouteExactPathMatching", "HTTPRouteMatching", "HTTPRouteHeaderMatching", "GatewayClassObservedGenerationBump"} {
		if tr, ok := res.Test(name); !ok || tr.Status != Pass {
			t.Errorf("%s: %s %q, want passed", name, tr.Status, tr.Message)
		}
	}

	var rep confv1.ConformanceReport
	if err := yaml.Unmarshal([]byte(res.Report), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.ProfileReports) != 1 || rep.ProfileReports[0].Name != "GATEWAY-HTTP" {
		t.Fatalf("report profiles %+v", rep.ProfileReports)
	}
	if rep.GatewayAPIVersion != SuiteVersion || rep.Implementation.Project != "traefik" || rep.Implementation.Version != traefikVersion {
		t.Errorf("report for %s %s, Gateway API %s", rep.Implementation.Project, rep.Implementation.Version, rep.GatewayAPIVersion)
	}
	pr := rep.ProfileReports[0]
	for _, name := range pr.Core.FailedTests {
		if tr, _ := res.Test(name); tr.Status != Fail {
			t.Errorf("the report fails core %s, the result says %s", name, tr.Status)
		}
	}
	if int(pr.Core.Passed) != countCore(res, Pass) || int(pr.Core.Failed) != countCore(res, Fail) {
		t.Errorf("core: the report %d passed, %d failed; the result's core tests %d, %d", pr.Core.Passed, pr.Core.Failed, countCore(res, Pass), countCore(res, Fail))
	}
	if pr.Extended != nil {
		for _, name := range pr.Extended.FailedTests {
			if tr, _ := res.Test(name); tr.Status != Fail {
				t.Errorf("the report fails extended %s, the result says %s", name, tr.Status)
			}
		}
		supported := slices.Clone(pr.Extended.SupportedFeatures)
		slices.Sort(supported)
		if !slices.Equal(supported, features) {
			t.Errorf("the report's extended supported features %v, declared %v", supported, features)
		}
	}
}

// traefikFeatures waits for Traefik to accept GatewayClass traefik and
// returns the features it lists in the class's status that are extended
// features of profile p, sorted.
func traefikFeatures(t *testing.T, n *kubenode.Node, p Profile) []string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out := n.Kubectl(t, "", "get", "gatewayclass", "traefik", "-o", "json")
		var gc struct {
			Status struct {
				Conditions []struct {
					Type, Status string
				} `json:"conditions"`
				SupportedFeatures []struct {
					Name string `json:"name"`
				} `json:"supportedFeatures"`
			} `json:"status"`
		}
		if err := json.Unmarshal([]byte(out), &gc); err != nil {
			t.Fatal(err)
		}
		accepted := slices.ContainsFunc(gc.Status.Conditions, func(c struct{ Type, Status string }) bool {
			return c.Type == "Accepted" && c.Status == "True"
		})
		if accepted && len(gc.Status.SupportedFeatures) > 0 {
			var fs []string
			for _, f := range gc.Status.SupportedFeatures {
				if slices.Contains(p.Extended, f.Name) {
					fs = append(fs, f.Name)
				}
			}
			slices.Sort(fs)
			return fs
		}
		if time.Now().After(deadline) {
			t.Fatalf("GatewayClass traefik not accepted with its features within 2m: %s", out)
		}
		time.Sleep(time.Second)
	}
}

// innerKubeconfig writes a copy of the node's kubeconfig whose server is
// the API server's address inside the node's network namespace.
func innerKubeconfig(t *testing.T, n *kubenode.Node) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(n.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cfg.Clusters {
		c.Server = "https://" + n.NodeIP + ":6443"
	}
	path := filepath.Join(t.TempDir(), "inner.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// nodeChildCommand runs the suite's child inside the node's network
// namespace with the kubeconfig for it: the options file the parent wrote
// is rewritten to name that kubeconfig.
func nodeChildCommand(t *testing.T, n *kubenode.Node, kubeconfig string) func(context.Context, string) *exec.Cmd {
	return func(ctx context.Context, optionsPath string) *exec.Cmd {
		var o childOptions
		data, err := os.ReadFile(optionsPath)
		if err == nil {
			err = json.Unmarshal(data, &o)
		}
		if err == nil {
			o.Kubeconfig = kubeconfig
			data, err = json.Marshal(o)
		}
		if err == nil {
			err = os.WriteFile(optionsPath, data, 0o600)
		}
		if err != nil {
			t.Errorf("child options %s: %v", optionsPath, err)
		}
		cmd := n.Command(ctx, os.Args[0])
		cmd.Env = append(os.Environ(), envChild+"="+optionsPath)
		return cmd
	}
}
