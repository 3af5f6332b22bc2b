package conformance

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/cluster/kubetest"
	"github.com/meshperf/meshperf/kube"
)

// envNodeKubeconfig names a cluster whose node runs pods, with the
// suite's images (docs/conformance.md) loaded: issue 17 builds one.
const envNodeKubeconfig = "MESHPERF_TEST_NODE_KUBECONFIG"

// TestNode runs the MESH-HTTP profile for real on a cluster without a
// mesh: tests run (not all not-run), every failure carries the suite's
// reason, and the stored result agrees test by test with the official
// report the suite wrote.
func TestNode(t *testing.T) {
	kc := os.Getenv(envNodeKubeconfig)
	if kc == "" {
		t.Skipf("needs a cluster whose node runs pods: set %s (issue 17)", envNodeKubeconfig)
	}
	gw := filepath.Join(moduleDir(t, "sigs.k8s.io/gateway-api"), "config", "crd", "standard")
	kubetest.Kubectl(t, kc, "", "apply", "--server-side", "--force-conflicts", "-f", gw)
	res, err := Run(t.Context(), Options{
		Kube: kube.Config{Kubeconfig: kc}, Profile: "MESH-HTTP",
		Timeout: 30 * time.Minute, Command: childCommand,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %+v in %s", res.Outcome, res.Counts, res.Finished.Sub(res.Started))
	if res.Outcome == OutcomeNotRun || res.Counts.Passed+res.Counts.Failed == 0 {
		t.Fatalf("no test ran: %s", res.Reason)
	}
	if res.ReportMismatch != "" {
		t.Error(res.ReportMismatch)
	}
	for _, tr := range res.Tests {
		if tr.Status == Fail && tr.Message == "" {
			t.Errorf("%s failed without a message:\n%s", tr.Name, tr.Output)
		}
	}
}
