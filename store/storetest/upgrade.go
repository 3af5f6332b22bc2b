package storetest

import (
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/meshperf/meshperf/store"
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
