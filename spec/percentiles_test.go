package spec

import (
	"testing"

	"github.com/meshperf/meshperf/hist"
)

// TestPercentilesOfToolWins: the case — a tool's p99 54.4 and p99.9
// 56.1 with a rebuilt histogram whose p99.99 is 53.2 — gives a list where
// the tool's figures stand and nothing goes backwards.
func TestPercentilesOfToolWins(t *testing.T) {
	h := hist.New()
	for i := int64(1); i <= 10000; i++ {
		h.RecordMicros(40000 + i%13000/10) // 40 ms – 41.3 ms
	}
	h.RecordMicros(53200)
	ps := PercentilesOf(h, map[float64]float64{99: 54.4, 99.9: 56.1}, 60)
	got := map[float64]float64{}
	prev := 0.0
	for _, p := range ps {
		if p.Ms < prev {
			t.Errorf("p%v = %v below %v", p.P, p.Ms, prev)
		}
		prev = p.Ms
		got[p.P] = p.Ms
	}
	if got[99] != 54.4 || got[99.9] != 56.1 || got[100] != 60 {
		t.Errorf("tool figures changed: %v", got)
	}
	if got[99.99] < 56.1 || got[99.99] > 60 {
		t.Errorf("p99.99 %v not between the tool's p99.9 and max", got[99.99])
	}
	if got[50] > 54.4 || got[50] < 40 {
		t.Errorf("p50 %v", got[50])
	}
	if PercentilesOf(hist.New(), nil, 0) != nil || PercentilesOf(nil, nil, 0) != nil {
		t.Error("no values must give no percentiles (shown as no data)")
	}
}

// TestSummaryMonotonic: a list written backwards is read with a running
// maximum, and Value reads from it.
func TestSummaryMonotonic(t *testing.T) {
	d := &Distribution{Percentiles: []Percentile{{P: 99.99, Ms: 53.2}, {P: 99, Ms: 54.4}, {P: 99.9, Ms: 56.1}}}
	if v, _ := d.Value(99.99); v != 56.1 {
		t.Errorf("p99.99 = %v, want 56.1", v)
	}
	if _, ok := (*Distribution)(nil).Value(50); ok {
		t.Error("nil distribution has a value")
	}
}

func TestMergeShapesAddRates(t *testing.T) {
	for _, c := range []struct{ a, b, want string }{
		{"constant 200/s", "constant 200/s", "constant 400/s"},
		{"constant 150/s", "constant 150.5/s", "constant 300.5/s"},
		{"ramp 100/s to 200/s over 10s", "ramp 50/s to 100/s over 10s", "ramp 150/s to 300/s over 10s"},
		{"constant 200/s", "ramp 1/s to 2/s over 1s", "several"},
		{"closed loop", "closed loop", "closed loop"},
		{addShapes("constant 66.66666666666667/s", "constant 66.66666666666667/s"), "constant 66.66666666666667/s", "constant 200/s"},
	} {
		if got := addShapes(c.a, c.b); got != c.want {
			t.Errorf("addShapes(%q, %q) = %q, want %q", c.a, c.b, got, c.want)
		}
	}
}
