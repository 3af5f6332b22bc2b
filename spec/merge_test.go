package spec

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/hist"
)

func fakeResult(r *rand.Rand, n int, scale time.Duration, start time.Time, codes map[int]int64) (*Result, *hist.Histogram) {
	lat, svc := hist.New(), hist.New()
	for i := 0; i < n; i++ {
		d := time.Duration(r.ExpFloat64() * float64(scale))
		lat.Record(d + 100*time.Microsecond)
		svc.Record(d)
	}
	res := &Result{
		Schema:      ResultSchema,
		Generator:   GeneratorInfo{Name: "meshperf", Fidelity: "hdr"},
		Requested:   Requested{Targets: []string{"http://a/"}, RPS: 100, Connections: 4, OpenLoop: true, Shape: "constant 100/s"},
		Achieved:    Achieved{Duration: Duration(10 * time.Second), Requests: int64(n), Responses: int64(n)},
		StartTime:   start,
		EndTime:     start.Add(10 * time.Second),
		Latency:     Summarize(lat),
		ServiceTime: Summarize(svc),
		StatusCodes: codes,
		Errors:      []ErrorClass{{Class: "reset", Count: 1, Examples: []string{"x"}}},
		Timeline:    []Interval{{Second: 0, Seconds: 1, Requests: int64(n), AchievedRPS: float64(n), P99Ms: 1}},
	}
	return res, lat
}

func TestMergeAddsHistograms(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, la := fakeResult(r, 20000, time.Millisecond, start, map[int]int64{200: 20000})
	b, lb := fakeResult(r, 5000, 20*time.Millisecond, start.Add(time.Second), map[int]int64{200: 4990, 503: 10})
	b.Requested.Targets = []string{"http://b/"}
	got, err := Merge([]*Result{a, b})
	if err != nil {
		t.Fatal(err)
	}
	whole := la.Clone()
	whole.Merge(lb)
	for i, p := range SummaryPercentiles {
		if want := msOf(whole.Quantile(p / 100)); got.Latency.Percentiles[i].Ms != want {
			t.Errorf("p%v = %v, want %v (the percentile of all requests together)", p, got.Latency.Percentiles[i].Ms, want)
		}
	}
	if got.Achieved.Requests != 25000 || got.StatusCodes[503] != 10 || got.StatusCodes[200] != 24990 {
		t.Errorf("requests %d codes %v", got.Achieved.Requests, got.StatusCodes)
	}
	if got.Requested.RPS != 200 || got.Requested.Connections != 8 || len(got.Requested.Targets) != 2 {
		t.Errorf("requested %+v", got.Requested)
	}
	if len(got.Errors) != 1 || got.Errors[0].Count != 2 {
		t.Errorf("errors %+v", got.Errors)
	}
	if !got.EndTime.Equal(start.Add(11*time.Second)) || !got.StartTime.Equal(start) {
		t.Errorf("times %v–%v", got.StartTime, got.EndTime)
	}
	if len(got.Timeline) != 2 || got.Timeline[0].Requests != 20000 || got.Timeline[1].Requests != 5000 {
		t.Errorf("timeline %+v: b started a second later and belongs in second 1", got.Timeline)
	}
	if want := 25000.0 / 10; got.Achieved.RPS != want {
		t.Errorf("rps %v, want %v", got.Achieved.RPS, want)
	}
}

func TestMergeErrors(t *testing.T) {
	if _, err := Merge(nil); err == nil {
		t.Error("no error for nothing to merge")
	}
	r := rand.New(rand.NewPCG(1, 1))
	a, _ := fakeResult(r, 10, time.Millisecond, time.Now(), nil)
	bad := *a
	bad.ServiceTime = &Distribution{Histogram: "garbage"}
	if _, err := Merge([]*Result{a, &bad}); err == nil {
		t.Error("no error for a corrupt histogram")
	}
}

// wrk2 measures corrected latency but no service time: its clients merge
// on latency alone, and a mix with closed-loop results has nothing in common.
func TestMergeLatencyOnly(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, la := fakeResult(r, 3000, time.Millisecond, start, nil)
	b, lb := fakeResult(r, 1000, 5*time.Millisecond, start, nil)
	a.ServiceTime, b.ServiceTime = nil, nil
	got, err := Merge([]*Result{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if got.ServiceTime != nil {
		t.Errorf("service time %+v from results that had none", got.ServiceTime)
	}
	whole := la.Clone()
	whole.Merge(lb)
	if want := msOf(whole.Quantile(0.99)); got.Latency == nil || got.Latency.Count != 4000 {
		t.Fatalf("latency %+v, want 4000 values", got.Latency)
	} else if p99, _ := got.Latency.At(99); p99 != want {
		t.Errorf("p99 %v, want %v", p99, want)
	}

	closed, _ := fakeResult(r, 10, time.Millisecond, start, nil)
	closed.Latency = nil
	if _, err := Merge([]*Result{a, closed}); err == nil {
		t.Error("no error merging a latency-only result with a service-time-only one")
	}
}

// TestMergeAddsTLS: results of clients that ran together (run's several
// clients, imports) keep their TLS figures summed, the handshake times
// added whole, and one note for the sum instead of each result's own.
func TestMergeAddsTLS(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, _ := fakeResult(r, 100, time.Millisecond, start, nil)
	b, _ := fakeResult(r, 100, time.Millisecond, start, nil)
	c, _ := fakeResult(r, 100, time.Millisecond, start, nil) // plain HTTP: no TLS
	ha, hb := hist.New(), hist.New()
	for i := range 30 {
		ha.Record(time.Duration(i+1) * time.Millisecond)
	}
	for i := range 7 {
		hb.Record(time.Duration(i+50) * time.Millisecond)
	}
	a.TLS = &TLSStats{SessionResumption: true, Handshakes: 32, Resumed: 10, Failed: 2, HandshakeTime: Summarize(ha)}
	b.TLS = &TLSStats{SessionResumption: false, Handshakes: 7, HandshakeTime: Summarize(hb)}
	a.Notes = []string{a.TLS.Note(), "kept"}
	b.Notes = []string{b.TLS.Note()}
	got, err := Merge([]*Result{a, b, c})
	if err != nil {
		t.Fatal(err)
	}
	if got.TLS == nil || got.TLS.Handshakes != 39 || got.TLS.Resumed != 10 || got.TLS.Failed != 2 || got.TLS.SessionResumption {
		t.Fatalf("tls %+v, want 39 handshakes, 10 resumed, 2 failed, resumption off (mixed)", got.TLS)
	}
	whole := ha.Clone()
	whole.Merge(hb)
	if want := Summarize(whole); got.TLS.HandshakeTime.Histogram != want.Histogram || got.TLS.HandshakeTime.Count != 37 {
		t.Errorf("handshake time %+v, want the 37 times of both, %+v", got.TLS.HandshakeTime, want)
	}
	var tlsNotes []string
	for _, n := range got.Notes {
		if strings.HasPrefix(n, TLSNotePrefix) {
			tlsNotes = append(tlsNotes, n)
		}
	}
	if len(tlsNotes) != 1 || !strings.Contains(tlsNotes[0], "39 handshakes") || !strings.Contains(tlsNotes[0], "on for result 1 and off for result 2") {
		t.Errorf("tls notes %q, want one for the sum naming the mixed resumption", tlsNotes)
	}
	if !slices.Contains(got.Notes, "kept") {
		t.Errorf("notes %q lost one that is not about TLS", got.Notes)
	}
}
