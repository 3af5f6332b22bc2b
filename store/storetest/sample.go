package storetest

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/spec"
)

// Sample describes a result for SampleResult to make.
type Sample struct {
	Start time.Time
	// Values is the number of latencies recorded in the histograms.
	Values int
	// Seconds is the length of the run and of its timeline.
	Seconds int
	// IntervalHistograms adds per-second histograms to the timeline.
	IntervalHistograms bool
	Generator          string
	Targets            []string
	Labels             map[string]string
	OpenLoop           bool
}

// SampleResult returns a realistic result: HDR histograms of s.Values
// log-normal latencies around 2 ms, and a timeline of s.Seconds seconds.
// A nil rng stands for a fixed seed.
func SampleResult(rng *rand.Rand, s Sample) *spec.Result {
	if rng == nil {
		rng = rand.New(rand.NewPCG(1, 2))
	}
	if s.Generator == "" {
		s.Generator = "meshperf"
	}
	if len(s.Targets) == 0 {
		s.Targets = []string{"http://127.0.0.1:8080/"}
	}
	rps := float64(100 * (1 + rng.IntN(20)))
	perSecond := max(1, s.Values/max(1, s.Seconds))
	total, service := hist.New(), hist.New()
	var ih, is *hist.Histogram
	if s.IntervalHistograms {
		ih, is = hist.New(), hist.New()
	}
	var timeline []spec.Interval
	var errs int64
	lat := make([]time.Duration, perSecond)
	for sec := 0; sec < s.Seconds; sec++ {
		var ierr int64
		for i := range lat {
			st := time.Duration(math.Exp(rng.NormFloat64()*0.5) * 2e6) // ~2 ms
			lat[i] = st + time.Duration(rng.ExpFloat64()*1e5)          // queued
			total.Record(lat[i])
			service.Record(st)
			if ih != nil {
				ih.Record(lat[i])
				is.Record(st)
			}
			if rng.IntN(200) == 0 {
				ierr++
			}
		}
		errs += ierr
		slices.Sort(lat)
		at := func(q float64) float64 { return ms(lat[int(q*float64(len(lat)-1))]) }
		iv := spec.Interval{
			Second: sec, Seconds: 1,
			Requests: int64(perSecond), Errors: ierr,
			RequestedRPS: rps, AchievedRPS: float64(perSecond),
			P50Ms: at(0.5), P90Ms: at(0.9), P99Ms: at(0.99),
			StatusCodes: map[int]int64{200: int64(perSecond) - ierr},
		}
		if ierr > 0 {
			iv.StatusCodes[503] = ierr
		}
		if ih != nil {
			iv.Latency, iv.ServiceTime = ih.MustEncode(), is.MustEncode()
			ih.Reset()
			is.Reset()
		}
		timeline = append(timeline, iv)
	}
	n := total.Count()
	dur := time.Duration(s.Seconds) * time.Second
	r := &spec.Result{
		Schema:    spec.ResultSchema,
		Name:      "sample",
		Labels:    s.Labels,
		Generator: spec.GeneratorInfo{Name: s.Generator, Version: "v0.1.0", Fidelity: "hdr"},
		Requested: spec.Requested{
			Targets: s.Targets, Method: "GET", Protocol: "http", HTTPVersion: "1.1",
			Connections: 16, RPS: rps, Shape: "constant", OpenLoop: s.OpenLoop,
			Duration: spec.Duration(dur), Timeout: spec.Duration(5 * time.Second),
		},
		Achieved: spec.Achieved{
			Duration: spec.Duration(dur), Requests: n, Responses: n, RPS: float64(n) / dur.Seconds(),
			Errors: errs, ErrorRate: float64(errs) / float64(max(n, 1)),
			BytesSent: n * 120, BytesReceived: n * 512,
		},
		StartTime:   s.Start.UTC(),
		EndTime:     s.Start.Add(dur).UTC(),
		ServiceTime: distribution(service),
		StatusCodes: map[int]int64{200: n - errs},
		Timeline:    timeline,
		Notes:       []string{"sample result made by storetest"},
	}
	if errs > 0 {
		r.StatusCodes[503] = errs
	}
	if s.OpenLoop {
		r.Latency = distribution(total)
	}
	return r
}

func distribution(h *hist.Histogram) *spec.Distribution {
	d := &spec.Distribution{
		Count: h.Count(), MinMs: ms(h.Min()), MeanMs: ms(h.Mean()), StdDevMs: ms(h.StdDev()), MaxMs: ms(h.Max()),
		Histogram: h.MustEncode(), HistogramUnit: hist.Unit,
	}
	for _, p := range []float64{50, 75, 90, 95, 99, 99.9} {
		d.Percentiles = append(d.Percentiles, spec.Percentile{P: p, Ms: ms(h.Quantile(p / 100))})
	}
	return d
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
