package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/meshperf/meshperf/internal/api"
	"github.com/meshperf/meshperf/internal/capacity"
	"github.com/meshperf/meshperf/internal/runs"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

// CapacityRequest queues a capacity search.
type CapacityRequest = api.CapacityRequest

// CapacityView is a capacity search: its run and its report.
type CapacityView = api.CapacityView

// Bounds and defaults of a capacity search's options, the CLI's
// (`meshperf capacity`'s flags).
const (
	capacityMaxStepDuration = time.Hour
	capacityMaxWarmup       = 10 * time.Minute
	capacityDefaultMin      = 100
	capacityDefaultMax      = 50_000
	capacityDefaultStep     = 30 * time.Second
	capacityDefaultWarmup   = 2 * time.Second
	capacityDefaultPause    = time.Second
	capacityDefaultTol      = 0.05
	capacityDefaultConfirm  = 2
)

// capacityRun is a search's options with its steps' timing.
type capacityRun struct {
	capacity.Options
	Step, Warmup time.Duration
}

// capacityOptions checks a request's search options, naming the request's
// fields in its errors, as the CLI checks its flags.
func (s *Server) capacityOptions(req *CapacityRequest, prof *spec.Profile) (capacityRun, error) {
	o := capacity.Options{Min: capacityDefaultMin, Max: capacityDefaultMax, Tolerance: capacityDefaultTol,
		Confirm: capacityDefaultConfirm, MaxSteps: capacity.DefaultMaxSteps, Pause: capacityDefaultPause,
		MaxProcs: runtime.GOMAXPROCS(0)}
	step, warmup := capacityDefaultStep, capacityDefaultWarmup
	if req.MinRPS != nil {
		o.Min = *req.MinRPS
	}
	if req.MaxRPS != nil {
		o.Max = *req.MaxRPS
	}
	if req.Tolerance != nil {
		o.Tolerance = *req.Tolerance
	}
	if req.Confirm != nil {
		o.Confirm = *req.Confirm
	}
	if req.MaxSteps != nil {
		o.MaxSteps = *req.MaxSteps
	}
	if req.Pause != nil {
		o.Pause = req.Pause.D()
	}
	if req.StepDuration != nil {
		step = req.StepDuration.D()
	}
	if req.Warmup != nil {
		warmup = req.Warmup.D()
	}
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, a...)))
	}
	if !(o.Min >= 1 && o.Min <= capacity.MaxRate) {
		bad("min_rps", "%v is not a rate from 1 to %d", o.Min, capacity.MaxRate)
	}
	if !(o.Max >= 1 && o.Max <= capacity.MaxRate) {
		bad("max_rps", "%v is not a rate from 1 to %d", o.Max, capacity.MaxRate)
	} else if o.Max < o.Min {
		bad("max_rps", "%v is below min_rps %v", o.Max, o.Min)
	}
	if lim := s.limits.TotalRPS; lim > 0 && o.Max > lim {
		bad("max_rps", "%v is above this server's limit of %v rps", o.Max, lim)
	} else if lim := s.limits.RPS; lim > 0 && o.Max > lim {
		bad("max_rps", "%v is above this server's limit of %v rps per client", o.Max, lim)
	}
	if !(o.Tolerance >= capacity.MinTolerance && o.Tolerance <= capacity.MaxTolerance) {
		bad("tolerance", "%v is not from %v to %v", o.Tolerance, capacity.MinTolerance, capacity.MaxTolerance)
	}
	if o.Confirm < 0 || o.Confirm > capacity.MaxConfirm {
		bad("confirm", "%d is not from 0 to %d", o.Confirm, capacity.MaxConfirm)
	}
	if o.Pause < 0 || o.Pause > capacity.MaxPause {
		bad("pause", "%s is not from 0 to %s", o.Pause, capacity.MaxPause)
	}
	if o.MaxSteps < 1 || o.MaxSteps > capacity.MaxStepsCap {
		bad("max_steps", "%d is not from 1 to %d", o.MaxSteps, capacity.MaxStepsCap)
	}
	if step < time.Second || step > capacityMaxStepDuration {
		bad("step_duration", "%s is not from 1s to %s", step, capacityMaxStepDuration)
	} else if lim := s.limits.Duration; lim > 0 && step > lim {
		bad("step_duration", "%s is above this server's limit of %s", step, lim)
	}
	if warmup < 0 || warmup > capacityMaxWarmup || warmup%time.Second != 0 {
		bad("warmup", "%s is not whole seconds from 0 to %s", warmup, capacityMaxWarmup)
	} else if lim := s.limits.Warmup; lim > 0 && warmup > lim {
		bad("warmup", "%s is above this server's limit of %s", warmup, lim)
	}
	objText := req.Objective
	if objText == "" && prof.Meshperf != nil {
		objText = strings.Join(prof.Meshperf.SLO, ",")
	}
	var err error
	if o.Objectives, err = spec.ParseObjectives(objText); err != nil {
		bad("objective", "%v", err)
	}
	if o.Metrics, err = capacity.ParseMetricObjectives(req.Metric); err != nil {
		bad("metric", "%v", err)
	} else if len(o.Metrics) > 0 && prof.Metrics == nil {
		bad("metric", "needs a profile with metrics: (Prometheus queries)")
	}
	if len(errs) == 0 && len(o.Objectives)+len(o.Metrics) == 0 {
		bad("objective", "at least one is needed (e.g. p99<=50ms,error_rate<0.1%%), or a profile with meshperf.slo")
	}
	if len(errs) > 0 {
		return capacityRun{}, problems(http.StatusUnprocessableEntity, CodeInvalid, errors.Join(errs...))
	}
	return capacityRun{Options: o, Step: step, Warmup: warmup}, nil
}

// submitCapacity queues a capacity search as a run of its own kind: the
// search's id is its first run's, its steps are results labelled
// capacity=ID, and the search is stored (options, steps, report) so that
// it is read back after a restart and resumed if one cut it short.
func (s *Server) submitCapacity(w http.ResponseWriter, r *http.Request) error {
	var req CapacityRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.checkPrivate("private", req.Private); err != nil {
		return err
	}
	run := &store.Run{ID: store.NewID(), State: store.RunQueued, Labels: req.Labels, OwnerID: s.owner(r), Private: req.Private, InstanceID: s.runs.Instance()}
	for k := range req.Labels {
		if k == "" {
			return invalid("labels", "a label needs a key")
		}
	}
	prof, err := s.admitRequest(r, run, req.Profile, req.ProfileDocument)
	if err != nil {
		return err
	}
	opts, err := s.capacityOptions(&req, prof)
	if err != nil {
		return err
	}
	run.Labels = withLabel(run.Labels, capacity.LabelID, run.ID)
	stored, err := json.Marshal(storedOptions(req))
	if err != nil {
		return err
	}
	search := &store.CapacitySearch{ID: run.ID, Name: run.Name, State: store.CapacityQueued, RunID: run.ID,
		ProfileID: run.ProfileID, ProfileRevision: run.ProfileRevision, Options: stored,
		OwnerID: run.OwnerID, Private: run.Private}
	if err := s.st.CreateCapacitySearch(r.Context(), search); err != nil {
		return fromStore(err, "capacity search", "")
	}
	if err := s.queueCapacity(r.Context(), s.runs, search, run, prof, opts, nil); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/capacity/"+run.ID)
	writeJSON(w, http.StatusAccepted, run)
	return nil
}

// storedOptions is what a search keeps of its request: the options, not
// the profile (the run keeps the document it ran) nor the labels (the
// run's).
func storedOptions(req CapacityRequest) CapacityRequest {
	req.Profile, req.ProfileDocument, req.Labels, req.Private = "", nil, nil, false
	return req
}

// queueCapacity queues run on m as the job of search, continuing from
// prior steps; a full queue ends the search cancelled.
func (s *Server) queueCapacity(ctx context.Context, m *runs.Service, search *store.CapacitySearch, run *store.Run, prof *spec.Profile, opts capacityRun, prior []capacity.Step) error {
	err := m.SubmitJob(ctx, run, s.capacityJob(search, prof, opts, prior))
	if err == nil {
		return nil
	}
	next := *search
	next.State, next.Error = store.CapacityCancelled, "not queued: "+err.Error()
	if uerr := s.st.UpdateCapacitySearch(context.WithoutCancel(ctx), &next, ""); uerr != nil {
		s.log.Warn("capacity search state not saved", "search", search.ID, "err", uerr)
	}
	if errors.Is(err, runs.ErrQueueFull) {
		return &APIError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "too many runs queued; try later"}
	}
	return fromStore(err, "run", "")
}

// withLabel is labels with k=v added, in a new map.
func withLabel(labels map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(labels)+1)
	for a, b := range labels {
		out[a] = b
	}
	out[k] = v
	return out
}

// getCapacity answers a capacity search from the store: the search, its
// current run, and its report (while it runs or when it was cut short,
// the steps so far).
func (s *Server) getCapacity(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	search, err := s.st.GetCapacitySearch(s.viewing(r), id)
	if err != nil {
		return fromStore(err, "capacity search", id)
	}
	if !s.viewer(r).CanSee(search.OwnerID, search.Private) {
		return notFound("capacity search", id)
	}
	run, err := s.st.GetRun(r.Context(), search.RunID)
	if err != nil {
		return fromStore(err, "run", search.RunID)
	}
	s.settleSearch(r.Context(), search, run)
	rep, err := capacityReport(search)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, CapacityView{Search: search, Run: run, Report: rep})
	return nil
}

// settleSearch records the end of a search whose run ended without its
// job (cancelled while queued, refused): the search takes the run's end.
// An interrupted run is left to the resume loop.
func (s *Server) settleSearch(ctx context.Context, search *store.CapacitySearch, run *store.Run) {
	if (search.State != store.CapacityQueued && search.State != store.CapacityRunning) || !store.FinalRunState(run.State) ||
		run.State == store.RunInterrupted || run.ID != search.RunID {
		return
	}
	next := *search
	next.State, next.Error, next.Steps, next.Report = capacityStateOf(run.State), run.Error, nil, nil
	if err := s.st.UpdateCapacitySearch(ctx, &next, search.State); err != nil {
		if !errors.Is(err, store.ErrConflict) {
			s.log.Warn("capacity search state not saved", logKeySearch, search.ID, logKeyErr, err)
			return
		}
		// The job (or another reader) wrote it between our read and this
		// update: answer what it wrote, not the state read before.
		if fresh, gerr := s.st.GetCapacitySearch(ctx, search.ID); gerr == nil {
			*search = *fresh
		}
		return
	}
	search.State, search.Error, search.UpdatedAt = next.State, next.Error, next.UpdatedAt
}

// capacityReport is search's report: the final one, or one holding the
// steps so far.
func capacityReport(search *store.CapacitySearch) (*capacity.Report, error) {
	rep := &capacity.Report{}
	if len(search.Report) > 0 {
		if err := json.Unmarshal(search.Report, rep); err != nil {
			return nil, fmt.Errorf("capacity search %s: stored report: %w", search.ID, err)
		}
		return rep, nil
	}
	rep = &capacity.Report{ID: search.ID, Name: search.Name, Outcome: search.State, Steps: []capacity.Step{}, Curve: []capacity.CurvePoint{}}
	if len(search.Steps) > 0 {
		if err := json.Unmarshal(search.Steps, &rep.Steps); err != nil {
			return nil, fmt.Errorf("capacity search %s: stored steps: %w", search.ID, err)
		}
	}
	return rep, nil
}

// listCapacity answers a page of capacity searches, newest first: all, or
// a stored profile's (?profile=ID or name), for the trend of its found
// rate over time.
func (s *Server) listCapacity(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := store.CapacityFilter{Cursor: q.Get("cursor"), Viewer: s.viewer(r)}
	if l := q.Get("limit"); l != "" {
		var err error
		if f.Limit, err = parsePositive("limit", l); err != nil {
			return err
		}
		if f.Limit > store.MaxLimit {
			return badRequest("limit", "limit: at most %d, got %d", store.MaxLimit, f.Limit)
		}
	}
	if ref := q.Get("profile"); ref != "" {
		p, err := s.visibleProfile(r, ref)
		if err != nil {
			return err
		}
		f.ProfileID = p.ID
	}
	for _, st := range q["state"] {
		if !store.ValidCapacityState(st) {
			return badRequest("state", "state: unknown %q (want queued, running, succeeded, failed, cancelled or interrupted)", st)
		}
		f.States = append(f.States, st)
	}
	page, err := s.st.ListCapacitySearches(r.Context(), f)
	if errors.Is(err, store.ErrInvalid) && f.Cursor != "" {
		return badRequest("cursor", "cursor: not one this server gave (pass next_cursor from the page before)")
	} else if err != nil {
		return fromStore(err, "capacity searches", "")
	}
	list := api.CapacityList{Searches: page.Searches, NextCursor: page.Next}
	writeJSON(w, http.StatusOK, list)
	return nil
}
