package report

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/spec"
)

// Comparison sets two or more results side by side; the first is the
// baseline. It is written as JSON through its fields.
type Comparison struct {
	Columns []Column `json:"columns"`
	// Basis names the distribution the latency rows come from: "latency"
	// when every result has one (corrected for coordinated omission),
	// otherwise "service_time".
	Basis string `json:"basis"`
	Rows  []Row  `json:"rows"`
	// Warnings say why the results are not comparable, in words. Empty when
	// nothing differs that should not.
	Warnings []string `json:"warnings"`
}

// Column identifies one compared result.
type Column struct {
	ID               string   `json:"id,omitempty"`
	Name             string   `json:"name,omitempty"`
	Generator        string   `json:"generator"`
	GeneratorVersion string   `json:"generator_version,omitempty"`
	Fidelity         string   `json:"fidelity"`
	Targets          []string `json:"targets"`
}

// Row is one figure across the compared results.
type Row struct {
	// Metric names the figure: p50 … p99.99, max, mean, achieved_rps,
	// error_rate, requests.
	Metric string `json:"metric"`
	// Unit is "ms", "1/s" (rates), "ratio" (0–1) or "count".
	Unit  string `json:"unit"`
	Cells []Cell `json:"cells"`
}

// Cell is one result's value of a Row. Value is null when the result does
// not have the figure (a percentile-only import has no p75). Diff (value −
// baseline) and Ratio (value / baseline) are null for the baseline, when
// either value is unknown, and (Ratio) when the baseline is zero.
type Cell struct {
	Value *float64 `json:"value"`
	Diff  *float64 `json:"diff,omitempty"`
	Ratio *float64 `json:"ratio,omitempty"`
}

// comparePercentiles are the percentiles a comparison (and the CSV export) shows.
var comparePercentiles = []float64{50, 75, 90, 95, 99, 99.9, 99.99}

// durationTolerance is how far (relative) run durations may differ before
// the runs count as not comparable.
const durationTolerance = 0.10

// Compare sets rs side by side, rs[0] being the baseline. Percentiles come
// from the encoded histograms when present, else from the Percentiles lists.
func Compare(rs []*spec.Result) (*Comparison, error) {
	if len(rs) < 2 {
		return nil, fmt.Errorf("compare: need at least 2 results, got %d", len(rs))
	}
	allLatency, allService := true, true
	for i, r := range rs {
		if r == nil {
			return nil, fmt.Errorf("compare: result %d is missing", i+1)
		}
		if r.Latency == nil && r.ServiceTime == nil {
			return nil, fmt.Errorf("compare: result %d (%s) has no latency distribution", i+1, label(r, i))
		}
		allLatency = allLatency && r.Latency != nil
		allService = allService && r.ServiceTime != nil
	}
	c := &Comparison{Basis: "latency"}
	if !allLatency {
		if !allService {
			return nil, errors.New("compare: results mix latency-only and service-time-only distributions; nothing common to compare")
		}
		c.Basis = "service_time"
	}

	metrics := make([]string, 0, len(comparePercentiles)+5)
	for _, p := range comparePercentiles {
		metrics = append(metrics, pLabel(p))
	}
	metrics = append(metrics, "max", "mean", "achieved_rps", "error_rate", "requests")
	values := make([][]*float64, len(metrics)) // [metric][result]
	for i, r := range rs {
		d := r.Latency
		if c.Basis == "service_time" {
			d = r.ServiceTime
		}
		x, err := readDist(d)
		if err != nil {
			return nil, fmt.Errorf("compare: result %d (%s): %w", i+1, label(r, i), err)
		}
		c.Columns = append(c.Columns, Column{
			ID: r.ID, Name: r.Name, Generator: r.Generator.Name, GeneratorVersion: r.Generator.Version,
			Fidelity: r.Generator.Fidelity, Targets: r.Requested.Targets,
		})
		row := 0
		for _, p := range comparePercentiles {
			values[row] = append(values[row], known(x.pct(p)))
			row++
		}
		values[row] = append(values[row], known(x.pct(100)))
		values[row+1] = append(values[row+1], known(x.mean()))
		values[row+2] = append(values[row+2], ptr(r.Achieved.RPS))
		values[row+3] = append(values[row+3], ptr(r.Achieved.ErrorRate))
		values[row+4] = append(values[row+4], ptr(float64(r.Achieved.Requests)))
	}
	for m, name := range metrics {
		unit := "ms"
		switch name {
		case "achieved_rps":
			unit = "1/s"
		case "error_rate":
			unit = "ratio"
		case "requests":
			unit = "count"
		}
		row := Row{Metric: name, Unit: unit}
		base := values[m][0]
		for i, v := range values[m] {
			cell := Cell{Value: v}
			if i > 0 && v != nil && base != nil {
				cell.Diff = ptr(*v - *base)
				if *base != 0 {
					cell.Ratio = ptr(*v / *base)
				}
			}
			row.Cells = append(row.Cells, cell)
		}
		c.Rows = append(c.Rows, row)
	}
	c.Warnings = comparability(rs)
	return c, nil
}

// comparability lists why rs are not comparable with rs[0].
func comparability(rs []*spec.Result) []string {
	var out []string
	// differs adds a warning when any result's value differs from the
	// baseline's, listing every result's value in column order.
	differs := func(what string, f func(r *spec.Result) string) {
		vals := make([]string, len(rs))
		same := true
		for i, r := range rs {
			vals[i] = f(r)
			same = same && vals[i] == vals[0]
		}
		if !same {
			out = append(out, fmt.Sprintf("not comparable: %s (%s)", what, strings.Join(vals, " vs ")))
		}
	}
	differs("requested rate differs", func(r *spec.Result) string { return rateStr(r.Requested.RPS) })
	if len(out) == 0 { // same base rate: the shape may still differ
		differs("requested rate shape differs", func(r *spec.Result) string { return orNone(r.Requested.Shape) })
	}
	differs("one is open loop and another closed loop", func(r *spec.Result) string {
		if r.Requested.OpenLoop {
			return "open loop"
		}
		return "closed loop"
	})
	differs("connections differ", func(r *spec.Result) string { return strconv.Itoa(r.Requested.Connections) })
	differs("targets differ", func(r *spec.Result) string { return orNone(strings.Join(r.Requested.Targets, ", ")) })
	differs("generators differ", func(r *spec.Result) string { return orNone(r.Generator.Name) })
	differs("protocol differs", func(r *spec.Result) string { return orNone(protoStr(r.Requested)) })
	differs("method differs", func(r *spec.Result) string { return orNone(r.Requested.Method) })
	differs("histogram fidelity differs, so percentiles are not equally exact", func(r *spec.Result) string {
		return orNone(r.Generator.Fidelity)
	})

	base := runDuration(rs[0])
	for _, r := range rs[1:] {
		d := runDuration(r)
		if base > 0 && math.Abs(float64(d-base)) > durationTolerance*float64(base) || base == 0 && d != 0 {
			vals := make([]string, len(rs))
			for i, r := range rs {
				vals[i] = round(runDuration(r)).String()
			}
			out = append(out, fmt.Sprintf("not comparable: durations differ by more than %.0f%% (%s)", durationTolerance*100, strings.Join(vals, " vs ")))
			break
		}
	}
	out = append(out, meshComparability(rs)...)
	for i, r := range rs {
		if r.Interrupted {
			out = append(out, fmt.Sprintf("not comparable: result %d (%s) was interrupted before its end", i+1, label(r, i)))
		}
	}
	return out
}

// runDuration is the measured duration, or the requested one when the
// result has none.
func runDuration(r *spec.Result) time.Duration {
	if r.Achieved.Duration > 0 {
		return r.Achieved.Duration.D()
	}
	return r.Requested.Duration.D()
}

// Text writes c as a table, one column per result, with each non-baseline
// value followed by its difference from and ratio to the baseline. Warnings
// come first.
func (c *Comparison) Text(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("Comparing %d results; [1] is the baseline\n", len(c.Columns))
	if len(c.Warnings) == 0 {
		ew.printf("comparable: same loop, rate, connections, targets, generator, protocol, method and fidelity; durations within %.0f%%\n", durationTolerance*100)
	}
	for _, s := range c.Warnings {
		ew.printf("%s\n", s)
	}
	ew.printf("\n")
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	for i, col := range c.Columns {
		gen := strings.TrimSpace(col.Generator + " " + col.GeneratorVersion)
		if col.Fidelity != "" {
			gen += " (" + col.Fidelity + ")"
		}
		fmt.Fprintf(tw, "[%d]\t%s\t%s\t%s", i+1, orNone(colName(col, i)), orNone(gen), orNone(strings.Join(col.Targets, ", ")))
		if col.ID != "" && col.ID != col.Name {
			fmt.Fprintf(tw, "\tid %s", col.ID)
		}
		fmt.Fprint(tw, "\n")
	}
	_ = tw.Flush()
	ew.printf("\n")

	tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "\t")
	for i := range c.Columns {
		if i == 0 {
			fmt.Fprintf(tw, "[%d]\t", i+1)
		} else {
			fmt.Fprintf(tw, "[%d]\tdiff\tratio\t", i+1)
		}
	}
	fmt.Fprint(tw, "\n")
	for _, row := range c.Rows {
		fmt.Fprintf(tw, "%s\t", row.Metric)
		for i, cell := range row.Cells {
			fmt.Fprintf(tw, "%s\t", valueStr(row.Unit, cell.Value))
			if i == 0 {
				continue
			}
			diff, ratio := "", ""
			if cell.Diff != nil {
				diff = diffStr(row.Unit, *cell.Diff)
			}
			if cell.Ratio != nil {
				ratio = "×" + strconv.FormatFloat(*cell.Ratio, 'f', 2, 64)
			}
			fmt.Fprintf(tw, "%s\t%s\t", diff, ratio)
		}
		fmt.Fprint(tw, "\n")
	}
	_ = tw.Flush()
	if c.Basis == "latency" {
		ew.printf("p50…mean: latency, from each request's intended send time (corrected for coordinated omission)\n")
	} else {
		ew.printf("p50…mean: service time, from the actual send (not every result has latency corrected for coordinated omission)\n")
	}
	return ew.err
}

func colName(col Column, i int) string {
	if col.Name != "" {
		return col.Name
	}
	if col.ID != "" {
		return col.ID
	}
	return "#" + strconv.Itoa(i+1)
}

// label names a result in messages.
func label(r *spec.Result, i int) string {
	if r.Name != "" {
		return r.Name
	}
	if r.ID != "" {
		return r.ID
	}
	return "#" + strconv.Itoa(i+1)
}

func valueStr(unit string, v *float64) string {
	if v == nil {
		return "-"
	}
	switch unit {
	case "ms":
		return msStr(*v)
	case "1/s":
		return strconv.FormatFloat(*v, 'f', 1, 64) + "/s"
	case "ratio":
		return pct(*v)
	default:
		return strconv.FormatFloat(*v, 'f', -1, 64)
	}
}

func diffStr(unit string, d float64) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	switch unit {
	case "ms":
		return sign + msStr(d)
	case "1/s":
		return sign + strconv.FormatFloat(d, 'f', 1, 64) + "/s"
	case "ratio":
		return sign + strconv.FormatFloat(d*100, 'f', 2, 64) + "pp"
	default:
		return sign + strconv.FormatFloat(d, 'f', -1, 64)
	}
}

func rateStr(rps float64) string {
	if rps <= 0 {
		return "as fast as possible"
	}
	return strconv.FormatFloat(rps, 'f', -1, 64) + "/s"
}

func protoStr(q spec.Requested) string {
	switch q.HTTPVersion {
	case "":
		return q.Protocol
	case "h2c":
		return "h2c"
	default:
		return "HTTP/" + q.HTTPVersion
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func pLabel(p float64) string { return "p" + strconv.FormatFloat(p, 'f', -1, 64) }

func ptr(f float64) *float64 { return &f }

func known(v float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	return &v
}

// dist reads the figures of a distribution: percentiles from its encoded
// histogram when it has one, else from its Percentiles list.
type dist struct {
	d *spec.Distribution
	h *hist.Histogram // nil without an encoded histogram
}

func readDist(d *spec.Distribution) (dist, error) {
	x := dist{d: d}
	if d == nil || d.Histogram == "" {
		return x, nil
	}
	if d.HistogramUnit != "" && d.HistogramUnit != hist.Unit {
		return x, fmt.Errorf("histogram unit %q, want %q", d.HistogramUnit, hist.Unit)
	}
	h, err := hist.Decode(d.Histogram)
	if err != nil {
		return x, err
	}
	x.h = h
	return x, nil
}

// pct returns percentile p (100 = max) in milliseconds, from the
// distribution's one list (spec.Distribution.Value).
func (x dist) pct(p float64) (float64, bool) {
	if x.d == nil {
		return 0, false
	}
	if v, ok := x.d.Value(p); ok {
		return v, true
	}
	if p >= 100 && x.d.MaxMs > 0 {
		return x.d.MaxMs, true
	}
	return 0, false
}

func (x dist) mean() (float64, bool) {
	if x.d == nil {
		return 0, false
	}
	if x.d.MeanMs == 0 && x.h != nil && x.h.Count() > 0 {
		return durMs(x.h.Mean()), true
	}
	return x.d.MeanMs, x.d.MeanMs != 0 || x.d.Count > 0
}

func durMs(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
