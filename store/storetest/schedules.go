package storetest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/store"
)

// newSchedule returns an enabled schedule of profile p, next due at next.
func newSchedule(p *store.Profile, spec string, next time.Time) *store.Schedule {
	return &store.Schedule{ProfileID: p.ID, Spec: spec, Timezone: "Europe/Paris", Enabled: true, NextDueAt: next}
}

// createProfile creates a profile named name, failing the test otherwise.
func createProfile(t *testing.T, s store.Store, name string) *store.Profile {
	t.Helper()
	p := newProfile(name, nil)
	must(t, "CreateProfile", s.CreateProfile(t.Context(), p))
	return p
}

// sameSchedule fails the test unless got is want, times to the nanosecond.
func sameSchedule(t *testing.T, what string, got, want *store.Schedule) {
	t.Helper()
	g, w := *got, *want
	for _, tt := range []struct {
		name      string
		got, want time.Time
	}{{"created", g.CreatedAt, w.CreatedAt}, {"last due", g.LastDueAt, w.LastDueAt}, {"next due", g.NextDueAt, w.NextDueAt}} {
		if !tt.got.Equal(tt.want) {
			t.Errorf("%s: %s at %v, want %v", what, tt.name, tt.got, tt.want)
		}
	}
	g.CreatedAt, g.LastDueAt, g.NextDueAt = time.Time{}, time.Time{}, time.Time{}
	w.CreatedAt, w.LastDueAt, w.NextDueAt = time.Time{}, time.Time{}, time.Time{}
	if g != w {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func scheduleIDs(ss []*store.Schedule) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.ID
	}
	return out
}

func (o opener) testCreateSchedule(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	p := createProfile(t, s, "scheduled")
	before := time.Now()
	sc := newSchedule(p, "*/15 * * * *", epoch.Add(15*time.Minute))
	must(t, "CreateSchedule", s.CreateSchedule(ctx, sc))
	if len(sc.ID) != 20 {
		t.Errorf("CreateSchedule assigned ID %q", sc.ID)
	}
	between(t, "created", sc.CreatedAt, before, time.Now())
	got, err := s.GetSchedule(ctx, sc.ID)
	must(t, "GetSchedule", err)
	if !reflect.DeepEqual(got, sc) {
		t.Errorf("GetSchedule:\n got %+v\nwant %+v", got, sc)
	}

	// An ID and times given are kept; a disabled schedule without times.
	given := &store.Schedule{ID: "given-schedule", ProfileID: p.ID, Spec: "@daily", CreatedAt: epoch,
		LastDueAt: epoch.Add(time.Hour), LastRunID: "run-1", NextDueAt: epoch.Add(25 * time.Hour)}
	must(t, "CreateSchedule with an ID", s.CreateSchedule(ctx, given))
	got, err = s.GetSchedule(ctx, "given-schedule")
	must(t, "GetSchedule", err)
	sameSchedule(t, "given schedule", got, &store.Schedule{ID: "given-schedule", ProfileID: p.ID, Spec: "@daily", CreatedAt: epoch,
		LastDueAt: epoch.Add(time.Hour), LastRunID: "run-1", NextDueAt: epoch.Add(25 * time.Hour)})
	bare := &store.Schedule{ProfileID: p.ID, Spec: "not a cron spec: the server validates"}
	must(t, "CreateSchedule of a bare schedule", s.CreateSchedule(ctx, bare))
	got, err = s.GetSchedule(ctx, bare.ID)
	must(t, "GetSchedule", err)
	if !reflect.DeepEqual(got, bare) || got.Enabled || !got.NextDueAt.IsZero() || !got.LastDueAt.IsZero() {
		t.Errorf("bare schedule:\n got %+v\nwant %+v", got, bare)
	}

	dup := newSchedule(p, "@hourly", time.Time{})
	dup.ID = sc.ID
	wantErr(t, "CreateSchedule with a taken ID", s.CreateSchedule(ctx, dup), store.ErrConflict)
	got, err = s.GetSchedule(ctx, sc.ID)
	must(t, "GetSchedule", err)
	sameSchedule(t, "schedule after a conflicting create", got, sc)

	for name, tt := range map[string]struct {
		sc   *store.Schedule
		want error
	}{
		"unknown profile":         {newSchedule(&store.Profile{ID: "no-such-profile"}, "@daily", epoch), store.ErrNotFound},
		"no profile":              {newSchedule(&store.Profile{}, "@daily", epoch), store.ErrNotFound},
		"profile by name, not ID": {newSchedule(&store.Profile{ID: p.Name}, "@daily", epoch), store.ErrNotFound},
		"no spec":                 {newSchedule(p, "", epoch), store.ErrInvalid},
	} {
		wantErr(t, "CreateSchedule with "+name, s.CreateSchedule(ctx, tt.sc), tt.want)
		if tt.sc.ID != "" || !tt.sc.CreatedAt.IsZero() {
			t.Errorf("CreateSchedule with %s failed and set ID %q, created %v", name, tt.sc.ID, tt.sc.CreatedAt)
		}
	}
	wantErr(t, "CreateSchedule nil", s.CreateSchedule(ctx, nil), store.ErrInvalid)
	all, err := s.ListSchedules(ctx, store.ScheduleFilter{})
	must(t, "ListSchedules", err)
	if len(all) != 3 {
		t.Errorf("%d schedules stored, want 3: %v", len(all), scheduleIDs(all))
	}
	_, err = s.GetSchedule(ctx, "no-such-schedule")
	wantErr(t, "GetSchedule of an unknown ID", err, store.ErrNotFound)

	// JSON leaves out what is unset.
	b, err := json.Marshal(bare)
	must(t, "json.Marshal", err)
	for _, key := range []string{"last_due_at", "next_due_at", "last_run_id", "timezone"} {
		if strings.Contains(string(b), key) {
			t.Errorf("JSON of a bare schedule has %s: %s", key, b)
		}
	}
}

func (o opener) testUpdateSchedule(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	p := createProfile(t, s, "scheduled")
	sc := newSchedule(p, "*/15 * * * *", epoch.Add(15*time.Minute))
	must(t, "CreateSchedule", s.CreateSchedule(ctx, sc))

	// Every field but the profile and the creation time is written as given.
	upd := &store.Schedule{ID: sc.ID, ProfileID: "ignored", CreatedAt: epoch, Spec: "every 1h", Timezone: "",
		Enabled: false, LastDueAt: epoch.Add(15 * time.Minute), LastRunID: "run-1", NextDueAt: epoch.Add(time.Hour)}
	must(t, "UpdateSchedule", s.UpdateSchedule(ctx, upd))
	want := *sc
	want.Spec, want.Timezone, want.Enabled, want.LastDueAt, want.LastRunID, want.NextDueAt =
		"every 1h", "", false, epoch.Add(15*time.Minute), "run-1", epoch.Add(time.Hour)
	sameSchedule(t, "UpdateSchedule's schedule", upd, &want)
	got, err := s.GetSchedule(ctx, sc.ID)
	must(t, "GetSchedule", err)
	sameSchedule(t, "updated schedule", got, &want)

	// Zero times clear the stored ones.
	upd = got
	upd.NextDueAt, upd.LastDueAt, upd.LastRunID, upd.Enabled = time.Time{}, time.Time{}, "", true
	must(t, "UpdateSchedule", s.UpdateSchedule(ctx, upd))
	got, err = s.GetSchedule(ctx, sc.ID)
	must(t, "GetSchedule", err)
	if !got.NextDueAt.IsZero() || !got.LastDueAt.IsZero() || got.LastRunID != "" || !got.Enabled {
		t.Errorf("schedule after clearing: %+v", got)
	}

	wantErr(t, "UpdateSchedule nil", s.UpdateSchedule(ctx, nil), store.ErrInvalid)
	wantErr(t, "UpdateSchedule without ID", s.UpdateSchedule(ctx, &store.Schedule{Spec: "@daily"}), store.ErrInvalid)
	wantErr(t, "UpdateSchedule without spec", s.UpdateSchedule(ctx, &store.Schedule{ID: sc.ID}), store.ErrInvalid)
	wantErr(t, "UpdateSchedule of an unknown ID", s.UpdateSchedule(ctx, &store.Schedule{ID: "no-such-schedule", Spec: "@daily"}), store.ErrNotFound)
	again, err := s.GetSchedule(ctx, sc.ID)
	must(t, "GetSchedule", err)
	sameSchedule(t, "schedule after refused updates", again, got)
}

func (o opener) testListSchedules(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	ss, err := s.ListSchedules(ctx, store.ScheduleFilter{})
	if err != nil || ss == nil || len(ss) != 0 {
		t.Fatalf("ListSchedules of none: %v, %v; want an empty list", ss, err)
	}
	p1, p2 := createProfile(t, s, "one"), createProfile(t, s, "two")
	var all, ofP2 []*store.Schedule
	for i := range 9 {
		p := []*store.Profile{p1, p2}[i%2]
		sc := newSchedule(p, fmt.Sprintf("%d * * * *", i), time.Time{})
		sc.CreatedAt = epoch.Add(time.Duration(8-i/3) * time.Minute) // three at a time, newest first: the ID breaks ties
		must(t, "CreateSchedule", s.CreateSchedule(ctx, sc))
		all = append(all, sc)
		if p == p2 {
			ofP2 = append(ofP2, sc)
		}
	}
	order := func(ss []*store.Schedule) []string {
		ss = slices.Clone(ss)
		slices.SortFunc(ss, func(a, b *store.Schedule) int {
			if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		return scheduleIDs(ss)
	}
	for _, tt := range []struct {
		profile string
		want    []string
	}{{"", order(all)}, {p2.ID, order(ofP2)}, {"no-such-profile", []string{}}, {p1.Name, []string{}}} {
		got, err := s.ListSchedules(ctx, store.ScheduleFilter{ProfileID: tt.profile})
		must(t, "ListSchedules", err)
		if !slices.Equal(scheduleIDs(got), tt.want) {
			t.Errorf("ListSchedules(%q) = %v, want %v", tt.profile, scheduleIDs(got), tt.want)
		}
	}

	must(t, "DeleteSchedule", s.DeleteSchedule(ctx, all[4].ID))
	_, err = s.GetSchedule(ctx, all[4].ID)
	wantErr(t, "GetSchedule of a deleted schedule", err, store.ErrNotFound)
	wantErr(t, "DeleteSchedule again", s.DeleteSchedule(ctx, all[4].ID), store.ErrNotFound)
	wantErr(t, "UpdateSchedule of a deleted schedule", s.UpdateSchedule(ctx, all[4]), store.ErrNotFound)
	got, err := s.ListSchedules(ctx, store.ScheduleFilter{})
	must(t, "ListSchedules", err)
	if w := order(slices.Delete(slices.Clone(all), 4, 5)); !slices.Equal(scheduleIDs(got), w) {
		t.Errorf("ListSchedules after a delete = %v, want %v", scheduleIDs(got), w)
	}
}

func (o opener) testDueSchedules(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	p := createProfile(t, s, "due")
	now := epoch.Add(24 * time.Hour)
	mk := func(id string, enabled bool, next time.Time) *store.Schedule {
		sc := newSchedule(p, "@hourly", next)
		sc.ID, sc.Enabled = id, enabled
		must(t, "CreateSchedule", s.CreateSchedule(ctx, sc))
		return sc
	}
	mk("a-late", true, now.Add(-time.Hour))
	b := mk("b-now", true, now)
	mk("c-soon", true, now.Add(time.Nanosecond))
	mk("d-disabled", false, now.Add(-2*time.Hour))
	mk("e-no-next", true, time.Time{})
	f := mk("f-late-too", true, now.Add(-time.Hour))
	mk("g-earliest", true, now.Add(-48*time.Hour))
	for _, tt := range []struct {
		at   time.Time
		want []string
	}{
		{now, []string{"g-earliest", "a-late", "f-late-too", "b-now"}},
		{now.Add(-time.Hour), []string{"g-earliest", "a-late", "f-late-too"}},
		{now.Add(time.Nanosecond), []string{"g-earliest", "a-late", "f-late-too", "b-now", "c-soon"}},
		{now.Add(-49 * time.Hour), []string{}},
	} {
		got, err := s.DueSchedules(ctx, tt.at)
		must(t, "DueSchedules", err)
		if !slices.Equal(scheduleIDs(got), tt.want) {
			t.Errorf("DueSchedules(%v) = %v, want %v", tt.at, scheduleIDs(got), tt.want)
		}
	}
	// Handling a schedule moves it on; disabling it stops it.
	f.LastDueAt, f.LastRunID, f.NextDueAt = f.NextDueAt, "run-f", now.Add(time.Hour)
	must(t, "UpdateSchedule", s.UpdateSchedule(ctx, f))
	b.Enabled = false
	must(t, "UpdateSchedule", s.UpdateSchedule(ctx, b))
	got, err := s.DueSchedules(ctx, now)
	must(t, "DueSchedules", err)
	if w := []string{"g-earliest", "a-late"}; !slices.Equal(scheduleIDs(got), w) {
		t.Errorf("DueSchedules after updates = %v, want %v", scheduleIDs(got), w)
	}
	if len(got) > 0 && (got[0].Spec != "@hourly" || got[0].ProfileID != p.ID || got[0].Timezone != "Europe/Paris") {
		t.Errorf("due schedule: %+v", got[0])
	}
}

func (o opener) testScheduleCascade(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	gone, kept := createProfile(t, s, "gone"), createProfile(t, s, "kept")
	var goneIDs []string
	for range 3 {
		sc := newSchedule(gone, "@daily", epoch)
		must(t, "CreateSchedule", s.CreateSchedule(ctx, sc))
		goneIDs = append(goneIDs, sc.ID)
	}
	k := newSchedule(kept, "@daily", epoch)
	must(t, "CreateSchedule", s.CreateSchedule(ctx, k))
	run := &store.Run{State: store.RunMissed, ProfileID: gone.ID, ProfileRevision: 1, ScheduleID: goneIDs[0], DueAt: epoch}
	must(t, "CreateRun", s.CreateRun(ctx, run))

	must(t, "DeleteProfile", s.DeleteProfile(ctx, gone.Name))
	for _, id := range goneIDs {
		_, err := s.GetSchedule(ctx, id)
		wantErr(t, "GetSchedule of a deleted profile's schedule", err, store.ErrNotFound)
	}
	all, err := s.ListSchedules(ctx, store.ScheduleFilter{})
	must(t, "ListSchedules", err)
	if !slices.Equal(scheduleIDs(all), []string{k.ID}) {
		t.Errorf("schedules after deleting a profile: %v, want only %s", scheduleIDs(all), k.ID)
	}
	due, err := s.DueSchedules(ctx, epoch)
	must(t, "DueSchedules", err)
	if !slices.Equal(scheduleIDs(due), []string{k.ID}) {
		t.Errorf("due schedules after deleting a profile: %v, want only %s", scheduleIDs(due), k.ID)
	}
	got, err := s.GetRun(ctx, run.ID)
	must(t, "GetRun of a deleted schedule's run", err)
	sameRun(t, "run of a deleted schedule", got, run)

	// A new profile of the same name starts without schedules.
	again := createProfile(t, s, "gone")
	ss, err := s.ListSchedules(ctx, store.ScheduleFilter{ProfileID: again.ID})
	if err != nil || len(ss) != 0 {
		t.Errorf("schedules of a new profile: %v, %v", scheduleIDs(ss), err)
	}
}

func (o opener) testMissedRuns(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	p := createProfile(t, s, "missed")
	sc := newSchedule(p, "*/5 * * * *", epoch)
	must(t, "CreateSchedule", s.CreateSchedule(ctx, sc))

	// A missed run is created in its final state, finished now unless told.
	var missed []*store.Run
	for i := range 3 {
		r := &store.Run{State: store.RunMissed, ProfileID: p.ID, ProfileRevision: 1, Name: "missed",
			ScheduleID: sc.ID, DueAt: epoch.Add(time.Duration(i*5) * time.Minute), Error: "the server was down",
			CreatedAt: epoch.Add(time.Hour + time.Duration(i)*time.Second)}
		if i == 2 {
			r.FinishedAt = epoch.Add(time.Hour)
		}
		before := time.Now()
		must(t, "CreateRun missed", s.CreateRun(ctx, r))
		if i < 2 {
			between(t, "missed run finished", r.FinishedAt, before, time.Now())
		} else if !r.FinishedAt.Equal(epoch.Add(time.Hour)) {
			t.Errorf("missed run finished at %v, want the given %v", r.FinishedAt, epoch.Add(time.Hour))
		}
		if !r.StartedAt.IsZero() || r.State != store.RunMissed {
			t.Errorf("missed run: %+v", r)
		}
		got, err := s.GetRun(ctx, r.ID)
		must(t, "GetRun", err)
		sameRun(t, "GetRun of a missed run", got, r)
		missed = append(missed, r)
	}
	// A scheduled run that does run, and one started by hand.
	queued := newRun("scheduled")
	queued.ScheduleID, queued.DueAt, queued.CreatedAt = sc.ID, epoch.Add(15*time.Minute), epoch.Add(2*time.Hour)
	must(t, "CreateRun", s.CreateRun(ctx, queued))
	manual := newRun("manual")
	manual.CreatedAt = epoch.Add(3 * time.Hour)
	must(t, "CreateRun", s.CreateRun(ctx, manual))
	got, err := s.GetRun(ctx, manual.ID)
	must(t, "GetRun", err)
	if got.ScheduleID != "" || !got.DueAt.IsZero() {
		t.Errorf("run started by hand has schedule %q due %v", got.ScheduleID, got.DueAt)
	}

	page, err := s.ListRuns(ctx, store.RunFilter{States: []string{store.RunMissed}})
	must(t, "ListRuns of missed runs", err)
	if len(page.Runs) != 3 {
		t.Fatalf("ListRuns of missed runs gave %v", runIDs(page.Runs))
	}
	for i, r := range page.Runs {
		w := *missed[2-i] // newest first
		w.Profile = nil
		sameRun(t, fmt.Sprintf("missed run %d", i), &r, &w)
	}
	page, err = s.ListRuns(ctx, store.RunFilter{})
	must(t, "ListRuns", err)
	if ids := runIDs(page.Runs); !slices.Equal(ids, []string{manual.ID, queued.ID, missed[2].ID, missed[1].ID, missed[0].ID}) {
		t.Errorf("ListRuns = %v", ids)
	}
	if r := page.Runs[1]; r.ScheduleID != sc.ID || !r.DueAt.Equal(queued.DueAt) {
		t.Errorf("listed scheduled run has schedule %q due %v, want %q due %v", r.ScheduleID, r.DueAt, sc.ID, queued.DueAt)
	}

	// A scheduled run keeps its schedule and due time through its states.
	must(t, "UpdateRun to running", s.UpdateRun(ctx, &store.Run{ID: queued.ID, State: store.RunRunning}))
	must(t, "UpdateRun to succeeded", s.UpdateRun(ctx, &store.Run{ID: queued.ID, State: store.RunSucceeded, ResultID: "r"}))
	got, err = s.GetRun(ctx, queued.ID)
	must(t, "GetRun", err)
	if got.ScheduleID != sc.ID || !got.DueAt.Equal(queued.DueAt) {
		t.Errorf("finished scheduled run has schedule %q due %v", got.ScheduleID, got.DueAt)
	}

	// Missed is final: nothing leaves it, nothing leads to it, and
	// InterruptRuns leaves it alone.
	for _, st := range store.RunStates {
		wantErr(t, "UpdateRun of a missed run to "+st, s.UpdateRun(ctx, &store.Run{ID: missed[0].ID, State: st}), store.ErrConflict)
	}
	wantErr(t, "UpdateRun of a queued run to missed", s.UpdateRun(ctx, &store.Run{ID: manual.ID, State: store.RunMissed}), store.ErrInvalid)
	n, err := s.InterruptRuns(ctx, "restart")
	if err != nil || n != 1 {
		t.Errorf("InterruptRuns: %d, %v; want 1 (the queued run)", n, err)
	}
	got, err = s.GetRun(ctx, missed[0].ID)
	must(t, "GetRun", err)
	sameRun(t, "missed run after refused updates", got, missed[0])

	// Runs outlive their schedule.
	must(t, "DeleteSchedule", s.DeleteSchedule(ctx, sc.ID))
	got, err = s.GetRun(ctx, missed[1].ID)
	must(t, "GetRun", err)
	sameRun(t, "missed run of a deleted schedule", got, missed[1])

	b, err := json.Marshal(got)
	must(t, "json.Marshal", err)
	if !strings.Contains(string(b), `"schedule_id":"`+sc.ID+`"`) || !strings.Contains(string(b), `"due_at":"`) || !strings.Contains(string(b), `"state":"missed"`) {
		t.Errorf("JSON of a missed run: %s", b)
	}
}

// Schedules survive a restart.
func (o opener) testReopenSchedules(t *testing.T) {
	s, ctx := o(t), t.Context()
	p := createProfile(t, s, "kept")
	var ss []*store.Schedule
	for i, spec := range []string{"@daily", "every 15m", "0 9 * * mon-fri"} {
		sc := newSchedule(p, spec, epoch.Add(time.Duration(i)*time.Hour))
		sc.Enabled, sc.CreatedAt = i != 1, epoch.Add(time.Duration(i)*time.Minute)
		if i == 2 {
			sc.LastDueAt, sc.LastRunID = epoch, "run-2"
		}
		must(t, "CreateSchedule", s.CreateSchedule(ctx, sc))
		ss = append(ss, sc)
	}
	must(t, "Close", s.Close())
	for range 2 {
		s := o.open(t)
		got, err := s.ListSchedules(ctx, store.ScheduleFilter{ProfileID: p.ID})
		must(t, "ListSchedules after reopening", err)
		if !reflect.DeepEqual(got, ss) {
			t.Errorf("schedules changed across reopening:\n got %+v\nwant %+v", got, ss)
		}
		must(t, "Close", s.Close())
	}
}
