package runs

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/meshperf/meshperf/internal/runner"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

// Log attribute keys.
const (
	logKeyErr   = "err"
	logKeyRun   = "run"
	logKeyCount = "count"
)

// Admission is the server's check of what it runs (files, limits,
// allow-lists), made again when a run starts and when a schedule queues
// one. Its errors are the reason a run is refused, in one line.
type Admission interface {
	Admit(ctx context.Context, prof *spec.Profile) ([]*loadgen.Plan, error)
	AdmitStored(ctx context.Context, body []byte) error
}

// Distributor runs a test on agents: publish gets the merged progress of
// each second; the outcome says whether it was aborted or degraded.
type Distributor interface {
	Run(ctx context.Context, id string, prof *spec.Profile, plans []*loadgen.Plan, publish func(loadgen.Progress)) (*spec.Result, DistOutcome, error)
}

// DistOutcome is how a distributed run ended, besides its result.
type DistOutcome struct {
	// Aborted, when not empty, says why the run was stopped early by the
	// profile's on_drop policy; the result keeps what was measured.
	Aborted string
	// Degraded, when not empty, names the agents lost, failed or refused,
	// and why.
	Degraded string
}

// Options wire a Service to its parts.
type Options struct {
	Store   store.Store
	Logger  *slog.Logger
	Version string
	// Concurrency is how many runs may load at once (at least 1).
	Concurrency int
	Admission   Admission
	// Agents runs the profiles that ask for agents; nil: none.
	Agents Distributor
	// StateChanged is told of every run's move from one state to another
	// ("" for none), for the server's metrics; nil: no one.
	StateChanged func(from, to string)
	// MeshContext, when set, reads the cluster's mesh context for a run's
	// targets at its start (the server's cluster inventory).
	MeshContext func(plans []*loadgen.Plan) *spec.MeshContext
	// ScheduledJob, when set, queues on m what a due schedule names
	// instead of a run (a capacity search, with SubmitJob) and returns its
	// run's id; ok false leaves the schedule to a run of its profile. It
	// may be called before New returns (the scheduler starts in New).
	ScheduledJob func(ctx context.Context, m *Service, sc *store.Schedule, at time.Time) (runID string, ok bool, err error)
	// MeshTraffic, when set, adds to that context what the mesh reported
	// about the targets over the run's measured window.
	MeshTraffic MeshTraffic

	// Instance names this server process in the store: its runs are its
	// own. InstanceTimeout is how long a heartbeat may be stale before
	// another server takes its runs for dead (DefaultInstanceTimeout when
	// 0).
	Instance        string
	InstanceTimeout time.Duration
	// SaveEvery is how often a running test's result so far is saved
	// (DefaultSaveEvery when 0; negative: never, only at the end).
	SaveEvery time.Duration
	// SaveRetries and SaveBackoff bound the retries of a failed final
	// save (and of a run's final state): SaveRetries more tries
	// (DefaultSaveRetries when 0, none when negative), SaveBackoff
	// (DefaultSaveBackoff when 0) between the first two, doubling.
	SaveRetries int
	SaveBackoff time.Duration
}

// ErrQueueFull: too many runs are queued; the run was not.
var ErrQueueFull = errors.New("too many runs queued")

// Causes of a run's end other than finishing.
var (
	errCancelled = errors.New("cancelled by a user")
	// ErrInterrupted is the cause of a run's context when the server
	// shuts down.
	ErrInterrupted = errors.New("interrupted: the server shut down")
)

// AfterGrace is how long an interrupted run may still spend on its
// Prometheus queries once the shutdown grace is over; saving what it
// measured is retried (saver.final), and a running test's partial result
// is already in the store (SaveEvery).
const (
	AfterGrace = 2 * time.Second
	// stuckWait is how long shutdown waits, after AfterGrace, for a worker
	// still saving; the server then exits anyway, and the next one marks
	// that run interrupted.
	stuckWait = 2 * time.Second
)

// Service queues and executes the server's runs, Concurrency at a time,
// streams their events, saves what they measure as they go, keeps this
// instance's heartbeat and runs the schedules.
type Service struct {
	st      store.Store
	log     *slog.Logger
	version string
	admit   Admission
	agents  Distributor
	changed func(from, to string)
	meshCtx func(plans []*loadgen.Plan) *spec.MeshContext
	jobOf   func(ctx context.Context, m *Service, sc *store.Schedule, at time.Time) (string, bool, error)
	meshTfc MeshTraffic

	instance        string
	instanceTimeout time.Duration
	saveEvery       time.Duration
	saveRetries     int
	saveBackoff     time.Duration

	queue   chan string
	mu      sync.Mutex
	jobs    map[string]Job
	hubs    map[string]*hub
	cancels map[string]context.CancelCauseFunc
	wg      sync.WaitGroup
	stop    context.CancelFunc
	ctx     context.Context
	// after is the context of what a run does once it has ended
	// (Prometheus queries): cancelled AfterGrace after the shutdown grace.
	after     context.Context
	stopAfter context.CancelFunc

	scheduler *scheduler
	stopBeat  context.CancelFunc
	beating   sync.WaitGroup
}

// New makes a Service and starts its workers; with a store, it also
// interrupts the runs of servers whose heartbeat stopped (now and while it
// runs) and starts the scheduler. Shutdown stops it.
func New(opts Options) *Service {
	m := &Service{st: opts.Store, log: opts.Logger, version: opts.Version, admit: opts.Admission, agents: opts.Agents,
		changed: opts.StateChanged, meshCtx: opts.MeshContext, jobOf: opts.ScheduledJob, meshTfc: opts.MeshTraffic, instance: opts.Instance, instanceTimeout: opts.InstanceTimeout,
		saveEvery: opts.SaveEvery, saveRetries: opts.SaveRetries, saveBackoff: opts.SaveBackoff,
		queue: make(chan string, 10000), hubs: map[string]*hub{}, jobs: map[string]Job{}, cancels: map[string]context.CancelCauseFunc{}}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.changed == nil {
		m.changed = func(string, string) {}
	}
	if m.instance == "" {
		m.instance = store.NewID()
	}
	if m.instanceTimeout <= 0 {
		m.instanceTimeout = DefaultInstanceTimeout
	}
	if m.saveEvery == 0 {
		m.saveEvery = DefaultSaveEvery
	}
	if m.saveRetries < 0 {
		m.saveRetries = 0
	} else if m.saveRetries == 0 {
		m.saveRetries = DefaultSaveRetries
	}
	if m.saveBackoff <= 0 {
		m.saveBackoff = DefaultSaveBackoff
	}
	if m.st != nil {
		// Runs of servers whose heartbeat stopped are interrupted now and
		// while this one runs; a live server's are left alone.
		m.beat(context.Background())
		ctx, stop := context.WithCancel(context.Background())
		m.stopBeat = stop
		m.beating.Add(1)
		go func() { defer m.beating.Done(); m.heartbeat(ctx) }()
	}
	m.ctx, m.stop = context.WithCancel(context.Background())
	m.after, m.stopAfter = context.WithCancel(context.Background())
	for i := 0; i < max(1, opts.Concurrency); i++ {
		m.wg.Add(1)
		go m.worker()
	}
	if m.st != nil {
		m.scheduler = newScheduler(m)
	}
	return m
}

// Instance is the id this server process has in the store.
func (m *Service) Instance() string { return m.instance }

func (m *Service) hub(id string) *hub {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, ok := m.hubs[id]
	if !ok {
		h = newHub()
		m.hubs[id] = h
	}
	return h
}

// Submit stores run (queued) and queues it; ErrQueueFull when the queue
// is full (the run is then recorded as cancelled).
func (m *Service) Submit(ctx context.Context, run *store.Run) error {
	if err := m.st.CreateRun(ctx, run); err != nil {
		return err
	}
	m.hub(run.ID).publish(Event{Run: run})
	m.changed("", store.RunQueued)
	select {
	case m.queue <- run.ID:
		return nil
	default:
		run.State, run.Error, run.FinishedAt = store.RunCancelled, "the queue is full", time.Now().UTC()
		_ = m.st.UpdateRun(context.WithoutCancel(ctx), run)
		return ErrQueueFull
	}
}

// Job is a run of another kind than one test (a capacity search): it runs
// with the run's context (cancelled by CancelRunning or the shutdown),
// publishes its steps with step, and returns the state it ended in and why
// (Outcome decides it from the context's cause).
type Job func(ctx context.Context, r *store.Run, step func(any)) (state, msg string)

// SubmitJob stores run (queued) and queues it, to be run by job rather
// than as its profile's test. The job is kept in this process only: a
// restart leaves the run interrupted, as any run.
func (m *Service) SubmitJob(ctx context.Context, run *store.Run, job Job) error {
	if job == nil {
		return errors.New("runs: a nil job")
	}
	if err := m.st.CreateRun(ctx, run); err != nil {
		return err
	}
	m.mu.Lock()
	m.jobs[run.ID] = job
	m.mu.Unlock()
	m.hub(run.ID).publish(Event{Run: run})
	m.changed("", store.RunQueued)
	select {
	case m.queue <- run.ID:
		return nil
	default:
		m.mu.Lock()
		delete(m.jobs, run.ID)
		m.mu.Unlock()
		run.State, run.Error, run.FinishedAt = store.RunCancelled, "the queue is full", time.Now().UTC()
		_ = m.st.UpdateRun(context.WithoutCancel(ctx), run)
		return ErrQueueFull
	}
}

// JobOutcome is the state a job's run ended in when the job itself
// finished without failing: cancelled or interrupted by its context's
// cause, succeeded otherwise.
func JobOutcome(ctx context.Context) (state, msg string) {
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errCancelled):
		return store.RunCancelled, "cancelled; the steps so far are kept"
	case errors.Is(cause, ErrInterrupted) || ctx.Err() != nil:
		return store.RunInterrupted, "the server shut down; the steps so far are kept"
	}
	return store.RunSucceeded, ""
}

// CancelQueued records a queued run as cancelled and ends its stream;
// store.ErrConflict when it has just started (cancel it running).
func (m *Service) CancelQueued(ctx context.Context, run *store.Run) error {
	run.State, run.Error, run.FinishedAt = store.RunCancelled, "cancelled before it started", time.Now().UTC()
	if err := m.st.UpdateRun(ctx, run); err != nil {
		return err
	}
	m.changed(store.RunQueued, store.RunCancelled)
	m.mu.Lock()
	delete(m.jobs, run.ID)
	m.mu.Unlock()
	h := m.hub(run.ID)
	h.publish(Event{Run: run})
	h.close()
	return nil
}

// CancelRunning cancels a run this process is running, if it is; the run
// keeps what it measured.
func (m *Service) CancelRunning(id string) {
	m.mu.Lock()
	c := m.cancels[id]
	m.mu.Unlock()
	if c != nil {
		c(errCancelled)
	}
}

// Subscribe returns a run's events so far and a channel of what follows
// (nil when the run has ended), with what ends the subscription; live is
// false when this process did not run it (it finished before a restart).
func (m *Service) Subscribe(id string) (past []Event, next <-chan Event, unsubscribe func(), live bool) {
	m.mu.Lock()
	h, live := m.hubs[id]
	m.mu.Unlock()
	if !live {
		return nil, nil, func() {}, false
	}
	past, c := h.subscribe()
	if c == nil {
		return past, nil, func() {}, true
	}
	return past, c, func() { h.unsubscribe(c) }, true
}

func (m *Service) worker() {
	defer m.wg.Done()
	for {
		select {
		case <-m.ctx.Done():
			return
		case id := <-m.queue:
			m.execute(id)
		}
	}
}

// execute runs one queued run to its end.
func (m *Service) execute(id string) {
	st, log := m.st, m.log
	bg := context.WithoutCancel(m.ctx)
	r, err := st.GetRun(bg, id)
	if err != nil || r.State != store.RunQueued {
		return // cancelled while queued, or gone
	}
	ctx, cancel := context.WithCancelCause(m.ctx)
	defer cancel(nil)
	m.mu.Lock()
	m.cancels[id] = cancel
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.cancels, id)
		m.mu.Unlock()
	}()
	m.mu.Lock()
	job := m.jobs[id]
	delete(m.jobs, id)
	m.mu.Unlock()
	h := m.hub(id)
	defer func() {
		h.close()
		// Keep a finished run's history a while for late subscribers.
		time.AfterFunc(10*time.Minute, func() {
			m.mu.Lock()
			delete(m.hubs, id)
			m.mu.Unlock()
		})
	}()

	r.State, r.StartedAt = store.RunRunning, time.Now().UTC()
	if err := st.UpdateRun(bg, r); err != nil {
		log.Warn("run did not start", logKeyRun, id, logKeyErr, err)
		return
	}
	m.changed(store.RunQueued, store.RunRunning)
	h.publish(Event{Run: snapshot(r)})

	finish := func(state, msg string) { r = m.finish(bg, h, r, state, msg) }
	if job != nil {
		finish(job(ctx, snapshot(r), func(step any) { h.publish(Event{Step: step}) }))
		return
	}
	prof, _, err := spec.ParseProfile(r.Profile)
	if err != nil {
		finish(store.RunFailed, "profile: "+err.Error())
		return
	}
	// Checked again at the start: the profile, the allow-lists or the
	// limits may have changed since the run was queued.
	plans, err := m.admit.Admit(ctx, prof)
	if err != nil {
		finish(store.RunFailed, err.Error())
		return
	}
	// What is measured is saved every SaveEvery while the test runs.
	cp := newCheckpoint(time.Now(), plans)
	sv := m.startSaver(r, cp)
	defer sv.stop()
	var dist DistOutcome // how a distributed run ended: aborted, degraded
	t := m.test(r, prof, plans, h, cp, &dist)
	t.Save = func(_ context.Context, res *spec.Result) (string, error) { return sv.final(bg, res) }
	out, err := Execute(ctx, t)
	if err != nil {
		finish(store.RunFailed, err.Error())
		return
	}
	r.ResultID = out.ResultID // with a failed save, the last partial result, if any was saved
	if out.SaveErr != nil {
		finish(store.RunFailed, out.SaveErr.Error())
		return
	}
	finish(outcomeState(ctx, out, dist))
}

// finish records that run r ended in state, with msg, retried like the
// result (a run is never left running because the store failed once), and
// publishes it; it returns the run as stored.
func (m *Service) finish(ctx context.Context, h *hub, r *store.Run, state, msg string) *store.Run {
	m.changed(store.RunRunning, state)
	r.State, r.Error, r.FinishedAt = state, msg, time.Now().UTC()
	var final error // a refusal retrying cannot change
	_, err := retry(ctx, m.saveRetries, m.saveBackoff, func() error {
		err := m.st.UpdateRun(ctx, r)
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrNotFound) {
			final, err = err, nil
		}
		return err
	})
	if err = errors.Join(err, final); err != nil {
		m.log.Warn("run state not saved", logKeyRun, r.ID, logKeyErr, err)
		if cur, gerr := m.st.GetRun(ctx, r.ID); gerr == nil {
			r = cur
		}
	}
	h.publish(Event{Run: snapshot(r)})
	return r
}

// snapshot is a copy of r as it is now, for the event history: the worker
// goes on changing r while subscribers encode the events.
func snapshot(r *store.Run) *store.Run {
	c := *r
	return &c
}

// test is run r as the run service executes it: on this process's engine,
// or on agents when its profile asks for them, its progress published and
// checkpointed, the result named and labelled as the run. dist receives
// how a distributed run ended.
func (m *Service) test(r *store.Run, prof *spec.Profile, plans []*loadgen.Plan, h *hub, cp *checkpoint, dist *DistOutcome) Test {
	publish := func(p loadgen.Progress) {
		// The history keeps the second's figures, not its histograms
		// and tables (an hour of them would weigh on a distributed run).
		p.Interval.StatusCodes, p.Interval.ErrorClasses, p.Interval.Latency, p.Interval.ServiceTime = nil, nil, "", ""
		h.publish(Event{Progress: &p})
	}
	t := Test{Plans: plans, Engine: Local(m.version), Metrics: prof.Metrics, After: m.after,
		Name: r.Name, Labels: r.Labels, ProfileID: r.ProfileID, ProfileRevision: r.ProfileRevision}
	if m.meshCtx != nil {
		t.Mesh = m.meshCtx(plans) // the cluster at the run's start
		t.MeshTraffic = m.meshTfc
	}
	if !prof.UsesAgents() {
		comb := runner.NewCombiner(len(plans), publish)
		t.Sink = func(i int) loadgen.Sink { return cp.sink(comb.Sink(i)) }
		return t
	}
	t.Engine = func(ctx context.Context, plans []*loadgen.Plan, _ func(int) loadgen.Sink) (res *spec.Result, err error) {
		if m.agents == nil {
			return nil, errors.New("this server takes no agents")
		}
		res, *dist, err = m.agents.Run(ctx, r.ID, prof, plans, func(p loadgen.Progress) {
			cp.add(p.Interval)
			publish(p)
		})
		return res, err
	}
	return t
}

// outcomeState is the state a run ended in, and why.
func outcomeState(ctx context.Context, out *Outcome, dist DistOutcome) (state, msg string) {
	switch cause := context.Cause(ctx); {
	case dist.Aborted != "":
		return store.RunFailed, dist.Aborted
	case errors.Is(cause, errCancelled):
		return store.RunCancelled, "cancelled; the result keeps what was measured"
	case errors.Is(cause, ErrInterrupted) || ctx.Err() != nil:
		return store.RunInterrupted, "the server shut down; the result keeps what was measured"
	case out.NoResponse != nil:
		return store.RunFailed, "no request got a response" + out.NoResponse.Cause()
	case out.Result.EndedEarly != "":
		// The target stopped taking connections: as the CLI (exit 3), a failure.
		return store.RunFailed, "ended early: " + out.Result.EndedEarly
	case dist.Degraded != "":
		return store.RunDegraded, "part of the load was lost: " + dist.Degraded
	}
	return store.RunSucceeded, ""
}

// Shutdown stops taking runs and lets running ones finish within grace;
// after that they are cancelled and recorded as interrupted, with what they
// measured kept. The scheduler and the heartbeat stop too.
func (m *Service) Shutdown(grace time.Duration) {
	if m.scheduler != nil {
		m.scheduler.close()
	}
	m.drain(grace)
	if m.stopBeat != nil {
		m.stopBeat()
		m.beating.Wait()
	}
}

func (m *Service) drain(grace time.Duration) {
	done := make(chan struct{})
	go func() {
		m.mu.Lock()
		n := len(m.cancels)
		m.mu.Unlock()
		for n > 0 {
			time.Sleep(50 * time.Millisecond)
			m.mu.Lock()
			n = len(m.cancels)
			m.mu.Unlock()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(grace):
		m.mu.Lock()
		for _, c := range m.cancels {
			c(ErrInterrupted)
		}
		m.mu.Unlock()
	}
	m.stop()
	stopped := make(chan struct{})
	go func() { m.wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(AfterGrace):
		m.stopAfter() // Prometheus queries of interrupted runs end here
		select {
		case <-stopped:
		case <-time.After(stuckWait):
			m.log.Error("a run did not stop after the shutdown grace; the next server marks it interrupted")
		}
	}
	m.stopAfter()
	// Streams of runs that never started (or did not stop) end too.
	m.mu.Lock()
	hubs := make([]*hub, 0, len(m.hubs))
	for _, h := range m.hubs {
		hubs = append(hubs, h)
	}
	m.mu.Unlock()
	for _, h := range hubs {
		h.close()
	}
}
