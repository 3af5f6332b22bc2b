package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
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
	// capacityKept bounds the reports kept in memory (the oldest finished
	// one goes first).
	capacityKept = 200
)

// capacityReports keeps the reports of the searches this process ran or
// runs: the steps so far while one runs, the final report after.
type capacityReports struct {
	mu      sync.Mutex
	reports map[string]*capacity.Report
	order   []string
}

func (c *capacityReports) set(id string, rep *capacity.Report) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reports == nil {
		c.reports = map[string]*capacity.Report{}
	}
	if _, ok := c.reports[id]; !ok {
		c.order = append(c.order, id)
		for len(c.order) > capacityKept {
			delete(c.reports, c.order[0])
			c.order = c.order[1:]
		}
	}
	c.reports[id] = rep
}

// get returns a copy of id's report, nil when it is not kept.
func (c *capacityReports) get(id string) *capacity.Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	rep, ok := c.reports[id]
	if !ok {
		return nil
	}
	cp := *rep
	cp.Steps = append([]capacity.Step(nil), rep.Steps...)
	return &cp
}

// capacityOptions checks a request's search options, naming the request's
// fields in its errors, as the CLI checks its flags.
func (s *Server) capacityOptions(req *CapacityRequest, prof *spec.Profile) (capacity.Options, time.Duration, time.Duration, error) {
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
		return o, 0, 0, problems(http.StatusUnprocessableEntity, CodeInvalid, errors.Join(errs...))
	}
	return o, step, warmup, nil
}

// submitCapacity queues a capacity search as a run of its own kind: the
// run's id is the search's, its steps are results labelled capacity=ID.
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
	prof, err := s.requestedProfile(r, run, req.Profile, req.ProfileDocument)
	if err != nil {
		return err
	}
	if prof.UsesAgents() {
		return invalid("profile", "the profile asks for agents:; capacity searches run on the server only for now")
	}
	if _, err := s.admit(r.Context(), prof); err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			return prefixProblems("profile_document.", ae)
		}
		return err
	}
	opts, step, warmup, err := s.capacityOptions(&req, prof)
	if err != nil {
		return err
	}
	run.Name = prof.Name
	if run.Labels == nil && len(prof.Labels) > 0 {
		run.Labels = prof.Labels
	}
	run.Labels = withLabel(run.Labels, capacity.LabelID, run.ID)
	s.capacity.set(run.ID, &capacity.Report{ID: run.ID, Name: run.Name, Outcome: "queued", Steps: []capacity.Step{}, Curve: []capacity.CurvePoint{}})
	job := s.capacityJob(prof, opts, step, warmup)
	if err := s.runs.SubmitJob(r.Context(), run, job); errors.Is(err, runs.ErrQueueFull) {
		return &APIError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "too many runs queued; try later"}
	} else if err != nil {
		return fromStore(err, "run", "")
	}
	w.Header().Set("Location", "/api/v1/capacity/"+run.ID)
	writeJSON(w, http.StatusAccepted, run)
	return nil
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

// capacityJob is the run service's job of a capacity search: admitted
// again when it starts (the allow-lists or limits may have changed), then
// each step through capacity.RunStepper, saved as a labelled result and
// published on the run's stream.
func (s *Server) capacityJob(prof *spec.Profile, opts capacity.Options, step, warmup time.Duration) runs.Job {
	return func(ctx context.Context, run *store.Run, publish func(any)) (string, string) {
		plans, err := s.admit(ctx, prof)
		if err != nil {
			return store.RunFailed, err.Error()
		}
		labels := map[string]string{}
		for k, v := range run.Labels {
			labels[k] = v
		}
		delete(labels, capacity.LabelID)
		stp := &capacity.RunStepper{Plans: plans, Duration: step, Warmup: warmup, Version: s.version,
			Metrics: prof.Metrics, ID: run.ID, Name: run.Name, Labels: labels,
			Ref:  store.ResultRef{ProfileID: run.ProfileID, ProfileRevision: run.ProfileRevision},
			Save: s.st.SaveResult}
		partial := &capacity.Report{ID: run.ID, Name: run.Name, Outcome: "running", Steps: []capacity.Step{}, Curve: []capacity.CurvePoint{}}
		s.capacity.set(run.ID, partial)
		rep, searchErr := capacity.Search(ctx, stp, opts, func(st capacity.Step) {
			next := *partial
			next.Steps = append(append([]capacity.Step(nil), partial.Steps...), st)
			partial = &next
			s.capacity.set(run.ID, partial)
			publish(st)
		})
		if rep != nil {
			rep.ID, rep.Name = run.ID, run.Name
			s.capacity.set(run.ID, rep)
		}
		if searchErr = errors.Join(searchErr, stp.SaveErr); searchErr != nil && ctx.Err() == nil {
			return store.RunFailed, searchErr.Error()
		}
		state, msg := runs.JobOutcome(ctx)
		if state == store.RunSucceeded && rep != nil {
			msg = rep.Summary()
		}
		return state, msg
	}
}

// getCapacity answers a capacity search: its run and its report.
func (s *Server) getCapacity(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	run, err := s.visibleRun(r, id)
	if err != nil {
		return err
	}
	if run.Labels[capacity.LabelID] != run.ID {
		return notFound("capacity search", id)
	}
	writeJSON(w, http.StatusOK, CapacityView{Run: run, Report: s.capacity.get(run.ID)})
	return nil
}
