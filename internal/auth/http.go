package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

type contextKey struct{}

// errNoToken is the error of requests without a bearer token.
var errNoToken = fmt.Errorf("%w: no bearer token", ErrUnauthenticated)

// NewContext returns ctx carrying p, as Middleware does; single-user mode and
// handler tests use it to act as a user.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, contextKey{}, p)
}

// FromContext returns the Principal that Middleware put in ctx.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(contextKey{}).(*Principal)
	return p, ok && p != nil && p.User != nil
}

// Middleware lets through requests with a valid "Authorization: Bearer"
// token, with their Principal in the request context, and answers the others
// with 401 and a JSON error.
func (s *Service) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r.Header)
		if !ok {
			s.logRejected(r, errNoToken)
			WriteError(w, errNoToken)
			return
		}
		p, err := s.Authenticate(r.Context(), token)
		if err != nil {
			if status, _ := ErrorCode(err); status == http.StatusInternalServerError {
				s.log.ErrorContext(r.Context(), "authenticate request", logKeyErr, err)
			} else {
				s.logRejected(r, err)
			}
			WriteError(w, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), p)))
	})
}

// logRejected records a refused request: who asked for what and why, never
// the token.
func (s *Service) logRejected(r *http.Request, err error) {
	_, code := ErrorCode(err)
	s.log.WarnContext(r.Context(), "request refused", "code", code, "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
}

// RequireAdmin lets through requests of admins, behind Middleware, and
// answers the others with 403 (401 without a Principal).
func RequireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := FromContext(r.Context())
		switch {
		case !ok:
			WriteError(w, errNoToken)
		case !p.User.Admin:
			WriteError(w, ErrForbidden)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// bearerToken returns the token of the request's one Authorization header.
func bearerToken(h http.Header) (string, bool) {
	vs := h.Values("Authorization")
	if len(vs) != 1 {
		return "", false
	}
	scheme, token, ok := strings.Cut(vs[0], " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "Bearer") && token != ""
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// WriteError answers with the status and code that ErrorCode gives for err,
// in the body {"error":{"code":"...","message":"..."}}. Messages name the
// kind of failure, not its detail, so that probing a forged token teaches
// nothing; 401s carry a WWW-Authenticate challenge (RFC 6750).
func WriteError(w http.ResponseWriter, err error) {
	status, code := ErrorCode(err)
	var b errorBody
	b.Error.Code = code
	b.Error.Message = publicMessage(err, status)
	if status == http.StatusUnauthorized {
		challenge := `Bearer realm="meshperf"`
		if !errors.Is(err, ErrInvalidCredentials) && !errors.Is(err, errNoToken) {
			challenge += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(b) // the client may be gone
}

func publicMessage(err error, status int) string {
	switch {
	case errors.Is(err, errNoToken):
		return `authentication required: send "Authorization: Bearer <token>" with an access token or an API token`
	case errors.Is(err, ErrTokenExpired):
		return ErrTokenExpired.Error()
	case errors.Is(err, ErrTokenRevoked):
		return ErrTokenRevoked.Error()
	case errors.Is(err, ErrTokenReused):
		return ErrTokenReused.Error()
	case errors.Is(err, ErrInvalidCredentials):
		return ErrInvalidCredentials.Error()
	case errors.Is(err, ErrUnauthenticated):
		return "invalid token: log in again, or check the API token"
	case status == http.StatusInternalServerError:
		return "internal error"
	default:
		return err.Error() // forbidden, conflict, not found, invalid argument: actionable detail
	}
}
