package capacity

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/spec"
)

// model is a target whose p99 jumps from 1ms to 200ms above limit.
type model struct {
	limit float64
	// flaky, if set, breaks the objectives at these rates on their nth
	// run (1-based).
	flaky map[float64]int
	// clientAt marks steps at or above this rate client-limited (CPU).
	clientAt float64
	runs     map[float64]int
	rates    []float64
}

func (m *model) Step(_ context.Context, s StepSpec) (*spec.Result, error) {
	if m.runs == nil {
		m.runs = map[float64]int{}
	}
	m.runs[s.RPS]++
	m.rates = append(m.rates, s.RPS)
	p99 := 1.0
	if s.RPS > m.limit || m.flaky[s.RPS] == m.runs[s.RPS] || (m.clientAt > 0 && s.RPS >= m.clientAt) {
		p99 = 200
	}
	return fakeResult(s.RPS, p99, 0, m.clientAt > 0 && s.RPS >= m.clientAt), nil
}

func fakeResult(rps, p99, errRate float64, cpuBound bool) *spec.Result {
	res := &spec.Result{
		Requested: spec.Requested{RPS: rps, Connections: 64},
		Achieved:  spec.Achieved{RPS: rps, Requests: int64(rps), ErrorRate: errRate},
		Latency: &spec.Distribution{Count: int64(rps), MeanMs: p99 / 2, Percentiles: []spec.Percentile{
			{P: 50, Ms: p99 / 4}, {P: 90, Ms: p99 / 2}, {P: 99, Ms: p99}, {P: 99.9, Ms: p99 * 2}}},
		ServiceTime: &spec.Distribution{Count: int64(rps), MeanMs: 0.5},
		Process:     &spec.ProcessStats{CPUCores: 0.1},
	}
	if cpuBound {
		res.Process.CPUCores = 1.95
	}
	return res
}

func opts(t *testing.T, min, max float64) Options {
	t.Helper()
	objs, err := spec.ParseObjectives("p99<=50ms,error_rate<0.1%")
	if err != nil {
		t.Fatal(err)
	}
	return Options{Min: min, Max: max, Tolerance: 0.05, Confirm: 2, MaxSteps: DefaultMaxSteps, Objectives: objs, MaxProcs: 2}
}

func TestSearchFindsLimitWithinTolerance(t *testing.T) {
	for _, limit := range []float64{150, 800, 2345, 9000, 49_000} {
		m := &model{limit: limit}
		o := opts(t, 100, 50_000)
		rep, err := Search(context.Background(), m, o, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Outcome != OutcomeFound {
			t.Fatalf("limit %v: outcome %s", limit, rep.Outcome)
		}
		if rep.Sustained > limit || rep.Breaks <= limit {
			t.Errorf("limit %v: sustained %v breaks %v: the limit is not between them", limit, rep.Sustained, rep.Breaks)
		}
		if (rep.Breaks-rep.Sustained)/rep.Sustained > o.Tolerance {
			t.Errorf("limit %v: [%v, %v) wider than the tolerance", limit, rep.Sustained, rep.Breaks)
		}
		if len(rep.Steps) > o.StepBound() {
			t.Errorf("limit %v: %d steps, more than the bound %d", limit, len(rep.Steps), o.StepBound())
		}
		if got := strings.Join(rep.BrokenBy, ","); got != "p99<=50ms" {
			t.Errorf("limit %v: broken by %q, want p99<=50ms", limit, got)
		}
		confirms := 0
		for _, s := range rep.Steps {
			if s.Phase == PhaseConfirm {
				confirms++
				if s.RPS != rep.Sustained {
					t.Errorf("limit %v: confirmation at %v, answer %v", limit, s.RPS, rep.Sustained)
				}
			}
		}
		if confirms != 2 {
			t.Errorf("limit %v: %d confirmations, want 2", limit, confirms)
		}
	}
}

func TestSearchSteps800(t *testing.T) {
	// From 150: 150 300 600 1200 (broken), then geometric bisection
	// 849 (broken) 714 779 813 (broken): [779, 813) is within 5%; then
	// two confirmations at 779.
	m := &model{limit: 800}
	rep, err := Search(context.Background(), m, opts(t, 150, 5000), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{150, 300, 600, 1200, 849, 714, 779, 813, 779, 779}
	if !equal(m.rates, want) {
		t.Fatalf("rates %v, want %v", m.rates, want)
	}
	if rep.Sustained != 779 || rep.Breaks != 813 || rep.Uncertainty != 34 {
		t.Errorf("sustained %v breaks %v ± %v, want 779, 813, 34", rep.Sustained, rep.Breaks, rep.Uncertainty)
	}
	if !strings.Contains(rep.Summary(), "sustains 779 rps (+34, 4.4%, within the 5% tolerance), p99 1ms at that rate; breaks at 813 rps on p99<=50ms") {
		t.Errorf("summary %q", rep.Summary())
	}
	if rep.Knee != 779 {
		t.Errorf("knee %v, want 779 (the last rate with p99 at 1ms)", rep.Knee)
	}
}

func TestSearchFailedConfirmationMovesDown(t *testing.T) {
	// 779 passes once, then breaks on its first confirmation (its 2nd
	// run): the answer falls back to 714, which is confirmed twice.
	m := &model{limit: 800, flaky: map[float64]int{779: 2}}
	rep, err := Search(context.Background(), m, opts(t, 150, 5000), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Outcome != OutcomeFound {
		t.Fatalf("outcome %s", rep.Outcome)
	}
	// [714, 779) is 9% wide: one more bisection at 746, then its
	// confirmations.
	want := []float64{150, 300, 600, 1200, 849, 714, 779, 813, 779, 746, 746, 746}
	if !equal(m.rates, want) {
		t.Fatalf("rates %v, want %v", m.rates, want)
	}
	if rep.Sustained != 746 || rep.Breaks != 779 {
		t.Errorf("sustained %v breaks %v, want 746 and 779", rep.Sustained, rep.Breaks)
	}
}

func TestSearchEnds(t *testing.T) {
	tests := []struct {
		name      string
		m         *model
		min, max  float64
		maxSteps  int
		outcome   string
		sustained float64
		steps     int
	}{
		{"above max", &model{limit: 1e9}, 100, 1000, 30, OutcomeAboveMax, 1000, 5}, // 100 200 400 800 1000
		{"above a fractional max", &model{limit: 1e9}, 100, 1000.4, 30, OutcomeAboveMax, 1000, 5},
		{"below min", &model{limit: 50}, 100, 1000, 30, OutcomeBelowMin, 0, 1},
		{"step cap", &model{limit: 800}, 100, 50_000, 6, OutcomeStepCap, 800, 6}, // ... 800 1600 1131
		// 100..800 meet; 1600 client-limited twice (the step and its retry).
		{"client limit", &model{limit: 5000, clientAt: 1600}, 100, 50_000, 30, OutcomeClientLimit, 800, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := opts(t, tc.min, tc.max)
			o.MaxSteps = tc.maxSteps
			rep, err := Search(context.Background(), tc.m, o, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Outcome != tc.outcome || rep.Sustained != tc.sustained || len(rep.Steps) != tc.steps {
				t.Fatalf("got %s, sustained %v, %d steps; want %s, %v, %d", rep.Outcome, rep.Sustained, len(rep.Steps), tc.outcome, tc.sustained, tc.steps)
			}
			if tc.outcome == OutcomeClientLimit {
				if rep.ClientLimitRPS != 1600 || len(rep.Advice) == 0 || !strings.Contains(rep.Advice[0], "agents") {
					t.Errorf("client limit %v, advice %q", rep.ClientLimitRPS, rep.Advice)
				}
				if rep.Steps[5].Phase != PhaseRetry {
					t.Errorf("the second client-limited step is %q, want a retry", rep.Steps[5].Phase)
				}
			}
		})
	}
}

func TestSearchInterruptedKeepsSteps(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	m := &model{limit: 800}
	st := StepperFunc(func(ctx context.Context, s StepSpec) (*spec.Result, error) {
		res, _ := m.Step(ctx, s)
		if s.N == 3 {
			cancel()
			res.Interrupted = true
		}
		return res, nil
	})
	rep, err := Search(ctx, st, opts(t, 100, 50_000), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Outcome != OutcomeInterrupted || len(rep.Steps) != 3 || rep.Sustained != 200 {
		t.Fatalf("outcome %s, %d steps, sustained %v; want interrupted, 3, 200", rep.Outcome, len(rep.Steps), rep.Sustained)
	}
	if !strings.Contains(rep.Summary(), "no answer (interrupted); sustained 200 rps") {
		t.Errorf("summary %q", rep.Summary())
	}
}

func TestSearchStepperError(t *testing.T) {
	boom := errors.New("boom")
	st := StepperFunc(func(context.Context, StepSpec) (*spec.Result, error) { return nil, boom })
	rep, err := Search(context.Background(), st, opts(t, 100, 1000), nil)
	if !errors.Is(err, boom) || rep == nil || rep.Outcome != OutcomeFailed {
		t.Fatalf("got %v, %+v", err, rep)
	}
}

func TestOptionsValidate(t *testing.T) {
	o := Options{Min: 0, Max: -1, Tolerance: 0.9, Confirm: 11, MaxSteps: 0}
	err := o.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"min:", "max:", "tolerance:", "confirm:", "max-steps:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not name %s", err, want)
		}
	}
}

func TestSearchNeedsObjective(t *testing.T) {
	o := opts(t, 100, 1000)
	o.Objectives = nil
	if _, err := Search(context.Background(), &model{limit: 1}, o, nil); !errors.Is(err, ErrNoObjective) {
		t.Fatalf("got %v, want ErrNoObjective", err)
	}
}

func TestClientLimitRule(t *testing.T) {
	p99, _ := spec.ParseObjectives("p99<=50ms")
	errRate, _ := spec.ParseObjectives("error_rate<1%")
	rate := []spec.Objective{{Metric: "rps", Raw: "achieved rate >= 99% of 200/s"}}
	tests := []struct {
		name    string
		late    float64
		cpu     float64
		busy    float64
		svcP99  float64
		broken  []spec.Objective
		limited bool
	}{
		{"idle", 0, 0.2, 1, 1, p99, false},
		{"cpu", 0, 1.9, 1, 1, errRate, true},
		{"late, connections free, service fast", 0.2, 0.3, 5, 1, p99, true},
		{"late, connections free, service slow too", 0.2, 0.3, 5, 80, p99, false},
		{"late, errors broken", 0.2, 0.3, 5, 1, errRate, false},
		{"late behind a slow target", 0.2, 0.3, 60, 1, p99, false},
		{"late below 5%", 0.04, 0.3, 5, 1, p99, false},
		{"late, connections free, rate short", 0.2, 0.3, 5, 1, rate, true},
		{"late, rate short behind a slow target", 0.2, 0.3, 60, 1, rate, false},
		{"late, rate and errors broken", 0.2, 0.3, 5, 1, append(rate, errRate...), false},
		{"on time, rate short", 0.01, 0.3, 5, 1, rate, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := &spec.Result{Requested: spec.Requested{Connections: 64},
				Latency:     &spec.Distribution{Count: 10, Percentiles: []spec.Percentile{{P: 99, Ms: 200}}},
				ServiceTime: &spec.Distribution{Count: 10, Percentiles: []spec.Percentile{{P: 99, Ms: tc.svcP99}}},
				Process:     &spec.ProcessStats{LateRatio: tc.late, CPUCores: tc.cpu}}
			got, reason := clientLimit(res, tc.busy, 2, tc.broken)
			if got != tc.limited || got != (reason != "") {
				t.Errorf("got %v %q, want %v", got, reason, tc.limited)
			}
		})
	}
}

func TestMetricObjectives(t *testing.T) {
	ms, err := ParseMetricObjectives("proxy_cpu_mcores<=500, rss_mb<100")
	if err != nil || len(ms) != 2 || ms[0].Name != "proxy_cpu_mcores" || ms[0].Op != "<=" || ms[1].Value != 100 {
		t.Fatalf("got %+v %v", ms, err)
	}
	res := &spec.Result{Metrics: []spec.Metric{{Name: "proxy_cpu_mcores", Average: 420}, {Name: "rss_mb", Missing: "prometheus unreachable"}}}
	if r := ms[0].check(res); !r.Met || r.Actual != 420 {
		t.Errorf("cpu: %+v", r)
	}
	if r := ms[1].check(res); r.Met || r.Reason != "prometheus unreachable" {
		t.Errorf("missing: %+v", r)
	}
	if r := (MetricObjective{Name: "nope", Op: "<", Value: 1}).check(res); r.Met || !strings.Contains(r.Reason, "no metric") {
		t.Errorf("unknown: %+v", r)
	}
	for _, bad := range []string{"x=3", "<3", "x<=y", "x<=NaN", "a b<=1"} {
		if _, err := ParseMetricObjectives(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestReportFormatsAgree(t *testing.T) {
	m := &model{limit: 800}
	rep, err := Search(context.Background(), m, opts(t, 150, 5000), nil)
	if err != nil {
		t.Fatal(err)
	}
	rep.ID = "abc123"
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Sustained != 779 || back.Breaks != 813 || back.Knee != 779 || len(back.Curve) != 10 || back.Outcome != OutcomeFound {
		t.Errorf("JSON: %+v", back)
	}
	var c bytes.Buffer
	if err := rep.WriteCSV(&c); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&c).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 11 || strings.Join(rows[0], ",") != strings.Join(CSVHeader, ",") {
		t.Fatalf("CSV: %d rows, header %v", len(rows), rows[0])
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	var sustained, breaks int
	for _, r := range rows[1:] {
		if r[col["sustained"]] == "true" {
			sustained++
			if r[col["rps"]] != "779" {
				t.Errorf("sustained row at %s", r[col["rps"]])
			}
		}
		if r[col["breaks"]] == "true" {
			breaks++
			if r[col["broken"]] != "p99<=50ms" {
				t.Errorf("breaking row broken %q", r[col["broken"]])
			}
		}
	}
	if sustained != 3 || breaks != 1 {
		t.Errorf("CSV: %d sustained rows (want 3: the step and 2 confirmations), %d breaking (want 1)", sustained, breaks)
	}
	var txt bytes.Buffer
	if err := rep.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(txt.String(), rep.Summary()) || !strings.Contains(txt.String(), "*       779 rps") {
		t.Errorf("text:\n%s", txt.String())
	}
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func FuzzParseMetricObjectives(f *testing.F) {
	for _, s := range []string{"proxy_cpu_mcores<=500", "a<1,b>=2", "x=3", "<3", "a<=1e400", ",,", "a b<1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := ParseMetricObjectives(s)
		if err != nil {
			return
		}
		for _, m := range ms {
			if m.Name == "" || len(m.Name) > maxMetricName || m.Op == "" || math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
				t.Fatalf("%q: accepted %+v", s, m)
			}
		}
	})
}

func TestSearchPausesBetweenSteps(t *testing.T) {
	var at []time.Time
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := &model{limit: 1e9}
	st := StepperFunc(func(ctx context.Context, s StepSpec) (*spec.Result, error) {
		at = append(at, time.Now())
		if s.N == 2 {
			// Cancelled during the pause before step 3: the search ends
			// at once rather than after the pause.
			time.AfterFunc(20*time.Millisecond, cancel)
		}
		return m.Step(ctx, s)
	})
	o := opts(t, 100, 1000)
	o.Pause = 150 * time.Millisecond
	start := time.Now()
	rep, err := Search(ctx, st, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(at) != 2 || at[1].Sub(at[0]) < o.Pause {
		t.Fatalf("%d steps, %v apart: want 2, at least %s apart", len(at), at[len(at)-1].Sub(at[0]), o.Pause)
	}
	if rep.Outcome != OutcomeInterrupted || time.Since(start) > at[1].Sub(start)+o.Pause {
		t.Errorf("outcome %s after %s: want interrupted during the pause", rep.Outcome, time.Since(start))
	}
	o.Pause = -time.Second
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "pause:") {
		t.Errorf("negative pause: %v", err)
	}
}

func TestKnee(t *testing.T) {
	pt := func(rps, p99, errRate float64) CurvePoint {
		return CurvePoint{RPS: rps, P99Ms: p99, ErrorRate: errRate}
	}
	tests := []struct {
		name  string
		curve []CurvePoint
		want  float64
	}{
		// Measured: echo --capacity 300 --overload reject; p99 is noise,
		// the errors turn.
		{"errors turn", []CurvePoint{pt(100, 20.7, 0), pt(200, 30.5, 0), pt(283, 12.7, 0), pt(283, 18.1, 0),
			pt(308, 2.9, 0.026), pt(336, 9.4, 0.107), pt(400, 6.5, 0.25)}, 283},
		// Measured: delay mode, a noisy floor of 1–10ms, then hundreds.
		{"p99 turns", []CurvePoint{pt(150, 6.5, 0), pt(300, 9.2, 0), pt(600, 10, 0), pt(714, 5.6, 0), pt(746, 1.4, 0),
			pt(746, 5, 0), pt(779, 13.2, 0), pt(779, 35.7, 0), pt(779, 168.8, 0), pt(813, 172, 0), pt(1200, 1043, 0)}, 746},
		{"flat", []CurvePoint{pt(100, 1, 0), pt(200, 1.2, 0), pt(400, 0.9, 0)}, 0},
		{"one rate", []CurvePoint{pt(100, 1, 0), pt(100, 100, 0)}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := knee(tc.curve); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// A step whose responses fall short of the rate asked (a target that is
// queueing, before the queue reaches the latency objective) is not
// sustained; one within RateShortfall is.
func TestJudgeRateShortfall(t *testing.T) {
	o := opts(t, 100, 1000)
	short := fakeResult(202, 1, 0, false)
	short.Achieved.RPS = 198.5 // the target's ceiling, with p99 still met
	st := judge(1, 202, "bisect", short, o)
	if st.Met || len(st.Broken) != 1 || !strings.HasPrefix(st.Broken[0], "achieved rate >= 99% of 202/s") {
		t.Errorf("a step 1.7%% short: met %v, broken %q", st.Met, st.Broken)
	}
	ok := fakeResult(202, 1, 0, false)
	ok.Achieved.RPS = 201
	if st := judge(1, 202, "bisect", ok, o); !st.Met {
		t.Errorf("a step 0.5%% short is sustained: broken %q", st.Broken)
	}
}

// TestResumeContinuesFromStoredSteps: a search resumed from the first
// steps of an earlier one (plus a step cut short) takes the same path,
// runs only the steps that were missing, and reaches the same answer.
func TestResumeContinuesFromStoredSteps(t *testing.T) {
	o := opts(t, 100, 50_000)
	full, err := Search(context.Background(), &model{limit: 2345}, o, nil)
	if err != nil || full.Outcome != OutcomeFound {
		t.Fatalf("uninterrupted search: %v, %+v", err, full)
	}
	for _, kept := range []int{0, 1, 4, len(full.Steps) - 1, len(full.Steps)} {
		prior := append([]Step(nil), full.Steps[:kept]...)
		if kept < len(full.Steps) {
			cut := full.Steps[kept]
			cut.Interrupted = true
			prior = append(prior, cut)
		}
		m := &model{limit: 2345}
		var announced []int
		rep, err := Resume(context.Background(), m, o, prior, func(s Step) { announced = append(announced, s.N) })
		if err != nil {
			t.Fatal(err)
		}
		if rep.Outcome != full.Outcome || rep.Sustained != full.Sustained || rep.Breaks != full.Breaks {
			t.Errorf("kept %d: %s %v..%v, want %s %v..%v", kept, rep.Outcome, rep.Sustained, rep.Breaks,
				full.Outcome, full.Sustained, full.Breaks)
		}
		if got, want := len(m.rates), len(full.Steps)-kept; got != want {
			t.Errorf("kept %d: ran %d steps, want %d", kept, got, want)
		}
		if len(announced) != len(full.Steps) || announced[len(announced)-1] != len(full.Steps) {
			t.Errorf("kept %d: onStep for steps %v", kept, announced)
		}
		for i, s := range rep.Steps {
			if w := full.Steps[i]; s.N != w.N || s.RPS != w.RPS || s.Phase != w.Phase || s.Interrupted {
				t.Errorf("kept %d: step %d is %d %s at %v, want %d %s at %v", kept, i, s.N, s.Phase, s.RPS, w.N, w.Phase, w.RPS)
			}
		}
	}
}

// TestResumeStopsReplayingWhereTheSearchDiffers: a stored step the search
// would not run ends the replay; the search goes on by running steps.
func TestResumeStopsReplayingWhereTheSearchDiffers(t *testing.T) {
	o := opts(t, 100, 50_000)
	full, err := Search(context.Background(), &model{limit: 800}, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	prior := append([]Step(nil), full.Steps[:3]...)
	prior[2].RPS = 12345 // not the rate the search chooses third
	m := &model{limit: 800}
	rep, err := Resume(context.Background(), m, o, prior, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(m.rates), len(full.Steps)-2; got != want || m.rates[0] != full.Steps[2].RPS {
		t.Errorf("ran %v, want %d steps from %v", m.rates, want, full.Steps[2].RPS)
	}
	if rep.Sustained != full.Sustained || len(rep.Steps) != len(full.Steps) {
		t.Errorf("sustains %v in %d steps, want %v in %d", rep.Sustained, len(rep.Steps), full.Sustained, len(full.Steps))
	}
}

// TestJudgeAgentsLimit: a distributed step is judged client-limited on its
// agents' own reports, naming the agent at its limit; the merged result's
// figures alone (a fast service time, few late sends overall) do not decide.
func TestJudgeAgentsLimit(t *testing.T) {
	o := opts(t, 100, 1000)
	agent := func(name string, late, cpu float64, saturated bool, svcP99 float64) spec.AgentResult {
		return spec.AgentResult{Name: name, Connections: 32, Achieved: spec.Achieved{RPS: 200},
			Latency:     &spec.Distribution{Count: 10, Percentiles: []spec.Percentile{{P: 99, Ms: 200}}},
			ServiceTime: &spec.Distribution{Count: 10, MeanMs: 0.5, Percentiles: []spec.Percentile{{P: 99, Ms: svcP99}}},
			Process:     &spec.ProcessStats{LateRatio: late, CPUCores: cpu, Saturated: saturated}}
	}
	tests := []struct {
		name   string
		agents []spec.AgentResult
		want   string // the limit agent, "" for the target's limit
	}{
		{"both fine: the target", []spec.AgentResult{agent("a1", 0, 0.2, false, 1), agent("a2", 0.01, 0.2, false, 1)}, ""},
		{"a2 at its CPU limit", []spec.AgentResult{agent("a1", 0, 0.2, false, 1), agent("a2", 0.01, 3.8, true, 1)}, "a2"},
		{"a1 sends late, its service time fast", []spec.AgentResult{agent("a1", 0.3, 0.5, true, 1), agent("a2", 0, 0.2, false, 1)}, "a1"},
		{"a1 sends late behind a slow service", []spec.AgentResult{agent("a1", 0.3, 0.5, true, 80), agent("a2", 0, 0.2, false, 80)}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := fakeResult(400, 200, 0, false)
			res.Process = nil // a distributed result has none of its own
			res.Agents = tc.agents
			st := judge(3, 400, "bisect", res, o)
			if st.Met {
				t.Fatal("a step with p99 200ms met p99<=50ms")
			}
			if st.LimitAgent != tc.want || st.ClientLimited != (tc.want != "") {
				t.Errorf("limit agent %q client-limited %v (%s), want %q", st.LimitAgent, st.ClientLimited, st.ClientReason, tc.want)
			}
			if tc.want != "" && !strings.HasPrefix(st.ClientReason, "agent "+tc.want) {
				t.Errorf("reason %q does not name agent %s", st.ClientReason, tc.want)
			}
		})
	}
}

// agentModel is model run on two agents: a2 reaches its CPU limit at
// model.clientAt and above.
type agentModel struct{ model }

func (m *agentModel) Step(ctx context.Context, s StepSpec) (*spec.Result, error) {
	res, err := m.model.Step(ctx, s)
	if err != nil {
		return nil, err
	}
	busy := s.RPS >= m.clientAt
	for _, name := range []string{"a1", "a2"} {
		p := &spec.ProcessStats{CPUCores: 0.2}
		if name == "a2" && busy {
			p.CPUCores, p.Saturated = 3.9, true
		}
		res.Agents = append(res.Agents, spec.AgentResult{Name: name, RPS: s.RPS / 2, Connections: 32,
			Achieved: spec.Achieved{RPS: s.RPS / 2}, Latency: res.Latency, ServiceTime: res.ServiceTime, Process: p})
	}
	res.Process = nil
	return res, nil
}

// TestSearchEndsOnAnAgentsLimit: a distributed search stopped by an agent
// at its CPU limit says which agent, and advises more agents.
func TestSearchEndsOnAnAgentsLimit(t *testing.T) {
	m := &agentModel{model{limit: 5000, clientAt: 1600}}
	rep, err := Search(context.Background(), m, opts(t, 100, 50_000), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Outcome != OutcomeClientLimit || rep.ClientLimitRPS != 1600 || rep.Sustained != 800 {
		t.Fatalf("outcome %s at %v, sustains %v; want the client limit at 1600, 800", rep.Outcome, rep.ClientLimitRPS, rep.Sustained)
	}
	last := rep.Steps[len(rep.Steps)-1]
	if last.LimitAgent != "a2" || !strings.HasPrefix(last.ClientReason, "agent a2 ") {
		t.Errorf("last step: limit agent %q, reason %q", last.LimitAgent, last.ClientReason)
	}
	if len(rep.Advice) == 0 || !strings.HasPrefix(rep.Advice[0], "agent a2 was the limit at 1,600 rps") || !strings.Contains(rep.Advice[0], "agents.count") {
		t.Errorf("advice %q", rep.Advice)
	}
}
