package experiment

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
	"github.com/meshperf/meshperf/store/sqlite"
)

// result makes a result whose latency is n requests at ms milliseconds.
func result(id string, ms float64, rps float64) *spec.Result {
	h := hist.New()
	for range 100 {
		h.Record(time.Duration(ms * float64(time.Millisecond)))
	}
	return &spec.Result{Schema: spec.ResultSchema, ID: id, Latency: spec.Summarize(h), ServiceTime: spec.Summarize(h),
		Achieved: spec.Achieved{RPS: rps}, Process: &spec.ProcessStats{CPUCores: 0.1}}
}

func TestBuildOverheadAndNoise(t *testing.T) {
	f, err := Parse([]byte(goodFile))
	if err != nil {
		t.Fatal(err)
	}
	def := &Definition{File: *f}
	// At 100 rps the proxy adds 0.5 ms, well above the spread of 0.1 ms;
	// at 200 rps it adds 0.05 ms with a spread of 0.2 ms: noise. At 400
	// rps the proxy has one repeat only.
	lat := map[string]map[float64][]float64{
		"baseline": {100: {1.0, 1.1}, 200: {1.0, 1.2}, 400: {1.0, 1.0}},
		"proxy":    {100: {1.5, 1.6}, 200: {1.05, 1.25}, 400: {2.0}},
	}
	results := map[Key]*spec.Result{}
	for _, c := range f.Cells() {
		xs := lat[c.Variant][c.Point.RPS]
		if c.Repeat > len(xs) {
			continue
		}
		results[c.Key()] = result(c.Variant+c.Key().RPS+c.Key().Repeat, xs[c.Repeat-1], c.Point.RPS)
	}
	results[Cell{Variant: "proxy", Point: Point{100, 4}, Repeat: 1}.Key()].Metrics = []spec.Metric{{Name: "proxy_cpu_mcores", Average: 40}}
	results[Cell{Variant: "proxy", Point: Point{100, 4}, Repeat: 2}.Key()].Metrics = []spec.Metric{{Name: "proxy_cpu_mcores", Missing: "prometheus at x unreachable"}}
	rep := Build(&store.Experiment{ID: "e1", Name: "proxy-overhead", State: store.ExperimentDone, Cells: 12, Done: 11}, def, results)

	if len(rep.Points) != 3 || rep.Baseline != "baseline" || rep.Latency != "latency" {
		t.Fatalf("report %+v", rep)
	}
	near := func(a, b float64) bool { return a-b < 0.01 && b-a < 0.01 }
	p := rep.Points[0].Variants[1]
	o := p.Overhead["p50"]
	if p.Name != "proxy" || !near(o.AddedMs, 0.5) || !near(o.Ratio, 1.55/1.05) || o.WithinNoise || !o.NoiseKnown || !near(o.NoiseMs, 0.1) {
		t.Errorf("100 rps proxy: %+v, overhead %+v", p, o)
	}
	if s := p.Metrics["proxy_cpu_mcores"]; s.N != 1 || s.Median != 40 {
		t.Errorf("metric over the repeats = %+v, want the one value present", s)
	}
	if o := rep.Points[1].Variants[1].Overhead["p50"]; !o.WithinNoise || !near(o.AddedMs, 0.05) {
		t.Errorf("200 rps: %+v, want within the noise", o)
	}
	if o := rep.Points[2].Variants[1].Overhead["p99"]; !o.WithinNoise || o.NoiseKnown {
		t.Errorf("400 rps, one repeat: %+v, want noise unknown", o)
	}
	if rep.Points[0].Variants[0].Overhead != nil {
		t.Error("the baseline has an overhead against itself")
	}

	var text, csvOut bytes.Buffer
	if err := rep.Text(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"100 rps, 4 connections", "+0.500 ×1.48", "+0.050 ×1.05 ~", "proxy_cpu_mcores: prometheus at x unreachable", "11 of 12 cells"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	if err := rep.CSV(&csvOut); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&csvOut).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+3*2 {
		t.Fatalf("%d CSV rows, want a header and 6", len(rows))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	if r := rows[2]; r[col["variant"]] != "proxy" || r[col["p50_added_ms"]] == "" || r[col["p50_within_noise"]] != "false" || r[col["metric_proxy_cpu_mcores"]] != "40" {
		t.Errorf("CSV row %v (columns %v)", r, rows[0])
	}
}

func TestOpenResumesOrRefuses(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f, err := Parse([]byte(goodFile))
	if err != nil {
		t.Fatal(err)
	}
	def := &Definition{File: *f}
	e1, resumed, err := Open(ctx, st, def, false)
	if err != nil || resumed || e1.Cells != 12 {
		t.Fatalf("first Open = %+v, %v, %v", e1, resumed, err)
	}
	e2, resumed, err := Open(ctx, st, def, false)
	if err != nil || !resumed || e2.ID != e1.ID {
		t.Errorf("second Open = %+v, %v, %v; want experiment %s resumed", e2, resumed, err, e1.ID)
	}
	changed := &Definition{File: *f}
	changed.File.Repeats = 3
	if _, _, err := Open(ctx, st, changed, false); !errors.Is(err, ErrChanged) {
		t.Errorf("Open with another definition = %v, want ErrChanged", err)
	}
	e3, resumed, err := Open(ctx, st, changed, true)
	if err != nil || resumed || e3.ID == e1.ID {
		t.Errorf("Open --new = %+v, %v, %v; want a new experiment", e3, resumed, err)
	}
	e3.State = store.ExperimentDone
	if err := st.UpdateExperiment(ctx, e3); err != nil {
		t.Fatal(err)
	}
	e4, resumed, err := Open(ctx, st, changed, false)
	if err != nil || resumed || e4.ID == e3.ID {
		t.Errorf("Open after done = %+v, %v, %v; want a new experiment", e4, resumed, err)
	}
}
