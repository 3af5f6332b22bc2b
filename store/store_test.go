package store

import (
	"maps"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/meshperf/meshperf/spec"
)

func TestNewID(t *testing.T) {
	before := time.Now().UnixMilli()
	a, b := NewID(), NewID()
	if !regexp.MustCompile(`^[0-9a-f]{20}$`).MatchString(a) || a == b {
		t.Fatalf("NewID gave %q and %q", a, b)
	}
	ms, _ := strconv.ParseInt(a[:12], 16, 64)
	if ms < before || ms > time.Now().UnixMilli() {
		t.Errorf("NewID %s holds time %d, want about %d", a, ms, before)
	}
}

func TestSummarize(t *testing.T) {
	dist := func(p50 float64) *spec.Distribution {
		return &spec.Distribution{Percentiles: []spec.Percentile{{P: 50, Ms: p50}, {P: 90, Ms: 2 * p50}, {P: 99, Ms: 3 * p50}}}
	}
	open := &spec.Result{Latency: dist(10), ServiceTime: dist(1), Requested: spec.Requested{Targets: []string{"a", "b"}}}
	closed := &spec.Result{ServiceTime: dist(1)}
	for _, tt := range []struct {
		name          string
		r             *spec.Result
		p50, p90, p99 float64
		target        string
	}{
		{"open loop: latency", open, 10, 20, 30, "a"},
		{"closed loop: service time", closed, 1, 2, 3, ""},
		{"no distribution", &spec.Result{}, 0, 0, 0, ""},
	} {
		s := Summarize(tt.r)
		if s.P50Ms != tt.p50 || s.P90Ms != tt.p90 || s.P99Ms != tt.p99 || s.Target != tt.target {
			t.Errorf("%s: got %v %v %v %q", tt.name, s.P50Ms, s.P90Ms, s.P99Ms, s.Target)
		}
	}
}

func TestParseLabels(t *testing.T) {
	for _, tc := range []struct {
		name      string
		selectors []string
		want      map[string]string
		wantErr   string
	}{
		{"none", nil, nil, ""},
		{"pairs", []string{"team=shop", "env=prod"}, map[string]string{"team": "shop", "env": "prod"}, ""},
		{"empty value", []string{"team="}, map[string]string{"team": ""}, ""},
		{"value with =", []string{"q=a=b"}, map[string]string{"q": "a=b"}, ""},
		{"last wins", []string{"team=a", "team=b"}, map[string]string{"team": "b"}, ""},
		{"no =", []string{"team=shop", "nokey"}, nil, `label "nokey": want key=value`},
		{"empty key", []string{"=shop"}, nil, `label "=shop": want key=value`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseLabels(tc.selectors)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("ParseLabels(%q) error = %v, want %q", tc.selectors, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseLabels(%q): %v", tc.selectors, err)
			}
			if !maps.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
				t.Errorf("ParseLabels(%q) = %v, want %v", tc.selectors, got, tc.want)
			}
		})
	}
}
