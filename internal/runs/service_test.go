package runs_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/runs"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
	"github.com/meshperf/meshperf/store/sqlite"
)

// admitAll admits any valid profile, with the default limits.
type admitAll struct{}

func (admitAll) Admit(_ context.Context, prof *spec.Profile) ([]*loadgen.Plan, error) {
	return loadgen.PlansWithin(prof, loadgen.DefaultLimits)
}

func (admitAll) AdmitStored(ctx context.Context, body []byte) error {
	prof, _, err := spec.ParseProfile(body)
	if err != nil {
		return err
	}
	_, err = admitAll{}.Admit(ctx, prof)
	return err
}

func newService(t *testing.T) (*runs.Service, store.Store, *[]string) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var states []string
	svc := runs.New(runs.Options{Store: st, Version: "test", Admission: admitAll{},
		StateChanged: func(_, to string) { states = append(states, to) }})
	t.Cleanup(func() { svc.Shutdown(time.Second) })
	return svc, st, &states
}

func profileJSON(t *testing.T, url, duration string) []byte {
	t.Helper()
	p := &spec.Profile{Name: "svc", Duration: duration, Clients: []spec.Client{{RPS: 50, Connections: 2, EndpointURLs: []string{url}}}}
	b, err := p.JSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// follow collects a run's events until its stream ends.
func follow(t *testing.T, svc *runs.Service, id string) (states []string, progress int) {
	t.Helper()
	past, next, unsubscribe, live := svc.Subscribe(id)
	defer unsubscribe()
	if !live {
		t.Fatalf("run %s: not live", id)
	}
	add := func(e runs.Event) {
		if e.Run != nil {
			states = append(states, e.Run.State)
		}
		if e.Progress != nil {
			progress++
		}
	}
	for _, e := range past {
		add(e)
	}
	timeout := time.After(30 * time.Second)
	for next != nil {
		select {
		case e, ok := <-next:
			if !ok {
				return states, progress
			}
			add(e)
		case <-timeout:
			t.Fatalf("run %s: no end after 30s (states %v)", id, states)
		}
	}
	return states, progress
}

func TestServiceRunsAQueuedRun(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer target.Close()
	svc, st, changes := newService(t)
	run := &store.Run{State: store.RunQueued, Name: "svc", Labels: map[string]string{"env": "ci"},
		Profile: profileJSON(t, target.URL, "1s"), InstanceID: svc.Instance()}
	if err := svc.Submit(t.Context(), run); err != nil {
		t.Fatal(err)
	}
	states, progress := follow(t, svc, run.ID)
	if fmt.Sprint(states) != fmt.Sprint([]string{store.RunQueued, store.RunRunning, store.RunSucceeded}) || progress == 0 {
		t.Fatalf("states %v, %d progress events; want queued, running, succeeded, and progress", states, progress)
	}
	got, err := st.GetRun(t.Context(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != store.RunSucceeded || got.ResultID == "" {
		t.Fatalf("stored run %s, result %q", got.State, got.ResultID)
	}
	stored, err := st.GetResult(t.Context(), got.ResultID)
	if err != nil {
		t.Fatal(err)
	}
	res := stored.Result
	if res.Name != "svc" || res.Labels["env"] != "ci" || res.Achieved.Responses == 0 || res.Interrupted {
		t.Errorf("result %q %v, %d responses, interrupted %v", res.Name, res.Labels, res.Achieved.Responses, res.Interrupted)
	}
	if want := fmt.Sprint([]string{store.RunQueued, store.RunRunning, store.RunSucceeded}); fmt.Sprint(*changes) != want {
		t.Errorf("state changes %v, want %s", *changes, want)
	}
}

func TestServiceCancelsARunningRun(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer target.Close()
	svc, st, _ := newService(t)
	run := &store.Run{State: store.RunQueued, Name: "svc", Profile: profileJSON(t, target.URL, "60s"), InstanceID: svc.Instance()}
	if err := svc.Submit(t.Context(), run); err != nil {
		t.Fatal(err)
	}
	_, next, unsubscribe, _ := svc.Subscribe(run.ID)
	defer unsubscribe()
	for e := range next { // the first second measured: it runs
		if e.Progress != nil {
			break
		}
	}
	svc.CancelRunning(run.ID)
	states, _ := follow(t, svc, run.ID)
	if states[len(states)-1] != store.RunCancelled {
		t.Fatalf("states %v, want cancelled last", states)
	}
	got, err := st.GetRun(t.Context(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != store.RunCancelled || got.ResultID == "" {
		t.Errorf("stored run %s (%s), result %q; want cancelled with what was measured", got.State, got.Error, got.ResultID)
	}
}

func TestServiceRefusedRunFails(t *testing.T) {
	svc, st, _ := newService(t)
	run := &store.Run{State: store.RunQueued, Profile: []byte(`{"name": "x", "clients": []}`), InstanceID: svc.Instance()}
	if err := svc.Submit(t.Context(), run); err != nil {
		t.Fatal(err)
	}
	follow(t, svc, run.ID)
	got, err := st.GetRun(t.Context(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != store.RunFailed || got.Error == "" {
		t.Errorf("stored run %s (%q), want failed with a reason", got.State, got.Error)
	}
	if err := svc.CancelQueued(t.Context(), got); !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrInvalid) {
		t.Errorf("cancelling an ended run: %v, want a conflict", err)
	}
}
