package loadgen

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/spec"
)

func TestLimitsSet(t *testing.T) {
	tests := []struct {
		kv      string
		wantErr string
		check   func(Limits) bool
	}{
		{kv: "connections=100000", check: func(l Limits) bool { return l.Connections == 100_000 }},
		{kv: "rps=1e6", check: func(l Limits) bool { return l.RPS == 1e6 }},
		{kv: "duration=48h", check: func(l Limits) bool { return l.Duration == 48*time.Hour }},
		{kv: "connections=2000000000", wantErr: "at most 1000000"},
		{kv: "rps=9223372036854775807", wantErr: "at most"},
		{kv: "connections=1.5", wantErr: "whole number"},
		{kv: "connections=-1", wantErr: "above 0"},
		{kv: "nosuch=1", wantErr: "unknown limit"},
		{kv: "connections", wantErr: "NAME=VALUE"},
		{kv: "duration=10", wantErr: "duration"},
	}
	for _, tc := range tests {
		t.Run(tc.kv, func(t *testing.T) {
			l := DefaultLimits
			err := l.Set(tc.kv)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Set(%q) = %v, want an error with %q", tc.kv, err, tc.wantErr)
				}
				if l != DefaultLimits {
					t.Errorf("a refused Set changed the limits")
				}
				return
			}
			if err != nil || !tc.check(l) {
				t.Fatalf("Set(%q) = %v, limits %+v", tc.kv, err, l)
			}
		})
	}
}

func TestDefaultLimitsWithinCeiling(t *testing.T) {
	for _, f := range limitFields {
		d, c := DefaultLimits, Ceiling
		if err := d.Set(f.name + "=" + f.get(&c)); err != nil {
			t.Errorf("%s: the ceiling itself is refused: %v", f.name, err)
		}
		if err := d.Set(f.name + "=" + f.get(&DefaultLimits)); err != nil {
			t.Errorf("%s: the default is refused: %v", f.name, err)
		}
	}
}

func profileFor(t *testing.T, doc string) (*spec.Profile, []*Plan, error) {
	t.Helper()
	p, _, err := spec.ParseProfile([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	plans, err := PlansFromProfile(p)
	return p, plans, err
}

func TestCheckProfile(t *testing.T) {
	tests := []struct {
		name, doc string
		limits    func(*Limits)
		want      []string // field: ... limit "name"
	}{
		{name: "within", doc: `{"duration":"2s","clients":[{"connections":10,"rps":1000,"endpoint_urls":["http://127.0.0.1:1/"]}]}`},
		{name: "connections", doc: `{"duration":"2s","clients":[{"connections":20000,"endpoint_urls":["http://127.0.0.1:1/"]}]}`,
			want: []string{`clients[0].connections: 20000 is above the limit of 10000 (limit "connections")`}},
		{name: "raised", doc: `{"duration":"2s","clients":[{"connections":20000,"endpoint_urls":["http://127.0.0.1:1/"]}]}`,
			limits: func(l *Limits) { l.Connections, l.TotalConnections = 30_000, 30_000 }},
		{name: "total connections", doc: `{"duration":"2s","clients":[{"connections":8000,"endpoint_urls":["http://127.0.0.1:1/"]},{"connections":8000,"endpoint_urls":["http://127.0.0.1:1/"]},{"connections":8000,"endpoint_urls":["http://127.0.0.1:1/"]}]}`,
			want: []string{`clients: 24000 is above the limit of 20000 (limit "total_connections")`}},
		{name: "rps and ramp", doc: `{"duration":"2s","clients":[{"rps":300000,"endpoint_urls":["http://127.0.0.1:1/"],"meshperf":{"rate_shape":"ramp:10-300000/100h"}}]}`,
			want: []string{`clients[0].meshperf.rate_shape: 300000 is above the limit of 200000 (limit "rps")`, `clients[0].meshperf.rate_shape: 100h0m0s is above the limit of 24h0m0s (limit "duration")`}},
		{name: "streams in flight", doc: `{"duration":"2s","clients":[{"connections":1000,"endpoint_urls":["http://127.0.0.1:1/"],"meshperf":{"streams":1000,"http_version":"h2c"}}]}`,
			want: []string{`clients[0].meshperf.streams: 1000000 is above the limit of 100000 (limit "in_flight")`}},
		{name: "tcp expect", doc: `{"duration":"2s","clients":[{"protocol":"tcp","body":"x","endpoint_urls":["tcp://127.0.0.1:1"],"meshperf":{"tcp_expect_bytes":100000000}}]}`,
			want: []string{`clients[0].meshperf.tcp_expect_bytes: 100000000 is above the limit of 1048576 (limit "tcp_expect_bytes")`}},
		{name: "duration and timeout", doc: `{"duration":"48h","clients":[{"endpoint_urls":["http://127.0.0.1:1/"],"meshperf":{"timeout":"1h"}}]}`,
			want: []string{`duration: 48h0m0s is above the limit of 24h0m0s (limit "duration")`, `clients[0].meshperf.timeout: 1h0m0s is above the limit of 5m0s (limit "timeout")`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prof, _, err := spec.ParseProfile([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			l := DefaultLimits
			if tc.limits != nil {
				tc.limits(&l)
			}
			_, err = PlansWithin(prof, l)
			var got []string
			for _, e := range unjoin(err) {
				var fe *spec.FieldError
				if !errors.As(e, &fe) {
					t.Fatalf("%v is not a *spec.FieldError", e)
				}
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// Past the ceiling a plan is refused whoever runs it: the engine's
// arithmetic is only safe up to it.
func TestPlanCeiling(t *testing.T) {
	_, _, err := profileFor(t, `{"duration":"2s","clients":[{"rps":9223372036854775807,"connections":2000000000,"endpoint_urls":["http://127.0.0.1:1/"]}]}`)
	for _, want := range []string{`clients[0].rps: 9223372036854776000 is above the limit of 100000000 (limit "rps")`,
		`clients[0].connections: 2000000000 is above the limit of 1000000 (limit "connections")`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want %q", err, want)
		}
	}
}

func TestCountSaturates(t *testing.T) {
	shapes := []Shape{Constant(math.MaxInt64), Constant(1e300), Ramp{From: 1, To: 1e300, Over: time.Second},
		Steps{{Rate: 1e300, Duration: time.Second}}}
	for _, s := range shapes {
		for _, at := range []time.Duration{0, time.Second, 2 * time.Second, time.Duration(math.MaxInt64)} {
			n := s.Count(at)
			if n < 0 || n > MaxCount {
				t.Errorf("%s: Count(%s) = %d, want 0..%d", s, at, n, int64(MaxCount))
			}
			if d := n - s.Count(0); d < 0 {
				t.Errorf("%s: Count(%s) - Count(0) = %d < 0", s, at, d)
			}
		}
		if tm := s.Time(math.MaxInt64); tm < 0 {
			t.Errorf("%s: Time(max) = %s < 0", s, tm)
		}
	}
}

// docs/security.md lists every limit with its default and ceiling, as the
// code has them.
func TestLimitsDocumented(t *testing.T) {
	b, err := os.ReadFile("../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range limitFields {
		row := fmt.Sprintf("| `%s` | %s | %s | %s |", f.name, f.doc, f.get(&DefaultLimits), f.get(&Ceiling))
		if !strings.Contains(string(b), row) {
			t.Errorf("docs/security.md lacks the row %s", row)
		}
	}
}

// Whatever the operator writes, a limit is never set past the ceiling nor
// below 1.
func FuzzLimitsSet(f *testing.F) {
	for _, s := range []string{"connections=100000", "rps=1e6", "duration=48h", "x", "rps=NaN", "rps=+Inf", "connections=9e18", "duration=-1s", "=", "total_rps=1e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, kv string) {
		l := DefaultLimits
		if err := l.Set(kv); err != nil {
			if l != DefaultLimits {
				t.Fatalf("refused %q but changed the limits", kv)
			}
			return
		}
		for _, fl := range limitFields {
			switch {
			case fl.i != nil && (*fl.i(&l) < 1 || *fl.i(&l) > *fl.i(&Ceiling)),
				fl.f != nil && (!(*fl.f(&l) > 0) || *fl.f(&l) > *fl.f(&Ceiling)),
				fl.d != nil && (*fl.d(&l) <= 0 || *fl.d(&l) > *fl.d(&Ceiling)):
				t.Fatalf("%q set %s to %s (ceiling %s)", kv, fl.name, fl.get(&l), fl.get(&Ceiling))
			}
		}
	})
}
