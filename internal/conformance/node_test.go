package conformance

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/meshperf/meshperf/internal/cluster/kubetest"
	"github.com/meshperf/meshperf/internal/conformance/result"
	"github.com/meshperf/meshperf/internal/kubenode"
	"github.com/meshperf/meshperf/kube"
	"github.com/meshperf/meshperf/store/sqlite"
)

// envNodeKubeconfig names another cluster whose node runs pods, with the
// suite's images loaded (docs/conformance.md), instead of the test node.
const envNodeKubeconfig = "MESHPERF_TEST_NODE_KUBECONFIG"

// TestNode runs the MESH-HTTP profile for real on the test node
// (scripts/kube-up.sh --node: pods run, kube-proxy, the node's minimal
// cluster DNS) without a mesh, with the suite's images built from source
// (scripts/conformance-images.sh) and imported into the node's
// containerd: every test of the profile ran (none not-run), every
// failure carries the suite's reason, the stored result reads back equal,
// and it agrees test by test with the official report the suite wrote.
func TestNode(t *testing.T) {
	kc := nodeWithImages(t)
	gw := filepath.Join(moduleDir(t, "sigs.k8s.io/gateway-api"), "config", "crd", "standard")
	kubetest.Kubectl(t, kc, "", "apply", "--server-side", "--force-conflicts", "-f", gw)
	var ended []TestResult
	res, err := Run(t.Context(), Options{
		Kube: kube.Config{Kubeconfig: kc}, Profile: "MESH-HTTP",
		Timeout: 30 * time.Minute, Command: childCommand,
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
	// Progress told each test that ran or that the suite skipped, as the
	// result has it.
	if len(ended) < res.Counts.Passed+res.Counts.Failed {
		t.Errorf("progress told %d tests, the result has %d passed and failed", len(ended), res.Counts.Passed+res.Counts.Failed)
	}
	for _, e := range ended {
		if tr, ok := res.Test(e.Name); !ok || tr.Status != e.Status || tr.Message != e.Message {
			t.Errorf("progress told %s %s %q, the result %s %q", e.Name, e.Status, e.Message, tr.Status, tr.Message)
		}
	}
	if out := os.Getenv("MESHPERF_TEST_CONFORMANCE_OUT"); out != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(out, b, 0o644); err != nil {
			t.Error(err)
		}
	}
	for _, tr := range res.Tests {
		if tr.Status == Fail && tr.Message == "" {
			t.Errorf("%s failed without a message:\n%s", tr.Name, tr.Output)
		}
	}
	// Test by test against the official report: its failed and skipped
	// tests by name, and what it counts passed are ours.
	var rep confv1.ConformanceReport
	if err := yaml.Unmarshal([]byte(res.Report), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.ProfileReports) != 1 || rep.ProfileReports[0].Name != "MESH-HTTP" {
		t.Fatalf("report profiles %+v", rep.ProfileReports)
	}
	pr := rep.ProfileReports[0]
	for _, name := range pr.Core.FailedTests {
		if tr, _ := res.Test(name); tr.Status != Fail {
			t.Errorf("the report fails %s, the result says %s", name, tr.Status)
		}
	}
	if int(pr.Core.Passed) != countCore(res, Pass) || int(pr.Core.Failed) != countCore(res, Fail) {
		t.Errorf("core: the report %d passed, %d failed; the result's core tests %d, %d", pr.Core.Passed, pr.Core.Failed, countCore(res, Pass), countCore(res, Fail))
	}

	// Stored and read back as the CLI and the server do.
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res.ID = "0123456789abcdef"
	rec, err := res.Record()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SaveConformance(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetConformance(t.Context(), res.ID)
	if err != nil {
		t.Fatal(err)
	}
	back, err := result.FromRecord(got)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(back)
	b, _ := json.Marshal(res)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("stored result differs from the run's")
	}
	if got.Passed != res.Counts.Passed || got.Failed != res.Counts.Failed || got.Outcome != res.Outcome {
		t.Errorf("stored columns %+v, result %+v %s", got, res.Counts, res.Outcome)
	}
}

// images is the import of the suite's images into the test node, done
// once for the tests of the package that use it (TestNode, TestSMINode).
var images struct {
	once sync.Once
	err  error
}

// nodeWithImages returns the kubeconfig of the cluster whose node runs
// the tests' pods: envNodeKubeconfig's, else the test node's with the
// suite's images imported into its containerd.
func nodeWithImages(t *testing.T) string {
	t.Helper()
	if kc := os.Getenv(envNodeKubeconfig); kc != "" {
		return kc
	}
	n := kubenode.Get(t)
	images.once.Do(func() {
		start := time.Now()
		cmd := exec.CommandContext(t.Context(), filepath.Join(kubetest.RepoRoot(), "scripts", "conformance-images.sh"), filepath.Join(n.Dir, "conformance-images"), n.ContainerdSock)
		cmd.Env = append(os.Environ(), "MESHPERF_BIN="+n.Meshperf)
		if out, err := cmd.CombinedOutput(); err != nil {
			images.err = fmt.Errorf("scripts/conformance-images.sh: %v\n%s", err, out)
			return
		}
		t.Logf("images built and imported in %s", time.Since(start).Round(time.Second))
	})
	if images.err != nil {
		t.Fatal(images.err)
	}
	return n.Kubeconfig
}

// countCore counts the tests of status s that need only core features.
func countCore(r *Result, s Status) int {
	p, _ := LookupProfile(r.Profile)
	n := 0
	for _, tr := range r.Tests {
		core := true
		for _, f := range tr.Features {
			core = core && contains(p.Core, f)
		}
		if core && tr.Status == s {
			n++
		}
	}
	return n
}
