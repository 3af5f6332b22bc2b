package storetest

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshperf/meshperf/store"
)

// newRun returns a queued run with every field the caller sets filled in.
func newRun(name string) *store.Run {
	return &store.Run{
		State:           store.RunQueued,
		ProfileID:       "profile-" + name,
		ProfileRevision: 2,
		Name:            name,
		Labels:          map[string]string{"mesh": "istio", "ünïcode": "✓"},
		Profile:         []byte(`{"name":"` + name + `","rps":100}`),
	}
}

// sameRun fails the test unless got and want are the same run.
func sameRun(t *testing.T, what string, got, want *store.Run) {
	t.Helper()
	for _, tt := range []struct {
		name      string
		got, want time.Time
	}{{"created", got.CreatedAt, want.CreatedAt}, {"started", got.StartedAt, want.StartedAt}, {"finished", got.FinishedAt, want.FinishedAt}, {"due", got.DueAt, want.DueAt}} {
		if !tt.got.Equal(tt.want) {
			t.Errorf("%s: %s at %v, want %v", what, tt.name, tt.got, tt.want)
		}
	}
	if !bytes.Equal(got.Profile, want.Profile) {
		t.Errorf("%s: profile %q, want %q", what, got.Profile, want.Profile)
	}
	g, w := *got, *want
	g.CreatedAt, g.StartedAt, g.FinishedAt, g.DueAt, g.Profile = time.Time{}, time.Time{}, time.Time{}, time.Time{}, nil
	w.CreatedAt, w.StartedAt, w.FinishedAt, w.DueAt, w.Profile = time.Time{}, time.Time{}, time.Time{}, time.Time{}, nil
	if len(w.Labels) == 0 {
		w.Labels = nil
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

// between fails the test unless before <= at <= after.
func between(t *testing.T, what string, at, before, after time.Time) {
	t.Helper()
	if at.Before(before.Truncate(time.Microsecond)) || at.After(after) {
		t.Errorf("%s at %v, want between %v and %v", what, at, before, after)
	}
}

func (o opener) testCreateRun(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	before := time.Now()
	r := newRun("a")
	must(t, "CreateRun", s.CreateRun(ctx, r))
	if len(r.ID) != 20 {
		t.Errorf("CreateRun assigned ID %q", r.ID)
	}
	between(t, "created", r.CreatedAt, before, time.Now())
	if r.State != store.RunQueued || !r.StartedAt.IsZero() || !r.FinishedAt.IsZero() {
		t.Errorf("new run: %+v", r)
	}
	got, err := s.GetRun(ctx, r.ID)
	must(t, "GetRun", err)
	if !reflect.DeepEqual(got, r) {
		t.Errorf("GetRun:\n got %+v\nwant %+v", got, r)
	}

	// An ID and a creation time given are kept; no labels, no profile.
	created := epoch.Add(time.Hour)
	b := &store.Run{ID: "given-run-id", State: store.RunQueued, CreatedAt: created}
	must(t, "CreateRun with an ID", s.CreateRun(ctx, b))
	got, err = s.GetRun(ctx, "given-run-id")
	must(t, "GetRun", err)
	sameRun(t, "bare run", got, &store.Run{ID: "given-run-id", State: store.RunQueued, CreatedAt: created})

	dup := newRun("dup")
	dup.ID = r.ID
	wantErr(t, "CreateRun with a taken ID", s.CreateRun(ctx, dup), store.ErrConflict)
	got, err = s.GetRun(ctx, r.ID)
	must(t, "GetRun", err)
	sameRun(t, "run after a conflicting create", got, r)

	_, err = s.GetRun(ctx, "no-such-run")
	wantErr(t, "GetRun of an unknown ID", err, store.ErrNotFound)
}

func (o opener) testRunInvalid(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	for name, mod := range map[string]func(r *store.Run){
		"no state":                    func(r *store.Run) { r.State = "" },
		"running":                     func(r *store.Run) { r.State = store.RunRunning },
		"succeeded":                   func(r *store.Run) { r.State = store.RunSucceeded },
		"unknown state":               func(r *store.Run) { r.State = "paused" },
		"negative revision":           func(r *store.Run) { r.ProfileRevision = -1 },
		"revision without profile ID": func(r *store.Run) { r.ProfileID = "" },
		"huge profile":                func(r *store.Run) { r.Profile = make([]byte, store.MaxProfileBody+1) },
	} {
		r := newRun(name)
		mod(r)
		wantErr(t, "CreateRun "+name, s.CreateRun(ctx, r), store.ErrInvalid)
		if r.ID != "" {
			t.Errorf("CreateRun %s failed and set the ID %q", name, r.ID)
		}
	}
	wantErr(t, "CreateRun nil", s.CreateRun(ctx, nil), store.ErrInvalid)
	page, err := s.ListRuns(ctx, store.RunFilter{})
	must(t, "ListRuns", err)
	if len(page.Runs) != 0 {
		t.Errorf("invalid runs were stored: %v", runIDs(page.Runs))
	}

	r := newRun("ok")
	must(t, "CreateRun", s.CreateRun(ctx, r))
	wantErr(t, "UpdateRun nil", s.UpdateRun(ctx, nil), store.ErrInvalid)
	wantErr(t, "UpdateRun without ID", s.UpdateRun(ctx, &store.Run{State: store.RunRunning}), store.ErrInvalid)
	wantErr(t, "UpdateRun to an unknown state", s.UpdateRun(ctx, &store.Run{ID: r.ID, State: "paused"}), store.ErrInvalid)
	wantErr(t, "UpdateRun of an unknown run", s.UpdateRun(ctx, &store.Run{ID: "no-such-run", State: store.RunRunning}), store.ErrNotFound)
}

// toState creates a run and moves it to state by legal transitions, through
// running if viaRunning (or if it must) and it is not queued. A missed run
// is created missed, for a schedule.
func toState(t *testing.T, s store.Store, name, state string, viaRunning bool) *store.Run {
	t.Helper()
	r := newRun(name)
	if state == store.RunMissed {
		r.State, r.ScheduleID, r.DueAt = store.RunMissed, "schedule-"+name, epoch.Add(time.Hour)
	}
	must(t, "CreateRun", s.CreateRun(t.Context(), r))
	switch state {
	case store.RunQueued, store.RunMissed:
		return r
	}
	if viaRunning || state == store.RunRunning || state == store.RunSucceeded || state == store.RunDegraded || state == store.RunFailed {
		must(t, "UpdateRun to running", s.UpdateRun(t.Context(), &store.Run{ID: r.ID, State: store.RunRunning}))
	}
	if state != store.RunRunning {
		must(t, "UpdateRun to "+state, s.UpdateRun(t.Context(), &store.Run{ID: r.ID, State: state}))
	}
	got, err := s.GetRun(t.Context(), r.ID)
	must(t, "GetRun", err)
	if got.State != state {
		t.Fatalf("run moved to %s is %s", state, got.State)
	}
	return got
}

func (o opener) testRunTransitions(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	legal := map[[2]string]bool{
		{store.RunQueued, store.RunRunning}:      true,
		{store.RunQueued, store.RunCancelled}:    true,
		{store.RunQueued, store.RunInterrupted}:  true,
		{store.RunRunning, store.RunSucceeded}:   true,
		{store.RunRunning, store.RunDegraded}:    true,
		{store.RunRunning, store.RunFailed}:      true,
		{store.RunRunning, store.RunCancelled}:   true,
		{store.RunRunning, store.RunInterrupted}: true,
	}
	for _, from := range store.RunStates {
		for _, to := range store.RunStates {
			if got := store.LegalRunTransition(from, to); got != legal[[2]string{from, to}] {
				t.Errorf("LegalRunTransition(%s, %s) = %v", from, to, got)
			}
			// Runs that end from queued and from running both.
			paths := []bool{false}
			if from == store.RunCancelled || from == store.RunInterrupted {
				paths = append(paths, true)
			}
			for _, viaRunning := range paths {
				name := fmt.Sprintf("%s to %s", from, to)
				if viaRunning {
					name += " after running"
				}
				r := toState(t, s, strings.ReplaceAll(name, " ", "-"), from, viaRunning)
				start, finish := epoch.Add(time.Minute), epoch.Add(2*time.Minute)
				upd := &store.Run{ID: r.ID, State: to, ResultID: "result-" + r.ID, Error: "error of " + name, StartedAt: start, FinishedAt: finish}
				err := s.UpdateRun(ctx, upd)
				got, gerr := s.GetRun(ctx, r.ID)
				must(t, "GetRun", gerr)
				switch {
				case legal[[2]string{from, to}]:
					must(t, "UpdateRun "+name, err)
					want := *r
					want.State, want.ResultID, want.Error, want.StartedAt, want.FinishedAt = to, upd.ResultID, upd.Error, start, finish
					sameRun(t, "run after "+name, got, &want)
					sameRun(t, "UpdateRun's run after "+name, upd, &want)
				case store.FinalRunState(from):
					wantErr(t, "UpdateRun "+name, err, store.ErrConflict)
					sameRun(t, "run after a refused "+name, got, r)
				default:
					wantErr(t, "UpdateRun "+name, err, store.ErrInvalid)
					sameRun(t, "run after a refused "+name, got, r)
				}
			}
		}
	}

	// The store times the start and the end when not told; a zero time or
	// empty string keeps what is stored.
	r := newRun("timed")
	must(t, "CreateRun", s.CreateRun(ctx, r))
	before := time.Now()
	must(t, "UpdateRun to running", s.UpdateRun(ctx, &store.Run{ID: r.ID, State: store.RunRunning, ResultID: "partial"}))
	got, err := s.GetRun(ctx, r.ID)
	must(t, "GetRun", err)
	between(t, "started", got.StartedAt, before, time.Now())
	if !got.FinishedAt.IsZero() || got.ResultID != "partial" {
		t.Errorf("running run: finished %v, result %q", got.FinishedAt, got.ResultID)
	}
	started := got.StartedAt
	before = time.Now()
	upd := &store.Run{ID: r.ID, State: store.RunFailed, Error: "boom"}
	must(t, "UpdateRun to failed", s.UpdateRun(ctx, upd))
	got, err = s.GetRun(ctx, r.ID)
	must(t, "GetRun", err)
	between(t, "finished", got.FinishedAt, before, time.Now())
	if !got.StartedAt.Equal(started) || got.ResultID != "partial" || got.Error != "boom" || got.State != store.RunFailed {
		t.Errorf("failed run: %+v", got)
	}
	if !reflect.DeepEqual(upd, got) {
		t.Errorf("UpdateRun left\n %+v\nwant the stored run\n %+v", upd, got)
	}
}

// Of concurrent updates ending one run, exactly one wins; the others get
// ErrConflict and change nothing.
func (o opener) testRunRace(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	finals := []string{store.RunSucceeded, store.RunFailed, store.RunCancelled, store.RunInterrupted, store.RunDegraded}
	for round := range 10 {
		r := toState(t, s, fmt.Sprint("race-", round), store.RunRunning, true)
		n := 2 + round%3 // two to four goroutines
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for g := range n {
			wg.Go(func() {
				<-start
				errs[g] = s.UpdateRun(ctx, &store.Run{ID: r.ID, State: finals[g], Error: finals[g]})
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for g, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("round %d: both %s and %s ended the run", round, finals[winner], finals[g])
			case err == nil:
				winner = g
			case !errors.Is(err, store.ErrConflict):
				t.Fatalf("round %d: UpdateRun to %s: %v, want nil or ErrConflict", round, finals[g], err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no update won: %v", round, errs)
		}
		got, err := s.GetRun(ctx, r.ID)
		must(t, "GetRun", err)
		if got.State != finals[winner] || got.Error != finals[winner] {
			t.Errorf("round %d: %s won, the run is %s with error %q", round, finals[winner], got.State, got.Error)
		}
	}
}

func runIDs(rs []store.Run) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func (o opener) testListRuns(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	var all []*store.Run
	for i := range 62 {
		r := newRun(fmt.Sprint("list-", i))
		r.CreatedAt = epoch.Add(time.Duration(i/3) * time.Minute) // three per time: the ID breaks ties
		if i%7 == 0 {
			r.Labels = nil
		}
		must(t, "CreateRun", s.CreateRun(ctx, r))
		switch i % 4 {
		case 1:
			r.State = store.RunRunning
		case 2, 3:
			must(t, "UpdateRun", s.UpdateRun(ctx, &store.Run{ID: r.ID, State: store.RunRunning}))
			r.State = []string{store.RunSucceeded, store.RunFailed}[i%2]
		}
		if r.State != store.RunQueued {
			must(t, "UpdateRun", s.UpdateRun(ctx, r))
		}
		all = append(all, r)
	}
	want := func(states ...string) []*store.Run {
		var out []*store.Run
		for _, r := range all {
			if len(states) == 0 || slices.Contains(states, r.State) {
				out = append(out, r)
			}
		}
		slices.SortFunc(out, func(a, b *store.Run) int {
			return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
		})
		return out
	}
	for _, tt := range []struct {
		name  string
		f     store.RunFilter
		pages []int
	}{
		{"default limit", store.RunFilter{}, []int{store.DefaultLimit, 12}},
		{"pages", store.RunFilter{Limit: 25}, []int{25, 25, 12}},
		{"exact page", store.RunFilter{Limit: 62}, []int{62}},
		{"one state", store.RunFilter{States: []string{store.RunQueued}, Limit: 5}, []int{5, 5, 5, 1}},
		{"two states", store.RunFilter{States: []string{store.RunSucceeded, store.RunFailed}, Limit: 1000}, []int{30}},
		{"no such runs", store.RunFilter{States: []string{store.RunCancelled}}, []int{0}},
		{"one at a time", store.RunFilter{States: []string{store.RunRunning}, Limit: 1}, slices.Repeat([]int{1}, 16)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []store.Run
			var sizes []int
			f := tt.f
			for {
				page, err := s.ListRuns(ctx, f)
				must(t, "ListRuns", err)
				if page.Runs == nil {
					t.Error("ListRuns gave nil Runs, want an empty list")
				}
				got = append(got, page.Runs...)
				sizes = append(sizes, len(page.Runs))
				if page.Next == "" {
					break
				}
				if len(sizes) > 100 {
					t.Fatal("pagination does not end")
				}
				f.Cursor = page.Next
			}
			w := want(tt.f.States...)
			if len(got) != len(w) {
				t.Fatalf("listed %d runs %v, want %d", len(got), runIDs(got), len(w))
			}
			for i := range w {
				if got[i].Profile != nil {
					t.Errorf("ListRuns gave run %s with its profile", got[i].ID)
				}
				nw := *w[i]
				nw.Profile = nil
				sameRun(t, fmt.Sprintf("run %d", i), &got[i], &nw)
			}
			if !slices.Equal(sizes, tt.pages) {
				t.Errorf("page sizes %v, want %v", sizes, tt.pages)
			}
		})
	}
	for name, f := range map[string]store.RunFilter{
		"negative limit": {Limit: -1},
		"unknown state":  {States: []string{store.RunQueued, "paused"}},
		"bad cursor":     {Cursor: "garbage!"},
		"foreign cursor": {Cursor: "bm90LWEtY3Vyc29y"},
	} {
		_, err := s.ListRuns(ctx, f)
		wantErr(t, "ListRuns with a "+name, err, store.ErrInvalid)
	}
	page, err := s.ListRuns(ctx, store.RunFilter{Limit: 1 << 20})
	must(t, "ListRuns with a huge limit", err)
	if len(page.Runs) != len(all) || page.Next != "" {
		t.Errorf("huge limit: %d runs, next %q; want all %d", len(page.Runs), page.Next, len(all))
	}
}

func (o opener) testInterruptRuns(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	n, err := s.InterruptRuns(ctx, "nothing to do")
	if err != nil || n != 0 {
		t.Fatalf("InterruptRuns on no runs: %d, %v", n, err)
	}
	runs := map[string]*store.Run{}
	for _, st := range store.RunStates {
		runs[st] = toState(t, s, st, st, true)
	}
	queued2 := toState(t, s, "queued-2", store.RunQueued, false)
	before := time.Now()
	n, err = s.InterruptRuns(ctx, "the server restarted")
	after := time.Now()
	must(t, "InterruptRuns", err)
	if n != 3 {
		t.Errorf("InterruptRuns moved %d runs, want 3 (two queued, one running)", n)
	}
	for _, r := range []*store.Run{runs[store.RunQueued], runs[store.RunRunning], queued2} {
		got, err := s.GetRun(ctx, r.ID)
		must(t, "GetRun", err)
		if got.State != store.RunInterrupted || got.Error != "the server restarted" {
			t.Errorf("%s run after InterruptRuns: state %s, error %q", r.State, got.State, got.Error)
		}
		between(t, r.State+" run finished", got.FinishedAt, before, after)
		if !got.StartedAt.Equal(r.StartedAt) {
			t.Errorf("%s run: started %v, want %v kept", r.State, got.StartedAt, r.StartedAt)
		}
		wantErr(t, "UpdateRun of an interrupted run", s.UpdateRun(ctx, &store.Run{ID: r.ID, State: store.RunSucceeded}), store.ErrConflict)
	}
	for _, st := range []string{store.RunSucceeded, store.RunFailed, store.RunCancelled, store.RunInterrupted} {
		got, err := s.GetRun(ctx, runs[st].ID)
		must(t, "GetRun", err)
		sameRun(t, st+" run after InterruptRuns", got, runs[st])
	}
	n, err = s.InterruptRuns(ctx, "again")
	if err != nil || n != 0 {
		t.Errorf("InterruptRuns again: %d, %v; want 0", n, err)
	}
}

func (o opener) testRunIDPrefix(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	for _, id := range []string{"0123456789abcdef0001", "0123456789abcdef0002", "0123456789abcdff0003", "fedcba", "fedcba01"} {
		r := newRun(id)
		r.ID = id
		must(t, "CreateRun", s.CreateRun(ctx, r))
	}
	for _, tt := range []struct{ ref, want string }{
		{"0123456789abcdef0001", "0123456789abcdef0001"},
		{"0123456789abcdf", "0123456789abcdff0003"},
		{"fedcba", "fedcba"}, // an exact ID wins over the longer one it prefixes
		{"fedcba0", "fedcba01"},
	} {
		got, err := s.GetRun(ctx, tt.ref)
		must(t, "GetRun "+tt.ref, err)
		if got.ID != tt.want || string(got.Profile) != string(newRun(tt.want).Profile) {
			t.Errorf("GetRun(%q) = %s, want %s", tt.ref, got.ID, tt.want)
		}
	}
	_, err := s.GetRun(ctx, "0123456789abcde")
	var amb *store.AmbiguousError
	if !errors.As(err, &amb) || !errors.Is(err, store.ErrInvalid) || len(amb.IDs) != 2 || !strings.HasPrefix(err.Error(), "run ID prefix") {
		t.Errorf("GetRun of an ambiguous prefix: %v, want an *AmbiguousError (ErrInvalid) about runs naming 2 IDs", err)
	}
	for _, ref := range []string{"01234", "0123x", "", "fedcbb"} {
		_, err := s.GetRun(ctx, ref)
		wantErr(t, fmt.Sprintf("GetRun(%q)", ref), err, store.ErrNotFound)
	}
}

// Runs survive a restart: state, times, profile and all.
func (o opener) testReopenRuns(t *testing.T) {
	s, ctx := o(t), t.Context()
	var runs []*store.Run
	for _, st := range store.RunStates {
		runs = append(runs, toState(t, s, st, st, st != store.RunCancelled))
	}
	must(t, "Close", s.Close())
	for range 2 {
		s := o.open(t)
		for _, r := range runs {
			got, err := s.GetRun(ctx, r.ID)
			must(t, "GetRun after reopening", err)
			if !reflect.DeepEqual(got, r) {
				t.Errorf("run changed across reopening:\n got %+v\nwant %+v", got, r)
			}
		}
		page, err := s.ListRuns(ctx, store.RunFilter{})
		must(t, "ListRuns after reopening", err)
		if len(page.Runs) != len(runs) {
			t.Errorf("after reopening, %d runs listed, want %d", len(page.Runs), len(runs))
		}
		must(t, "Close", s.Close())
	}
}
