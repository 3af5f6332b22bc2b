package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/meshperf/meshperf/internal/capacity"
	"github.com/meshperf/meshperf/internal/capacity/runstep"
	"github.com/meshperf/meshperf/internal/runs"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

// logKeySearch is the log attribute of a capacity search's id.
const logKeySearch = "search"

// capacityJob is the run service's job of a capacity search: admitted
// again when it starts (the allow-lists or limits may have changed), then
// each step through runstep.Stepper, saved as a labelled result,
// stored in the search's steps and published on the run's stream. prior
// are the stored steps of a search being resumed.
func (s *Server) capacityJob(search *store.CapacitySearch, prof *spec.Profile, opts capacityRun, prior []capacity.Step) runs.Job {
	return func(ctx context.Context, run *store.Run, publish func(any)) (string, string) {
		sv := &searchSaver{s: s, search: *search}
		sv.search.RunID = run.ID
		sv.save(store.CapacityRunning, "", nil)
		plans, err := s.admit(ctx, prof)
		if err != nil {
			sv.save(store.CapacityFailed, err.Error(), nil)
			return store.RunFailed, err.Error()
		}
		labels := map[string]string{}
		for k, v := range run.Labels {
			labels[k] = v
		}
		delete(labels, capacity.LabelID)
		stp := &runstep.Stepper{Plans: plans, Duration: opts.Step, Warmup: opts.Warmup, Version: s.version,
			Metrics: prof.Metrics, ID: search.ID, Name: run.Name, Labels: labels,
			Ref:  store.ResultRef{ProfileID: run.ProfileID, ProfileRevision: run.ProfileRevision, OwnerID: run.OwnerID, Private: run.Private},
			Save: s.st.SaveResult}
		if prof.UsesAgents() {
			// Each step runs distributed, as a run of the profile would.
			stp.Agents, stp.Profile = s.agents, prof
		}
		var steps []capacity.Step
		rep, searchErr := capacity.Resume(ctx, stp, opts.Options, prior, func(st capacity.Step) {
			steps = append(steps, st)
			sv.steps(steps)
			publish(st)
		})
		if rep != nil {
			rep.ID, rep.Name = search.ID, run.Name
		}
		if searchErr = errors.Join(searchErr, stp.SaveErr); searchErr != nil && ctx.Err() == nil {
			sv.save(store.CapacityFailed, searchErr.Error(), rep)
			return store.RunFailed, searchErr.Error()
		}
		state, msg := runs.JobOutcome(ctx)
		switch state {
		case store.RunSucceeded:
			if rep != nil {
				msg = rep.Summary()
			}
			sv.save(store.CapacitySucceeded, "", rep)
		case store.RunCancelled:
			sv.save(store.CapacityCancelled, msg, rep)
		default: // interrupted: the next server resumes it, without a report yet
			sv.save(store.CapacityInterrupted, msg, nil)
		}
		return state, msg
	}
}

// searchSaver writes a running search's state and steps to the store.
// A failed write is logged: the steps' results are stored anyway, and
// the next write carries everything again.
type searchSaver struct {
	s      *Server
	search store.CapacitySearch
}

func (sv *searchSaver) write() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sv.s.st.UpdateCapacitySearch(ctx, &sv.search, ""); err != nil {
		sv.s.log.Warn("capacity search not saved", logKeySearch, sv.search.ID, logKeyErr, err)
	}
}

// steps stores the steps so far.
func (sv *searchSaver) steps(steps []capacity.Step) {
	b, err := json.Marshal(steps)
	if err != nil {
		sv.s.log.Warn("capacity steps not encoded", logKeySearch, sv.search.ID, logKeyErr, err)
		return
	}
	sv.search.Steps = b
	sv.write()
	sv.search.Steps = nil // written; later writes keep them
}

// save stores the search's state, and its report when rep is not nil (an
// empty report otherwise, so that a resumed search has none until its
// end).
func (sv *searchSaver) save(state, msg string, rep *capacity.Report) {
	sv.search.State, sv.search.Error, sv.search.Report = state, msg, []byte{}
	if rep != nil {
		b, err := json.Marshal(rep)
		if err != nil {
			sv.s.log.Warn("capacity report not encoded", logKeySearch, sv.search.ID, logKeyErr, err)
		} else {
			sv.search.Report, sv.search.Outcome, sv.search.SustainedRPS = b, rep.Outcome, rep.Sustained
		}
		if steps, err := json.Marshal(rep.Steps); err == nil {
			sv.search.Steps = steps
		}
	}
	sv.write()
	sv.search.Steps, sv.search.Report = nil, nil
}

// resumeCapacity resumes the searches a stopped server left unfinished:
// those whose run has ended interrupted (the server shut down, or its
// heartbeat went stale). Each is claimed in the store first, so that two
// servers do not both resume it. A search whose run ended otherwise
// (cancelled while queued, refused) takes that end.
func (s *Server) resumeCapacity(ctx context.Context) {
	page, err := s.st.ListCapacitySearches(ctx, store.CapacityFilter{Limit: store.MaxLimit,
		States: []string{store.CapacityQueued, store.CapacityRunning, store.CapacityInterrupted}})
	if err != nil {
		s.log.Warn("unfinished capacity searches not listed", logKeyErr, err)
		return
	}
	for _, c := range page.Searches {
		if err := s.resumeSearch(ctx, c.ID); err != nil {
			s.log.Warn("capacity search not resumed", logKeySearch, c.ID, logKeyErr, err)
		}
	}
}

// resumeSearch resumes one unfinished search, if its run has ended.
func (s *Server) resumeSearch(ctx context.Context, id string) error {
	search, err := s.st.GetCapacitySearch(ctx, id)
	if err != nil {
		return err
	}
	from := search.State
	old, err := s.st.GetRun(ctx, search.RunID)
	if err != nil {
		return err
	}
	switch old.State {
	case store.RunQueued, store.RunRunning:
		return nil // a live server's, or one not yet known to be dead
	case store.RunInterrupted:
	default:
		search.State, search.Error = capacityStateOf(old.State), old.Error
		return s.st.UpdateCapacitySearch(ctx, search, from)
	}
	var req CapacityRequest
	var prior []capacity.Step
	err = json.Unmarshal(search.Options, &req)
	if err != nil {
		err = fmt.Errorf("stored options: %w", err)
	} else if len(search.Steps) > 0 {
		if err = json.Unmarshal(search.Steps, &prior); err != nil {
			err = fmt.Errorf("stored steps: %w", err)
		}
	}
	var prof *spec.Profile
	if err == nil {
		prof, _, err = spec.ParseProfile(old.Profile)
	}
	if err == nil {
		_, err = s.admit(ctx, prof)
	}
	var opts capacityRun
	if err == nil {
		opts, err = s.capacityOptions(&req, prof)
	}
	run := &store.Run{ID: store.NewID(), State: store.RunQueued, Name: old.Name, Labels: old.Labels, Profile: old.Profile,
		ProfileID: old.ProfileID, ProfileRevision: old.ProfileRevision, OwnerID: old.OwnerID, Private: old.Private,
		ScheduleID: old.ScheduleID, DueAt: old.DueAt, InstanceID: s.runs.Instance()}
	search.RunID, search.State, search.Error, search.Report = run.ID, store.CapacityQueued, "", []byte{}
	if err != nil {
		// Unreadable, or the profile or the options no longer pass this
		// server's checks: failed, saying why, and not tried again.
		search.RunID, search.State, search.Error = old.ID, store.CapacityFailed, "not resumed: "+err.Error()
		return s.st.UpdateCapacitySearch(ctx, search, from)
	}
	if err := s.st.UpdateCapacitySearch(ctx, search, from); err != nil {
		return err // store.ErrConflict: another server claimed it
	}
	search.Report = nil
	s.log.Info("capacity search resumed", logKeySearch, search.ID, "steps", len(prior), "run", run.ID)
	var ae *APIError
	if err := s.queueCapacity(ctx, s.runs, search, run, prof, opts, prior); errors.As(err, &ae) && ae.Status == http.StatusServiceUnavailable {
		return errors.New("the run queue is full")
	} else if err != nil {
		return err
	}
	return nil
}

// capacityStateOf is the search state of a search whose run ended in
// runState (other than interrupted).
func capacityStateOf(runState string) string {
	switch runState {
	case store.RunSucceeded, store.RunDegraded:
		return store.CapacitySucceeded
	case store.RunCancelled:
		return store.CapacityCancelled
	}
	return store.CapacityFailed
}

// resumeLoop resumes unfinished searches at start and every every, until
// ctx ends: a search a killed server left running resumes once that
// server's heartbeat is stale and its run interrupted.
func (s *Server) resumeLoop(ctx context.Context, every time.Duration) {
	for {
		s.resumeCapacity(ctx)
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
