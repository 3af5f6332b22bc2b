package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/meshperf/meshperf/internal/api"
	"github.com/meshperf/meshperf/internal/conformance/result"
	"github.com/meshperf/meshperf/internal/experiment"
	"github.com/meshperf/meshperf/internal/runs"
	"github.com/meshperf/meshperf/store"
)

// ConformanceRunner runs conformance tests against the server's cluster
// (internal/conformance's Runner; meshperf server wires it when a cluster
// is configured). The server itself does not link the suite, so a build
// with -tags noconformance has the routes and answers that it runs none.
type ConformanceRunner interface {
	// Check names each field of req no run could take.
	Check(req *api.ConformanceRequest) []api.Detail
	// Run runs req; progress gets each test as it ends. An error before
	// the suite started comes without a result; once started, the result
	// is returned however the run ended (cancelled included), the
	// namespaces it created deleted.
	Run(ctx context.Context, req *api.ConformanceRequest, setup, timeout time.Duration, progress func(result.TestResult)) (*result.Result, error)
}

// Bounds of a conformance run's timeouts.
const (
	conformanceDefaultTimeout = time.Hour
	conformanceMaxTimeout     = 6 * time.Hour
	conformanceMaxSetup       = time.Hour
	// conformanceKept bounds the runs whose tests so far are kept in
	// memory (the oldest goes first).
	conformanceKept = 100
	// conformanceMatrixMax bounds the results a matrix reads whole.
	conformanceMatrixMax = 50
)

// conformanceProgress keeps the tests ended so far of the conformance runs
// this process runs.
type conformanceProgress struct {
	mu    sync.Mutex
	tests map[string][]result.TestResult
	order []string
}

func (c *conformanceProgress) add(id string, t *result.TestResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tests == nil {
		c.tests = map[string][]result.TestResult{}
	}
	if _, ok := c.tests[id]; !ok {
		c.order = append(c.order, id)
		for len(c.order) > conformanceKept {
			delete(c.tests, c.order[0])
			c.order = c.order[1:]
		}
		c.tests[id] = []result.TestResult{}
	}
	if t != nil {
		c.tests[id] = append(c.tests[id], *t)
	}
}

func (c *conformanceProgress) get(id string) []result.TestResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]result.TestResult(nil), c.tests[id]...)
}

// submitConformance queues a conformance run as a job of the run service:
// the run's id is the stored result's.
func (s *Server) submitConformance(w http.ResponseWriter, r *http.Request) error {
	if s.conformance == nil {
		return &APIError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
			Message: "this server runs no conformance tests: start it with a cluster (meshperf server --kubeconfig FILE), from a build with the suite"}
	}
	var req api.ConformanceRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	setup, timeout := time.Duration(0), conformanceDefaultTimeout
	var details []api.Detail
	if req.SetupTimeout != nil {
		if setup = req.SetupTimeout.D(); setup < time.Second || setup > conformanceMaxSetup {
			details = append(details, api.Detail{Field: "setup_timeout", Message: setup.String() + " is not from 1s to " + conformanceMaxSetup.String()})
		}
	}
	if req.Timeout != nil {
		if timeout = req.Timeout.D(); timeout < 10*time.Second || timeout > conformanceMaxTimeout {
			details = append(details, api.Detail{Field: "timeout", Message: timeout.String() + " is not from 10s to " + conformanceMaxTimeout.String()})
		}
	}
	for k := range req.Labels {
		if k == "" || k == result.LabelID {
			details = append(details, api.Detail{Field: "labels", Message: "a label needs a key other than " + result.LabelID})
		}
	}
	details = append(details, s.conformance.Check(&req)...)
	if len(details) > 0 {
		return &APIError{Status: http.StatusUnprocessableEntity, Code: CodeInvalid, Field: details[0].Field,
			Message: joinDetails(details), Details: details}
	}
	run := &store.Run{ID: store.NewID(), State: store.RunQueued, Name: "conformance " + req.Profile,
		OwnerID: s.owner(r), InstanceID: s.runs.Instance()}
	run.Labels = withLabel(req.Labels, result.LabelID, run.ID)
	s.confProgress.add(run.ID, nil)
	if err := s.runs.SubmitJob(r.Context(), run, s.conformanceJob(&req, setup, timeout)); errors.Is(err, runs.ErrQueueFull) {
		return &APIError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "too many runs queued; try later"}
	} else if err != nil {
		return fromStore(err, "run", "")
	}
	w.Header().Set("Location", "/api/v1/conformance/"+run.ID)
	writeJSON(w, http.StatusAccepted, run)
	return nil
}

func joinDetails(ds []api.Detail) string {
	msg := ""
	for i, d := range ds {
		if i > 0 {
			msg += "; "
		}
		msg += d.Field + ": " + d.Message
	}
	return msg
}

// conformanceJob runs the suite, publishes each test as it ends, and
// stores the result under the run's id, whatever way the run ended once
// the suite started (a cancelled run's namespaces deleted, its tests so
// far kept).
func (s *Server) conformanceJob(req *api.ConformanceRequest, setup, timeout time.Duration) runs.Job {
	return func(ctx context.Context, run *store.Run, publish func(any)) (string, string) {
		res, err := s.conformance.Run(ctx, req, setup, timeout, func(t result.TestResult) {
			s.confProgress.add(run.ID, &t)
			publish(t)
		})
		if res == nil {
			if ctx.Err() != nil {
				return runs.JobOutcome(ctx)
			}
			return store.RunFailed, err.Error()
		}
		res.ID = run.ID
		rec, rerr := res.Record()
		if rerr == nil {
			rerr = s.st.SaveConformance(context.WithoutCancel(ctx), rec)
		}
		if rerr != nil {
			return store.RunFailed, "the result could not be stored: " + rerr.Error()
		}
		if ctx.Err() != nil {
			state, _ := runs.JobOutcome(ctx)
			return state, res.Summary() + "; the tests so far are kept"
		}
		if res.Outcome != result.OutcomePassed {
			return store.RunFailed, res.Summary()
		}
		return store.RunSucceeded, res.Summary()
	}
}

// getConformance answers a conformance result: the stored one, with its
// run while this server knows it, or a run still going on with its tests
// so far.
func (s *Server) getConformance(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var view api.ConformanceView
	rec, err := s.st.GetConformance(r.Context(), id)
	switch {
	case err == nil:
		if view.Result, err = result.FromRecord(rec); err != nil {
			return err
		}
		id = rec.ID
	case !errors.Is(err, store.ErrNotFound):
		return fromStore(err, "conformance result", id)
	}
	run, rerr := s.visibleRun(r, id)
	if rerr == nil && run.Labels[result.LabelID] == run.ID {
		view.Run = run
		if view.Result == nil {
			view.Tests = s.confProgress.get(run.ID)
		}
	}
	if view.Result == nil && view.Run == nil {
		return notFound("conformance result", id)
	}
	if res := view.Result; res != nil && res.Implementation.Mesh != "" && res.Implementation.Version != "" {
		page, err := s.st.ListResults(r.Context(), store.ResultFilter{Mesh: res.Implementation.Mesh,
			MeshVersion: res.Implementation.Version, Limit: 10, Viewer: s.viewer(r)})
		if err != nil {
			return fromStore(err, "results", "")
		}
		view.Performance = page.Results
		if view.Overhead, err = s.meshOverhead(r.Context(), s.viewer(r), res.Implementation.Mesh, res.Implementation.Version); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, view)
	return nil
}

// Bounds of meshOverhead's search: the newest results of a mesh version
// it reads, and the experiments whose reports it builds.
const (
	overheadResults     = 100
	overheadExperiments = 5
)

// meshOverhead finds the newest experiment cell run on mesh at version (a
// variant other than the baseline, whose result's mesh context found that
// mesh) among the newest results of that version the viewer may see, and
// returns the p99 overhead its experiment's report gives at that cell's
// sweep point; nil when none of them belongs to an experiment.
func (s *Server) meshOverhead(ctx context.Context, viewer *store.Viewer, mesh, version string) (*api.MeshOverhead, error) {
	page, err := s.st.ListResults(ctx, store.ResultFilter{Mesh: mesh, MeshVersion: version, Limit: overheadResults, Viewer: viewer})
	if err != nil {
		return nil, fromStore(err, "results", "")
	}
	reports := map[string]*experiment.Report{}
	for _, sum := range page.Results { // newest first
		id := sum.Labels[experiment.LabelExperiment]
		if id == "" {
			continue
		}
		rep, seen := reports[id]
		if !seen {
			if len(reports) == overheadExperiments {
				break
			}
			exp, err := s.st.GetExperiment(ctx, id)
			switch {
			case errors.Is(err, store.ErrNotFound):
			case err != nil:
				return nil, fromStore(err, "experiment", id)
			case exp.ID == id:
				if rep, err = experiment.BuildReport(ctx, s.st, exp); err != nil {
					return nil, err
				}
			}
			reports[id] = rep
		}
		if o := overheadAt(rep, experiment.KeyOf(sum.Labels)); o != nil {
			return o, nil
		}
	}
	return nil, nil
}

// overheadAt is the p99 overhead of the variant and sweep point key names
// in rep; nil when rep lacks it or key is the baseline's.
func overheadAt(rep *experiment.Report, key experiment.Key) *api.MeshOverhead {
	if rep == nil || key.Variant == rep.Baseline {
		return nil
	}
	for _, pt := range rep.Points {
		if experiment.FormatRPS(pt.RPS) != key.RPS || strconv.Itoa(pt.Connections) != key.Connections {
			continue
		}
		for _, v := range pt.Variants {
			o, ok := v.Overhead[experiment.PercentileKey(99)]
			if v.Name != key.Variant || !ok {
				continue
			}
			return &api.MeshOverhead{ExperimentID: rep.Experiment.ID, ExperimentName: rep.Experiment.Name,
				Variant: v.Name, Baseline: rep.Baseline, RPS: pt.RPS, Connections: pt.Connections,
				Latency: rep.Latency, P99: o}
		}
	}
	return nil
}

func summaryOf(c *store.Conformance) api.ConformanceSummary {
	return api.ConformanceSummary{ID: c.ID, Kind: c.Kind, Profile: c.Profile, SuiteVersion: c.SuiteVersion,
		Mesh: c.Mesh, MeshVersion: c.MeshVersion, Outcome: c.Outcome,
		Counts:  result.Counts{Passed: c.Passed, Failed: c.Failed, Skipped: c.Skipped, NotRun: c.NotRun},
		Started: c.Started, Finished: c.Finished}
}

// listConformance answers stored conformance results, newest first, a
// page at a time (?mesh=, ?profile=, ?limit= up to 1000, ?cursor=).
func (s *Server) listConformance(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := store.ConformanceFilter{Mesh: q.Get("mesh"), MeshVersion: q.Get("mesh_version"), Profile: q.Get("profile"), Cursor: q.Get("cursor"), Limit: 50}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return badRequest("limit", "limit: want 1 to 1000, got %q", l)
		}
		f.Limit = n
	}
	cs, err := s.st.ListConformance(r.Context(), f)
	if errors.Is(err, store.ErrInvalid) {
		return badRequest("cursor", "%v", err)
	}
	if err != nil {
		return fromStore(err, "conformance results", "")
	}
	page := api.ConformanceList{Results: []api.ConformanceSummary{}}
	for _, c := range cs {
		page.Results = append(page.Results, summaryOf(c))
	}
	if len(cs) == f.Limit {
		page.Next = store.ConformanceCursor(cs[len(cs)-1])
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// conformanceMatrix answers the latest results of a profile (?profile=,
// required; ?mesh=; ?limit= up to 50, default 20) as a matrix of tests ×
// results, oldest result first.
func (s *Server) conformanceMatrix(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	profile := q.Get("profile")
	if profile == "" {
		return badRequest("profile", "profile: required (e.g. MESH-HTTP)")
	}
	limit := 20
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > conformanceMatrixMax {
			return badRequest("limit", "limit: want 1 to %d, got %q", conformanceMatrixMax, l)
		}
		limit = n
	}
	cs, err := s.st.ListConformance(r.Context(), store.ConformanceFilter{Profile: profile, Mesh: q.Get("mesh"), Limit: limit})
	if err != nil {
		return fromStore(err, "conformance results", "")
	}
	results := make([]*result.Result, 0, len(cs))
	for i := len(cs) - 1; i >= 0; i-- {
		rec, err := s.st.GetConformance(r.Context(), cs[i].ID)
		if err != nil {
			return fromStore(err, "conformance result", cs[i].ID)
		}
		res, err := result.FromRecord(rec)
		if err != nil {
			return err
		}
		results = append(results, res)
	}
	m := api.ConformanceMatrix{Profile: profile, Columns: []api.ConformanceSummary{}, Tests: []api.ConformanceRow{}}
	for i := len(cs) - 1; i >= 0; i-- {
		m.Columns = append(m.Columns, summaryOf(cs[i]))
	}
	m.Tests = Matrix(results)
	writeJSON(w, http.StatusOK, m)
	return nil
}

// Matrix is the rows of a matrix of results (its columns, in that order):
// every test any of them has, in the order first met, with its status in
// each ("" where a result has no such test).
func Matrix(results []*result.Result) []api.ConformanceRow {
	rows := []api.ConformanceRow{}
	index := map[string]int{}
	for col, res := range results {
		for _, t := range res.Tests {
			i, ok := index[t.Name]
			if !ok {
				i = len(rows)
				index[t.Name] = i
				rows = append(rows, api.ConformanceRow{Name: t.Name, Statuses: make([]result.Status, len(results))})
			}
			rows[i].Statuses[col] = t.Status
		}
	}
	return rows
}
