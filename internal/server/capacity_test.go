package server_test

import (
	"encoding/json"
	"math"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/api"
	"github.com/meshperf/meshperf/internal/capacity"
	"github.com/meshperf/meshperf/internal/echo"
	"github.com/meshperf/meshperf/internal/echo/echotest"
	"github.com/meshperf/meshperf/internal/server"
	"github.com/meshperf/meshperf/store"
)

// capacityBody is a capacity request against target with the options
// given as JSON members (`"min_rps": 100, ...`).
func capacityBody(target, options string) string {
	return `{"profile_document": {"name": "limited", "duration": "1s", "clients": [{"connections": 16, "rps": 10, ` +
		`"endpoint_urls": ["` + target + `/"]}]}, "labels": {"team": "shop"}, ` + options + `}`
}

func submitCapacity(t *testing.T, base, body string) store.Run {
	t.Helper()
	code, b := do(t, "POST", base+"/api/v1/capacity", "application/json", body)
	if code != 202 {
		t.Fatalf("submit: %d %s", code, b)
	}
	var r store.Run
	if err := json.Unmarshal(b, &r); err != nil || r.ID == "" || r.State != store.RunQueued {
		t.Fatalf("submit answered %s (%v)", b, err)
	}
	return r
}

// waitEnded waits up to limit for run id to end and returns it.
func waitEnded(t *testing.T, base, id string, limit time.Duration) store.Run {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		_, b := do(t, "GET", base+"/api/v1/runs/"+id, "", "")
		var r store.Run
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("run %s: %v", id, err)
		}
		switch r.State {
		case store.RunSucceeded, store.RunFailed, store.RunCancelled, store.RunInterrupted, store.RunDegraded:
			return r
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("run %s did not end within %s", id, limit)
	return store.Run{}
}

func getCapacity(t *testing.T, base, id string) api.CapacityView {
	t.Helper()
	code, b := do(t, "GET", base+"/api/v1/capacity/"+id, "", "")
	if code != 200 {
		t.Fatalf("get capacity %s: %d %s", id, code, b)
	}
	var v api.CapacityView
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// capacityResults are the stored results labelled capacity=id.
func capacityResults(t *testing.T, base, id string) []store.ResultSummary {
	t.Helper()
	code, b := do(t, "GET", base+"/api/v1/results?limit=100&label="+url.QueryEscape("capacity="+id), "", "")
	if code != 200 {
		t.Fatalf("results: %d %s", code, b)
	}
	var p store.Page
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return p.Results
}

// checkStepsStored: every step of rep is a stored result with the search's
// labels, and no other result has them.
func checkStepsStored(t *testing.T, base string, rep *capacity.Report) {
	t.Helper()
	got := capacityResults(t, base, rep.ID)
	if len(got) != len(rep.Steps) {
		t.Fatalf("%d results labelled capacity=%s, %d steps", len(got), rep.ID, len(rep.Steps))
	}
	byID := map[string]store.ResultSummary{}
	for _, r := range got {
		byID[r.ID] = r
	}
	for _, s := range rep.Steps {
		r, ok := byID[s.ResultID]
		if !ok {
			t.Errorf("step %d: result %q not among the labelled results", s.N, s.ResultID)
			continue
		}
		want := map[string]string{"capacity": rep.ID, "step": strconv.Itoa(s.N), "rps": strconv.FormatFloat(s.RPS, 'f', -1, 64),
			"capacity_phase": s.Phase, "team": "shop"}
		for k, v := range want {
			if r.Labels[k] != v {
				t.Errorf("step %d: label %s=%q, want %q (labels %v)", s.N, k, r.Labels[k], v, r.Labels)
			}
		}
		if r.Name != "limited" {
			t.Errorf("step %d: result named %q", s.N, r.Name)
		}
	}
}

// TestCapacityAPIFindsTheLimit: echo answers 503 above 400 requests a
// second; a search queued through the API finds it within its tolerance,
// streams a step event per step, stores each step as a labelled result
// and keeps the report with the run.
func TestCapacityAPIFindsTheLimit(t *testing.T) {
	const limit = 400
	target := strings.TrimSuffix(echotest.HTTP(t, echo.Options{Capacity: echo.Capacity{RPS: limit, Mode: echo.OverloadReject}}), "/")
	s := newRunServer(t, "", server.Options{})
	// A 2 s warm-up: the burst of a step's first second is not judged
	// (see TestCapacityEchoReject in internal/cli); 3 s steps: the
	// responses still in flight when a step ends are not counted as
	// achieved, and at 100 rps on a loaded machine 1 s steps fell below
	// the 99% of the rate asked that every step must reach.
	run := submitCapacity(t, s.url, capacityBody(target, `"objective": "error_rate<1%", "min_rps": 100, "max_rps": 1600, `+
		`"step_duration": "3s", "warmup": "2s", "pause": "1s", "tolerance": 0.1, "confirm": 1, "max_steps": 16`))
	end := waitEnded(t, s.url, run.ID, 2*time.Minute)
	// The stream of an ended run replays its history.
	evs := events(t, s.url, run.ID, 200)
	if end.State != store.RunSucceeded {
		t.Fatalf("search ended %s: %s", end.State, end.Error)
	}
	v := getCapacity(t, s.url, run.ID)
	rep := v.Report
	if rep == nil || v.Run == nil || v.Run.ID != run.ID {
		t.Fatalf("no report with the run: %+v", v)
	}
	for _, st := range rep.Steps {
		t.Logf("step %d %-7s %5.0f rps: achieved %6.1f p99 %7.2fms errors %.3f%% met=%v client=%v",
			st.N, st.Phase, st.RPS, st.AchievedRPS, st.P99Ms, 100*st.ErrorRate, st.Met, st.ClientLimited)
	}
	if rep.ID != run.ID || rep.Outcome != capacity.OutcomeFound {
		t.Fatalf("report %s outcome %s, want %s found", rep.ID, rep.Outcome, run.ID)
	}
	// At most the limit plus the 1% the objective lets through, at least
	// three tolerances below it (the reject window is sensitive to stalls
	// of a shared machine).
	if lowest := limit / math.Pow(1+rep.Tolerance, 3); rep.Sustained > limit*1.01 || rep.Sustained < lowest {
		t.Errorf("sustains %v rps; the limit is %d: want %.0f to %.0f", rep.Sustained, limit, lowest, limit*1.01)
	}
	if rep.Breaks <= rep.Sustained || rep.Uncertainty/rep.Sustained > rep.Tolerance {
		t.Errorf("breaks at %v, sustains %v: not within the tolerance %v", rep.Breaks, rep.Sustained, rep.Tolerance)
	}
	if len(rep.BrokenBy) == 0 || !strings.HasPrefix(rep.BrokenBy[0], "error_rate") {
		t.Errorf("broken by %v, want error_rate<1%%", rep.BrokenBy)
	}
	if !strings.Contains(end.Error, "sustains") {
		t.Errorf("the run's message %q does not state the answer", end.Error)
	}
	// One step event per step, in order, with the step's judgement.
	var steps []capacity.Step
	for _, e := range evs {
		if e.event != "step" {
			continue
		}
		var ev api.Event
		if err := json.Unmarshal([]byte(e.data), &ev); err != nil || ev.Step == nil {
			t.Fatalf("step event %s: %v", e.data, err)
		}
		steps = append(steps, *ev.Step)
	}
	if len(steps) != len(rep.Steps) {
		t.Fatalf("%d step events, %d steps", len(steps), len(rep.Steps))
	}
	for i, st := range steps {
		if st.N != rep.Steps[i].N || st.RPS != rep.Steps[i].RPS || st.Met != rep.Steps[i].Met || st.ResultID != rep.Steps[i].ResultID {
			t.Errorf("event %d: step %d at %v met=%v, the report's %d at %v met=%v", i, st.N, st.RPS, st.Met,
				rep.Steps[i].N, rep.Steps[i].RPS, rep.Steps[i].Met)
		}
	}
	checkStepsStored(t, s.url, rep)
	if len(rep.Curve) == 0 {
		t.Error("no curve in the report")
	}
}

// TestCapacityAPICancel: a search cancelled with the runs' cancel endpoint
// after its first step is recorded cancelled and keeps the steps so far.
func TestCapacityAPICancel(t *testing.T) {
	target := startEcho(t)
	s := newRunServer(t, "", server.Options{})
	run := submitCapacity(t, s.url, capacityBody(target, `"objective": "p99<=1s", "min_rps": 20, "max_rps": 2000, `+
		`"step_duration": "2s", "warmup": "0s", "pause": "0s"`))
	deadline := time.Now().Add(30 * time.Second)
	for len(getCapacity(t, s.url, run.ID).Report.Steps) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no step within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, b := do(t, "POST", s.url+"/api/v1/runs/"+run.ID+"/cancel", "", ""); code != 202 {
		t.Fatalf("cancel: %d %s", code, b)
	}
	end := waitEnded(t, s.url, run.ID, 30*time.Second)
	if end.State != store.RunCancelled {
		t.Fatalf("cancelled search ended %s: %s", end.State, end.Error)
	}
	rep := getCapacity(t, s.url, run.ID).Report
	if rep == nil || rep.Outcome != capacity.OutcomeInterrupted {
		t.Fatalf("report after cancel: %+v", rep)
	}
	// 2,000 rps would take seven doublings: the search stopped well before.
	if n := len(rep.Steps); n < 1 || n > 4 {
		t.Errorf("%d steps kept", n)
	}
	for _, st := range rep.Steps[:len(rep.Steps)-1] {
		if st.Interrupted {
			t.Errorf("step %d interrupted before the last", st.N)
		}
	}
	checkStepsStored(t, s.url, rep)
	if code, _ := do(t, "POST", s.url+"/api/v1/runs/"+run.ID+"/cancel", "", ""); code != 409 {
		t.Errorf("cancelling an ended search: %d, want 409", code)
	}
}

// TestCapacityAPIBadInput: every bad option is refused with 422 naming
// its field, before anything is queued.
func TestCapacityAPIBadInput(t *testing.T) {
	s := newRunServer(t, "", server.Options{})
	target := "http://127.0.0.1:9"
	tests := []struct {
		name, options, field string
	}{
		{"min zero", `"objective": "p99<=1s", "min_rps": 0`, "min_rps"},
		{"max below min", `"objective": "p99<=1s", "min_rps": 500, "max_rps": 100`, "max_rps"},
		{"max too high", `"objective": "p99<=1s", "max_rps": 1e9`, "max_rps"},
		{"tolerance", `"objective": "p99<=1s", "tolerance": 0.9`, "tolerance"},
		{"confirm", `"objective": "p99<=1s", "confirm": -1`, "confirm"},
		{"max steps", `"objective": "p99<=1s", "max_steps": 0`, "max_steps"},
		{"step duration", `"objective": "p99<=1s", "step_duration": "100ms"`, "step_duration"},
		{"warmup fraction", `"objective": "p99<=1s", "warmup": "1500ms"`, "warmup"},
		{"pause", `"objective": "p99<=1s", "pause": "-1s"`, "pause"},
		{"objective unreadable", `"objective": "p99<<1s"`, "objective"},
		{"no objective", `"min_rps": 10`, "objective"},
		{"metric without metrics", `"objective": "p99<=1s", "metric": "cpu<=5"`, "metric"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, b := do(t, "POST", s.url+"/api/v1/capacity", "application/json", capacityBody(target, tc.options))
			var eb api.ErrorBody
			if err := json.Unmarshal(b, &eb); err != nil || eb.Error == nil {
				t.Fatalf("%d %s: not an error body", code, b)
			}
			if code != 422 || eb.Error.Field != tc.field {
				t.Errorf("%d field %q (%s), want 422 naming %s", code, eb.Error.Field, eb.Error.Message, tc.field)
			}
		})
	}
	t.Run("no profile", func(t *testing.T) {
		code, b := do(t, "POST", s.url+"/api/v1/capacity", "application/json", `{"objective": "p99<=1s"}`)
		var eb api.ErrorBody
		if err := json.Unmarshal(b, &eb); code != 422 || err != nil || eb.Error == nil || eb.Error.Field != "profile" {
			t.Errorf("%d %s, want 422 naming profile", code, b)
		}
	})
	t.Run("target not allowed", func(t *testing.T) {
		s := newRunServer(t, "", server.Options{AllowTargets: []string{"127.0.0.2"}})
		code, b := do(t, "POST", s.url+"/api/v1/capacity", "application/json", capacityBody(target, `"objective": "p99<=1s"`))
		if code < 400 || code >= 500 {
			t.Errorf("a target outside the allow-list: %d %s", code, b)
		}
	})
	code, b := do(t, "GET", s.url+"/api/v1/runs", "", "")
	if code != 200 || strings.Contains(string(b), `"id"`) {
		t.Errorf("a refused search was queued: %d %s", code, b)
	}
}
