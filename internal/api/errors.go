package api

import (
	"fmt"
	"net/http"
)

// ErrorBody is the body of every error the API answers with:
// {"error": {"code", "message", "field", "details"}}.
type ErrorBody struct {
	Error *Error `json:"error"`
}

// Error is an error the API answered with. Status is the HTTP status; it is
// not in the body but set by whoever reads the response.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// Details lists every problem when there are several (a profile with
	// many invalid fields), each with its field.
	Details []Detail `json:"details,omitempty"`
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("the server answered %d %s", e.Status, http.StatusText(e.Status))
	}
	return e.Message
}

// Detail is one of several problems.
type Detail struct {
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

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
