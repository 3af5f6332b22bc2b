package server_test

import (
	"encoding/json"
	"math"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/api"
	"github.com/meshperf/meshperf/internal/capacity"
	"github.com/meshperf/meshperf/internal/echo"
	"github.com/meshperf/meshperf/internal/echo/echotest"
	"github.com/meshperf/meshperf/internal/server"
	"github.com/meshperf/meshperf/store"
	"github.com/meshperf/meshperf/store/sqlite"
)

// startServerAt starts a server over the SQLite file at path; stop shuts
// it down (its running searches are interrupted) and closes the store.
func startServerAt(t *testing.T, path string, opts server.Options) (url string, stop func()) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	opts.Store, opts.Version = st, "test"
	srv := server.New(opts)
	hs := httptest.NewServer(srv)
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		hs.Close()
		srv.Close()
		if err := st.Close(); err != nil {
			t.Errorf("closing the store: %v", err)
		}
	}
	t.Cleanup(stop)
	return hs.URL, stop
}

// waitCapacity polls a search until done says so, for at most limit.
func waitCapacity(t *testing.T, base, id string, limit time.Duration, done func(api.CapacityView) bool) api.CapacityView {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		v := getCapacity(t, base, id)
		if done(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("search %s: not there within %s: state %s, run %s %s", id, limit, v.Search.State, v.Run.ID, v.Run.State)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestCapacityResumesAfterRestart: a real server runs a search against
// echo rejecting above 400 rps and is shut down after two steps; a new
// server over the same SQLite file reads the search back, resumes it from
// its stored steps under a new run (not running them again), and finds
// the limit; the report survives a further restart.
func TestCapacityResumesAfterRestart(t *testing.T) {
	const limit = 400
	target := strings.TrimSuffix(echotest.HTTP(t, echo.Options{Capacity: echo.Capacity{RPS: limit, Mode: echo.OverloadReject}}), "/")
	path := filepath.Join(t.TempDir(), "m.db")
	// A short instance timeout: the second server's resume loop runs
	// often; a grace of 1ms: the shutdown interrupts the step at once
	// (the default 30 s may let the search finish).
	opts := server.Options{InstanceTimeout: 2 * time.Second, ShutdownGrace: time.Millisecond}
	urlA, stopA := startServerAt(t, path, opts)
	run := submitCapacity(t, urlA, capacityBody(target, `"objective": "error_rate<1%", "min_rps": 100, "max_rps": 1600, `+
		`"step_duration": "3s", "warmup": "2s", "pause": "1s", "tolerance": 0.2, "confirm": 1, "max_steps": 16`))
	before := waitCapacity(t, urlA, run.ID, time.Minute, func(v api.CapacityView) bool { return len(v.Report.Steps) >= 2 })
	if before.Search == nil || before.Search.ID != run.ID || before.Search.RunID != run.ID || before.Search.State != store.CapacityRunning {
		t.Fatalf("the running search as stored: %+v", before.Search)
	}
	stopA()

	urlB, stopB := startServerAt(t, path, opts)
	v := waitCapacity(t, urlB, run.ID, 2*time.Minute, func(v api.CapacityView) bool {
		return v.Search.State != store.CapacityQueued && v.Search.State != store.CapacityRunning && v.Search.RunID != run.ID &&
			v.Search.State != store.CapacityInterrupted
	})
	rep := v.Report
	for _, st := range rep.Steps {
		t.Logf("step %d %-7s %5.0f rps: errors %.3f%% met=%v result %s", st.N, st.Phase, st.RPS, 100*st.ErrorRate, st.Met, st.ResultID)
	}
	if v.Search.State != store.CapacitySucceeded || v.Run.ID == run.ID || v.Run.State != store.RunSucceeded || rep.Outcome != capacity.OutcomeFound {
		t.Fatalf("resumed search: state %s (%s), run %s %s, outcome %s", v.Search.State, v.Search.Error, v.Run.ID, v.Run.State, rep.Outcome)
	}
	if v.Run.Labels[capacity.LabelID] != run.ID {
		t.Errorf("the new run's labels %v do not name the search", v.Run.Labels)
	}
	// The steps stored before the shutdown are the resumed report's first
	// steps, with the same results: they were not run again.
	for i, old := range before.Report.Steps {
		if old.Interrupted {
			continue
		}
		if got := rep.Steps[i]; got.ResultID != old.ResultID || got.RPS != old.RPS || got.N != old.N {
			t.Errorf("step %d after the restart: %d at %v result %s; before: %d at %v result %s", i+1,
				got.N, got.RPS, got.ResultID, old.N, old.RPS, old.ResultID)
		}
	}
	if lowest := limit / math.Pow(1+rep.Tolerance, 3); rep.Sustained > limit*1.01 || rep.Sustained < lowest {
		t.Errorf("sustains %v rps; the limit is %d: want %.0f to %.0f", rep.Sustained, limit, lowest, limit*1.01)
	}
	if v.Search.Outcome != capacity.OutcomeFound || v.Search.SustainedRPS != rep.Sustained {
		t.Errorf("the search's columns: outcome %q sustained %v, the report's %q %v", v.Search.Outcome, v.Search.SustainedRPS, rep.Outcome, rep.Sustained)
	}
	// Every step is a stored result; the step cut short by the shutdown
	// (if one was) is one more, marked interrupted.
	res := capacityResults(t, urlB, run.ID)
	ids := map[string]bool{}
	extra := 0
	for _, r := range res {
		ids[r.ID] = true
		if r.Interrupted {
			extra++
		}
	}
	for _, st := range rep.Steps {
		if !ids[st.ResultID] {
			t.Errorf("step %d: result %s not among the labelled results", st.N, st.ResultID)
		}
	}
	if len(res) != len(rep.Steps)+extra || extra > 1 {
		t.Errorf("%d labelled results (%d interrupted), %d steps", len(res), extra, len(rep.Steps))
	}
	stopB()

	urlC, _ := startServerAt(t, path, opts)
	after := getCapacity(t, urlC, run.ID)
	if after.Report == nil || after.Report.Sustained != rep.Sustained || len(after.Report.Steps) != len(rep.Steps) || after.Search.State != store.CapacitySucceeded {
		t.Errorf("after another restart: %+v", after.Search)
	}
	code, b := do(t, "GET", urlC+"/api/v1/capacity", "", "")
	var list api.CapacityList
	if err := json.Unmarshal(b, &list); code != 200 || err != nil || len(list.Searches) != 1 || list.Searches[0].ID != run.ID ||
		list.Searches[0].SustainedRPS != rep.Sustained {
		t.Errorf("GET /api/v1/capacity after a restart: %d %s", code, b)
	}
}

// TestCapacityList: the listing pages newest first with limit and
// cursor, selects a profile's searches, hides others' private ones in
// team mode (the store suite) and refuses bad parameters with 400 naming
// them.
func TestCapacityList(t *testing.T) {
	s := newRunServer(t, "", server.Options{})
	ctx := t.Context()
	code, b := do(t, "POST", s.url+"/api/v1/profiles", "application/json",
		`{"name": "shop", "duration": "1s", "clients": [{"connections": 1, "rps": 10, "endpoint_urls": ["http://127.0.0.1:9/"]}]}`)
	if code != 201 {
		t.Fatalf("create profile: %d %s", code, b)
	}
	var prof struct{ ID string }
	if err := json.Unmarshal(b, &prof); err != nil {
		t.Fatal(err)
	}
	var all, ofShop []string // newest first
	base := time.Now().Add(-time.Hour)
	for i := range 5 {
		c := &store.CapacitySearch{Name: "s", State: store.CapacitySucceeded, RunID: "r", Outcome: "found",
			SustainedRPS: float64(100 * (i + 1)), CreatedAt: base.Add(time.Duration(i) * time.Minute)}
		if i%2 == 0 {
			c.ProfileID = prof.ID
		}
		if err := s.st.CreateCapacitySearch(ctx, c); err != nil {
			t.Fatal(err)
		}
		all = append([]string{c.ID}, all...)
		if i%2 == 0 {
			ofShop = append([]string{c.ID}, ofShop...)
		}
	}
	pages := func(query string) []string {
		t.Helper()
		var ids []string
		cursor := ""
		for range 10 {
			code, b := do(t, "GET", s.url+"/api/v1/capacity?"+query+"&cursor="+cursor, "", "")
			var l api.CapacityList
			if err := json.Unmarshal(b, &l); code != 200 || err != nil {
				t.Fatalf("%s: %d %s", query, code, b)
			}
			for _, c := range l.Searches {
				ids = append(ids, c.ID)
			}
			if cursor = l.NextCursor; cursor == "" {
				return ids
			}
		}
		t.Fatalf("%s: more than 10 pages", query)
		return nil
	}
	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{"all", "", all},
		{"pages of 2", "limit=2", all},
		{"profile by name", "profile=shop&limit=1", ofShop},
		{"profile by id", "profile=" + prof.ID, ofShop},
		{"state", "state=succeeded&state=failed", all},
		{"no match", "state=running", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pages(tc.query); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	for _, tc := range []struct{ query, field string }{
		{"limit=0", "limit"}, {"limit=1001", "limit"}, {"limit=x", "limit"},
		{"cursor=nonsense", "cursor"}, {"state=asleep", "state"},
	} {
		code, b := do(t, "GET", s.url+"/api/v1/capacity?"+tc.query, "", "")
		var eb api.ErrorBody
		if err := json.Unmarshal(b, &eb); code != 400 || err != nil || eb.Error == nil || eb.Error.Field != tc.field {
			t.Errorf("%s: %d %s, want 400 naming %s", tc.query, code, b, tc.field)
		}
	}
	if code, b := do(t, "GET", s.url+"/api/v1/capacity?profile=nope", "", ""); code != 404 {
		t.Errorf("an unknown profile: %d %s", code, b)
	}
	if code, b := do(t, "GET", s.url+"/api/v1/capacity/0123456789abcdef0123", "", ""); code != 404 {
		t.Errorf("an unknown search: %d %s", code, b)
	}
}

// TestCapacityCancelledWhileQueued: a search cancelled before it started
// (behind a run, one worker) reads back cancelled, as its run is, and is
// not resumed.
func TestCapacityCancelledWhileQueued(t *testing.T) {
	target := startEcho(t)
	s := newRunServer(t, "", server.Options{Concurrency: 1})
	busy := submit(t, s.url, doc(target, 20, "5s"))
	run := submitCapacity(t, s.url, capacityBody(target, `"objective": "p99<=1s", "min_rps": 20, "max_rps": 40, "step_duration": "1s", "warmup": "0s"`))
	if code, b := do(t, "POST", s.url+"/api/v1/runs/"+run.ID+"/cancel", "", ""); code != 202 && code != 200 {
		t.Fatalf("cancel: %d %s", code, b)
	}
	v := getCapacity(t, s.url, run.ID)
	if v.Run.State != store.RunCancelled || v.Search.State != store.CapacityCancelled || len(v.Report.Steps) != 0 {
		t.Errorf("after a cancel while queued: run %s, search %s, %d steps", v.Run.State, v.Search.State, len(v.Report.Steps))
	}
	waitEnded(t, s.url, busy.ID, 30*time.Second)
	if v := getCapacity(t, s.url, run.ID); v.Search.State != store.CapacityCancelled || v.Search.RunID != run.ID {
		t.Errorf("later: search %s under run %s", v.Search.State, v.Search.RunID)
	}
}

// TestCapacityNotResumedWhenRefused: a search interrupted by a shutdown
// is not resumed by a server whose allow-list now refuses its target: it
// is failed, saying why, and keeps its steps.
func TestCapacityNotResumedWhenRefused(t *testing.T) {
	target := startEcho(t)
	path := filepath.Join(t.TempDir(), "m.db")
	urlA, stopA := startServerAt(t, path, server.Options{ShutdownGrace: time.Millisecond})
	run := submitCapacity(t, urlA, capacityBody(target, `"objective": "p99<=1s", "min_rps": 20, "max_rps": 5000, `+
		`"step_duration": "1s", "warmup": "0s", "pause": "0s"`))
	waitCapacity(t, urlA, run.ID, 30*time.Second, func(v api.CapacityView) bool { return len(v.Report.Steps) >= 1 })
	stopA()
	urlB, _ := startServerAt(t, path, server.Options{AllowTargets: []string{"127.0.0.2"}})
	v := waitCapacity(t, urlB, run.ID, 30*time.Second, func(v api.CapacityView) bool { return v.Search.State == store.CapacityFailed })
	if !strings.Contains(v.Search.Error, "not resumed") || v.Search.RunID != run.ID || len(v.Report.Steps) == 0 {
		t.Errorf("refused resume: %q under run %s with %d steps", v.Search.Error, v.Search.RunID, len(v.Report.Steps))
	}
}
