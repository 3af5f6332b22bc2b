package spec

import (
	"math"
	"sort"

	"github.com/meshperf/meshperf/hist"
)

// The one rule for percentiles. Every percentile meshperf shows — the text
// report, JSON, the SMP, CSV and fortio exports, comparisons, the API and
// the UI — is read from Distribution.Percentiles (through Value or
// Summary), and that list is made here, once, when the result is made:
//
//   - from an HDR histogram meshperf recorded: each percentile is the
//     histogram's, the max its largest value;
//   - from another tool's figures: the percentiles the tool reported itself
//     (and its min and max) win; the others come from the histogram rebuilt
//     from the tool's buckets, which is built through the tool's figures
//     (hist.FromSteps), and are kept between the tool's neighbouring ones,
//     so the list never goes backwards.
//
// A distribution with no values has no percentiles: readers show "no data",
// never 0.

// PercentilesOf lists SummaryPercentiles (100 being the max) and any other
// percentile in exact, in increasing order of p. Values in exact (ms, keyed
// by percentile 0–100) win; the rest come from h. maxMs, when above zero, is
// the max (a tool's exact figure, finer than the histogram). The list is
// monotonic: exact values are taken in order of p with a running maximum,
// and each histogram value is clamped between the exact values around it.
// Empty when there are no values (h nil or empty and exact empty).
func PercentilesOf(h *hist.Histogram, exact map[float64]float64, maxMs float64) []Percentile {
	fixed := map[float64]float64{}
	for p, v := range exact {
		if p > 0 && p <= 100 && !math.IsNaN(v) && !math.IsInf(v, 0) && v >= 0 {
			fixed[p] = v
		}
	}
	if maxMs > 0 {
		fixed[100] = maxMs
	}
	haveH := h != nil && h.Count() > 0
	if !haveH && len(fixed) == 0 {
		return nil
	}
	if haveH {
		if _, ok := fixed[100]; !ok {
			fixed[100] = msOf(h.Max())
		}
	}
	// The tool's own figures in order of p, never decreasing.
	fps := make([]float64, 0, len(fixed))
	for p := range fixed {
		fps = append(fps, p)
	}
	sort.Float64s(fps)
	run := 0.0
	for _, p := range fps {
		run = max(run, fixed[p])
		fixed[p] = run
	}
	ps := append([]float64(nil), fps...)
	for _, p := range SummaryPercentiles {
		if _, ok := fixed[p]; !ok && haveH {
			ps = append(ps, p)
		}
	}
	sort.Float64s(ps)
	out := make([]Percentile, 0, len(ps))
	for _, p := range ps {
		if v, ok := fixed[p]; ok {
			out = append(out, Percentile{P: p, Ms: v})
			continue
		}
		v := msOf(h.Quantile(p / 100))
		lo, hi := 0.0, math.Inf(1)
		for _, q := range fps {
			if q < p {
				lo = fixed[q]
			} else if q > p {
				hi = fixed[q]
				break
			}
		}
		out = append(out, Percentile{P: p, Ms: min(max(v, lo), hi)})
	}
	return out
}

// Summary is d's percentile list in increasing order of p, with each value
// at least the one before: the list every report reads. A list written by
// an older meshperf that went backwards is read with a running maximum.
// Nil when d is nil or has no values.
func (d *Distribution) Summary() []Percentile {
	if d == nil {
		return nil
	}
	out := append([]Percentile(nil), d.Percentiles...)
	if d.Histogram != "" && d.HistogramUnit == hist.Unit && !hasAll(out) {
		// An import that listed only a tool's own figures: the rest from
		// its histogram, by the same rule.
		if h, err := hist.Decode(d.Histogram); err == nil && h.Count() > 0 {
			exact := make(map[float64]float64, len(out))
			for _, x := range out {
				exact[x.P] = x.Ms
			}
			out = PercentilesOf(h, exact, d.MaxMs)
		}
	}
	if len(out) == 0 {
		return nil
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].P < out[j].P })
	for i := 1; i < len(out); i++ {
		out[i].Ms = max(out[i].Ms, out[i-1].Ms)
	}
	return out
}

// Value returns percentile p (100 is the max) from Summary: the one source
// of every percentile shown. ok is false when d does not have it (no data,
// or a tool that did not report it and left no histogram).
func (d *Distribution) Value(p float64) (ms float64, ok bool) {
	for _, x := range d.Summary() {
		if x.P == p {
			return x.Ms, true
		}
	}
	return 0, false
}

// Empty reports whether d holds no values: nil, or nothing recorded.
func (d *Distribution) Empty() bool {
	return d == nil || (d.Count == 0 && len(d.Percentiles) == 0)
}

func hasAll(ps []Percentile) bool {
	for _, p := range SummaryPercentiles {
		found := false
		for _, x := range ps {
			if x.P == p {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
