package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/meshperf/meshperf/loadgen/fortio"
	"github.com/meshperf/meshperf/spec"
)

// AllFigures renders r in every form meshperf writes (text report, JSON,
// SMP, strict SMP, fortio JSON, CSV, comparison) and reads p50, p90, p99,
// p99.9 and the max back out of each, as a reader of that form would:
// figures[p][form]. Forms without a figure leave it out. The text report's
// figures carry its rounding (three significant digits).
var AllFigures = allFigures

// TextTolerance is how far a text report figure may be from the exact one
// (its rounding): relative, and at least one microsecond.
func TextClose(got, want float64) bool {
	return math.Abs(got-want) <= max(0.006*want, 0.0011)
}

func allFigures(r *spec.Result) (map[float64]map[string]float64, error) {
	out := map[float64]map[string]float64{}
	put := func(p float64, where string, v float64) {
		if out[p] == nil {
			out[p] = map[string]float64{}
		}
		out[p][where] = v
	}
	main := r.Latency
	if main == nil {
		main = r.ServiceTime
	}

	// Text report: the main column (latency when both are shown).
	var tb bytes.Buffer
	if err := Text(&tb, r, nil); err != nil {
		return nil, err
	}
	rows := map[string]float64{}
	for _, line := range strings.Split(tb.String(), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		if v, ok := parseMsStr(f[1]); ok {
			rows[f[0]] = v
		}
	}
	for label, p := range map[string]float64{"p50": 50, "p90": 90, "p99": 99, "p99.9": 99.9, "max": 100} {
		if v, ok := rows[label]; ok {
			put(p, "text", v)
		}
	}

	// JSON.
	var jb bytes.Buffer
	if err := JSON(&jb, r); err != nil {
		return nil, err
	}
	var back spec.Result
	if err := json.Unmarshal(jb.Bytes(), &back); err != nil {
		return nil, err
	}
	bd := back.Latency
	if bd == nil {
		bd = back.ServiceTime
	}
	for _, p := range []float64{50, 90, 99, 99.9, 100} {
		if v, ok := bd.Value(p); ok {
			put(p, "json", v)
		}
	}

	// SMP (extended) and strict SMP.
	y, err := SMPResult(r, SMPMeta{})
	if err != nil {
		return nil, err
	}
	var smp struct {
		L        map[string]float64 `json:"latencies_ms"`
		Meshperf struct {
			P999 *float64 `json:"p99_9_ms"`
		} `json:"meshperf"`
	}
	if err := yaml.Unmarshal(y, &smp); err != nil {
		return nil, err
	}
	strict, err := SMPResultStrict(r, SMPMeta{})
	if err != nil {
		return nil, err
	}
	var st struct {
		L map[string]float64 `json:"latenciesMs"`
	}
	if err := json.Unmarshal(strict, &st); err != nil {
		return nil, err
	}
	for k, p := range map[string]float64{"p50": 50, "p90": 90, "p99": 99, "max": 100} {
		put(p, "smp", smp.L[k])
		put(p, "smp-strict", st.L[k])
	}
	if smp.Meshperf.P999 != nil {
		put(99.9, "smp", *smp.Meshperf.P999)
	}

	// fortio JSON.
	fj, err := FortioJSON(r)
	if err != nil {
		return nil, err
	}
	var fr fortio.Results
	if err := json.Unmarshal(fj, &fr); err != nil {
		return nil, err
	}
	for _, p := range fr.DurationHistogram.Percentiles {
		if p.Percentile == 50 || p.Percentile == 90 || p.Percentile == 99 || p.Percentile == 99.9 {
			put(p.Percentile, "fortio", fortio.SecondsToMs(p.Value))
		}
	}
	put(100, "fortio", fortio.SecondsToMs(fr.DurationHistogram.Max))

	// CSV.
	var cb bytes.Buffer
	if err := CSV(&cb, []*spec.Result{r}); err != nil {
		return nil, err
	}
	recs, err := csv.NewReader(&cb).ReadAll()
	if err != nil || len(recs) != 2 {
		return nil, fmt.Errorf("csv: %v (%d records)", err, len(recs))
	}
	for i, col := range recs[0] {
		p, ok := map[string]float64{"p50_ms": 50, "p90_ms": 90, "p99_ms": 99, "p99_9_ms": 99.9, "max_ms": 100}[col]
		if !ok || recs[1][i] == "" {
			continue
		}
		v, err := strconv.ParseFloat(recs[1][i], 64)
		if err != nil {
			return nil, fmt.Errorf("csv %s: %w", col, err)
		}
		put(p, "csv", v)
	}

	// Comparison (against itself).
	c, err := Compare([]*spec.Result{r, r})
	if err != nil {
		return nil, err
	}
	for _, row := range c.Rows {
		p, ok := map[string]float64{"p50": 50, "p90": 90, "p99": 99, "p99.9": 99.9, "max": 100}[row.Metric]
		if ok && row.Cells[0].Value != nil {
			put(p, "compare", *row.Cells[0].Value)
		}
	}
	_ = main
	return out, nil
}

// parseMsStr reads msStr's forms back: "96µs", "2.35ms", "12.3s".
func parseMsStr(s string) (float64, bool) {
	for _, u := range []struct {
		suffix string
		ms     float64
	}{{"µs", 1e-3}, {"ms", 1}, {"s", 1e3}} {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, false
			}
			return v * u.ms, true
		}
	}
	return 0, false
}
