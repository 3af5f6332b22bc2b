package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/meshperf/meshperf/store"
)

func newExperiment(name string, cells int) *store.Experiment {
	return &store.Experiment{Name: name, State: store.ExperimentRunning, Body: []byte(`{"name":"` + name + `"}`), Cells: cells}
}

func (o opener) testCreateExperiment(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	e := newExperiment("proxy-overhead", 12)
	must(t, "CreateExperiment", s.CreateExperiment(ctx, e))
	if len(e.ID) != 20 || e.CreatedAt.IsZero() || !e.UpdatedAt.Equal(e.CreatedAt) {
		t.Fatalf("CreateExperiment did not assign ID and times: %+v", e)
	}
	for _, ref := range []string{e.ID, e.ID[:8], "proxy-overhead"} {
		got, err := s.GetExperiment(ctx, ref)
		must(t, "GetExperiment "+ref, err)
		if !reflect.DeepEqual(got, e) {
			t.Errorf("GetExperiment(%q):\n got %+v\nwant %+v", ref, got, e)
		}
	}
	dup := *e
	wantErr(t, "CreateExperiment with a taken ID", s.CreateExperiment(ctx, &dup), store.ErrConflict)
	for name, bad := range map[string]*store.Experiment{
		"no name":  {State: store.ExperimentRunning},
		"state":    {Name: "x", State: "sleeping"},
		"negative": {Name: "x", State: store.ExperimentRunning, Cells: -1},
		"big body": {Name: "x", State: store.ExperimentRunning, Body: make([]byte, store.MaxExperimentBody+1)},
	} {
		wantErr(t, "CreateExperiment "+name, s.CreateExperiment(ctx, bad), store.ErrInvalid)
	}
	_, err := s.GetExperiment(ctx, "nothing-of-that-name")
	wantErr(t, "GetExperiment of an unknown name", err, store.ErrNotFound)
}

func (o opener) testUpdateExperiment(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	e := newExperiment("resume-me", 4)
	must(t, "CreateExperiment", s.CreateExperiment(ctx, e))
	time.Sleep(2 * time.Millisecond) // UpdatedAt must move
	e.Done, e.State, e.Error = 2, store.ExperimentInterrupted, "stopped by the user"
	must(t, "UpdateExperiment", s.UpdateExperiment(ctx, e))
	got, err := s.GetExperiment(ctx, e.ID)
	must(t, "GetExperiment", err)
	if got.Done != 2 || got.State != store.ExperimentInterrupted || got.Error != "stopped by the user" || got.Cells != 4 {
		t.Errorf("after UpdateExperiment: %+v", got)
	}
	if !got.UpdatedAt.After(got.CreatedAt) || !got.UpdatedAt.Equal(e.UpdatedAt) {
		t.Errorf("UpdatedAt %v, created %v, returned %v", got.UpdatedAt, got.CreatedAt, e.UpdatedAt)
	}
	if string(got.Body) != string(e.Body) {
		t.Errorf("the body changed: %q", got.Body)
	}
	wantErr(t, "UpdateExperiment of an unknown ID", s.UpdateExperiment(ctx, &store.Experiment{ID: "0123456789abcdef0123", State: store.ExperimentDone}), store.ErrNotFound)
	wantErr(t, "UpdateExperiment to an unknown state", s.UpdateExperiment(ctx, &store.Experiment{ID: e.ID, State: "nope"}), store.ErrInvalid)
}

func (o opener) testListExperiments(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	if es, err := s.ListExperiments(ctx); err != nil || len(es) != 0 {
		t.Fatalf("ListExperiments on an empty store = %v, %v", es, err)
	}
	base := time.Now().Add(-time.Hour)
	var want []string
	for i, name := range []string{"a", "b", "a"} {
		e := newExperiment(name, 2)
		e.CreatedAt = base.Add(time.Duration(i) * time.Minute)
		must(t, "CreateExperiment", s.CreateExperiment(ctx, e))
		want = append([]string{e.ID}, want...)
	}
	es, err := s.ListExperiments(ctx)
	must(t, "ListExperiments", err)
	var got []string
	for _, e := range es {
		got = append(got, e.ID)
		if e.Body != nil {
			t.Errorf("ListExperiments returned the body of %s", e.ID)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ListExperiments = %v, want newest first %v", got, want)
	}
	// A name finds the newest of that name.
	e, err := s.GetExperiment(ctx, "a")
	must(t, "GetExperiment by name", err)
	if e.ID != want[0] {
		t.Errorf("GetExperiment(a) = %s, want the newest %s", e.ID, want[0])
	}
	// Two IDs of the same millisecond share a 12-digit prefix.
	_, err = s.GetExperiment(ctx, want[1][:6])
	var amb *store.AmbiguousError
	if err == nil || (!errors.Is(err, store.ErrNotFound) && !errors.As(err, &amb)) {
		t.Errorf("GetExperiment of a short shared prefix = %v", err)
	}
}

func (o opener) testReopenExperiments(t *testing.T) {
	s, ctx := o(t), t.Context()
	e := newExperiment("kept", 3)
	must(t, "CreateExperiment", s.CreateExperiment(ctx, e))
	must(t, "Close", s.Close())
	s = o.open(t)
	got, err := s.GetExperiment(ctx, e.ID)
	must(t, "GetExperiment after reopening", err)
	if !reflect.DeepEqual(got, e) {
		t.Errorf("experiment changed across reopening:\n got %+v\nwant %+v", got, e)
	}
}
