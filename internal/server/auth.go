package server

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/meshperf/meshperf/internal/api"
	"github.com/meshperf/meshperf/internal/auth"
)

// publicRoutes need no token even in team mode.
var publicRoutes = map[string]bool{
	"GET /healthz":              true,
	"GET /readyz":               true,
	"GET /api/v1/openapi.json":  true,
	"POST /api/v1/auth/login":   true,
	"POST /api/v1/auth/refresh": true,
	"POST /api/v1/auth/logout":  true,
}

// adminRoutes need an admin in team mode.
var adminRoutes = map[string]bool{
	"GET /api/v1/users":  true,
	"POST /api/v1/users": true,
}

// guard wraps a route's handler with authentication in team mode.
func (s *Server) guard(pattern string, h http.Handler) http.Handler {
	if s.auth == nil || publicRoutes[pattern] {
		return h
	}
	if adminRoutes[pattern] {
		h = s.requireAdmin(h)
	}
	return s.auth.Middleware(h)
}

// requireAdmin answers non-admins with 403, and logs it.
func (s *Server) requireAdmin(next http.Handler) http.Handler {
	admin := auth.RequireAdmin(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := auth.FromContext(r.Context()); ok && !p.User.Admin {
			s.log.WarnContext(r.Context(), "request refused", "code", "forbidden", "method", r.Method, "path", r.URL.Path,
				"remote", r.RemoteAddr, "user", p.User.Name)
		}
		admin.ServeHTTP(w, r)
	})
}

// errSingleUser answers the auth endpoints of a server without --auth.
var errSingleUser = &APIError{Status: http.StatusNotFound, Code: CodeNotFound,
	Message: "authentication is off: this server runs in single-user mode (start it with --auth for team mode)"}

// authError turns auth's errors into the API's.
func authError(err error) error {
	status, code := auth.ErrorCode(err)
	if status == http.StatusInternalServerError {
		return err
	}
	msg := err.Error()
	if status == http.StatusUnauthorized {
		msg = "not authenticated: " + code // no detail that helps guessing
	}
	return &APIError{Status: status, Code: code, Message: msg, Err: err}
}

// LoginRequest is api.LoginRequest, the contract's type.
type LoginRequest = api.LoginRequest

// TokenResponse is api.TokenResponse, the contract's type.
type TokenResponse = api.TokenResponse

// RefreshRequest is api.RefreshRequest, the contract's type.
type RefreshRequest = api.RefreshRequest

func tokens(t *auth.Tokens) TokenResponse {
	return TokenResponse{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: "Bearer", ExpiresIn: t.ExpiresIn.Seconds()}
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	if s.auth == nil {
		return errSingleUser
	}
	var req LoginRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	t, err := s.auth.LoginFrom(r.Context(), req.Name, req.Password, r.RemoteAddr)
	if err != nil {
		if after := auth.RetryAfter(err); after > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(after))
		}
		// A locked-out or flooding address waits for its refusal: a flood
		// then costs the server about a request a second per connection.
		if d := auth.TarpitDelay(err); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
			}
		}
		return authError(err)
	}
	writeJSON(w, http.StatusOK, tokens(t))
	return nil
}

func (s *Server) refresh(w http.ResponseWriter, r *http.Request) error {
	if s.auth == nil {
		return errSingleUser
	}
	var req RefreshRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	t, err := s.auth.Refresh(r.Context(), req.RefreshToken)
	if err != nil {
		return authError(err)
	}
	writeJSON(w, http.StatusOK, tokens(t))
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if s.auth == nil {
		return errSingleUser
	}
	var req RefreshRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.auth.Logout(r.Context(), req.RefreshToken); err != nil {
		return authError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// principal is the caller in team mode.
func (s *Server) principal(r *http.Request) (*auth.Principal, error) {
	if s.auth == nil {
		return nil, errSingleUser
	}
	p, ok := auth.FromContext(r.Context())
	if !ok {
		return nil, authError(auth.ErrUnauthenticated)
	}
	return p, nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	p, err := s.principal(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.Me{User: p.User, Via: p.Via})
	return nil
}

// TokenRequest is api.TokenRequest, the contract's type.
type TokenRequest = api.TokenRequest

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	p, err := s.principal(r)
	if err != nil {
		return err
	}
	var req TokenRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Name == "" {
		return invalid("name", "name: an API token needs a name (what it is for, e.g. ci)")
	}
	tok, info, err := s.auth.MintAPIToken(r.Context(), p, req.Name)
	if err != nil {
		return authError(err)
	}
	writeJSON(w, http.StatusCreated, api.TokenCreated{Token: tok, Info: info,
		Note: "the token is shown once; keep it (meshperf stores only its hash)"})
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	p, err := s.principal(r)
	if err != nil {
		return err
	}
	ts, err := s.auth.ListAPITokens(r.Context(), p.User)
	if err != nil {
		return authError(err)
	}
	if ts == nil {
		ts = []*auth.APIToken{}
	}
	writeJSON(w, http.StatusOK, api.TokenList{Tokens: ts})
	return nil
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	p, err := s.principal(r)
	if err != nil {
		return err
	}
	if err := s.auth.RevokeAPIToken(r.Context(), p.User, r.PathValue("id")); err != nil {
		if errors.Is(err, auth.ErrNotFound) {
			return notFound("token", r.PathValue("id"))
		}
		return authError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// UserRequest is api.UserRequest, the contract's type.
type UserRequest = api.UserRequest

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	if s.auth == nil {
		return errSingleUser
	}
	var req UserRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	u, err := s.auth.CreateUser(r.Context(), req.Name, req.Password, req.Admin)
	if err != nil {
		return authError(err)
	}
	writeJSON(w, http.StatusCreated, u)
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	if s.auth == nil {
		return errSingleUser
	}
	us, err := s.auth.ListUsers(r.Context())
	if err != nil {
		return authError(err)
	}
	if us == nil {
		us = []*auth.User{}
	}
	writeJSON(w, http.StatusOK, api.UserList{Users: us})
	return nil
}
