package experiment

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

// Percentiles are the latency percentiles a report compares.
var Percentiles = []float64{50, 90, 99, 99.9}

// Report is an experiment's results put side by side: for each sweep
// point, each variant's figures over its repeats and its overhead against
// the baseline. Its JSON is the API's and `experiment report --output
// json`'s (docs/experiments.md describes it).
type Report struct {
	Experiment store.Experiment `json:"experiment"`
	Baseline   string           `json:"baseline"`
	Variants   []string         `json:"variants"`
	Repeats    int              `json:"repeats"`
	// Latency says which distribution the percentiles are of: "latency"
	// (open loop, corrected for coordinated omission) or "service_time"
	// (closed loop), per cell; "mixed" if both occur.
	Latency string `json:"latency"`
	// Metrics names every metric some cell has, sorted.
	Metrics []string      `json:"metrics"`
	Points  []PointReport `json:"points"`
}

// PointReport is one sweep point.
type PointReport struct {
	RPS         float64         `json:"rps"`
	Connections int             `json:"connections"`
	Variants    []VariantReport `json:"variants"`
}

// VariantReport is one variant at one sweep point.
type VariantReport struct {
	Name string `json:"name"`
	// Cells are the repeats stored so far, by repeat.
	Cells []CellReport `json:"cells"`
	// Latency percentiles (ms), achieved rate and error rate over the
	// repeats, keyed "p50", "p90", "p99", "p99.9".
	Latency     map[string]Stat `json:"latency_ms"`
	AchievedRPS Stat            `json:"achieved_rps"`
	ErrorRate   Stat            `json:"error_rate"`
	// Metrics are the averages of each metric over the repeats.
	Metrics map[string]Stat `json:"metrics,omitempty"`
	// ClientCPUCores is the load generator's own CPU; ClientSaturated is
	// set when any repeat's client looked saturated.
	ClientCPUCores  Stat `json:"client_cpu_cores"`
	ClientSaturated bool `json:"client_saturated,omitempty"`
	// Overhead compares with the baseline at the same point, keyed as
	// Latency; absent for the baseline itself and when either side has no
	// cell yet.
	Overhead map[string]Overhead `json:"overhead,omitempty"`
}

// CellReport is one stored cell.
type CellReport struct {
	Repeat      int                `json:"repeat"`
	ResultID    string             `json:"result_id"`
	Latency     map[string]float64 `json:"latency_ms"`
	AchievedRPS float64            `json:"achieved_rps"`
	ErrorRate   float64            `json:"error_rate"`
	Metrics     map[string]float64 `json:"metrics,omitempty"`
	// MetricsMissing gives, by metric name, why a metric has no value.
	MetricsMissing map[string]string `json:"metrics_missing,omitempty"`
	ClientCPUCores float64           `json:"client_cpu_cores"`
	Saturated      bool              `json:"client_saturated,omitempty"`
	Interrupted    bool              `json:"interrupted,omitempty"`
}

// Stat summarises one figure over the repeats.
type Stat struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// Spread is Max - Min.
func (s Stat) Spread() float64 { return s.Max - s.Min }

// Overhead is a variant's difference from the baseline at one percentile.
type Overhead struct {
	// AddedMs is the variant's median minus the baseline's; Ratio the
	// variant's median over the baseline's (0 when the baseline's is 0).
	AddedMs float64 `json:"added_ms"`
	Ratio   float64 `json:"ratio"`
	// NoiseMs is the larger spread (max - min over the repeats) of the two;
	// WithinNoise is set when |AddedMs| <= NoiseMs, or when there is a
	// single repeat and so no measure of the noise (NoiseKnown false).
	NoiseMs     float64 `json:"noise_ms"`
	NoiseKnown  bool    `json:"noise_known"`
	WithinNoise bool    `json:"within_noise"`
}

// PercentileKey names a percentile in a report: "p50", "p99.9".
func PercentileKey(p float64) string { return "p" + FormatRPS(p) }

// BuildReport reads the stored cells of exp and puts them side by side.
func BuildReport(ctx context.Context, st store.ResultStore, exp *store.Experiment) (*Report, error) {
	def, err := DecodeDefinition(exp.Body)
	if err != nil {
		return nil, err
	}
	stored, err := Stored(ctx, st, exp.ID)
	if err != nil {
		return nil, err
	}
	results := map[Key]*spec.Result{}
	for k, s := range stored {
		sr, err := st.GetResult(ctx, s.ID)
		if err != nil {
			return nil, fmt.Errorf("experiment %s: result %s: %w", exp.Name, s.ID, err)
		}
		results[k] = sr.Result
	}
	e := *exp
	e.Body = nil
	return Build(&e, def, results), nil
}

// Build makes the report of def from its cells' results, by cell key.
func Build(exp *store.Experiment, def *Definition, results map[Key]*spec.Result) *Report {
	f := &def.File
	r := &Report{Experiment: *exp, Baseline: f.BaselineName(), Repeats: f.repeats(), Metrics: []string{}, Points: []PointReport{}}
	for _, v := range f.Variants {
		r.Variants = append(r.Variants, v.Name)
	}
	metricNames := map[string]bool{}
	kinds := map[string]bool{}
	for _, pt := range f.Points() {
		pr := PointReport{RPS: pt.RPS, Connections: pt.Connections}
		for _, v := range f.Variants {
			vr := VariantReport{Name: v.Name, Cells: []CellReport{}}
			for rep := 1; rep <= f.repeats(); rep++ {
				c := Cell{Variant: v.Name, Point: pt, Repeat: rep}
				res := results[c.Key()]
				if res == nil {
					continue
				}
				kinds[distKind(res)] = true
				cr := CellReport{Repeat: rep, ResultID: res.ID, Latency: map[string]float64{},
					AchievedRPS: res.Achieved.RPS, ErrorRate: res.Achieved.ErrorRate, Interrupted: res.Interrupted}
				for _, p := range Percentiles {
					if ms, ok := pct(res, p); ok {
						cr.Latency[PercentileKey(p)] = ms
					}
				}
				for _, m := range res.Metrics {
					metricNames[m.Name] = true
					if m.Missing != "" {
						if cr.MetricsMissing == nil {
							cr.MetricsMissing = map[string]string{}
						}
						cr.MetricsMissing[m.Name] = m.Missing
						continue
					}
					if cr.Metrics == nil {
						cr.Metrics = map[string]float64{}
					}
					cr.Metrics[m.Name] = m.Average
				}
				if p := res.Process; p != nil {
					cr.ClientCPUCores, cr.Saturated = p.CPUCores, p.Saturated
				}
				vr.Cells = append(vr.Cells, cr)
			}
			vr.summarise()
			pr.Variants = append(pr.Variants, vr)
		}
		var base *VariantReport
		for i := range pr.Variants {
			if pr.Variants[i].Name == r.Baseline {
				base = &pr.Variants[i]
			}
		}
		for i := range pr.Variants {
			if v := &pr.Variants[i]; base != nil && v != base {
				v.Overhead = overhead(base, v)
			}
		}
		r.Points = append(r.Points, pr)
	}
	for n := range metricNames {
		r.Metrics = append(r.Metrics, n)
	}
	sort.Strings(r.Metrics)
	switch {
	case len(kinds) > 1:
		r.Latency = "mixed"
	case kinds["service_time"]:
		r.Latency = "service_time"
	default:
		r.Latency = "latency"
	}
	return r
}

// summarise fills the variant's statistics from its cells.
func (v *VariantReport) summarise() {
	v.Latency = map[string]Stat{}
	for _, p := range Percentiles {
		k := PercentileKey(p)
		var xs []float64
		for _, c := range v.Cells {
			if x, ok := c.Latency[k]; ok {
				xs = append(xs, x)
			}
		}
		if len(xs) > 0 {
			v.Latency[k] = stat(xs)
		}
	}
	var rps, errs, cpu []float64
	metrics := map[string][]float64{}
	for _, c := range v.Cells {
		rps = append(rps, c.AchievedRPS)
		errs = append(errs, c.ErrorRate)
		cpu = append(cpu, c.ClientCPUCores)
		v.ClientSaturated = v.ClientSaturated || c.Saturated
		for n, x := range c.Metrics {
			metrics[n] = append(metrics[n], x)
		}
	}
	v.AchievedRPS, v.ErrorRate, v.ClientCPUCores = stat(rps), stat(errs), stat(cpu)
	if len(metrics) > 0 {
		v.Metrics = map[string]Stat{}
		for n, xs := range metrics {
			v.Metrics[n] = stat(xs)
		}
	}
}

// overhead compares v with base at each percentile both have.
func overhead(base, v *VariantReport) map[string]Overhead {
	out := map[string]Overhead{}
	for _, p := range Percentiles {
		k := PercentileKey(p)
		b, okb := base.Latency[k]
		x, okx := v.Latency[k]
		if !okb || !okx {
			continue
		}
		o := Overhead{AddedMs: x.Median - b.Median, NoiseMs: max(b.Spread(), x.Spread()), NoiseKnown: b.N > 1 && x.N > 1}
		if b.Median > 0 {
			o.Ratio = x.Median / b.Median
		}
		o.WithinNoise = !o.NoiseKnown || math.Abs(o.AddedMs) <= o.NoiseMs
		out[k] = o
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// stat summarises xs (empty: the zero Stat).
func stat(xs []float64) Stat {
	if len(xs) == 0 {
		return Stat{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Stat{N: len(s), Median: med, Min: s[0], Max: s[len(s)-1]}
}

// distKind says which distribution pct reads from res.
func distKind(res *spec.Result) string {
	if res.Latency != nil {
		return "latency"
	}
	return "service_time"
}

// pct is percentile p of res's latency (open loop) or service time
// (closed loop), in ms: from the listed percentiles, else from the
// histogram.
func pct(res *spec.Result, p float64) (float64, bool) {
	d := res.Latency
	if d == nil {
		d = res.ServiceTime
	}
	if d == nil || d.Count == 0 {
		return 0, false
	}
	if ms, ok := d.At(p); ok {
		return ms, true
	}
	h, err := hist.Decode(d.Histogram)
	if err != nil || h.Count() == 0 {
		return 0, false
	}
	return float64(h.Quantile(p/100)) / float64(time.Millisecond), true
}
