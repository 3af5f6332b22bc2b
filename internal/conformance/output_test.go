package conformance

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
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
	p := newStreamParser()
	var done []string
	p.onDone = func(o *testOutput) { done = append(done, o.name+"="+string(o.status)) }
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
		{"MeshTrafficSplit", Fail, "weights off: got 80/20, want 50/50\nsecond line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, ok := p.tests[suiteTestName+"/"+tc.name]
			if !ok {
				t.Fatalf("not parsed; have %v", p.order)
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
	if o := p.tests[suiteTestName+"/MeshBasic"]; !strings.Contains(o.out.String(), "--- FAIL: a test's own line") {
		t.Errorf("MeshBasic's output lost its own line: %q", o.out.String())
	}
	// The subtest's failure is in its parent's output.
	ts := testResultOf("MeshTrafficSplit", p.tests[suiteTestName+"/MeshTrafficSplit"], p)
	if !strings.Contains(ts.Output, "weights off: got 80/20, want 50/50") {
		t.Errorf("MeshTrafficSplit's output lacks its subtest's failure:\n%s", ts.Output)
	}
	if got := strings.Join(done, " "); !strings.Contains(got, suiteTestName+"/MeshHTTPRouteMatching=fail") || !strings.Contains(got, suiteTestName+"=fail") {
		t.Errorf("progress callbacks: %s", got)
	}
	// The setup log is the top-level test's.
	if !strings.Contains(p.tests[suiteTestName].out.String(), "Applying base manifests") {
		t.Errorf("setup log not attributed to %s", suiteTestName)
	}
}

func TestStreamParserBounds(t *testing.T) {
	var in bytes.Buffer
	in.WriteString("\x16=== RUN   TestConformance/Big\n")
	long := strings.Repeat("x", 3*maxLine)
	for range 10 {
		in.WriteString("    " + long + "\n")
	}
	in.WriteString("\x16--- FAIL: TestConformance/Big (1.50s)\n")
	p := newStreamParser()
	if err := p.Read(&in); err != nil {
		t.Fatal(err)
	}
	o := p.tests["TestConformance/Big"]
	if o == nil || o.status != Fail || o.duration != 1500*time.Millisecond {
		t.Fatalf("got %+v", o)
	}
	if o.out.Len() > maxOutput || !o.cut {
		t.Errorf("output %d bytes (cut %v), want at most %d and cut", o.out.Len(), o.cut, maxOutput)
	}
}

func TestSplitDone(t *testing.T) {
	for _, tc := range []struct {
		in   string
		name string
		dur  time.Duration
	}{
		{"TestConformance/A (0.01s)", "TestConformance/A", 10 * time.Millisecond},
		{"TestConformance/A (x s)", "TestConformance/A", 0},
		{"TestConformance/A", "TestConformance/A", 0},
		{"T (-5.00s)", "T", 0},
		{"T (1e300s)", "T", 0},
	} {
		name, dur := splitDone(tc.in)
		if name != tc.name || dur != tc.dur {
			t.Errorf("splitDone(%q) = %q, %s; want %q, %s", tc.in, name, dur, tc.name, tc.dur)
		}
	}
}

func FuzzStreamParser(f *testing.F) {
	f.Add([]byte("\x16=== RUN   TestConformance/A\n    x.go:1: hi\n\x16--- FAIL: TestConformance/A (0.01s)\n"))
	f.Add([]byte("\x16=== NAME  \n\x16--- PASS: (s)\n\x16=== CONT  a\nb"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := newStreamParser()
		if err := p.Read(bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		if len(p.tests) > maxTests {
			t.Fatalf("%d tests kept", len(p.tests))
		}
		for name, o := range p.tests {
			if o.out.Len() > maxOutput {
				t.Fatalf("%s: %d bytes of output", name, o.out.Len())
			}
			_ = testResultOf(name, o, p)
			_ = failureMessage(o.out.String())
		}
		_ = setupReason(p, string(data))
	})
}
