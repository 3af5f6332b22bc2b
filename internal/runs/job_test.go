package runs_test

import (
	"context"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/runs"
	"github.com/meshperf/meshperf/store"
)

// TestJob: a job's run goes queued, running, then the state it returns;
// its steps are events of the run's stream, in order; a job cancelled
// running ends cancelled through JobOutcome.
func TestJob(t *testing.T) {
	svc, st, _ := newService(t)
	stepsDone := make(chan struct{})
	run := &store.Run{State: store.RunQueued, Name: "job", Profile: []byte(`{}`)}
	err := svc.SubmitJob(t.Context(), run, func(ctx context.Context, r *store.Run, step func(any)) (string, string) {
		if r.ID != run.ID || r.State != store.RunRunning {
			return store.RunFailed, "the job got run " + r.ID + " in state " + r.State
		}
		for i := 1; i <= 3; i++ {
			step(i)
		}
		close(stepsDone)
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Second):
			return store.RunFailed, "never cancelled"
		}
		return runs.JobOutcome(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-stepsDone:
	case <-time.After(20 * time.Second):
		t.Fatal("the job did not run")
	}
	svc.CancelRunning(run.ID)
	past, next, unsubscribe, live := svc.Subscribe(run.ID)
	defer unsubscribe()
	if !live {
		t.Fatal("the job's run is not live")
	}
	events := past
	timeout := time.After(20 * time.Second)
	for next != nil {
		select {
		case e, ok := <-next:
			if !ok {
				next = nil
				break
			}
			events = append(events, e)
		case <-timeout:
			t.Fatal("the job's stream did not end")
		}
	}
	var states []string
	var steps []int
	for _, e := range events {
		if e.Run != nil {
			states = append(states, e.Run.State)
		}
		if n, ok := e.Step.(int); ok {
			steps = append(steps, n)
		}
	}
	if want := []string{store.RunQueued, store.RunRunning, store.RunCancelled}; len(states) != 3 || states[0] != want[0] || states[1] != want[1] || states[2] != want[2] {
		t.Errorf("states %v, want %v", states, want)
	}
	if len(steps) != 3 || steps[0] != 1 || steps[2] != 3 {
		t.Errorf("steps %v, want [1 2 3]", steps)
	}
	got, err := st.GetRun(t.Context(), run.ID)
	if err != nil || got.State != store.RunCancelled || got.Error == "" {
		t.Fatalf("stored run %+v (%v): want cancelled with why", got, err)
	}
	if err := svc.SubmitJob(t.Context(), &store.Run{State: store.RunQueued}, nil); err == nil {
		t.Error("a nil job was taken")
	}
}
