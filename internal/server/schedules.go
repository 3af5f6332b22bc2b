package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/meshperf/meshperf/internal/api"
	"github.com/meshperf/meshperf/internal/schedule"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

// ScheduleRequest is api.ScheduleRequest, the contract's type.
type ScheduleRequest = api.ScheduleRequest

// ScheduleView is api.ScheduleView, the contract's type.
type ScheduleView = api.ScheduleView

// parseSchedule is schedule.ParseIn with its errors as API errors naming
// the field at fault.
func parseSchedule(spec, tz string) (schedule.Schedule, error) {
	s, err := schedule.ParseIn(spec, tz)
	var tzErr *schedule.TimezoneError
	switch {
	case errors.As(err, &tzErr):
		return nil, invalid("timezone", "%v", err)
	case err != nil:
		return nil, invalid("spec", "spec: %v", err)
	}
	return s, nil
}

func (s *Server) scheduleView(sc *store.Schedule) ScheduleView {
	v := ScheduleView{Schedule: sc, Capacity: s.scheduleCapacity(sc.ID)}
	if p, err := parseSchedule(sc.Spec, sc.Timezone); err == nil {
		v.Description = schedule.Describe(p)
	}
	return v
}

func (s *Server) createSchedule(w http.ResponseWriter, r *http.Request) error {
	var req ScheduleRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Profile == "" {
		return invalid("profile", "profile: name the stored profile to run")
	}
	private := req.Private != nil && *req.Private
	if err := s.checkPrivate("private", private); err != nil {
		return err
	}
	p, err := s.visibleProfile(r, req.Profile)
	if err != nil {
		return err
	}
	sched, err := parseSchedule(req.Spec, req.Timezone)
	if err != nil {
		return err
	}
	if err := s.admitStored(r.Context(), p.Body, "profile."); err != nil {
		return err
	}
	capOpts, err := s.checkScheduleCapacity(p, req.Capacity)
	if err != nil {
		return err
	}
	sc := &store.Schedule{ProfileID: p.ID, Spec: req.Spec, Timezone: req.Timezone, Enabled: req.Enabled == nil || *req.Enabled,
		OwnerID: s.owner(r), Private: private || p.Private}
	now := time.Now().UTC()
	sc.NextDueAt = sched.Next(now)
	sc.LastDueAt = now // nothing before creation is missed
	if err := s.st.CreateSchedule(r.Context(), sc); err != nil {
		return fromStore(err, "schedule", "")
	}
	if capOpts != nil {
		if err := s.st.SetScheduleCapacity(r.Context(), sc.ID, capOpts); err != nil {
			_ = s.st.DeleteSchedule(context.WithoutCancel(r.Context()), sc.ID) // not half made
			return fromStore(err, "schedule", sc.ID)
		}
	}
	s.runs.WakeScheduler()
	w.Header().Set("Location", "/api/v1/schedules/"+sc.ID)
	writeJSON(w, http.StatusCreated, s.scheduleView(sc))
	return nil
}

func (s *Server) listSchedules(w http.ResponseWriter, r *http.Request) error {
	f := store.ScheduleFilter{Viewer: s.viewer(r)}
	if ref := r.URL.Query().Get("profile"); ref != "" {
		p, err := s.visibleProfile(r, ref)
		if err != nil {
			return err
		}
		f.ProfileID = p.ID
	}
	scs, err := s.st.ListSchedules(r.Context(), f)
	if err != nil {
		return err
	}
	out := []ScheduleView{}
	for _, sc := range scs {
		out = append(out, s.scheduleView(sc))
	}
	writeJSON(w, http.StatusOK, api.ScheduleList{Schedules: out})
	return nil
}

func (s *Server) getSchedule(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	sc, err := s.visibleSchedule(r, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.scheduleView(sc))
	return nil
}

func (s *Server) updateSchedule(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	sc, err := s.visibleSchedule(r, id)
	if err != nil {
		return err
	}
	if err := s.mayChange(r, "schedule", id, sc.OwnerID); err != nil {
		return err
	}
	var req ScheduleRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Profile != "" {
		return invalid("profile", "profile: a schedule's profile cannot change; make a new schedule")
	}
	if req.Private != nil && *req.Private != sc.Private {
		return invalid("private", "private: set when a schedule is created; make a new schedule")
	}
	if req.Capacity != nil {
		return invalid("capacity", "capacity: set when a schedule is created; make a new schedule")
	}
	if req.Spec == "" {
		req.Spec = sc.Spec
	}
	sched, err := parseSchedule(req.Spec, req.Timezone)
	if err != nil {
		return err
	}
	sc.Spec, sc.Timezone = req.Spec, req.Timezone
	if req.Enabled != nil {
		if *req.Enabled && !sc.Enabled {
			sc.LastDueAt = time.Now().UTC() // what fell due while disabled was not missed
		}
		sc.Enabled = *req.Enabled
	}
	sc.NextDueAt = sched.Next(time.Now().UTC())
	if err := s.st.UpdateSchedule(r.Context(), sc); err != nil {
		return fromStore(err, "schedule", id)
	}
	s.runs.WakeScheduler()
	writeJSON(w, http.StatusOK, s.scheduleView(sc))
	return nil
}

func (s *Server) deleteSchedule(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	sc, err := s.visibleSchedule(r, id)
	if err != nil {
		return err
	}
	if err := s.mayChange(r, "schedule", id, sc.OwnerID); err != nil {
		return err
	}
	if err := s.st.DeleteSchedule(r.Context(), id); err != nil {
		return fromStore(err, "schedule", id)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// runSchedule queues a run of a schedule's profile now ("Run now"),
// outside its times. The run is the schedule's as a due one would be (its
// owner and visibility, its schedule id); the schedule's next due time and
// last due time do not move, so nothing is recorded as missed (the
// schedule itself is not written: the scheduler owns its times).
func (s *Server) runSchedule(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	sc, err := s.visibleSchedule(r, id)
	if err != nil {
		return err
	}
	p, err := s.st.GetProfile(r.Context(), sc.ProfileID)
	if err != nil {
		return fromStore(err, "profile", sc.ProfileID)
	}
	prof, _, err := spec.ParseProfile(p.Body)
	if err != nil {
		return err
	}
	// The same admission as any run: files, limits, allow-lists.
	plans, err := s.admit(r.Context(), prof)
	if err != nil {
		return err
	}
	if err := s.checkAgents(prof, plans); err != nil {
		return err
	}
	runID, err := s.runs.QueueScheduled(r.Context(), sc, time.Now().UTC())
	if err != nil {
		return &APIError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "the run could not be queued: " + err.Error()}
	}
	run, err := s.st.GetRun(r.Context(), runID)
	if err != nil {
		return fromStore(err, "run", runID)
	}
	w.Header().Set("Location", "/api/v1/runs/"+run.ID)
	writeJSON(w, http.StatusAccepted, run)
	return nil
}
