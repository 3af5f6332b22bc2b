package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/meshperf/meshperf/internal/prom"
	"github.com/meshperf/meshperf/internal/runner"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

// RunRequest submits a run: a stored profile by name or id, or a profile
// document.
type RunRequest struct {
	Profile         string            `json:"profile,omitempty"`
	ProfileDocument json.RawMessage   `json:"profile_document,omitempty"`
	Labels          map[string]string `json:"labels,omitempty"`
	// Private (team mode) shows the run and its result to their owner and
	// admins only. A run of a private stored profile is private whatever
	// it says.
	Private bool `json:"private,omitempty"`
}

// Event is one message of a run's live stream.
type Event struct {
	// Type is "state" (the run changed state) or "progress" (a second
	// of the run ended).
	Type     string         `json:"type"`
	Run      *store.Run     `json:"run,omitempty"`
	Progress *ProgressEvent `json:"progress,omitempty"`
}

// ProgressEvent is a second of a running test and the run so far.
type ProgressEvent struct {
	Elapsed      float64 `json:"elapsed_s"`
	Second       int     `json:"second"`
	Warmup       bool    `json:"warmup,omitempty"`
	RequestedRPS float64 `json:"requested_rps,omitempty"`
	AchievedRPS  float64 `json:"achieved_rps"`
	Requests     int64   `json:"requests"`
	Errors       int64   `json:"errors"`
	P50Ms        float64 `json:"p50_ms"`
	P90Ms        float64 `json:"p90_ms"`
	P99Ms        float64 `json:"p99_ms"`
	// So far: the measured part of the run up to this second.
	TotalRequests int64   `json:"total_requests"`
	TotalErrors   int64   `json:"total_errors"`
	TotalRPS      float64 `json:"total_rps"`
	TotalP50Ms    float64 `json:"total_p50_ms"`
	TotalP90Ms    float64 `json:"total_p90_ms"`
	TotalP99Ms    float64 `json:"total_p99_ms"`
}

// maxEvents bounds a run's kept history (an hour of seconds and its states).
const maxEvents = 4000

// hub keeps a run's events and hands them to subscribers: a late one first
// gets what already happened.
type hub struct {
	mu     sync.Mutex
	events []Event
	subs   map[chan Event]struct{}
	closed bool
}

func newHub() *hub { return &hub{subs: map[chan Event]struct{}{}} }

func (h *hub) publish(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.events) < maxEvents || e.Type == "state" {
		h.events = append(h.events, e)
	}
	for c := range h.subs {
		select {
		case c <- e:
		default: // a subscriber that cannot keep up misses a second, not the server
		}
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for c := range h.subs {
		close(c)
	}
	h.subs = map[chan Event]struct{}{}
}

// subscribe returns what happened so far and a channel of what follows
// (closed when the run ends); nil when the run has already ended.
func (h *hub) subscribe() ([]Event, chan Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	past := append([]Event(nil), h.events...)
	if h.closed {
		return past, nil
	}
	c := make(chan Event, 64)
	h.subs[c] = struct{}{}
	return past, c
}

func (h *hub) unsubscribe(c chan Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[c]; ok {
		delete(h.subs, c)
		close(c)
	}
}

// runs queues and executes test runs, Concurrency at a time.
type runs struct {
	s       *Server
	queue   chan string
	mu      sync.Mutex
	hubs    map[string]*hub
	cancels map[string]context.CancelCauseFunc
	wg      sync.WaitGroup
	stop    context.CancelFunc
	ctx     context.Context
	// after is the context of what a run does once it has ended
	// (Prometheus queries): cancelled afterGrace after the shutdown grace.
	after     context.Context
	stopAfter context.CancelFunc
}

// afterGrace is how long an interrupted run may still spend on its
// Prometheus queries once the shutdown grace is over; saving what it
// measured is retried (saver.final), and a running test's partial result
// is already in the store (--save-every).
const (
	afterGrace = 2 * time.Second
	// stuckWait is how long shutdown waits, after afterGrace, for a worker
	// still saving; the server then exits anyway, and the next one marks
	// that run interrupted.
	stuckWait = 2 * time.Second
)

// Causes of a run's end other than finishing.
var (
	errCancelled   = errors.New("cancelled by a user")
	errInterrupted = errors.New("interrupted: the server shut down")
)

func newRuns(s *Server, concurrency int) *runs {
	ctx, stop := context.WithCancel(context.Background())
	after, stopAfter := context.WithCancel(context.Background())
	m := &runs{s: s, queue: make(chan string, 10000), hubs: map[string]*hub{}, cancels: map[string]context.CancelCauseFunc{}, ctx: ctx, stop: stop,
		after: after, stopAfter: stopAfter}
	for i := 0; i < concurrency; i++ {
		m.wg.Add(1)
		go m.worker()
	}
	return m
}

func (m *runs) hub(id string) *hub {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, ok := m.hubs[id]
	if !ok {
		h = newHub()
		m.hubs[id] = h
	}
	return h
}

func (m *runs) worker() {
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
func (m *runs) execute(id string) {
	st, log := m.s.st, m.s.log
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
	m.s.metrics.state(store.RunQueued, store.RunRunning)
	h.publish(Event{Type: "state", Run: r})

	finish := func(state, msg string) {
		m.s.metrics.state(store.RunRunning, state)
		r.State, r.Error, r.FinishedAt = state, msg, time.Now().UTC()
		// Retried like the result: a run is never left running because the
		// store failed once.
		var final error // a refusal retrying cannot change
		_, err := retry(bg, m.s.saveRetries, m.s.saveBackoff, func() error {
			err := st.UpdateRun(bg, r)
			if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrNotFound) {
				final, err = err, nil
			}
			return err
		})
		if err = errors.Join(err, final); err != nil {
			log.Warn("run state not saved", logKeyRun, id, logKeyErr, err)
			if cur, gerr := st.GetRun(bg, id); gerr == nil {
				r = cur
			}
		}
		h.publish(Event{Type: "state", Run: r})
	}

	prof, _, err := spec.ParseProfile(r.Profile)
	if err != nil {
		finish(store.RunFailed, "profile: "+err.Error())
		return
	}
	// Checked again at the start: the profile, the allow-lists or the
	// limits may have changed since the run was queued.
	plans, err := m.s.admit(ctx, prof)
	if err != nil {
		finish(store.RunFailed, admitReason(err))
		return
	}
	meshCtx := m.s.meshContext(plans) // the cluster at the run's start (cluster.go)
	publish := func(p loadgen.Progress) {
		h.publish(Event{Type: "progress", Progress: progressEvent(p)})
	}
	// What is measured is saved every SaveEvery while the test runs.
	cp := newCheckpoint(time.Now(), plans)
	sv := m.s.startSaver(r, cp)
	defer sv.stop()
	var res *spec.Result
	var dist distOutcome // how a distributed run ended: aborted, degraded
	if prof.UsesAgents() {
		res, dist, err = m.s.agents.runOnAgents(ctx, id, prof, plans, func(p loadgen.Progress) {
			cp.add(p.Interval)
			publish(p)
		})
	} else {
		comb := runner.NewCombiner(len(plans), publish)
		res, err = runner.Run(ctx, m.s.version, plans, func(i int) loadgen.Sink { return cp.sink(comb.Sink(i)) })
	}
	if err != nil {
		finish(store.RunFailed, err.Error())
		return
	}
	prom.Fill(m.after, prof.Metrics, res) // missing metrics say why; they never fail the run
	res.Name, res.Mesh = r.Name, meshCtx
	res.Labels = r.Labels
	res.ProfileID, res.ProfileRevision = r.ProfileID, r.ProfileRevision
	resID, err := sv.final(bg, res)
	if err != nil {
		r.ResultID = resID // the last partial result, if any was saved
		finish(store.RunFailed, err.Error())
		return
	}
	r.ResultID = resID
	switch cause := context.Cause(ctx); {
	case dist.Aborted != "":
		finish(store.RunFailed, dist.Aborted)
	case errors.Is(cause, errCancelled):
		finish(store.RunCancelled, "cancelled; the result keeps what was measured")
	case errors.Is(cause, errInterrupted) || ctx.Err() != nil:
		finish(store.RunInterrupted, "the server shut down; the result keeps what was measured")
	case res.Achieved.Requests > 0 && res.Achieved.Responses == 0:
		msg := "no request got a response"
		if len(res.Errors) > 0 {
			msg += ": " + res.Errors[0].Class
			if len(res.Errors[0].Examples) > 0 {
				msg += " (" + res.Errors[0].Examples[0] + ")"
			}
		}
		finish(store.RunFailed, msg)
	case res.EndedEarly != "":
		// The target stopped taking connections: as the CLI (exit 3), a failure.
		finish(store.RunFailed, "ended early: "+res.EndedEarly)
	case dist.Degraded != "":
		finish(store.RunDegraded, "part of the load was lost: "+dist.Degraded)
	default:
		finish(store.RunSucceeded, "")
	}
}

func progressEvent(p loadgen.Progress) *ProgressEvent {
	iv := p.Interval
	return &ProgressEvent{
		Elapsed: p.Elapsed.Seconds(), Second: iv.Second, Warmup: iv.Warmup,
		RequestedRPS: iv.RequestedRPS, AchievedRPS: iv.AchievedRPS, Requests: iv.Requests, Errors: iv.Errors,
		P50Ms: iv.P50Ms, P90Ms: iv.P90Ms, P99Ms: iv.P99Ms,
		TotalRequests: p.SoFar.Requests, TotalErrors: p.SoFar.Errors, TotalRPS: p.SoFar.RPS,
		TotalP50Ms: ms(p.SoFar.P50), TotalP90Ms: ms(p.SoFar.P90), TotalP99Ms: ms(p.SoFar.P99),
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// shutdown stops taking runs and lets running ones finish within grace;
// after that they are cancelled and recorded as interrupted, with what they
// measured kept.
func (m *runs) shutdown(grace time.Duration) {
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
			c(errInterrupted)
		}
		m.mu.Unlock()
	}
	m.stop()
	stopped := make(chan struct{})
	go func() { m.wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(afterGrace):
		m.stopAfter() // Prometheus queries of interrupted runs end here
		select {
		case <-stopped:
		case <-time.After(stuckWait):
			m.s.log.Error("a run did not stop after the shutdown grace; the next server marks it interrupted")
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

func (s *Server) submitRun(w http.ResponseWriter, r *http.Request) error {
	var req RunRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.checkPrivate("private", req.Private); err != nil {
		return err
	}
	run := &store.Run{State: store.RunQueued, Labels: req.Labels, OwnerID: s.owner(r), Private: req.Private, InstanceID: s.instance}
	var prof *spec.Profile
	switch {
	case req.Profile != "" && len(req.ProfileDocument) > 0:
		return invalid("profile", "give profile (a stored profile) or profile_document, not both")
	case req.Profile != "":
		sp, err := s.visibleProfile(r, req.Profile)
		if err != nil {
			return err
		}
		if prof, _, err = spec.ParseProfile(sp.Body); err != nil {
			return err
		}
		run.ProfileID, run.ProfileRevision, run.Profile = sp.ID, sp.Revision, sp.Body
		run.Private = run.Private || sp.Private
	case len(req.ProfileDocument) > 0:
		var err error
		var warnings []string
		prof, warnings, err = spec.ParseProfile(req.ProfileDocument)
		if err != nil {
			return prefixProblems("profile_document.", problems(http.StatusBadRequest, CodeBadRequest, err))
		}
		_ = warnings
		if run.Profile, err = prof.JSON(); err != nil {
			return err
		}
	default:
		return invalid("profile", "give profile (a stored profile's name or id) or profile_document")
	}
	plans, err := s.admit(r.Context(), prof)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			return prefixProblems("profile_document.", ae)
		}
		return err
	}
	if err := s.checkAgents(prof, plans); err != nil {
		return err
	}
	run.Name = prof.Name
	if run.Labels == nil && len(prof.Labels) > 0 {
		run.Labels = prof.Labels
	}
	if err := s.st.CreateRun(r.Context(), run); err != nil {
		return fromStore(err, "run", "")
	}
	s.runs.hub(run.ID).publish(Event{Type: "state", Run: run})
	s.metrics.state("", store.RunQueued)
	select {
	case s.runs.queue <- run.ID:
	default:
		run.State, run.Error, run.FinishedAt = store.RunCancelled, "the queue is full", time.Now().UTC()
		_ = s.st.UpdateRun(context.WithoutCancel(r.Context()), run)
		return &APIError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "too many runs queued; try later"}
	}
	w.Header().Set("Location", "/api/v1/runs/"+run.ID)
	writeJSON(w, http.StatusAccepted, run)
	return nil
}

func prefixProblems(prefix string, ae *APIError) *APIError {
	if ae.Field != "" {
		ae.Field = prefix + ae.Field
	}
	for i := range ae.Details {
		if ae.Details[i].Field != "" {
			ae.Details[i].Field = prefix + ae.Details[i].Field
		}
	}
	return ae
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := store.RunFilter{Cursor: q.Get("cursor"), Limit: 50, Viewer: s.viewer(r)}
	for _, st := range q["state"] {
		switch st {
		case store.RunQueued, store.RunRunning, store.RunSucceeded, store.RunDegraded, store.RunFailed, store.RunCancelled, store.RunInterrupted, store.RunMissed:
			f.States = append(f.States, st)
		default:
			return badRequest("state", "state: unknown %q (want queued, running, succeeded, degraded, failed, cancelled, interrupted or missed)", st)
		}
	}
	if l := q.Get("limit"); l != "" {
		var err error
		if f.Limit, err = parsePositive("limit", l); err != nil {
			return err
		}
		if f.Limit > 1000 {
			return badRequest("limit", "limit: at most 1000, got %d", f.Limit)
		}
	}
	page, err := s.st.ListRuns(r.Context(), f)
	if err != nil {
		return fromStore(err, "runs", "")
	}
	if page.Runs == nil {
		page.Runs = []store.Run{}
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	run, err := s.visibleRun(r, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, run)
	return nil
}

func (s *Server) cancelRun(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	run, err := s.visibleRun(r, id)
	if err != nil {
		return err
	}
	if err := s.mayChange(r, "run", id, run.OwnerID); err != nil {
		return err
	}
	switch run.State {
	case store.RunQueued:
		run.State, run.Error, run.FinishedAt = store.RunCancelled, "cancelled before it started", time.Now().UTC()
		if err := s.st.UpdateRun(r.Context(), run); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return s.cancelRun(w, r) // it just started: cancel it running
			}
			return err
		}
		s.metrics.state(store.RunQueued, store.RunCancelled)
		h := s.runs.hub(id)
		h.publish(Event{Type: "state", Run: run})
		h.close()
	case store.RunRunning:
		s.runs.mu.Lock()
		c := s.runs.cancels[id]
		s.runs.mu.Unlock()
		if c != nil {
			c(errCancelled)
		}
	default:
		return &APIError{Status: http.StatusConflict, Code: CodeConflict, Message: fmt.Sprintf("run %s has already ended (%s)", id, run.State)}
	}
	writeJSON(w, http.StatusAccepted, run)
	return nil
}

// runEvents streams a run's events as Server-Sent Events: what already
// happened first, then each event as it comes, until the run ends.
func (s *Server) runEvents(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	run, err := s.visibleRun(r, id)
	if err != nil {
		return err
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		return errors.New("streaming unsupported")
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	// The stream outlives the server's read and write timeouts: no read
	// deadline (the client sends nothing more), a deadline per write.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout))
	w.WriteHeader(http.StatusOK)
	send := func(e Event) error {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		_ = rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout))
		_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Type, b)
		flusher.Flush()
		return err
	}
	s.runs.mu.Lock()
	h, live := s.runs.hubs[id]
	s.runs.mu.Unlock()
	if !live {
		// Not run by this server process (finished before a restart):
		// its final state is all there is.
		return send(Event{Type: "state", Run: run})
	}
	past, c := h.subscribe()
	for _, e := range past {
		if err := send(e); err != nil {
			return nil
		}
	}
	if c == nil {
		return nil
	}
	defer h.unsubscribe(c)
	keepAlive := time.NewTicker(15 * time.Second)
	defer keepAlive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case e, ok := <-c:
			if !ok {
				return nil
			}
			if err := send(e); err != nil {
				return nil
			}
		case <-keepAlive.C:
			_ = rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout))
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
			flusher.Flush()
		}
	}
}
