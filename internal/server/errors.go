package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/meshperf/meshperf/store"
)

// APIError is an error with the HTTP status and the stable body every API
// error has: {"error": {"code", "message", "field"}}.
type APIError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// Details lists every problem when there are several (a profile with
	// many invalid fields), each with its field.
	Details []Detail `json:"details,omitempty"`
	Err     error    `json:"-"`
}

// Detail is one of several problems.
type Detail struct {
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (e *APIError) Error() string { return e.Message }
func (e *APIError) Unwrap() error { return e.Err }

// Error codes.
const (
	CodeBadRequest       = "bad_request"
	CodeInvalid          = "invalid"
	CodeNotFound         = "not_found"
	CodeConflict         = "conflict"
	CodeForbidden        = "forbidden"
	CodeTooLarge         = "too_large"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeInternal         = "internal"
	CodeUnavailable      = "unavailable"
)

func badRequest(field, format string, a ...any) *APIError {
	return &APIError{Status: http.StatusBadRequest, Code: CodeBadRequest, Field: field, Message: fmt.Sprintf(format, a...)}
}

func invalid(field, format string, a ...any) *APIError {
	return &APIError{Status: http.StatusUnprocessableEntity, Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, a...)}
}

func notFound(kind, ref string) *APIError {
	return &APIError{Status: http.StatusNotFound, Code: CodeNotFound, Message: fmt.Sprintf("no %s %q", kind, ref)}
}

// fromStore maps the store's errors to API errors.
func fromStore(err error, kind, ref string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound(kind, ref)
	case errors.Is(err, store.ErrConflict):
		return &APIError{Status: http.StatusConflict, Code: CodeConflict, Message: err.Error(), Err: err}
	case errors.Is(err, store.ErrInvalid):
		return &APIError{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: err.Error(), Err: err}
	}
	return err
}

// handlerFunc is an HTTP handler that returns its error, which one function
// (serve) turns into the JSON error body.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) serve(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *APIError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &mbe):
		ae = &APIError{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge, Message: fmt.Sprintf("request body larger than %d bytes", mbe.Limit)}
	default:
		s.log.Error("request failed", logKeyMethod, r.Method, logKeyPath, r.URL.Path, logKeyErr, err)
		ae = &APIError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error; see the server's log"}
	}
	writeJSON(w, ae.Status, map[string]*APIError{"error": ae})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
