package auth

import (
	"errors"
	"net/http"

	"github.com/meshperf/meshperf/store/authstore"
)

// Sentinel errors. Callers branch with errors.Is; the service wraps them with
// detail ("not authenticated: access token signature does not match"), and
// never puts a token or a password in an error.
var (
	// ErrUnauthenticated: no credentials, or a token that is malformed, forged,
	// signed with another key, or that belongs to a user who no longer exists.
	ErrUnauthenticated = errors.New("not authenticated")
	// ErrInvalidCredentials: the same error for an unknown user and a wrong
	// password, so that a login does not tell which user names exist.
	ErrInvalidCredentials = errors.New("invalid user name or password")
	ErrTokenExpired       = errors.New("token expired: refresh the access token or log in again")
	ErrTokenRevoked       = authstore.ErrTokenRevoked
	// ErrTokenReused: a refresh token was presented a second time, which means
	// it was copied; every token of that login has been revoked.
	ErrTokenReused  = errors.New("refresh token already used: all sessions of this login were revoked for safety, log in again")
	ErrForbidden    = errors.New("permission denied: this needs an admin or the owner")
	ErrConflict     = authstore.ErrConflict // the store's errors, the same values
	ErrNotFound     = authstore.ErrNotFound
	ErrWeakPassword = errors.New("password rejected")
	ErrInvalidName  = errors.New("invalid name")
)

// Error codes of the JSON error body, {"error":{"code":...,"message":...}}.
const (
	CodeUnauthenticated    = "unauthenticated"
	CodeInvalidCredentials = "invalid_credentials"
	CodeTokenExpired       = "token_expired"
	CodeTokenRevoked       = "token_revoked"
	CodeTokenReused        = "token_reused"
	CodeForbidden          = "forbidden"
	CodeConflict           = "conflict"
	CodeNotFound           = "not_found"
	CodeInvalidArgument    = "invalid_argument"
	CodeRateLimited        = "rate_limited"
	CodeInternal           = "internal"
)

// ErrorCode maps an error of this package to an HTTP status and an error code,
// for the API's one function that turns errors into JSON bodies. Errors that
// are not from this package give 500 and CodeInternal.
func ErrorCode(err error) (status int, code string) {
	switch {
	case errors.Is(err, ErrTokenExpired):
		return http.StatusUnauthorized, CodeTokenExpired
	case errors.Is(err, ErrTokenRevoked):
		return http.StatusUnauthorized, CodeTokenRevoked
	case errors.Is(err, ErrTokenReused):
		return http.StatusUnauthorized, CodeTokenReused
	case errors.Is(err, ErrInvalidCredentials):
		return http.StatusUnauthorized, CodeInvalidCredentials
	case errors.Is(err, ErrUnauthenticated):
		return http.StatusUnauthorized, CodeUnauthenticated
	case errors.Is(err, ErrRateLimited):
		return http.StatusTooManyRequests, CodeRateLimited
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden, CodeForbidden
	case errors.Is(err, ErrConflict):
		return http.StatusConflict, CodeConflict
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, CodeNotFound
	case errors.Is(err, ErrWeakPassword), errors.Is(err, ErrInvalidName):
		return http.StatusBadRequest, CodeInvalidArgument
	default:
		return http.StatusInternalServerError, CodeInternal
	}
}
