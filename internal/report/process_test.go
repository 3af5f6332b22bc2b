package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/meshperf/meshperf/spec"
)

func TestClientLine(t *testing.T) {
	for _, tc := range []struct {
		name     string
		p        *spec.ProcessStats
		want     []string
		warnWant bool
	}{
		{"none", nil, nil, false},
		{"calm", &spec.ProcessStats{CPUSeconds: 1.5, CPUCores: 0.15, MaxRSSBytes: 30 << 20, MaxGoroutines: 12, LateRatio: 0.001},
			[]string{"Client    cpu 0.15 cores (1.5s)", "12 goroutines", "late sends 0.10%"}, false},
		{"saturated", &spec.ProcessStats{CPUCores: 0.5, LateRatio: 0.2, Saturated: true},
			[]string{"late sends 20.00%", "WARNING", "over 5% of requests sent late"}, true},
		{"cpu", &spec.ProcessStats{CPUCores: 1.9, Saturated: true}, []string{"CPU near all the cores"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			clientLine(&b, tc.p)
			got := b.String()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("client line %q lacks %q", got, w)
				}
			}
			if strings.Contains(got, "WARNING") != tc.warnWant {
				t.Errorf("client line %q: warning %v, want %v", got, !tc.warnWant, tc.warnWant)
			}
			if tc.p == nil && got != "" {
				t.Errorf("no process stats printed %q", got)
			}
		})
	}
}

func TestTextShowsClient(t *testing.T) {
	r := &spec.Result{Generator: spec.GeneratorInfo{Name: "meshperf"}, ServiceTime: &spec.Distribution{},
		Process: &spec.ProcessStats{CPUCores: 1.95, Saturated: true}}
	var b bytes.Buffer
	if err := Text(&b, r, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "\nClient    cpu 1.95 cores") || !strings.Contains(b.String(), "\nWARNING   the load generator looks saturated") {
		t.Errorf("text report lacks the client lines:\n%s", b.String())
	}
}
