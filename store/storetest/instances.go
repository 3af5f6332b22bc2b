package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

// Runs belong to a server instance: of the queued and running runs, only
// those whose instance is gone (no heartbeat since the cut, unknown, or
// none) are interrupted, and a second handle on the same database sees
// the first one's heartbeats.
func (o opener) testInterruptOrphanedRuns(t *testing.T) {
	first, ctx := o.open(t), t.Context()
	second := o.open(t) // another server on the same database
	if err := first.Heartbeat(ctx, ""); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Heartbeat without an instance: %v, want ErrInvalid", err)
	}
	must(t, "Heartbeat stale", first.Heartbeat(ctx, "stale"))
	time.Sleep(20 * time.Millisecond)
	cut := time.Now()
	time.Sleep(20 * time.Millisecond)
	must(t, "Heartbeat live", first.Heartbeat(ctx, "live"))
	must(t, "Heartbeat live again", first.Heartbeat(ctx, "live")) // an update, not a second row

	type want struct {
		instance, state string
		interrupted     bool
	}
	cases := []want{
		{"live", store.RunQueued, false}, {"live", store.RunRunning, false},
		{"me", store.RunRunning, false},
		{"stale", store.RunQueued, true}, {"stale", store.RunRunning, true},
		{"unknown", store.RunRunning, true}, {"", store.RunQueued, true},
		{"stale", store.RunSucceeded, false}, {"", store.RunFailed, false},
	}
	runs := make([]*store.Run, len(cases))
	for i, c := range cases {
		r := newRun("orphan-" + c.instance + "-" + c.state)
		r.InstanceID = c.instance
		must(t, "CreateRun", first.CreateRun(ctx, r))
		got, err := second.GetRun(ctx, r.ID)
		must(t, "GetRun", err)
		if got.InstanceID != c.instance {
			t.Errorf("run created by instance %q reads back as %q", c.instance, got.InstanceID)
		}
		if c.state != store.RunQueued {
			must(t, "UpdateRun", first.UpdateRun(ctx, &store.Run{ID: r.ID, State: store.RunRunning}))
		}
		if c.state != store.RunQueued && c.state != store.RunRunning {
			must(t, "UpdateRun", first.UpdateRun(ctx, &store.Run{ID: r.ID, State: c.state}))
		}
		runs[i] = r
	}
	// A partial result attached while running stays with the run.
	must(t, "SetRunResult", first.SetRunResult(ctx, runs[4].ID, "partial-result"))

	n, err := second.InterruptOrphanedRuns(ctx, "me", "its server is gone", cut)
	must(t, "InterruptOrphanedRuns", err)
	if n != 4 {
		t.Errorf("InterruptOrphanedRuns moved %d runs, want 4", n)
	}
	for i, c := range cases {
		got, err := first.GetRun(ctx, runs[i].ID)
		must(t, "GetRun", err)
		switch {
		case c.interrupted && (got.State != store.RunInterrupted || got.Error != "its server is gone" || got.FinishedAt.IsZero()):
			t.Errorf("%s run of instance %q: %s (%q), want interrupted", c.state, c.instance, got.State, got.Error)
		case !c.interrupted && got.State != c.state:
			t.Errorf("%s run of instance %q became %s", c.state, c.instance, got.State)
		}
	}
	if got, _ := first.GetRun(ctx, runs[4].ID); got.ResultID != "partial-result" {
		t.Errorf("the interrupted run's partial result is %q", got.ResultID)
	}
	// Once the live instance's heartbeat is older than the cut, its runs
	// are orphans too.
	n, err = second.InterruptOrphanedRuns(ctx, "me", "later", time.Now().Add(time.Second))
	must(t, "InterruptOrphanedRuns", err)
	if n != 2 {
		t.Errorf("with every heartbeat stale, %d runs moved, want the live instance's 2", n)
	}
	if got, _ := first.GetRun(ctx, runs[2].ID); got.State != store.RunRunning {
		t.Errorf("the caller's own run became %s", got.State)
	}
}

func (o opener) testSetRunResult(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	r := toState(t, s, "set-result", store.RunRunning, true)
	must(t, "SetRunResult", s.SetRunResult(ctx, r.ID, "res-1"))
	must(t, "SetRunResult again", s.SetRunResult(ctx, r.ID, "res-1"))
	got, err := s.GetRun(ctx, r.ID)
	must(t, "GetRun", err)
	if got.ResultID != "res-1" || got.State != store.RunRunning {
		t.Errorf("run %s with result %q, want running with res-1", got.State, got.ResultID)
	}
	must(t, "UpdateRun", s.UpdateRun(ctx, &store.Run{ID: r.ID, State: store.RunFailed, Error: "disk full"}))
	if err := s.SetRunResult(ctx, r.ID, "res-2"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("SetRunResult on an ended run: %v, want ErrConflict", err)
	}
	if got, _ := s.GetRun(ctx, r.ID); got.ResultID != "res-1" {
		t.Errorf("an ended run's result became %q", got.ResultID)
	}
	if err := s.SetRunResult(ctx, "no-such-run", "res"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetRunResult on an unknown run: %v, want ErrNotFound", err)
	}
	if err := s.SetRunResult(ctx, r.ID, ""); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("SetRunResult without a result: %v, want ErrInvalid", err)
	}
}

// A running test's partial result is replaced by the final one: the same
// id, the new figures, labels and targets; the owner and profile kept.
func (o opener) testReplaceResult(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	partial := sample(1, map[string]string{"phase": "partial"})
	partial.Interrupted = true
	ref := store.ResultRef{ProfileID: "p", ProfileRevision: 3, OwnerID: "u1", Private: true}
	id, err := s.SaveResult(ctx, partial, ref)
	must(t, "SaveResult", err)

	final := sample(2, map[string]string{"phase": "final", "mesh": "none"})
	final.ID = id
	final.Requested.Targets = []string{"http://final:1/"}
	must(t, "ReplaceResult", s.ReplaceResult(ctx, final))
	got, err := s.GetResult(ctx, id)
	must(t, "GetResult", err)
	if got.Result.Achieved.Requests != final.Achieved.Requests || got.Result.Interrupted || got.Result.Labels["phase"] != "final" {
		t.Errorf("replaced result: %d requests (want %d), interrupted %v, labels %v", got.Result.Achieved.Requests, final.Achieved.Requests, got.Result.Interrupted, got.Result.Labels)
	}
	sameSummary(t, "replaced summary", got.Summary, wantSummary(final, ref))
	page, err := s.ListResults(ctx, store.ResultFilter{Labels: map[string]string{"phase": "partial"}})
	must(t, "ListResults", err)
	if len(page.Results) != 0 {
		t.Errorf("the partial result's labels still find %d results", len(page.Results))
	}
	page, err = s.ListResults(ctx, store.ResultFilter{Target: "http://final:1/"})
	must(t, "ListResults", err)
	if len(page.Results) != 1 || page.Results[0].ID != id {
		t.Errorf("the final target finds %+v", page.Results)
	}
	if err := s.ReplaceResult(ctx, &spec.Result{ID: "nope", StartTime: epoch}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReplaceResult of an unknown id: %v, want ErrNotFound", err)
	}
	if err := s.ReplaceResult(ctx, sample(3, nil)); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("ReplaceResult without an id: %v, want ErrInvalid", err)
	}
}
