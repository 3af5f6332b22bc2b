package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/meshperf/meshperf/store"
)

// owned is who owns a test object and whether it is private.
type owned struct {
	owner   string
	private bool
}

// owners are the objects each visibility test makes: alice's public and
// private ones, bob's private one, and a public and a private one without
// an owner (single-user mode, the CLI).
var owners = []owned{{"alice", false}, {"alice", true}, {"bob", true}, {"", false}, {"", true}}

// viewers and the indexes in owners of what each may list.
var viewers = []struct {
	name string
	v    *store.Viewer
	sees []int
}{
	{"nobody (single-user mode)", nil, []int{0, 1, 2, 3, 4}},
	{"an admin", &store.Viewer{UserID: "root", Admin: true}, []int{0, 1, 2, 3, 4}},
	{"alice", &store.Viewer{UserID: "alice"}, []int{0, 1, 3}},
	{"bob", &store.Viewer{UserID: "bob"}, []int{0, 2, 3}},
	{"carol, who owns nothing", &store.Viewer{UserID: "carol"}, []int{0, 3}},
	{"a viewer without a user ID", &store.Viewer{}, []int{0, 3}},
}

// checkVisible fails the test unless, for each viewer, list returns the
// IDs (of objects made in owners' order) the viewer may see, in the order
// order gives, and CanSee agrees.
func checkVisible(t *testing.T, made []string, order func([]string) []string, list func(v *store.Viewer) ([]string, error)) {
	t.Helper()
	for _, vt := range viewers {
		var want []string
		for i, o := range owners {
			if slices.Contains(vt.sees, i) != vt.v.CanSee(o.owner, o.private) {
				t.Errorf("%s: CanSee(%q, %v) = %v", vt.name, o.owner, o.private, !slices.Contains(vt.sees, i))
			}
			if slices.Contains(vt.sees, i) {
				want = append(want, made[i])
			}
		}
		got, err := list(vt.v)
		must(t, vt.name+": list", err)
		if want = order(want); !slices.Equal(got, want) {
			t.Errorf("%s lists %v, want %v", vt.name, got, want)
		}
	}
}

func reversed(ids []string) []string {
	out := slices.Clone(ids)
	slices.Reverse(out)
	return out
}

func (o opener) testVisibleProfiles(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	var made []string
	for i, ow := range owners {
		p := newProfile(fmt.Sprintf("vis-%d", i), map[string]string{"k": "v"})
		p.OwnerID, p.Private = ow.owner, ow.private
		must(t, "CreateProfile", s.CreateProfile(ctx, p))
		got, err := s.GetProfile(ctx, p.ID)
		must(t, "GetProfile", err)
		sameProfile(t, "profile with an owner", got, p)
		made = append(made, p.Name)
	}
	// A new revision keeps the owner and the flag, whatever it says.
	up := newProfile("vis-1", map[string]string{"k": "v"})
	must(t, "UpdateProfile", s.UpdateProfile(ctx, up))
	if up.OwnerID != "alice" || !up.Private || up.Revision != 2 {
		t.Errorf("UpdateProfile of a private profile: owner %q, private %v, revision %d", up.OwnerID, up.Private, up.Revision)
	}
	revs, err := s.ProfileRevisions(ctx, "vis-1")
	must(t, "ProfileRevisions", err)
	for _, r := range revs {
		if r.OwnerID != "alice" || !r.Private {
			t.Errorf("revision %d: owner %q, private %v", r.Revision, r.OwnerID, r.Private)
		}
	}
	for _, f := range []store.ProfileFilter{{}, {Name: "VIS"}, {Labels: map[string]string{"k": "v"}}} {
		checkVisible(t, made, func(ids []string) []string { return ids }, func(v *store.Viewer) ([]string, error) {
			f.Viewer = v
			ps, err := s.ListProfiles(ctx, f)
			var names []string
			for _, p := range ps {
				names = append(names, p.Name)
			}
			return names, err
		})
	}
}

func (o opener) testVisibleResults(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	var made []string
	for i, ow := range owners {
		r := sample(i, map[string]string{"k": "v"})
		ref := store.ResultRef{OwnerID: ow.owner, Private: ow.private}
		id, err := s.SaveResult(ctx, r, ref)
		must(t, "SaveResult", err)
		got, err := s.GetResult(ctx, id)
		must(t, "GetResult", err)
		sameSummary(t, "result with an owner", got.Summary, wantSummary(r, ref))
		made = append(made, id)
	}
	// Newest first; a page at a time, the private ones of others left out
	// of every page.
	for _, limit := range []int{0, 1, 2} {
		checkVisible(t, made, reversed, func(v *store.Viewer) ([]string, error) {
			var out []string
			f := store.ResultFilter{Viewer: v, Limit: limit, Labels: map[string]string{"k": "v"}}
			for {
				page, err := s.ListResults(ctx, f)
				if err != nil {
					return nil, err
				}
				out = append(out, ids(page.Results)...)
				if page.Next == "" {
					return out, nil
				}
				f.Cursor = page.Next
			}
		})
	}
}

func (o opener) testVisibleRuns(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	var made []string
	for i, ow := range owners {
		r := newRun(fmt.Sprintf("vis-%d", i))
		r.CreatedAt = epoch.Add(time.Duration(i) * time.Minute)
		r.OwnerID, r.Private = ow.owner, ow.private
		must(t, "CreateRun", s.CreateRun(ctx, r))
		// Moving the run keeps whose it is.
		r.State = store.RunRunning
		must(t, "UpdateRun", s.UpdateRun(ctx, r))
		got, err := s.GetRun(ctx, r.ID)
		must(t, "GetRun", err)
		if got.OwnerID != ow.owner || got.Private != ow.private || got.State != store.RunRunning {
			t.Errorf("run %d: owner %q, private %v, state %s; want %q, %v, running", i, got.OwnerID, got.Private, got.State, ow.owner, ow.private)
		}
		made = append(made, r.ID)
	}
	for _, limit := range []int{0, 1, 2} {
		checkVisible(t, made, reversed, func(v *store.Viewer) ([]string, error) {
			var out []string
			f := store.RunFilter{Viewer: v, Limit: limit, States: []string{store.RunRunning}}
			for {
				page, err := s.ListRuns(ctx, f)
				if err != nil {
					return nil, err
				}
				for _, r := range page.Runs {
					if r.OwnerID != owners[slices.Index(made, r.ID)].owner {
						t.Errorf("listed run %s has owner %q", r.ID, r.OwnerID)
					}
				}
				out = append(out, runIDs(page.Runs)...)
				if page.Next == "" {
					return out, nil
				}
				f.Cursor = page.Next
			}
		})
	}
}

func (o opener) testVisibleSchedules(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	p := createProfile(t, s, "vis-scheduled")
	other := createProfile(t, s, "vis-other")
	must(t, "CreateSchedule", s.CreateSchedule(ctx, newSchedule(other, "@daily", epoch)))
	var made []string
	for i, ow := range owners {
		sc := newSchedule(p, "@hourly", epoch)
		sc.CreatedAt = epoch.Add(time.Duration(i) * time.Minute)
		sc.OwnerID, sc.Private = ow.owner, ow.private
		must(t, "CreateSchedule", s.CreateSchedule(ctx, sc))
		// An update keeps whose it is.
		sc.Enabled = false
		must(t, "UpdateSchedule", s.UpdateSchedule(ctx, sc))
		got, err := s.GetSchedule(ctx, sc.ID)
		must(t, "GetSchedule", err)
		sameSchedule(t, "schedule with an owner", got, sc)
		if got.OwnerID != ow.owner || got.Private != ow.private {
			t.Errorf("schedule %d: owner %q, private %v", i, got.OwnerID, got.Private)
		}
		made = append(made, sc.ID)
	}
	checkVisible(t, made, func(ids []string) []string { return ids }, func(v *store.Viewer) ([]string, error) {
		ss, err := s.ListSchedules(ctx, store.ScheduleFilter{ProfileID: p.ID, Viewer: v})
		return scheduleIDs(ss), err
	})
	// Without a profile, the other profile's public schedule is listed too.
	all, err := s.ListSchedules(ctx, store.ScheduleFilter{Viewer: &store.Viewer{UserID: "carol"}})
	must(t, "ListSchedules", err)
	if got := scheduleIDs(all); len(got) != 3 || !slices.Contains(got, made[0]) || !slices.Contains(got, made[3]) {
		t.Errorf("carol lists %v", got)
	}
}

// An ID prefix (or a full ID) looked up with a restricted viewer in the
// context resolves only among what that viewer may see: an ambiguity never
// names, and a 404 never differs because of, others' private objects.
func (o opener) testVisiblePrefixes(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	// alice's public result and run share their prefix with bob's private
	// ones; bob's second private one has a prefix of its own.
	const shared, bobOnly = "ab12cd34", "ee99ff00"
	mk := []struct {
		id string
		ow owned
	}{
		{shared + "0001", owned{"alice", false}},
		{shared + "0002", owned{"bob", true}},
		{bobOnly + "0003", owned{"bob", true}},
	}
	for i, m := range mk {
		r := sample(i, nil)
		r.ID = m.id
		_, err := s.SaveResult(ctx, r, store.ResultRef{OwnerID: m.ow.owner, Private: m.ow.private})
		must(t, "SaveResult", err)
		run := newRun(fmt.Sprintf("prefix-%d", i))
		run.ID, run.OwnerID, run.Private = m.id, m.ow.owner, m.ow.private
		must(t, "CreateRun", s.CreateRun(ctx, run))
	}
	getters := map[string]func(ctx context.Context, ref string) (string, error){
		"GetResult": func(ctx context.Context, ref string) (string, error) {
			r, err := s.GetResult(ctx, ref)
			if err != nil {
				return "", err
			}
			return r.Summary.ID, nil
		},
		"GetRun": func(ctx context.Context, ref string) (string, error) {
			r, err := s.GetRun(ctx, ref)
			if err != nil {
				return "", err
			}
			return r.ID, nil
		},
	}
	carol := store.WithViewer(ctx, &store.Viewer{UserID: "carol"})
	bob := store.WithViewer(ctx, &store.Viewer{UserID: "bob"})
	admin := store.WithViewer(ctx, &store.Viewer{UserID: "root", Admin: true})
	for name, get := range getters {
		// carol sees alice's public object only: the shared prefix is hers
		// alone, bob's IDs are not found, by prefix or in full.
		got, err := get(carol, shared)
		if err != nil || got != mk[0].id {
			t.Errorf("%s(%q) for carol = %q, %v; want %s", name, shared, got, err, mk[0].id)
		}
		for _, ref := range []string{bobOnly, mk[1].id, mk[2].id} {
			_, err := get(carol, ref)
			wantErr(t, name+"("+ref+") for carol", err, store.ErrNotFound)
			var amb *store.AmbiguousError
			if errors.As(err, &amb) {
				t.Errorf("%s(%q) for carol: ambiguous %v", name, ref, amb.IDs)
			}
		}
		// bob, the admin and a context without a viewer see both: ambiguous.
		for who, c := range map[string]context.Context{"bob": bob, "the admin": admin, "no viewer": ctx} {
			_, err := get(c, shared)
			var amb *store.AmbiguousError
			if !errors.As(err, &amb) || len(amb.IDs) != 2 {
				t.Errorf("%s(%q) for %s: %v, want ambiguous between 2", name, shared, who, err)
			}
			if got, err := get(c, bobOnly); err != nil || got != mk[2].id {
				t.Errorf("%s(%q) for %s = %q, %v", name, bobOnly, who, got, err)
			}
		}
	}
	// Deleting by prefix resolves the same way: carol's prefix names
	// alice's result, never bob's.
	err := s.DeleteResult(carol, bobOnly)
	wantErr(t, "DeleteResult of bob's private prefix for carol", err, store.ErrNotFound)
	if _, err := s.GetResult(ctx, mk[2].id); err != nil {
		t.Errorf("bob's result after carol's delete: %v", err)
	}
}
