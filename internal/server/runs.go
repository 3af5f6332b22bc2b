package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/meshperf/meshperf/internal/api"
	"github.com/meshperf/meshperf/internal/capacity"
	"github.com/meshperf/meshperf/internal/conformance/result"
	"github.com/meshperf/meshperf/internal/runs"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

// RunRequest submits a run: a stored profile by name or id, or a profile
// document.
type RunRequest = api.RunRequest

// Event is one message of a run's live stream.
type Event = api.Event

// ProgressEvent is a second of a running test and the run so far.
type ProgressEvent = api.ProgressEvent

// eventOf is the run service's event as the stream sends it.
func eventOf(e runs.Event) Event {
	if st, ok := e.Step.(capacity.Step); ok {
		return Event{Type: "step", Step: &st}
	}
	if t, ok := e.Step.(result.TestResult); ok {
		return Event{Type: "test", Test: &t}
	}
	if e.Progress != nil {
		return Event{Type: "progress", Progress: progressEvent(*e.Progress)}
	}
	return Event{Type: "state", Run: e.Run}
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

func (s *Server) submitRun(w http.ResponseWriter, r *http.Request) error {
	var req RunRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.checkPrivate("private", req.Private); err != nil {
		return err
	}
	run := &store.Run{State: store.RunQueued, Labels: req.Labels, OwnerID: s.owner(r), Private: req.Private, InstanceID: s.runs.Instance()}
	if _, err := s.admitRequest(r, run, req.Profile, req.ProfileDocument); err != nil {
		return err
	}
	if err := s.runs.Submit(r.Context(), run); errors.Is(err, runs.ErrQueueFull) {
		return &APIError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "too many runs queued; try later"}
	} else if err != nil {
		return fromStore(err, "run", "")
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
		if err := s.runs.CancelQueued(r.Context(), run); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return s.cancelRun(w, r) // it just started: cancel it running
			}
			return err
		}
	case store.RunRunning:
		s.runs.CancelRunning(id)
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
	send := func(re runs.Event) error {
		e := eventOf(re)
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		_ = rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout))
		_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Type, b)
		flusher.Flush()
		return err
	}
	past, c, unsubscribe, live := s.runs.Subscribe(id)
	if !live {
		// Not run by this server process (finished before a restart):
		// its final state is all there is.
		return send(runs.Event{Run: run})
	}
	for _, e := range past {
		if err := send(e); err != nil {
			return nil
		}
	}
	if c == nil {
		return nil
	}
	defer unsubscribe()
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

// admitRequest is the profile a run or capacity request names, admitted
// (its problems named under profile_document.) with the agents it asks
// for present; run gets the profile's fields, its name and, when the
// request gave none, its labels.
func (s *Server) admitRequest(r *http.Request, run *store.Run, ref string, doc json.RawMessage) (*spec.Profile, error) {
	prof, err := s.requestedProfile(r, run, ref, doc)
	if err != nil {
		return nil, err
	}
	plans, err := s.admit(r.Context(), prof)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			return nil, prefixProblems("profile_document.", ae)
		}
		return nil, err
	}
	// A profile with agents: runs on them (each step of a search too):
	// they must be there.
	if err := s.checkAgents(prof, plans); err != nil {
		return nil, err
	}
	run.Name = prof.Name
	if run.Labels == nil && len(prof.Labels) > 0 {
		run.Labels = prof.Labels
	}
	return prof, nil
}

// requestedProfile is the profile a run or capacity request names: a
// stored one (profile) or a document (profile_document), exactly one;
// it fills run's profile fields.
func (s *Server) requestedProfile(r *http.Request, run *store.Run, ref string, doc json.RawMessage) (*spec.Profile, error) {
	switch {
	case ref != "" && len(doc) > 0:
		return nil, invalid("profile", "give profile (a stored profile) or profile_document, not both")
	case ref != "":
		sp, err := s.visibleProfile(r, ref)
		if err != nil {
			return nil, err
		}
		prof, _, err := spec.ParseProfile(sp.Body)
		if err != nil {
			return nil, err
		}
		run.ProfileID, run.ProfileRevision, run.Profile = sp.ID, sp.Revision, sp.Body
		run.Private = run.Private || sp.Private
		return prof, nil
	case len(doc) > 0:
		prof, _, err := spec.ParseProfile(doc)
		if err != nil {
			return nil, prefixProblems("profile_document.", problems(http.StatusBadRequest, CodeBadRequest, err))
		}
		if run.Profile, err = prof.JSON(); err != nil {
			return nil, err
		}
		return prof, nil
	}
	return nil, invalid("profile", "give profile (a stored profile's name or id) or profile_document")
}
