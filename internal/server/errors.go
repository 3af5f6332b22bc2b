package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/meshperf/meshperf/internal/api"
	"github.com/meshperf/meshperf/store"
)

// APIError is an error with the HTTP status; serve writes it as the body
// every API error has, api.ErrorBody: {"error": {"code", "message", "field"}}.
type APIError struct {
	Status  int
	Code    string
	Message string
	Field   string
	// Details lists every problem when there are several (a profile with
	// many invalid fields), each with its field.
	Details []Detail
	Err     error
}

// Detail is api.Detail, one of several problems.
type Detail = api.Detail

func (e *APIError) Error() string { return e.Message }
func (e *APIError) Unwrap() error { return e.Err }

// body is the JSON the API answers e with.
func (e *APIError) body() api.ErrorBody {
	return api.ErrorBody{Error: &api.Error{Code: e.Code, Message: e.Message, Field: e.Field, Details: e.Details}}
}

// Error codes (api's).
const (
	CodeBadRequest       = api.CodeBadRequest
	CodeInvalid          = api.CodeInvalid
	CodeNotFound         = api.CodeNotFound
	CodeConflict         = api.CodeConflict
	CodeForbidden        = api.CodeForbidden
	CodeTooLarge         = api.CodeTooLarge
	CodeMethodNotAllowed = api.CodeMethodNotAllowed
	CodeInternal         = api.CodeInternal
	CodeUnavailable      = api.CodeUnavailable
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
	writeJSON(w, ae.Status, ae.body())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
