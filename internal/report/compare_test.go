package report

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/spec"
)

// run describes a realistic test run for recorded.
type run struct {
	id, name    string
	seed        uint64
	open        bool
	rps         float64 // requested; 0 = closed loop
	conns       int
	seconds     int
	medianMs    float64 // of the service time
	errorsPer1k int
}

var testStart = time.Date(2026, 11, 21, 4, 23, 13, 658504363, time.UTC)

// recorded builds a Result the way a run does: values recorded into hist
// histograms, and the summaries computed from them.
func recorded(o run) *spec.Result {
	rng := rand.New(rand.NewPCG(o.seed, 7))
	rate := o.rps
	if rate == 0 {
		rate = 800
	}
	n := int(rate) * o.seconds
	svc, lat := hist.New(), hist.New()
	tl := make([]spec.Interval, o.seconds)
	perSec := make([]*hist.Histogram, o.seconds)
	for i := range perSec {
		perSec[i] = hist.New()
	}
	for i := range n {
		// Log-normal service times with a slow tail.
		s := o.medianMs * math.Exp(rng.NormFloat64()*0.35)
		if rng.IntN(200) == 0 {
			s *= 8
		}
		d := time.Duration(s * float64(time.Millisecond))
		svc.Record(d)
		l := d
		if rng.IntN(50) == 0 { // queued behind a slow response
			l += time.Duration(rng.Float64() * 4 * float64(time.Millisecond))
		}
		lat.Record(l)
		sec := i * o.seconds / n
		if o.open {
			perSec[sec].Record(l)
		} else {
			perSec[sec].Record(d)
		}
		tl[sec].Requests++
	}
	errs := int64(n * o.errorsPer1k / 1000)
	dur := time.Duration(o.seconds)*time.Second + 3*time.Millisecond
	for i := range tl {
		h := perSec[i]
		tl[i].Second = i
		tl[i].Seconds = 1
		tl[i].RequestedRPS = o.rps
		tl[i].AchievedRPS = float64(tl[i].Requests)
		tl[i].P50Ms = durMs(h.Quantile(0.5))
		tl[i].P90Ms = durMs(h.Quantile(0.9))
		tl[i].P99Ms = durMs(h.Quantile(0.99))
	}
	tl[0].Warmup = true
	tl[len(tl)-1].Errors = errs
	r := &spec.Result{
		Schema:    spec.ResultSchema,
		ID:        o.id,
		Name:      o.name,
		Labels:    map[string]string{"mesh": "istio", "build": "42"},
		Generator: spec.GeneratorInfo{Name: "meshperf", Version: "1.2.3", Fidelity: "hdr"},
		Requested: spec.Requested{
			Targets: []string{"http://productpage.shop:9080/productpage"}, Method: "GET", Protocol: "http", HTTPVersion: "1.1",
			Connections: o.conns, Duration: spec.Duration(time.Duration(o.seconds) * time.Second), Shape: "closed loop",
			Timeout: spec.Duration(3 * time.Second),
		},
		Achieved: spec.Achieved{
			Duration: spec.Duration(dur), Requests: int64(n), Responses: int64(n) - errs/2,
			RPS: float64(n) / dur.Seconds(), Errors: errs, ErrorRate: float64(errs) / float64(n),
			BytesSent: int64(n) * 71, BytesReceived: int64(n) * 1150,
		},
		StartTime:   testStart,
		EndTime:     testStart.Add(dur),
		ServiceTime: distOf(svc),
		StatusCodes: map[int]int64{200: int64(n) - errs, 503: errs / 2},
		Timeline:    tl,
	}
	if errs/2 > 0 {
		r.Errors = []spec.ErrorClass{{Class: "reset", Count: errs - errs/2}}
	}
	if o.open {
		r.Requested.OpenLoop, r.Requested.RPS = true, o.rps
		r.Requested.Shape = "constant " + num(o.rps) + "/s"
		r.Latency = distOf(lat)
	}
	return r
}

// distOf summarises h as a run does.
func distOf(h *hist.Histogram) *spec.Distribution {
	d := &spec.Distribution{
		Count: h.Count(), MinMs: durMs(h.Min()), MeanMs: durMs(h.Mean()), StdDevMs: durMs(h.StdDev()),
		MaxMs: durMs(h.Max()), Histogram: h.MustEncode(), HistogramUnit: hist.Unit,
	}
	for _, p := range comparePercentiles {
		d.Percentiles = append(d.Percentiles, spec.Percentile{P: p, Ms: durMs(h.Quantile(p / 100))})
	}
	d.Percentiles = append(d.Percentiles, spec.Percentile{P: 100, Ms: d.MaxMs})
	return d
}

func baseRun() run {
	return run{id: "run-a", name: "baseline", seed: 1, open: true, rps: 1000, conns: 16, seconds: 10, medianMs: 2, errorsPer1k: 1}
}

// checkGolden compares got with testdata/name; -update rewrites it.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n%s", path, got)
	}
}

func TestCompareGolden(t *testing.T) {
	b := baseRun()
	faster := b
	faster.id, faster.name, faster.seed, faster.medianMs = "run-b", "tuned", 2, 1.6
	other := b
	other.id, other.name, other.seed, other.rps, other.conns, other.seconds = "run-c", "double rate", 3, 2000, 64, 30
	for _, tc := range []struct {
		name string
		rs   []*spec.Result
	}{
		{"comparable", []*spec.Result{recorded(b), recorded(faster)}},
		{"not-comparable", []*spec.Result{recorded(b), recorded(faster), recorded(other)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Compare(tc.rs)
			if err != nil {
				t.Fatal(err)
			}
			var txt bytes.Buffer
			if err := c.Text(&txt); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "compare-"+tc.name+".golden", txt.Bytes())
			js, err := json.MarshalIndent(c, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "compare-"+tc.name+".json", append(js, '\n'))
		})
	}
}

func TestCompareWarnings(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(r *spec.Result)
		want   string // "" = no warning
	}{
		{"same", func(*spec.Result) {}, ""},
		{"rate", func(r *spec.Result) { r.Requested.RPS = 2000 }, "not comparable: requested rate differs (1000/s vs 2000/s)"},
		{"shape", func(r *spec.Result) { r.Requested.Shape = "ramp 0→1000/s" }, "not comparable: requested rate shape differs (constant 1000/s vs ramp 0→1000/s)"},
		{"connections", func(r *spec.Result) { r.Requested.Connections = 64 }, "not comparable: connections differ (16 vs 64)"},
		{"targets", func(r *spec.Result) { r.Requested.Targets = []string{"http://other/"} }, "not comparable: targets differ (http://productpage.shop:9080/productpage vs http://other/)"},
		{"generator", func(r *spec.Result) { r.Generator.Name = "fortio" }, "not comparable: generators differ (meshperf vs fortio)"},
		{"http version", func(r *spec.Result) { r.Requested.HTTPVersion = "2" }, "not comparable: protocol differs (HTTP/1.1 vs HTTP/2)"},
		{"protocol", func(r *spec.Result) { r.Requested.Protocol, r.Requested.HTTPVersion = "grpc", "" }, "not comparable: protocol differs (HTTP/1.1 vs grpc)"},
		{"method", func(r *spec.Result) { r.Requested.Method = "POST" }, "not comparable: method differs (GET vs POST)"},
		{"duration within 10%", func(r *spec.Result) { r.Achieved.Duration = spec.Duration(10900 * time.Millisecond) }, ""},
		{"duration", func(r *spec.Result) { r.Achieved.Duration = spec.Duration(12 * time.Second) }, "not comparable: durations differ by more than 10% (10.003s vs 12s)"},
		{"loop", func(r *spec.Result) { r.Requested.OpenLoop = false }, "not comparable: one is open loop and another closed loop (open loop vs closed loop)"},
		{"fidelity", func(r *spec.Result) { r.Generator.Fidelity = "bucketed" }, "not comparable: histogram fidelity differs, so percentiles are not equally exact (hdr vs bucketed)"},
		{"interrupted", func(r *spec.Result) { r.Interrupted = true }, "not comparable: result 2 (baseline) was interrupted before its end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := recorded(baseRun()), recorded(baseRun())
			tc.change(b)
			c, err := Compare([]*spec.Result{a, b})
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if len(c.Warnings) != 0 {
					t.Errorf("got warnings %q, want none", c.Warnings)
				}
				return
			}
			if len(c.Warnings) != 1 || c.Warnings[0] != tc.want {
				t.Errorf("got warnings %q\nwant [%q]", c.Warnings, tc.want)
			}
			var txt bytes.Buffer
			if err := c.Text(&txt); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(txt.String(), tc.want) {
				t.Errorf("text report does not carry the warning:\n%s", txt.String())
			}
		})
	}
}

func TestCompareValues(t *testing.T) {
	a, b := recorded(baseRun()), recorded(baseRun())
	b.Achieved.RPS = a.Achieved.RPS * 1.5
	// The Percentiles list is the one source: a list holding only p50 is
	// completed from the histogram by the same rule, kept monotonic.
	b.Latency.Percentiles = []spec.Percentile{{P: 50, Ms: 999}}
	c, err := Compare([]*spec.Result{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if c.Basis != "latency" {
		t.Errorf("basis %q, want latency", c.Basis)
	}
	row := func(m string) Row {
		for _, r := range c.Rows {
			if r.Metric == m {
				return r
			}
		}
		t.Fatalf("no row %s", m)
		return Row{}
	}
	p50 := row("p50")
	if got := *p50.Cells[1].Value; got != 999 {
		t.Errorf("p50 = %v, want 999 from the list", got)
	}
	prev := 0.0
	for _, m := range []string{"p50", "p75", "p90", "p95", "p99", "p99.9", "p99.99", "max"} {
		v := *row(m).Cells[1].Value
		if v < prev {
			t.Errorf("%s = %v goes below the percentile before it (%v)", m, v, prev)
		}
		prev = v
	}
	rps := row("achieved_rps")
	if got := *rps.Cells[1].Ratio; math.Abs(got-1.5) > 1e-12 {
		t.Errorf("rps ratio = %v, want 1.5", got)
	}
	if got, want := *rps.Cells[1].Diff, a.Achieved.RPS*0.5; math.Abs(got-want) > 1e-9 {
		t.Errorf("rps diff = %v, want %v", got, want)
	}
	if rps.Cells[0].Diff != nil || rps.Cells[0].Ratio != nil {
		t.Error("the baseline has a diff or ratio")
	}

	// Without histograms the lists are used; missing percentiles stay unknown.
	a.Latency.Histogram, b.Latency.Histogram = "", ""
	b.Latency.Percentiles = []spec.Percentile{{P: 50, Ms: 3}}
	a.Achieved.Errors, a.Achieved.ErrorRate = 0, 0
	c, err = Compare([]*spec.Result{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if got := *row("p50").Cells[1].Value; got != 3 {
		t.Errorf("p50 from list = %v, want 3", got)
	}
	if p75 := row("p75").Cells[1]; p75.Value != nil || p75.Diff != nil {
		t.Errorf("p75 missing from the list should be unknown, got %+v", p75)
	}
	if er := row("error_rate").Cells[1]; er.Ratio != nil || er.Diff == nil {
		t.Errorf("error rate against a zero baseline: got %+v, want a diff and no ratio", er)
	}
	if _, err := json.Marshal(c); err != nil {
		t.Errorf("comparison does not marshal: %v", err)
	}
}

func TestCompareBasis(t *testing.T) {
	closed := baseRun()
	closed.open, closed.rps = false, 0
	c, err := Compare([]*spec.Result{recorded(baseRun()), recorded(closed)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Basis != "service_time" {
		t.Errorf("basis %q, want service_time when one result has no latency", c.Basis)
	}
	var txt bytes.Buffer
	_ = c.Text(&txt)
	if !strings.Contains(txt.String(), "service time, from the actual send") {
		t.Errorf("text does not say the rows are service time:\n%s", txt.String())
	}
}

func TestCompareErrors(t *testing.T) {
	good := recorded(baseRun())
	noDist := recorded(baseRun())
	noDist.Latency, noDist.ServiceTime = nil, nil
	badHist := recorded(baseRun())
	badHist.Latency.Histogram = "not a histogram"
	latOnly := recorded(baseRun())
	latOnly.ServiceTime = nil
	svcOnly := recorded(baseRun())
	svcOnly.Latency = nil
	for _, tc := range []struct {
		name string
		rs   []*spec.Result
		want string
	}{
		{"none", nil, "need at least 2 results, got 0"},
		{"one", []*spec.Result{good}, "need at least 2 results, got 1"},
		{"nil", []*spec.Result{good, nil}, "result 2 is missing"},
		{"no distribution", []*spec.Result{good, noDist}, "result 2 (baseline) has no latency distribution"},
		{"bad histogram", []*spec.Result{badHist, good}, "result 1 (baseline): hist: decode"},
		{"nothing common", []*spec.Result{latOnly, svcOnly}, "mix latency-only and service-time-only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compare(tc.rs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
