package runs_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/runs"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

// engineOf is an Engine that returns a copy of res, or err.
func engineOf(res *spec.Result, err error) runs.Engine {
	return func(context.Context, []*loadgen.Plan, func(int) loadgen.Sink) (*spec.Result, error) {
		if err != nil {
			return nil, err
		}
		c := *res
		return &c, nil
	}
}

func answered(requests, responses int64, errs ...spec.ErrorClass) *spec.Result {
	return &spec.Result{Name: "from-plan", Achieved: spec.Achieved{Requests: requests, Responses: responses}, Errors: errs}
}

func TestExecuteNamesLabelsAndSaves(t *testing.T) {
	var saved *spec.Result
	out, err := runs.Execute(context.Background(), runs.Test{
		Engine: engineOf(answered(10, 10), nil),
		Name:   "checkout", Labels: map[string]string{"env": "ci"}, ProfileID: "p1", ProfileRevision: 3, MeshType: 3,
		Save: func(_ context.Context, res *spec.Result) (string, error) { saved = res; return "r1", nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	res := out.Result
	if saved != res {
		t.Fatalf("saved %p, want the outcome's result %p", saved, res)
	}
	if res.Name != "checkout" || res.Labels["env"] != "ci" || res.ProfileID != "p1" || res.ProfileRevision != 3 || res.SMP == nil || res.SMP.MeshType != 3 {
		t.Errorf("result = name %q labels %v profile %s/%d smp %v", res.Name, res.Labels, res.ProfileID, res.ProfileRevision, res.SMP)
	}
	if out.ResultID != "r1" || out.SaveErr != nil || out.NoResponse != nil {
		t.Errorf("outcome = id %q save %v no response %v, want r1, nil, nil", out.ResultID, out.SaveErr, out.NoResponse)
	}
}

func TestExecuteKeepsWhatTheEngineNamedWhenGivenNothing(t *testing.T) {
	out, err := runs.Execute(context.Background(), runs.Test{Engine: engineOf(answered(1, 1), nil)})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Result; got.Name != "from-plan" || got.Labels != nil || got.SMP != nil || out.ResultID != "" {
		t.Errorf("result = name %q labels %v smp %v id %q, want the engine's name and nothing else", got.Name, got.Labels, got.SMP, out.ResultID)
	}
}

func TestExecuteFailedSaveKeepsTheResult(t *testing.T) {
	boom := errors.New("disk full")
	out, err := runs.Execute(context.Background(), runs.Test{Engine: engineOf(answered(5, 0), nil),
		Save: func(context.Context, *spec.Result) (string, error) { return "partial", boom }})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(out.SaveErr, boom) || out.ResultID != "partial" || out.Result == nil {
		t.Errorf("outcome = %+v, want the save's error, its id and the result", out)
	}
	if out.NoResponse == nil || out.NoResponse.Requests != 5 {
		t.Errorf("no response = %v, want 5 requests unanswered", out.NoResponse)
	}
}

func TestExecuteCheckRefusesBeforeSave(t *testing.T) {
	refused := errors.New("cut short")
	saves := 0
	_, err := runs.Execute(context.Background(), runs.Test{Engine: engineOf(answered(1, 1), nil),
		Check: func(*spec.Result) error { return refused },
		Save:  func(context.Context, *spec.Result) (string, error) { saves++; return "x", nil }})
	if !errors.Is(err, refused) || saves != 0 {
		t.Errorf("err %v, %d saves; want the check's error and no save", err, saves)
	}
}

func TestExecuteEngineErrorIsTheError(t *testing.T) {
	failed := errors.New("unknown generator")
	out, err := runs.Execute(context.Background(), runs.Test{Engine: engineOf(nil, failed),
		Save: func(context.Context, *spec.Result) (string, error) {
			t.Error("saved a run that failed")
			return "", nil
		}})
	if !errors.Is(err, failed) || out != nil {
		t.Errorf("Execute = %v, %v; want nil and the engine's error", out, err)
	}
}

func TestNoResponse(t *testing.T) {
	refused := spec.ErrorClass{Class: "connection_refused", Count: 3, Examples: []string{"dial tcp 127.0.0.1:1: connect: connection refused"}}
	for _, tc := range []struct {
		name        string
		res         *spec.Result
		want, want2 string // Error() and Cause(); "" for no error
	}{
		{"answered", answered(3, 2), "", ""},
		{"nothing sent", answered(0, 0), "", ""},
		{"refused", answered(3, 0, refused), "none of 3 requests got a response: connection_refused (dial tcp 127.0.0.1:1: connect: connection refused)",
			": connection_refused (dial tcp 127.0.0.1:1: connect: connection refused)"},
		{"class without example", answered(4, 0, spec.ErrorClass{Class: "timeout", Count: 4}), "none of 4 requests got a response: timeout", ": timeout"},
		{"no class", answered(2, 0), "none of 2 requests got a response", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nr := runs.NoResponse(tc.res)
			if tc.want == "" {
				if nr != nil {
					t.Fatalf("NoResponse = %v, want nil", nr)
				}
				return
			}
			if nr == nil {
				t.Fatalf("NoResponse = nil, want %q", tc.want)
			}
			if got := nr.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
			if got := nr.Cause(); got != tc.want2 {
				t.Errorf("Cause() = %q, want %q", got, tc.want2)
			}
		})
	}
}

// The local engine end to end: a short run against a local server, its
// progress reaching the sink, its result named after the test.
func TestExecuteLocal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	p := &loadgen.Plan{Targets: []string{srv.URL}, Rate: loadgen.Constant(50), Connections: 2, Duration: time.Second}
	p.Normalize()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	seconds := 0
	out, err := runs.Execute(context.Background(), runs.Test{Plans: []*loadgen.Plan{p}, Engine: runs.Local("test"), Name: "local",
		Sink: func(int) loadgen.Sink { return loadgen.SinkFunc(func(loadgen.Progress) { seconds++ }) }})
	if err != nil {
		t.Fatal(err)
	}
	res := out.Result
	if res.Name != "local" || res.Achieved.Responses == 0 || out.NoResponse != nil || seconds == 0 {
		t.Errorf("name %q, %d responses, no response %v, %d progress calls", res.Name, res.Achieved.Responses, out.NoResponse, seconds)
	}
}

func TestExecuteMeshTrafficOverTheMeasuredWindow(t *testing.T) {
	start := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	res := answered(10, 10)
	res.StartTime, res.EndTime = start, start.Add(30*time.Second)
	res.Requested.Warmup = spec.Duration(5 * time.Second)
	mc := &spec.MeshContext{Targets: []spec.MeshTarget{{URL: "http://reviews.shop/"}}}
	var gotStart, gotEnd time.Time
	var saved *spec.Result
	hook := func(_ context.Context, m *spec.MeshContext, s, e time.Time) {
		if saved != nil {
			t.Error("mesh traffic read after the save")
		}
		gotStart, gotEnd = s, e
		m.Targets[0].Traffic = []spec.MeshTraffic{{Workload: "Deployment/reviews"}}
	}
	out, err := runs.Execute(context.Background(), runs.Test{Engine: engineOf(res, nil), Mesh: mc, MeshTraffic: hook,
		Save: func(_ context.Context, r *spec.Result) (string, error) { saved = r; return "", nil }})
	if err != nil {
		t.Fatal(err)
	}
	if !gotStart.Equal(start.Add(5*time.Second)) || !gotEnd.Equal(start.Add(30*time.Second)) {
		t.Errorf("window %s – %s, want the measured one, after the 5s warm-up to the end", gotStart, gotEnd)
	}
	if m := out.Result.Mesh; m == nil || len(m.Targets[0].Traffic) != 1 || saved.Mesh != m {
		t.Errorf("result's mesh %+v: want the context with the hook's traffic, saved", m)
	}

	// Without a mesh context there is no target to ask about.
	called := false
	if _, err := runs.Execute(context.Background(), runs.Test{Engine: engineOf(res, nil),
		MeshTraffic: func(context.Context, *spec.MeshContext, time.Time, time.Time) { called = true }}); err != nil || called {
		t.Errorf("no mesh context: err %v, hook called %v", err, called)
	}
}
