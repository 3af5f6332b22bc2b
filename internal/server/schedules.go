package server

import (
	"context"
	"fmt"
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

// lateness is how late a due run may still start; later, it is recorded as
// missed (the server was down or busy), not run hours after its time.
const lateness = time.Minute

// maxMissed bounds the missed runs recorded for one schedule at once.
const maxMissed = 100

func parseSchedule(spec, tz string) (schedule.Schedule, *time.Location, error) {
	loc := time.UTC
	if tz != "" {
		var err error
		if loc, err = time.LoadLocation(tz); err != nil {
			return nil, nil, invalid("timezone", "timezone: unknown %q (want an IANA name such as Europe/Berlin)", tz)
		}
	}
	s, err := schedule.Parse(spec, loc)
	if err != nil {
		return nil, nil, invalid("spec", "spec: %v", err)
	}
	return s, loc, nil
}

func (s *Server) scheduleView(sc *store.Schedule) ScheduleView {
	v := ScheduleView{Schedule: sc}
	if p, _, err := parseSchedule(sc.Spec, sc.Timezone); err == nil {
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
	sched, _, err := parseSchedule(req.Spec, req.Timezone)
	if err != nil {
		return err
	}
	if err := s.admitStored(r.Context(), p.Body, "profile."); err != nil {
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
	s.scheduler.wake()
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
	if req.Spec == "" {
		req.Spec = sc.Spec
	}
	sched, _, err := parseSchedule(req.Spec, req.Timezone)
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
	s.scheduler.wake()
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
	runID, err := s.queueScheduled(r.Context(), sc, time.Now().UTC())
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

// scheduler starts the runs schedules call for and records the ones that
// fell due while the server was down as missed.
type scheduler struct {
	s      *Server
	kick   chan struct{}
	stop   context.CancelFunc
	done   chan struct{}
	now    func() time.Time
	period time.Duration
}

func newScheduler(s *Server) *scheduler {
	ctx, stop := context.WithCancel(context.Background())
	sc := &scheduler{s: s, kick: make(chan struct{}, 1), stop: stop, done: make(chan struct{}), now: time.Now, period: time.Second}
	go sc.loop(ctx)
	return sc
}

func (sc *scheduler) wake() {
	select {
	case sc.kick <- struct{}{}:
	default:
	}
}

func (sc *scheduler) close() {
	sc.stop()
	<-sc.done
}

func (sc *scheduler) loop(ctx context.Context) {
	defer close(sc.done)
	t := time.NewTicker(sc.period)
	defer t.Stop()
	for {
		sc.tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-sc.kick:
		}
	}
}

// tick handles every schedule that is due.
func (sc *scheduler) tick(ctx context.Context) {
	st, log := sc.s.st, sc.s.log
	now := sc.now().UTC()
	due, err := st.DueSchedules(ctx, now)
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("reading due schedules", logKeyErr, err)
		}
		return
	}
	for _, s := range due {
		if err := sc.handle(ctx, s, now); err != nil && ctx.Err() == nil {
			log.Warn("schedule", "schedule", s.ID, logKeyErr, err)
		}
	}
}

func (sc *scheduler) handle(ctx context.Context, s *store.Schedule, now time.Time) error {
	st := sc.s.st
	sched, _, err := parseSchedule(s.Spec, s.Timezone)
	if err != nil {
		s.Enabled = false // a spec that no longer parses must not spin
		_ = st.UpdateSchedule(ctx, s)
		return fmt.Errorf("spec %q: %w", s.Spec, err)
	}
	last := s.LastDueAt
	if last.IsZero() {
		last = s.CreatedAt
	}
	times, more := schedule.Missed(sched, last, now, maxMissed)
	for i, at := range times {
		latest := i == len(times)-1
		if latest && now.Sub(at) <= lateness {
			id, err := sc.s.queueScheduled(ctx, s, at)
			if err != nil {
				return err
			}
			s.LastRunID = id
			continue
		}
		missed := &store.Run{State: store.RunMissed, ScheduleID: s.ID, DueAt: at, ProfileID: s.ProfileID,
			Error:      fmt.Sprintf("missed: due at %s, the server was not running (or was %s late)", at.Format(time.RFC3339), now.Sub(at).Round(time.Second)),
			FinishedAt: now, Profile: []byte(`{}`), OwnerID: s.OwnerID, Private: s.Private}
		if err := st.CreateRun(ctx, missed); err != nil {
			return err
		}
		sc.s.metrics.state("", store.RunMissed)
	}
	if more {
		sc.s.log.Warn("schedule missed more runs than are recorded", "schedule", s.ID, "recorded", maxMissed)
	}
	if len(times) > 0 {
		s.LastDueAt = times[len(times)-1]
	}
	s.NextDueAt = sched.Next(now)
	return st.UpdateSchedule(ctx, s)
}

// queueScheduled queues a run of the schedule's profile.
func (s *Server) queueScheduled(ctx context.Context, sc *store.Schedule, at time.Time) (string, error) {
	p, err := s.st.GetProfile(ctx, sc.ProfileID)
	if err != nil {
		return "", err
	}
	run := &store.Run{State: store.RunQueued, ProfileID: p.ID, ProfileRevision: p.Revision, Profile: p.Body,
		Name: p.Name, Labels: p.Labels, ScheduleID: sc.ID, DueAt: at, OwnerID: sc.OwnerID, Private: sc.Private, InstanceID: s.instance}
	if err := s.admitStored(ctx, p.Body, ""); err != nil {
		// Not run: recorded as failed with the reason, for whoever looks.
		reason := admitReason(err)
		if err := s.st.CreateRun(ctx, run); err != nil {
			return "", err
		}
		// A new run is queued, and a queued run cannot fail: it goes
		// through running, at once.
		now := time.Now().UTC()
		for _, state := range []string{store.RunRunning, store.RunFailed} {
			run.State, run.StartedAt = state, now
			if state == store.RunFailed {
				run.Error, run.FinishedAt = reason, now
			}
			if err := s.st.UpdateRun(ctx, run); err != nil {
				return "", err
			}
		}
		s.metrics.state("", store.RunFailed)
		s.log.Warn("scheduled run refused", "schedule", sc.ID, logKeyRun, run.ID, logKeyErr, run.Error)
		return run.ID, nil
	}
	if err := s.st.CreateRun(ctx, run); err != nil {
		return "", err
	}
	s.runs.hub(run.ID).publish(Event{Type: "state", Run: run})
	s.metrics.state("", store.RunQueued)
	select {
	case s.runs.queue <- run.ID:
	default:
		return "", fmt.Errorf("run queue full")
	}
	return run.ID, nil
}
