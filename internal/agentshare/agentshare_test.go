package agentshare

import (
	"reflect"
	"testing"
	"time"

	"github.com/meshperf/meshperf/loadgen"
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
