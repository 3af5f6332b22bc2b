package conformance

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/meshperf/meshperf/internal/conformance/testout"
)

// fakeOutput runs the made-up suite (main_test.go) in a child process and
// returns its stdout: the testing package's real -test.v=test2json output.
func fakeOutput(t *testing.T) []byte {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envFake+"=1")
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("fake suite: want exit status 1 (a test failed), got %v\n%s", err, out.String())
	}
	return out.Bytes()
}

func TestStreamParserRealOutput(t *testing.T) {
	p := testout.New()
	var done []string
	p.OnDone = func(o *testout.Test) { done = append(done, o.Name+"="+o.Status) }
	if err := p.Read(bytes.NewReader(fakeOutput(t))); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		status  Status
		message string
	}{
		{"MeshBasic", Pass, ""},
		{"MeshHTTPRouteMatching", Fail, "Received unexpected error: i/o timeout expected response 200 never came"},
		{"MeshHTTPRouteRewritePath", Skip, "Skipping MeshHTTPRouteRewritePath: suite does not support MeshHTTPRouteRewritePath"},
		{"MeshTrafficSplit", Fail, "weights: weights off: got 80/20, want 50/50\nsecond line"},
		{"HTTPRouteMultipleGateways", Fail, "parents/request: expected pod name to start with infra-backend-v3, got infra-backend-v2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, ok := p.Tests[suiteTestName+"/"+tc.name]
			if !ok {
				t.Fatalf("not parsed; have %v", p.Order)
			}
			got := testResultOf(tc.name, o, p)
			if got.Status != tc.status {
				t.Errorf("status %q, want %q\noutput:\n%s", got.Status, tc.status, got.Output)
			}
			if got.Message != tc.message {
				t.Errorf("message %q, want %q", got.Message, tc.message)
			}
			if tc.status == Fail && got.Duration <= 0 && tc.name == "MeshHTTPRouteMatching" {
				t.Errorf("duration %s, want > 0 (it slept 20ms)", got.Duration)
			}
		})
	}
	// A test's own line that looks like a frame stays its output.
	if o := p.Tests[suiteTestName+"/MeshBasic"]; !strings.Contains(o.Output(), "--- FAIL: a test's own line") {
		t.Errorf("MeshBasic's output lost its own line: %q", o.Output())
	}
	// The subtest's failure is in its parent's output.
	ts := testResultOf("MeshTrafficSplit", p.Tests[suiteTestName+"/MeshTrafficSplit"], p)
	if !strings.Contains(ts.Output, "weights off: got 80/20, want 50/50") {
		t.Errorf("MeshTrafficSplit's output lacks its subtest's failure:\n%s", ts.Output)
	}
	if got := strings.Join(done, " "); !strings.Contains(got, suiteTestName+"/MeshHTTPRouteMatching=fail") || !strings.Contains(got, suiteTestName+"=fail") {
		t.Errorf("progress callbacks: %s", got)
	}
	// The setup log is the top-level test's.
	if !strings.Contains(p.Tests[suiteTestName].Output(), "Applying base manifests") {
		t.Errorf("setup log not attributed to %s", suiteTestName)
	}
}
