package testout

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestStreamParserBounds(t *testing.T) {
	var in bytes.Buffer
	in.WriteString("\x16=== RUN   TestConformance/Big\n")
	long := strings.Repeat("x", 3*MaxLine)
	for range 10 {
		in.WriteString("    " + long + "\n")
	}
	in.WriteString("\x16--- FAIL: TestConformance/Big (1.50s)\n")
	p := New()
	if err := p.Read(&in); err != nil {
		t.Fatal(err)
	}
	o := p.Tests["TestConformance/Big"]
	if o == nil || o.Status != Fail || o.Duration != 1500*time.Millisecond {
		t.Fatalf("got %+v", o)
	}
	if o.Len() > MaxOutput || !o.cut {
		t.Errorf("output %d bytes (cut %v), want at most %d and cut", o.Len(), o.cut, MaxOutput)
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
		p := New()
		if err := p.Read(bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		if len(p.Tests) > MaxTests || len(p.Order) != len(p.Tests) {
			t.Fatalf("%d tests kept, %d in order", len(p.Tests), len(p.Order))
		}
		for name, o := range p.Tests {
			if o.Len() > MaxOutput {
				t.Fatalf("%s: %d bytes of output", name, o.Len())
			}
			if o.Status != "" && o.Status != Pass && o.Status != Fail && o.Status != Skip {
				t.Fatalf("%s: status %q", name, o.Status)
			}
			_ = FailureMessage(o.Output())
			_ = LastLogged(o.Output())
		}
	})
}

func TestFailureMessage(t *testing.T) {
	for _, tc := range []struct {
		name, out, want string
	}{
		{"testify", "    helpers.go:464: \n        \tError Trace:\t/x/helpers.go:464\n        \t            \t\t\t\t/x/suite.go:403\n        \tError:      \tReceived unexpected error:\n        \t            \tcontext deadline exceeded\n        \tTest:       \tTestConformance\n        \tMessages:   \terror waiting for pods\n",
			"Received unexpected error: context deadline exceeded error waiting for pods"},
		{"last entry with continuation", "    a.go:1: first\n    b.go:2: 2026-12-03T12:57:03.775845783Z: boom\n        second line\n", "boom\nsecond line"},
		{"no source", "plain\n", "plain"},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := FailureMessage(tc.out); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	out := "    suite.go:449: 2026-12-03T12:57:03Z: No pods deployed yet in namespace m\n    suite.go:454: \n        \tError Trace:\tx\n    cleanup.go:9: 2026-12-03T12:57:04Z: Deleting m Namespace\n"
	if got := LastLogged(out); got != "No pods deployed yet in namespace m" {
		t.Errorf("LastLogged = %q", got)
	}
}
