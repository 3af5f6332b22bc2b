package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/meshperf/meshperf/internal/capacity"
	"github.com/meshperf/meshperf/internal/runs"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

// A schedule may name a capacity search instead of a run: its options are
// kept by store.CapacityStore beside the schedule, and the run service's
// scheduler asks scheduledCapacity before queueing a run.

// checkScheduleCapacity checks a new schedule's capacity options against
// its profile, as POST /api/v1/capacity checks a request (errors name
// capacity.<field>), and returns them as stored; nil for a schedule of
// runs.
func (s *Server) checkScheduleCapacity(p *store.Profile, req *CapacityRequest) ([]byte, error) {
	if req == nil {
		return nil, nil
	}
	switch {
	case req.Profile != "" || len(req.ProfileDocument) > 0:
		return nil, invalid("capacity.profile", "capacity: the search runs the schedule's profile; leave profile and profile_document out")
	case len(req.Labels) > 0 || req.Private:
		return nil, invalid("capacity.labels", "capacity: labels and private are the schedule's and its profile's; leave them out")
	}
	prof, _, err := spec.ParseProfile(p.Body)
	if err != nil {
		return nil, err
	}
	if prof.UsesAgents() && !s.agents.TakesAgents() {
		return nil, invalid("capacity", "capacity: the profile asks for agents:, and this server takes no agents (start it with --agent-listen and --agent-token)")
	}
	if _, err := s.capacityOptions(req, prof); err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			return nil, prefixProblems("capacity.", ae)
		}
		return nil, err
	}
	return json.Marshal(storedOptions(*req))
}

// scheduleCapacity is a schedule's capacity options, nil for a schedule of
// runs (or when they cannot be read, which is logged).
func (s *Server) scheduleCapacity(id string) *CapacityRequest {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := s.st.ScheduleCapacity(ctx, id)
	if err != nil || b == nil {
		if err != nil {
			s.log.Warn("schedule's capacity options not read", "schedule", id, logKeyErr, err)
		}
		return nil
	}
	var req CapacityRequest
	if err := json.Unmarshal(b, &req); err != nil {
		s.log.Warn("schedule's capacity options unreadable", "schedule", id, logKeyErr, err)
		return nil
	}
	return &req
}

// scheduledCapacity is the run service's ScheduledJob (m is that service:
// s.runs may not be set yet when the scheduler first runs): a due schedule that
// names a capacity search queues one (its run is the schedule's, due at
// at); ok is false for a schedule of runs. A search the profile's
// admission or the options refuse now is recorded as a failed run and a
// failed search, with the reason, as a refused scheduled run is.
func (s *Server) scheduledCapacity(ctx context.Context, m *runs.Service, sc *store.Schedule, at time.Time) (string, bool, error) {
	raw, err := s.st.ScheduleCapacity(ctx, sc.ID)
	if err != nil || raw == nil {
		return "", false, err
	}
	p, err := s.st.GetProfile(ctx, sc.ProfileID)
	if err != nil {
		return "", true, err
	}
	run := &store.Run{ID: store.NewID(), State: store.RunQueued, ProfileID: p.ID, ProfileRevision: p.Revision, Profile: p.Body,
		Name: p.Name, ScheduleID: sc.ID, DueAt: at, OwnerID: sc.OwnerID, Private: sc.Private, InstanceID: m.Instance()}
	run.Labels = withLabel(p.Labels, capacity.LabelID, run.ID)
	search := &store.CapacitySearch{ID: run.ID, Name: p.Name, State: store.CapacityQueued, RunID: run.ID,
		ProfileID: p.ID, ProfileRevision: p.Revision, Options: raw, OwnerID: sc.OwnerID, Private: sc.Private}
	var req CapacityRequest
	prof, _, err := spec.ParseProfile(p.Body)
	if err == nil {
		err = json.Unmarshal(raw, &req)
	}
	if err == nil {
		_, err = s.admit(ctx, prof)
	}
	var opts capacityRun
	if err == nil {
		opts, err = s.capacityOptions(&req, prof)
	}
	if err != nil {
		return run.ID, true, s.refuseScheduled(ctx, run, search, err.Error())
	}
	if err := s.st.CreateCapacitySearch(ctx, search); err != nil {
		return "", true, err
	}
	if err := s.queueCapacity(ctx, m, search, run, prof, opts, nil); err != nil {
		return "", true, err
	}
	return run.ID, true, nil
}

// refuseScheduled records a scheduled search that cannot run: its run
// failed (through running, the only way a queued run ends failed) and its
// search failed, both saying why.
func (s *Server) refuseScheduled(ctx context.Context, run *store.Run, search *store.CapacitySearch, reason string) error {
	if err := s.st.CreateRun(ctx, run); err != nil {
		return err
	}
	now := time.Now().UTC()
	for _, state := range []string{store.RunRunning, store.RunFailed} {
		run.State, run.StartedAt = state, now
		if state == store.RunFailed {
			run.Error, run.FinishedAt = reason, now
		}
		if err := s.st.UpdateRun(ctx, run); err != nil {
			return err
		}
	}
	search.State, search.Error = store.CapacityFailed, reason
	if err := s.st.CreateCapacitySearch(ctx, search); err != nil {
		return err
	}
	s.log.Warn("scheduled capacity search refused", "schedule", run.ScheduleID, "run", run.ID, logKeyErr, fmt.Sprint(reason))
	return nil
}
