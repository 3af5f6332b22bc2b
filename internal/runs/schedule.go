package runs

import (
	"context"
	"fmt"
	"time"

	"github.com/meshperf/meshperf/internal/schedule"
	"github.com/meshperf/meshperf/store"
)

// lateness is how late a due run may still start; later, it is recorded as
// missed (the server was down or busy), not run hours after its time.
const lateness = time.Minute

// maxMissed bounds the missed runs recorded for one schedule at once.
const maxMissed = 100

// scheduler starts the runs schedules call for and records the ones that
// fell due while the server was down as missed.
type scheduler struct {
	m      *Service
	kick   chan struct{}
	stop   context.CancelFunc
	done   chan struct{}
	now    func() time.Time
	period time.Duration
}

func newScheduler(m *Service) *scheduler {
	ctx, stop := context.WithCancel(context.Background())
	sc := &scheduler{m: m, kick: make(chan struct{}, 1), stop: stop, done: make(chan struct{}), now: time.Now, period: time.Second}
	go sc.loop(ctx)
	return sc
}

// WakeScheduler looks at the schedules now rather than at the next tick
// (one was created or changed).
func (m *Service) WakeScheduler() {
	if m.scheduler == nil {
		return
	}
	select {
	case m.scheduler.kick <- struct{}{}:
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
	st, log := sc.m.st, sc.m.log
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
	st := sc.m.st
	sched, err := schedule.ParseIn(s.Spec, s.Timezone)
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
			id, err := sc.m.QueueScheduled(ctx, s, at)
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
		sc.m.changed("", store.RunMissed)
	}
	if more {
		sc.m.log.Warn("schedule missed more runs than are recorded", "schedule", s.ID, "recorded", maxMissed)
	}
	if len(times) > 0 {
		s.LastDueAt = times[len(times)-1]
	}
	s.NextDueAt = sched.Next(now)
	return st.UpdateSchedule(ctx, s)
}

// QueueScheduled queues a run of the schedule's profile, due at at, and
// returns its id. A profile the admission refuses is recorded as a failed
// run, with the reason. A schedule that names a capacity search queues one
// (Options.ScheduledJob).
func (m *Service) QueueScheduled(ctx context.Context, sc *store.Schedule, at time.Time) (string, error) {
	if m.jobOf != nil {
		if id, ok, err := m.jobOf(ctx, m, sc, at); ok || err != nil {
			return id, err
		}
	}
	p, err := m.st.GetProfile(ctx, sc.ProfileID)
	if err != nil {
		return "", err
	}
	run := &store.Run{State: store.RunQueued, ProfileID: p.ID, ProfileRevision: p.Revision, Profile: p.Body,
		Name: p.Name, Labels: p.Labels, ScheduleID: sc.ID, DueAt: at, OwnerID: sc.OwnerID, Private: sc.Private, InstanceID: m.instance}
	if err := m.admit.AdmitStored(ctx, p.Body); err != nil {
		// Not run: recorded as failed with the reason, for whoever looks.
		reason := err.Error()
		if err := m.st.CreateRun(ctx, run); err != nil {
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
			if err := m.st.UpdateRun(ctx, run); err != nil {
				return "", err
			}
		}
		m.changed("", store.RunFailed)
		m.log.Warn("scheduled run refused", "schedule", sc.ID, logKeyRun, run.ID, logKeyErr, run.Error)
		return run.ID, nil
	}
	if err := m.st.CreateRun(ctx, run); err != nil {
		return "", err
	}
	m.hub(run.ID).publish(Event{Run: run})
	m.changed("", store.RunQueued)
	select {
	case m.queue <- run.ID:
	default:
		return "", fmt.Errorf("run queue full")
	}
	return run.ID, nil
}
