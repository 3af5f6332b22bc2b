package agent

import (
	"reflect"
	"testing"
	"time"

	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

func TestClockSample(t *testing.T) {
	base := time.Unix(1_700_000_000, 0)
	// The agent's clock is 40ms ahead; the way out takes 3ms, the way
	// back 5ms; the agent holds the ping 1ms.
	s := ClockSample{
		T0: base,
		T1: base.Add(3*time.Millisecond + 40*time.Millisecond),
		T2: base.Add(4*time.Millisecond + 40*time.Millisecond),
		T3: base.Add(9 * time.Millisecond),
	}
	if got := s.RTT(); got != 8*time.Millisecond {
		t.Errorf("RTT = %s, want 8ms", got)
	}
	// NTP's estimate is off by half the asymmetry: (3-5)/2 = -1ms.
	if got := s.Offset(); got != 39*time.Millisecond {
		t.Errorf("Offset = %s, want 39ms", got)
	}
}

func TestClockEstimatorKeepsSmallestRTT(t *testing.T) {
	var e ClockEstimator
	if _, _, ok := e.Estimate(); ok {
		t.Fatal("estimate before any sample")
	}
	base := time.Unix(1_700_000_000, 0)
	sample := func(out, back, offset time.Duration) ClockSample {
		return ClockSample{T0: base, T1: base.Add(out + offset), T2: base.Add(out + offset), T3: base.Add(out + back)}
	}
	e.Add(sample(20*time.Millisecond, 2*time.Millisecond, 100*time.Millisecond)) // asymmetric, slow
	e.Add(sample(time.Millisecond, time.Millisecond, 100*time.Millisecond))      // the good one
	e.Add(sample(5*time.Millisecond, 9*time.Millisecond, 100*time.Millisecond))
	e.Add(ClockSample{T0: base, T1: base, T2: base.Add(time.Second), T3: base}) // negative RTT: ignored
	off, rtt, ok := e.Estimate()
	if !ok || off != 100*time.Millisecond || rtt != 2*time.Millisecond {
		t.Errorf("estimate %s (rtt %s, ok %v), want 100ms from the 2ms sample", off, rtt, ok)
	}
	if e.MaxRTT() != 22*time.Millisecond || e.Samples() != 3 {
		t.Errorf("max rtt %s, %d samples", e.MaxRTT(), e.Samples())
	}
}

func TestScaleShape(t *testing.T) {
	tests := []struct {
		in, want loadgen.Shape
	}{
		{loadgen.Constant(900), loadgen.Constant(300)},
		{loadgen.Ramp{From: 300, To: 900, Over: time.Second}, loadgen.Ramp{From: 100, To: 300, Over: time.Second}},
		{loadgen.Steps{{Rate: 30, Duration: time.Second}, {Rate: 60, Duration: 2 * time.Second}},
			loadgen.Steps{{Rate: 10, Duration: time.Second}, {Rate: 20, Duration: 2 * time.Second}}},
		{nil, nil},
	}
	for _, tc := range tests {
		if got := ScaleShape(tc.in, 1.0/3); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ScaleShape(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestSharePlan(t *testing.T) {
	prof := `{"duration": "10s", "clients": [{"rps": 1000, "connections": 4, "endpoint_urls": ["http://127.0.0.1:1/"]}]}`
	p, err := SharePlan([]byte(prof), 0.25)
	if err != nil {
		t.Fatal(err)
	}
	if p.Rate.RateAt(0) != 250 || p.Connections != 4 || p.Duration != 10*time.Second {
		t.Errorf("plan rate %v, %d connections, %s", p.Rate, p.Connections, p.Duration)
	}
	for _, bad := range []struct {
		doc   string
		scale float64
	}{
		{prof, 0}, {prof, 1.5}, {`{"clients": []}`, 1}, {`not json`, 1},
	} {
		if _, err := SharePlan([]byte(bad.doc), bad.scale); err == nil {
			t.Errorf("SharePlan(%q, %g): no error", bad.doc, bad.scale)
		}
	}
}

func TestSnapshotCountsResponses(t *testing.T) {
	sn := Snapshot("r", 2, spec.Interval{Second: 3, Seconds: 1, Requests: 12, Errors: 3,
		StatusCodes: map[int]int64{200: 7, 503: 2}, ErrorClasses: map[string]int64{"dropped": 3}})
	if sn.GetResponses() != 9 || sn.GetShare() != 2 || sn.GetSecond() != 3 || sn.GetErrorClasses()["dropped"] != 3 {
		t.Errorf("snapshot %+v", sn)
	}
}

func TestNewChecksConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("no error for an empty config")
	}
	a, err := New(Config{Server: "127.0.0.1:1", Token: "t", Name: "n"})
	if err != nil || a.cfg.Cores < 1 || a.cfg.MinBackoff != DefaultMinBackoff {
		t.Errorf("New: %v, %+v", err, a)
	}
}

func TestJitter(t *testing.T) {
	for range 100 {
		if d := jitter(time.Second); d < 500*time.Millisecond || d > time.Second {
			t.Fatalf("jitter(1s) = %s", d)
		}
	}
}
