package hist

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

func TestQuantilesWithinPrecision(t *testing.T) {
	h := New()
	for i := 1; i <= 100000; i++ {
		h.Record(time.Duration(i) * time.Microsecond) // 1µs .. 100ms uniform
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 50 * time.Millisecond},
		{0.9, 90 * time.Millisecond},
		{0.99, 99 * time.Millisecond},
		{0.999, 99900 * time.Microsecond},
	} {
		t.Run(time.Duration(tc.q*1000).String(), func(t *testing.T) {
			got := h.Quantile(tc.q)
			if diff := abs(got - tc.want); float64(diff) > 0.001*float64(tc.want) {
				t.Errorf("Quantile(%v) = %v, want %v within 0.1%%", tc.q, got, tc.want)
			}
		})
	}
	if got := h.Count(); got != 100000 {
		t.Errorf("Count = %d, want 100000", got)
	}
}

func TestMergeEqualsRecordingEverything(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	whole, a, b := New(), New(), New()
	for i := 0; i < 50000; i++ {
		d := time.Duration(r.ExpFloat64() * float64(5*time.Millisecond))
		whole.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(b)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 0.9999, 1} {
		if got, want := a.Quantile(q), whole.Quantile(q); got != want {
			t.Errorf("merged Quantile(%v) = %v, want %v (recorded whole)", q, got, want)
		}
	}
	if a.Count() != whole.Count() {
		t.Errorf("merged count %d, want %d", a.Count(), whole.Count())
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	h := New()
	for i := 0; i < 1000; i++ {
		h.Record(time.Duration(i*i) * time.Microsecond)
	}
	h.Record(2 * time.Hour) // saturates
	s, err := h.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(s, " \n") || !strings.HasPrefix(s, "HISTF") {
		t.Errorf("encoding is not base64 of a compressed V2 histogram: %.20q", s)
	}
	got, err := Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []float64{0, 0.5, 0.9, 0.99, 1} {
		if got.Quantile(q) != h.Quantile(q) {
			t.Errorf("decoded Quantile(%v) = %v, want %v", q, got.Quantile(q), h.Quantile(q))
		}
	}
	if h.Saturated() != 1 {
		t.Errorf("Saturated = %d, want 1", h.Saturated())
	}
	if h.Max() < time.Hour-time.Hour/500 {
		t.Errorf("Max = %v, want about 1h (clamped)", h.Max())
	}
}

func TestDecodeErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":      "",
		"not base64": "@@@@",
		"not hdr":    "aGVsbG8gd29ybGQ=",
		"truncated":  "HISTFAAAACR4nJNpmSzMwMDAxAABzFCaEUrLQ2kAJ",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Decode(in); err == nil {
				t.Errorf("Decode(%q) succeeded, want an error", in)
			}
		})
	}
}

func TestDecodeOtherLayout(t *testing.T) {
	// A histogram written by another tool with another range and precision
	// is re-recorded into meshperf's layout, values and counts kept.
	other := hdr.New(1, 10_000_000, 2)
	for i := 0; i < 99; i++ {
		_ = other.RecordValue(1500)
	}
	_ = other.RecordValue(250_000)
	b, err := other.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if got.Count() != 100 {
		t.Errorf("count %d, want 100", got.Count())
	}
	if p50 := got.Quantile(0.5); abs(p50-1500*time.Microsecond) > 20*time.Microsecond {
		t.Errorf("p50 %v, want about 1.5ms", p50)
	}
	if max := got.Max(); abs(max-250*time.Millisecond) > 3*time.Millisecond {
		t.Errorf("max %v, want about 250ms", max)
	}
	// And it merges with a native one.
	n := New()
	n.Merge(got)
	if n.Count() != 100 {
		t.Errorf("merged count %d", n.Count())
	}
}

func FuzzDecode(f *testing.F) {
	h := New()
	h.Record(time.Millisecond)
	f.Add(h.MustEncode())
	f.Add("HISTFAAAAB")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Decode(s)
		if err == nil && got == nil {
			t.Fatal("nil histogram without error")
		}
		if err == nil {
			_ = got.Quantile(0.99)
		}
	})
}

func BenchmarkRecord(b *testing.B) {
	h := New()
	for i := 0; b.Loop(); i++ {
		h.Record(time.Duration(i%100000) * time.Microsecond)
	}
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func TestRecordMicrosN(t *testing.T) {
	one, many := New(), New()
	for i := 0; i < 1000; i++ {
		one.RecordMicros(1500)
	}
	one.RecordMicros(2 * Highest)
	many.RecordMicrosN(1500, 1000)
	many.RecordMicrosN(2*Highest, 1)
	many.RecordMicrosN(7, 0) // nothing
	if one.Count() != many.Count() || one.Quantile(0.5) != many.Quantile(0.5) || one.Max() != many.Max() {
		t.Errorf("n copies at once differ from n records: %d/%v/%v vs %d/%v/%v",
			many.Count(), many.Quantile(0.5), many.Max(), one.Count(), one.Quantile(0.5), one.Max())
	}
	if many.Saturated() != 1 {
		t.Errorf("saturated %d, want 1", many.Saturated())
	}
}

// A histogram that was never sent (nil) counts nothing rather than
// panicking: the server asks agents' snapshots for counts.
func TestNilCount(t *testing.T) {
	var h *Histogram
	if n := h.Count(); n != 0 {
		t.Fatalf("nil histogram counts %d", n)
	}
}

// TestFromStepsPassesThrough: the rebuilt histogram's quantile at each
// step's count is the step's value, to the histogram's precision.
func TestFromStepsPassesThrough(t *testing.T) {
	steps := []Step{{Micros: 500, Count: 1}, {Micros: 1000, Count: 50}, {Micros: 2500, Count: 90}, {Micros: 9000, Count: 99}, {Micros: 30000, Count: 100}}
	h := FromSteps(steps, 50)
	if h.Count() != 100 {
		t.Fatalf("count %d", h.Count())
	}
	for _, s := range steps[1:] {
		got := float64(h.Quantile(float64(s.Count) / 100).Microseconds())
		if got < s.Micros || got > s.Micros*1.001 {
			t.Errorf("quantile at %d/100 = %v µs, want %v", s.Count, got, s.Micros)
		}
	}
	if h.Min().Microseconds() != 500 || h.Max().Microseconds() < 30000 {
		t.Errorf("min %v max %v", h.Min(), h.Max())
	}
	// Steps that go backwards are skipped.
	if FromSteps([]Step{{Micros: 10, Count: 5}, {Micros: 5, Count: 9}, {Micros: 20, Count: 3}}, 10).Count() != 5 {
		t.Error("backward steps were recorded")
	}
}
