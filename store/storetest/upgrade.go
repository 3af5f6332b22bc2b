package storetest

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/meshperf/meshperf/store"
	"github.com/meshperf/meshperf/store/authstore"
)

// MigrationsUpTo returns the NNNN_name.sql migrations of fsys up to version
// (inclusive): the schema of an older meshperf, for a backend to open a
// database as that one left it.
func MigrationsUpTo(fsys fs.FS, version int) (fs.FS, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	out := fstest.MapFS{}
	for _, e := range entries {
		num, _, _ := strings.Cut(e.Name(), "_")
		if v, err := strconv.Atoi(num); e.IsDir() || path.Ext(e.Name()) != ".sql" || err != nil || v > version {
			continue
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		out[e.Name()] = &fstest.MapFile{Data: b, Mode: 0o444}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no migrations up to version %d", version)
	}
	return out, nil
}

// RunUpgrade tests the upgrade of a database that an older meshperf, with
// the schema before runs (migration 0001 only), created and filled. old
// opens a new database with that schema the first time it is called with
// a given t; open opens that same database, migrating it, as Run's open
// does.
func RunUpgrade(t *testing.T, old, open func(t *testing.T) store.Store) {
	ctx := t.Context()
	s := old(t)
	p := newProfile("before-runs", map[string]string{"k": "v"})
	must(t, "CreateProfile on the old schema", s.CreateProfile(ctx, p))
	es := saveMany(t, s, 7, 1)
	if err := s.CreateRun(ctx, newRun("too-early")); err == nil {
		t.Error("CreateRun on the schema before runs worked: old does not open the old schema")
	}
	must(t, "Close", s.Close())

	o := opener(open)
	for i := range 2 {
		s := o.open(t)
		got, err := s.GetProfile(ctx, p.Name)
		must(t, "GetProfile after the upgrade", err)
		sameProfile(t, "profile after the upgrade", got, p)
		page, err := s.ListResults(ctx, store.ResultFilter{})
		must(t, "ListResults after the upgrade", err)
		if w := want(es, store.ResultFilter{}); !slices.Equal(ids(page.Results), ids(w)) {
			t.Errorf("after the upgrade, results %v, want %v", ids(page.Results), ids(w))
		}
		r, err := s.GetResult(ctx, es[3].r.ID)
		must(t, "GetResult after the upgrade", err)
		if !reflect.DeepEqual(r.Result, es[3].r) {
			t.Error("result changed in the upgrade")
		}
		if i == 0 {
			n, err := s.InterruptRuns(ctx, "restart")
			if err != nil || n != 0 {
				t.Errorf("InterruptRuns right after the upgrade: %d, %v; want 0", n, err)
			}
			toState(t, s, "after-upgrade", store.RunSucceeded, true)
		}
		runs, err := s.ListRuns(ctx, store.RunFilter{})
		must(t, "ListRuns after the upgrade", err)
		if len(runs.Runs) != 1 || runs.Runs[0].State != store.RunSucceeded {
			t.Errorf("runs after the upgrade: %+v", runs.Runs)
		}
		must(t, "Close", s.Close())
	}
}

// RunUpgradeSchedules tests the upgrade of a database with the schema
// before auth and schedules (migrations 0001 and 0002), holding a run that
// exec inserts with SQL, as the older meshperf wrote it. old opens a new
// database with that schema the first time it is called with a given t;
// open opens that same database, migrating it, as Run's open does.
func RunUpgradeSchedules(t *testing.T, old, open func(t *testing.T) store.Store, exec func(t *testing.T, query string)) {
	ctx := t.Context()
	s := old(t)
	p := newProfile("before-schedules", nil)
	must(t, "CreateProfile on the old schema", s.CreateProfile(ctx, p))
	if err := s.CreateSchedule(ctx, newSchedule(p, "@daily", epoch)); err == nil {
		t.Error("CreateSchedule on the schema before schedules worked: old does not open the old schema")
	}
	must(t, "Close", s.Close())
	exec(t, `INSERT INTO runs (id, state, profile_id, profile_revision, name, labels, profile, result_id, error,
		created_ns, started_ns, finished_ns)
		VALUES ('old-run', 'succeeded', '`+p.ID+`', 1, 'old', '{"k":"v"}', '', 'result-1', '', 1000, 2000, 3000)`)

	o := opener(open)
	for i := range 2 {
		s := o.open(t)
		r, err := s.GetRun(ctx, "old-run")
		must(t, "GetRun after the upgrade", err)
		sameRun(t, "run after the upgrade", r, &store.Run{ID: "old-run", State: store.RunSucceeded, ProfileID: p.ID, ProfileRevision: 1,
			Name: "old", Labels: map[string]string{"k": "v"}, ResultID: "result-1",
			CreatedAt: time.Unix(0, 1000), StartedAt: time.Unix(0, 2000), FinishedAt: time.Unix(0, 3000)})
		if i == 0 {
			sc := newSchedule(p, "@daily", epoch)
			must(t, "CreateSchedule after the upgrade", s.CreateSchedule(ctx, sc))
			missed := &store.Run{State: store.RunMissed, ProfileID: p.ID, ProfileRevision: 1, ScheduleID: sc.ID, DueAt: epoch}
			must(t, "CreateRun missed after the upgrade", s.CreateRun(ctx, missed))
			as, ok := s.(authstore.Store)
			if !ok {
				t.Fatalf("%T is not an authstore.Store", s)
			}
			must(t, "CreateUser after the upgrade", as.CreateUser(ctx, &authstore.User{ID: "u1", Name: "alice", PasswordHash: []byte("x"), CreatedAt: epoch}))
		}
		page, err := s.ListRuns(ctx, store.RunFilter{})
		must(t, "ListRuns after the upgrade", err)
		if len(page.Runs) != 2 || page.Runs[0].State != store.RunMissed || page.Runs[1].ID != "old-run" {
			t.Errorf("runs after the upgrade: %+v", page.Runs)
		}
		due, err := s.DueSchedules(ctx, epoch)
		must(t, "DueSchedules after the upgrade", err)
		if len(due) != 1 {
			t.Errorf("due schedules after the upgrade: %v", scheduleIDs(due))
		}
		must(t, "Close", s.Close())
	}
}

// RunUpgradeAPITokens tests the upgrade of a database whose API tokens an
// older meshperf (schema version 5) let repeat their names: after it, the
// oldest unrevoked token of each name keeps it, the other unrevoked ones
// have their ID appended, revoked ones keep theirs, and the name is taken.
// exec inserts rows with SQL, as the older meshperf wrote them.
func RunUpgradeAPITokens(t *testing.T, old, open func(t *testing.T) store.Store, exec func(t *testing.T, query string)) {
	ctx := t.Context()
	must(t, "Close", old(t).Close())
	exec(t, `INSERT INTO users (id, name, admin, password_hash, created_ns) VALUES ('u1', 'alice', 0 = 1, '', 1)`)
	for _, row := range []string{
		`('t1', 'u1', 'ci', 'h1', 100, NULL, NULL)`,
		`('t2', 'u1', 'ci', 'h2', 200, NULL, NULL)`,
		`('t3', 'u1', 'ci', 'h3', 50, NULL, 60)`,
		`('t4', 'u1', 'nightly', 'h4', 300, NULL, NULL)`,
	} {
		exec(t, `INSERT INTO api_tokens (id, owner_id, name, hash, created_ns, last_used_ns, revoked_ns) VALUES `+row)
	}
	s := opener(open).open(t)
	as, ok := s.(authstore.Store)
	if !ok {
		t.Fatalf("%T is not an authstore.Store", s)
	}
	ts, err := as.ListAPITokens(ctx, "u1")
	must(t, "ListAPITokens after the upgrade", err)
	got := map[string]string{}
	for _, tok := range ts {
		got[tok.ID] = tok.Name
		if tok.ParentID != "" {
			t.Errorf("token %s has parent %q after the upgrade", tok.ID, tok.ParentID)
		}
	}
	want := map[string]string{"t1": "ci", "t2": "ci (t2)", "t3": "ci", "t4": "nightly"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("token names after the upgrade: %v, want %v", got, want)
	}
	err = as.SaveAPIToken(ctx, &authstore.APIToken{ID: "t5", OwnerID: "u1", Name: "ci", Hash: "h5", CreatedAt: epoch})
	if !errors.Is(err, authstore.ErrConflict) {
		t.Errorf("a new token named ci after the upgrade: %v, want a conflict", err)
	}
}
