// Package storetest is the test suite every store.Store implementation
// runs, so that SQLite and PostgreSQL behave alike.
package storetest

import (
	"errors"
	"testing"

	"github.com/meshperf/meshperf/store"
)

// Run runs the suite. Every store is an authstore.Store too; the auth part
// of the suite, which drives the internal auth service, is
// internal/auth/authtest's Run, run beside this one. open must return a Store on an empty database the
// first time it is called with a given t, and a Store on that same database
// when called again with the same t: the suite closes stores and reopens
// them. The suite closes the stores it opens.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	o := opener(open)
	t.Run("profiles", func(t *testing.T) {
		t.Run("create and get", o.testCreateProfile)
		t.Run("conflict", o.testProfileConflict)
		t.Run("invalid", o.testProfileInvalid)
		t.Run("update keeps revisions", o.testUpdateProfile)
		t.Run("update by name, rename, stale revision", o.testUpdateProfileRef)
		t.Run("not found", o.testProfileNotFound)
		t.Run("list", o.testListProfiles)
		t.Run("pages", o.testProfilePages)
		t.Run("delete", o.testDeleteProfile)
	})
	t.Run("results", func(t *testing.T) {
		t.Run("round trip", o.testResultRoundTrip)
		t.Run("invalid", o.testResultInvalid)
		t.Run("failed write leaves nothing", o.testResultFailedWrite)
		t.Run("cancelled writes are all or nothing", o.testResultCancel)
		t.Run("conflict", o.testResultConflict)
		t.Run("filters", o.testListFilters)
		t.Run("pagination", o.testPagination)
		t.Run("limits and cursors", o.testListLimits)
		t.Run("id prefix", o.testIDPrefix)
		t.Run("delete", o.testDeleteResult)
		t.Run("concurrent saves", o.testConcurrentSave)
		t.Run("replace", o.testReplaceResult)
	})
	t.Run("runs", func(t *testing.T) {
		t.Run("create and get", o.testCreateRun)
		t.Run("invalid", o.testRunInvalid)
		t.Run("transitions", o.testRunTransitions)
		t.Run("concurrent updates", o.testRunRace)
		t.Run("list", o.testListRuns)
		t.Run("interrupt", o.testInterruptRuns)
		t.Run("interrupt orphans", o.testInterruptOrphanedRuns)
		t.Run("partial result", o.testSetRunResult)
		t.Run("id prefix", o.testRunIDPrefix)
		t.Run("reopen", o.testReopenRuns)
	})
	t.Run("schedules", func(t *testing.T) {
		t.Run("create and get", o.testCreateSchedule)
		t.Run("update", o.testUpdateSchedule)
		t.Run("list and delete", o.testListSchedules)
		t.Run("due", o.testDueSchedules)
		t.Run("deleted with the profile", o.testScheduleCascade)
		t.Run("missed runs", o.testMissedRuns)
		t.Run("reopen", o.testReopenSchedules)
	})
	t.Run("experiments", func(t *testing.T) {
		t.Run("create and get", o.testCreateExperiment)
		t.Run("update", o.testUpdateExperiment)
		t.Run("list", o.testListExperiments)
		t.Run("reopen", o.testReopenExperiments)
	})
	t.Run("conformance", func(t *testing.T) {
		t.Run("round trip", o.testConformanceRoundTrip)
		t.Run("list", o.testListConformance)
		t.Run("results by mesh", o.testResultsByMesh)
	})
	t.Run("visibility", func(t *testing.T) {
		t.Run("profiles", o.testVisibleProfiles)
		t.Run("results", o.testVisibleResults)
		t.Run("runs", o.testVisibleRuns)
		t.Run("schedules", o.testVisibleSchedules)
		t.Run("id prefixes", o.testVisiblePrefixes)
	})
	t.Run("designs", func(t *testing.T) { RunDesigns(t, open) })
	t.Run("capacity", func(t *testing.T) {
		t.Run("create and get", o.testCreateCapacity)
		t.Run("update", o.testUpdateCapacity)
		t.Run("list", o.testListCapacity)
		t.Run("reopen", o.testReopenCapacity)
		t.Run("schedules", o.testScheduleCapacity)
	})
	t.Run("reopen", o.testReopen)
}

type opener func(t *testing.T) store.Store

// open returns a store, closed when the test ends.
func (o opener) open(t *testing.T) store.Store {
	t.Helper()
	s := o(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// wantErr fails the test unless err is target (errors.Is).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Open returns the store open gives, closed when the test ends; Must and
// WantErr are the suite's checks. Suites run beside this one use them
// (internal/auth/authtest).
func Open(t *testing.T, open func(t *testing.T) store.Store) store.Store {
	t.Helper()
	return opener(open).open(t)
}

// Must fails the test if err is not nil.
func Must(t *testing.T, what string, err error) {
	t.Helper()
	must(t, what, err)
}

// WantErr fails the test unless err is target (errors.Is).
func WantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	wantErr(t, what, err, target)
}
