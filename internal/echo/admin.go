package echo

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Stats are the handler's counts since it was made.
type Stats struct {
	Requests     uint64         `json:"requests"`  // echo responses written
	ByStatus     map[int]uint64 `json:"by_status"` // echo responses by status code
	Canceled     uint64         `json:"canceled"`  // clients gone during the delay or stall
	InFlight     int64          `json:"in_flight"` // echo requests being answered now
	Stalls       uint64         `json:"stalls"`    // stalls started
	StalledUntil time.Time      `json:"stalled_until,omitzero"`
}

// Stats returns the handler's counts.
func (h *Handler) Stats() Stats {
	s := Stats{
		Requests:     h.stats.requests.Load(),
		ByStatus:     make(map[int]uint64),
		Canceled:     h.stats.canceled.Load(),
		InFlight:     h.stats.inFlight.Load(),
		Stalls:       h.stall.count.Load(),
		StalledUntil: h.stall.stalledUntil(),
	}
	for code := range h.stats.byStatus {
		if n := h.stats.byStatus[code].Load(); n > 0 {
			s.ByStatus[code] = n
		}
	}
	return s
}

func (h *Handler) adminMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("POST /admin/stall", adminFunc(h.handleStall))
	mux.Handle("GET /admin/stats", adminFunc(h.handleStats))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

// adminFunc is an admin endpoint; the error it returns becomes the JSON
// error body of the response.
type adminFunc func(w http.ResponseWriter, r *http.Request) error

func (f adminFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := f(w, r); err != nil {
		code := http.StatusInternalServerError
		if ae, ok := errors.AsType[*apiError](err); ok {
			code = ae.code
		}
		writeJSON(w, code, map[string]string{"error": err.Error()})
	}
}

// apiError is an admin request error with the status code to answer.
type apiError struct {
	code int
	err  error
}

func (e *apiError) Error() string { return e.err.Error() }
func (e *apiError) Unwrap() error { return e.err }

func badRequest(format string, a ...any) error {
	return &apiError{code: http.StatusBadRequest, err: fmt.Errorf(format, a...)}
}

// handleStall starts a stall: POST /admin/stall?for=1s.
func (h *Handler) handleStall(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query().Get("for")
	if v == "" {
		return badRequest(`missing query parameter "for", as in /admin/stall?for=1s`)
	}
	d, err := parsePositiveDuration(v)
	if err != nil {
		return badRequest(`query parameter "for": %w`, err)
	}
	end := h.stall.stall(d)
	writeJSON(w, http.StatusOK, struct {
		StalledUntil string `json:"stalled_until"`
	}{end.UTC().Format(time.RFC3339Nano)})
	return nil
}

// handleStats answers GET /admin/stats.
func (h *Handler) handleStats(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, h.Stats())
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // one line
}
