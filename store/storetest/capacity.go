package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/meshperf/meshperf/store"
)

func newCapacity(name, profileID string) *store.CapacitySearch {
	return &store.CapacitySearch{Name: name, State: store.CapacityQueued, RunID: "run-" + name, ProfileID: profileID,
		ProfileRevision: 3, Options: []byte(`{"objective":"p99<=50ms"}`)}
}

func (o opener) testCreateCapacity(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	c := newCapacity("echo", "p1")
	c.Steps, c.OwnerID = []byte(`[{"step":1}]`), "u1"
	must(t, "CreateCapacitySearch", s.CreateCapacitySearch(ctx, c))
	if len(c.ID) != 20 || c.CreatedAt.IsZero() || !c.UpdatedAt.Equal(c.CreatedAt) {
		t.Fatalf("CreateCapacitySearch did not assign ID and times: %+v", c)
	}
	for _, ref := range []string{c.ID, c.ID[:8]} {
		got, err := s.GetCapacitySearch(ctx, ref)
		must(t, "GetCapacitySearch "+ref, err)
		if !reflect.DeepEqual(got, c) {
			t.Errorf("GetCapacitySearch(%q):\n got %+v\nwant %+v", ref, got, c)
		}
	}
	dup := *c
	wantErr(t, "CreateCapacitySearch with a taken ID", s.CreateCapacitySearch(ctx, &dup), store.ErrConflict)
	for name, bad := range map[string]*store.CapacitySearch{
		"nil":      nil,
		"state":    {State: "sleeping", RunID: "r"},
		"no run":   {State: store.CapacityQueued},
		"big body": {State: store.CapacityQueued, RunID: "r", Steps: make([]byte, store.MaxCapacityBody+1)},
	} {
		wantErr(t, "CreateCapacitySearch "+name, s.CreateCapacitySearch(ctx, bad), store.ErrInvalid)
	}
	_, err := s.GetCapacitySearch(ctx, "0123456789abcdef0123")
	wantErr(t, "GetCapacitySearch of an unknown ID", err, store.ErrNotFound)
}

func (o opener) testUpdateCapacity(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	c := newCapacity("resume", "p1")
	must(t, "CreateCapacitySearch", s.CreateCapacitySearch(ctx, c))
	time.Sleep(2 * time.Millisecond) // UpdatedAt must move
	c.State, c.Steps = store.CapacityRunning, []byte(`[{"step":1},{"step":2}]`)
	must(t, "UpdateCapacitySearch to running", s.UpdateCapacitySearch(ctx, c, store.CapacityQueued))
	// A second claim from queued loses: the search is running now.
	lost := *c
	lost.State = store.CapacityFailed
	wantErr(t, "UpdateCapacitySearch from a state it is not in", s.UpdateCapacitySearch(ctx, &lost, store.CapacityQueued), store.ErrConflict)
	// nil Steps keeps them; the report is written.
	c.State, c.Outcome, c.SustainedRPS, c.Error = store.CapacitySucceeded, "found", 8400.5, ""
	c.Steps, c.Report = nil, []byte(`{"outcome":"found"}`)
	must(t, "UpdateCapacitySearch to succeeded", s.UpdateCapacitySearch(ctx, c, ""))
	got, err := s.GetCapacitySearch(ctx, c.ID)
	must(t, "GetCapacitySearch", err)
	if got.State != store.CapacitySucceeded || got.Outcome != "found" || got.SustainedRPS != 8400.5 ||
		string(got.Steps) != `[{"step":1},{"step":2}]` || string(got.Report) != `{"outcome":"found"}` ||
		string(got.Options) != string(c.Options) || got.ProfileRevision != 3 {
		t.Errorf("after updates: %+v (steps %s, report %s)", got, got.Steps, got.Report)
	}
	if !got.UpdatedAt.After(got.CreatedAt) || !got.UpdatedAt.Equal(c.UpdatedAt) {
		t.Errorf("UpdatedAt %v, created %v, returned %v", got.UpdatedAt, got.CreatedAt, c.UpdatedAt)
	}
	wantErr(t, "UpdateCapacitySearch of an unknown ID",
		s.UpdateCapacitySearch(ctx, &store.CapacitySearch{ID: "0123456789abcdef0123", State: store.CapacityFailed, RunID: "r"}, ""), store.ErrNotFound)
	wantErr(t, "UpdateCapacitySearch to an unknown state",
		s.UpdateCapacitySearch(ctx, &store.CapacitySearch{ID: c.ID, State: "nope", RunID: "r"}, ""), store.ErrInvalid)
	wantErr(t, "UpdateCapacitySearch from an unknown state",
		s.UpdateCapacitySearch(ctx, &store.CapacitySearch{ID: c.ID, State: store.CapacityFailed, RunID: "r"}, "nope"), store.ErrInvalid)
}

func (o opener) testListCapacity(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	page, err := s.ListCapacitySearches(ctx, store.CapacityFilter{})
	if err != nil || len(page.Searches) != 0 || page.Next != "" {
		t.Fatalf("ListCapacitySearches on an empty store = %+v, %v", page, err)
	}
	base := time.Now().Add(-time.Hour)
	var all, ofP1 []string // newest first
	for i := range 5 {
		prof := "p1"
		if i%2 == 1 {
			prof = "p2"
		}
		c := newCapacity("s", prof)
		c.CreatedAt = base.Add(time.Duration(i) * time.Minute)
		c.Steps, c.Report = []byte(`[{"step":1}]`), []byte(`{"outcome":"found"}`)
		if i == 4 {
			c.OwnerID, c.Private = "alice", true
		}
		must(t, "CreateCapacitySearch", s.CreateCapacitySearch(ctx, c))
		all = append([]string{c.ID}, all...)
		if prof == "p1" {
			ofP1 = append([]string{c.ID}, ofP1...)
		}
	}
	ids := func(f store.CapacityFilter) []string {
		t.Helper()
		var out []string
		for range 10 {
			page, err := s.ListCapacitySearches(ctx, f)
			must(t, "ListCapacitySearches", err)
			for _, c := range page.Searches {
				if c.Steps != nil || c.Report != nil || len(c.Options) == 0 {
					t.Errorf("a listing has steps %q, report %q, options %q", c.Steps, c.Report, c.Options)
				}
				out = append(out, c.ID)
			}
			if page.Next == "" {
				return out
			}
			f.Cursor = page.Next
		}
		t.Fatal("more than 10 pages")
		return nil
	}
	for _, tt := range []struct {
		name string
		f    store.CapacityFilter
		want []string
	}{
		{"all", store.CapacityFilter{}, all},
		{"pages of 2", store.CapacityFilter{Limit: 2}, all},
		{"profile", store.CapacityFilter{ProfileID: "p1", Limit: 1}, ofP1},
		{"state", store.CapacityFilter{States: []string{store.CapacityQueued}}, all},
		{"other state", store.CapacityFilter{States: []string{store.CapacityRunning}}, nil},
		{"viewer", store.CapacityFilter{Viewer: &store.Viewer{UserID: "bob"}}, all[1:]},
		{"owner", store.CapacityFilter{Viewer: &store.Viewer{UserID: "alice"}}, all},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ids(tt.f); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	for name, f := range map[string]store.CapacityFilter{
		"cursor": {Cursor: "nonsense"},
		"limit":  {Limit: -1},
		"state":  {States: []string{"asleep"}},
	} {
		_, err := s.ListCapacitySearches(ctx, f)
		wantErr(t, "ListCapacitySearches with a bad "+name, err, store.ErrInvalid)
	}
	// A restricted viewer does not resolve others' private searches.
	vctx := store.WithViewer(ctx, &store.Viewer{UserID: "bob"})
	_, err = s.GetCapacitySearch(vctx, all[0])
	wantErr(t, "GetCapacitySearch of another's private search", err, store.ErrNotFound)
}

func (o opener) testReopenCapacity(t *testing.T) {
	s, ctx := o(t), t.Context()
	c := newCapacity("kept", "p1")
	c.Steps = []byte(`[{"step":1,"result_id":"r1"}]`)
	must(t, "CreateCapacitySearch", s.CreateCapacitySearch(ctx, c))
	must(t, "Close", s.Close())
	s = o.open(t)
	got, err := s.GetCapacitySearch(ctx, c.ID)
	must(t, "GetCapacitySearch after reopening", err)
	if string(got.Steps) != string(c.Steps) || got.RunID != c.RunID {
		t.Errorf("after reopening: %+v, steps %s", got, got.Steps)
	}
}

func (o opener) testScheduleCapacity(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	p := createProfile(t, s, "searched")
	sc := newSchedule(p, "@daily", epoch.Add(24*time.Hour))
	must(t, "CreateSchedule", s.CreateSchedule(ctx, sc))
	if got, err := s.ScheduleCapacity(ctx, sc.ID); err != nil || got != nil {
		t.Fatalf("a new schedule's capacity options: %q, %v; want none", got, err)
	}
	opts := []byte(`{"objective":"p99<=50ms","max_rps":2000}`)
	must(t, "SetScheduleCapacity", s.SetScheduleCapacity(ctx, sc.ID, opts))
	must(t, "SetScheduleCapacity again", s.SetScheduleCapacity(ctx, sc.ID, opts)) // replaces
	if got, err := s.ScheduleCapacity(ctx, sc.ID); err != nil || string(got) != string(opts) {
		t.Errorf("ScheduleCapacity = %q, %v; want %s", got, err, opts)
	}
	must(t, "SetScheduleCapacity nil", s.SetScheduleCapacity(ctx, sc.ID, nil))
	if got, err := s.ScheduleCapacity(ctx, sc.ID); err != nil || got != nil {
		t.Errorf("after clearing: %q, %v", got, err)
	}
	wantErr(t, "SetScheduleCapacity of an unknown schedule", s.SetScheduleCapacity(ctx, "0123456789abcdef0123", opts), store.ErrNotFound)
	wantErr(t, "SetScheduleCapacity too big", s.SetScheduleCapacity(ctx, sc.ID, make([]byte, store.MaxCapacityBody+1)), store.ErrInvalid)
	// Deleted with the schedule.
	must(t, "SetScheduleCapacity", s.SetScheduleCapacity(ctx, sc.ID, opts))
	must(t, "DeleteSchedule", s.DeleteSchedule(ctx, sc.ID))
	if got, err := s.ScheduleCapacity(ctx, sc.ID); err != nil || got != nil {
		t.Errorf("after deleting the schedule: %q, %v", got, err)
	}
}
