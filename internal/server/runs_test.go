package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/echo"
	"github.com/meshperf/meshperf/internal/echo/echotest"
	"github.com/meshperf/meshperf/internal/server"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
	"github.com/meshperf/meshperf/store/sqlite"
)

func startEcho(t *testing.T) string {
	t.Helper()
	return startEchoB(t)
}

// startEchoB runs an echo target for a test or a benchmark.
func startEchoB(t testing.TB) string {
	t.Helper()
	return strings.TrimSuffix(echotest.HTTP(t, echo.Options{}), "/")
}

type runServer struct {
	url string
	st  store.Store
	srv *server.Server
}

func newRunServer(t *testing.T, path string, opts server.Options) *runServer {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "m.db")
	}
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	opts.Store = st
	opts.Version = "test"
	srv := server.New(opts)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close(); st.Close() })
	return &runServer{url: hs.URL, st: st, srv: srv}
}

func doc(url string, rps int, dur string) string {
	return `{"profile_document": {"name": "api run", "duration": "` + dur + `", "clients": [{"connections": 2, "rps": ` +
		jsonInt(rps) + `, "endpoint_urls": ["` + url + `/"]}]}, "labels": {"via": "api"}}`
}

func jsonInt(n int) string { b, _ := json.Marshal(n); return string(b) }

func submit(t *testing.T, base, body string) store.Run {
	t.Helper()
	code, b := do(t, "POST", base+"/api/v1/runs", "application/json", body)
	if code != 202 {
		t.Fatalf("submit: %d %s", code, b)
	}
	var r store.Run
	json.Unmarshal(b, &r)
	return r
}

func waitState(t *testing.T, base, id string, states ...string) store.Run {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		_, b := do(t, "GET", base+"/api/v1/runs/"+id, "", "")
		var r store.Run
		json.Unmarshal(b, &r)
		for _, s := range states {
			if r.State == s {
				return r
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("run %s never reached %v", id, states)
	return store.Run{}
}

type sse struct{ event, data string }

// events reads a run's event stream until it ends (or limit events).
func events(t *testing.T, base, id string, limit int) []sse {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/runs/"+id+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	var out []sse
	var cur sse
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && len(out) < limit {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			cur.event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data = strings.TrimPrefix(line, "data: ")
		case line == "" && cur.event != "":
			out = append(out, cur)
			cur = sse{}
		}
	}
	return out
}

func TestRunLifecycle(t *testing.T) {
	target := startEcho(t)
	s := newRunServer(t, "", server.Options{})
	run := submit(t, s.url, doc(target, 200, "3s"))
	if run.State != store.RunQueued || run.ID == "" || run.Labels["via"] != "api" {
		t.Fatalf("submitted %+v", run)
	}
	evs := events(t, s.url, run.ID, 100)
	var states []string
	var progress []server.ProgressEvent
	for _, e := range evs {
		var ev server.Event
		if err := json.Unmarshal([]byte(e.data), &ev); err != nil {
			t.Fatalf("event %q: %v", e.data, err)
		}
		switch e.event {
		case "state":
			states = append(states, ev.Run.State)
		case "progress":
			progress = append(progress, *ev.Progress)
		}
	}
	if strings.Join(states, ",") != "queued,running,succeeded" {
		t.Errorf("states %v, want queued, running, succeeded", states)
	}
	if len(progress) < 3 {
		t.Fatalf("%d progress events, want one a second", len(progress))
	}
	if p := progress[1]; p.AchievedRPS < 180 || p.AchievedRPS > 220 || p.TotalRequests < 200 {
		t.Errorf("progress %+v", p)
	}
	final := waitState(t, s.url, run.ID, store.RunSucceeded)
	if final.ResultID == "" || final.StartedAt.IsZero() || final.FinishedAt.IsZero() {
		t.Fatalf("final %+v", final)
	}
	code, b := do(t, "GET", s.url+"/api/v1/results/"+final.ResultID, "", "")
	if code != 200 || !strings.Contains(string(b), `"responses": 600`) {
		t.Errorf("result: %d", code)
	}
	// A late subscriber gets the whole history.
	late := events(t, s.url, run.ID, 100)
	if len(late) != len(evs) {
		t.Errorf("late subscriber got %d events, the live one %d", len(late), len(evs))
	}
	// And the metrics count it.
	_, m := do(t, "GET", s.url+"/metrics", "", "")
	for _, want := range []string{
		`meshperf_server_runs_total{state="succeeded"} 1`,
		`meshperf_server_runs{state="running"} 0`,
		`meshperf_server_request_duration_seconds_count{code="202",method="POST",route="/api/v1/runs"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(m), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestRunQueueCancel(t *testing.T) {
	target := startEcho(t)
	s := newRunServer(t, "", server.Options{Concurrency: 1})
	// The first run has objectives its figures would meet (a generous
	// p99 and error rate): cancelled, they are not evaluated, not met.
	first := submit(t, s.url, strings.Replace(doc(target, 100, "30s"), `"clients"`, `"meshperf": {"slo": ["p99<=10s", "error_rate<=100%"]}, "clients"`, 1))
	second := submit(t, s.url, doc(target, 100, "1s"))
	waitState(t, s.url, first.ID, store.RunRunning)
	if r := waitState(t, s.url, second.ID, store.RunQueued, store.RunRunning); r.State != store.RunQueued {
		t.Errorf("second run %s while the first runs: one run at a time", r.State)
	}
	// Cancel the queued one, then the running one.
	if code, b := do(t, "POST", s.url+"/api/v1/runs/"+second.ID+"/cancel", "", ""); code != 202 {
		t.Fatalf("cancel queued: %d %s", code, b)
	}
	waitState(t, s.url, second.ID, store.RunCancelled)
	time.Sleep(1500 * time.Millisecond)
	if code, _ := do(t, "POST", s.url+"/api/v1/runs/"+first.ID+"/cancel", "", ""); code != 202 {
		t.Fatal("cancel running")
	}
	r := waitState(t, s.url, first.ID, store.RunCancelled)
	if r.ResultID == "" {
		t.Error("a cancelled run lost what it measured")
	}
	for _, q := range []string{"?run=" + first.ID, "?objectives=p99<=10s,error_rate<=100%25"} {
		code, b := do(t, "GET", s.url+"/api/v1/results/"+r.ResultID+"/verdicts"+q, "", "")
		var v server.VerdictsResponse
		if err := json.Unmarshal(b, &v); err != nil || code != 200 || len(v.Verdicts) != 2 {
			t.Fatalf("verdicts%s of the cancelled run: %d %s", q, code, b)
		}
		for _, x := range v.Verdicts {
			want := map[bool]string{true: "the run was cancelled", false: "the run was stopped before its end"}[strings.HasPrefix(q, "?run=")]
			if x.Met || x.Status != spec.VerdictNotEvaluated || x.Reason != want {
				t.Errorf("verdicts%s: %s is %q met=%v (%s), want not evaluated (%s)", q, x.Objective.Raw, x.Status, x.Met, x.Reason, want)
			}
		}
	}
	if code, b := do(t, "POST", s.url+"/api/v1/runs/"+first.ID+"/cancel", "", ""); code != 409 || !strings.Contains(string(b), "already ended") {
		t.Errorf("cancel twice: %d %s", code, b)
	}
	_, b := do(t, "GET", s.url+"/api/v1/runs?state=cancelled", "", "")
	if strings.Count(string(b), `"state": "cancelled"`) != 2 {
		t.Errorf("list cancelled: %s", b)
	}
}

func TestRunErrors(t *testing.T) {
	target := startEcho(t)
	s := newRunServer(t, "", server.Options{AllowTargets: []string{"localhost", "*.svc.cluster.local"}})
	tests := []struct {
		name, body string
		status     int
		code       string
		field      string
	}{
		{"nothing to run", `{}`, 422, "invalid", "profile"},
		{"both", `{"profile": "x", "profile_document": {}}`, 422, "invalid", "profile"},
		{"unknown stored profile", `{"profile": "nope"}`, 404, "not_found", ""},
		{"invalid document", `{"profile_document": {"duration": "1s", "clients": [{"rps": -1, "endpoint_urls": ["http://localhost/"]}]}}`, 422, "invalid", "profile_document.clients[0].rps"},
		{"target not allowed", doc(target, 10, "1s"), 403, "forbidden", "profile_document.clients[0].endpoint_urls[0]"},
		{"unknown field", `{"profile": "x", "priority": 1}`, 400, "bad_request", "priority"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, b := do(t, "POST", s.url+"/api/v1/runs", "application/json", tc.body)
			var e apiError
			json.Unmarshal(b, &e)
			if code != tc.status || e.Error.Code != tc.code || e.Error.Field != tc.field {
				t.Errorf("got %d %q %q (%s), want %d %q %q", code, e.Error.Code, e.Error.Field, e.Error.Message, tc.status, tc.code, tc.field)
			}
		})
	}
	if code, _ := do(t, "GET", s.url+"/api/v1/runs?state=done", "", ""); code != 400 {
		t.Errorf("unknown state filter: %d", code)
	}
	if code, _ := do(t, "GET", s.url+"/api/v1/runs/nope/events", "", ""); code != 404 {
		t.Errorf("events of an unknown run: %d", code)
	}
}

// A server that stops mid-run marks it interrupted after the grace period,
// keeping what it measured; a server started on a store with runs left
// running by a crash marks them interrupted.
func TestRunInterrupted(t *testing.T) {
	target := startEcho(t)
	path := filepath.Join(t.TempDir(), "m.db")
	s := newRunServer(t, path, server.Options{ShutdownGrace: 500 * time.Millisecond})
	run := submit(t, s.url, doc(target, 100, "30s"))
	waitState(t, s.url, run.ID, store.RunRunning)
	time.Sleep(1200 * time.Millisecond)
	s.srv.Close()
	r, err := s.st.GetRun(t.Context(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != store.RunInterrupted || r.ResultID == "" {
		t.Errorf("after shutdown: %+v", r)
	}

	// A crash: a run left "running" in the store.
	left := &store.Run{State: store.RunQueued, Name: "left", Profile: []byte(`{}`)}
	if err := s.st.CreateRun(t.Context(), left); err != nil {
		t.Fatal(err)
	}
	left.State, left.StartedAt = store.RunRunning, time.Now()
	if err := s.st.UpdateRun(t.Context(), left); err != nil {
		t.Fatal(err)
	}
	s2 := newRunServer(t, path, server.Options{})
	got, err := s2.st.GetRun(t.Context(), left.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != store.RunInterrupted || got.Error == "" {
		t.Errorf("left running by a crash: %+v", got)
	}
}

// A target that goes away mid-run: the engine ends the run early once
// nothing has connected for a while, and the server records it failed with
// that reason (as the CLI exits 3), keeping what was measured before.
func TestRunEndedEarlyIsFailed(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	s := newRunServer(t, "", server.Options{})
	run := submit(t, s.url, doc(target.URL, 50, "20s"))
	time.Sleep(1500 * time.Millisecond)
	target.Close()
	got := waitState(t, s.url, run.ID, store.RunFailed, store.RunSucceeded, store.RunInterrupted)
	if got.State != store.RunFailed || !strings.Contains(got.Error, "ended early") {
		t.Fatalf("run %s: %q, want failed with the early end's reason", got.State, got.Error)
	}
	res, err := s.st.GetResult(t.Context(), got.ResultID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Result.Achieved.Responses == 0 || res.Result.EndedEarly == "" {
		t.Errorf("result: %d responses, ended_early %q; want the responses before the target went away and the reason", res.Result.Achieved.Responses, res.Result.EndedEarly)
	}
}
