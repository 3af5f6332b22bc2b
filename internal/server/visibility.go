package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/meshperf/meshperf/internal/auth"
	"github.com/meshperf/meshperf/store"
)

// In team mode, profiles, runs, results and schedules have an owner (the
// user who created them; a run's result and a schedule's runs get the
// owner of the run or schedule) and may be private: seen only by their
// owner and admins. Everyone else gets 404 for them, as for what does not
// exist, and listings leave them out. Single-user mode has no owners: every
// object is public and "private" is refused.

// viewer is who asks, for the store's listings and CanSee: nil (sees
// everything) in single-user mode.
func (s *Server) viewer(r *http.Request) *store.Viewer {
	if s.auth == nil {
		return nil
	}
	p, ok := auth.FromContext(r.Context())
	if !ok || p.User == nil {
		return &store.Viewer{} // sees only what is public
	}
	return &store.Viewer{UserID: p.User.ID, Admin: p.User.Admin}
}

// owner is the user ID new objects are recorded with: "" in single-user
// mode.
func (s *Server) owner(r *http.Request) string {
	if v := s.viewer(r); v != nil {
		return v.UserID
	}
	return ""
}

// checkPrivate refuses private objects in single-user mode, where nobody
// could be kept from seeing them.
func (s *Server) checkPrivate(field string, private bool) error {
	if private && s.auth == nil {
		return invalid(field, "%s: private objects exist only in team mode (start the server with --auth)", field)
	}
	return nil
}

// privateParam reads the private query parameter of a profile upload (the
// body is the profile document): "true" or "false", absent is false.
func (s *Server) privateParam(r *http.Request) (bool, error) {
	v := r.URL.Query().Get("private")
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest("private", "private: want true or false, got %q", v)
	}
	return b, s.checkPrivate("private", b)
}

// viewing returns the request's context carrying the caller's viewer, for
// the store's lookups by ID prefix: a prefix resolves only among what the
// caller may see, so neither "ambiguous" (which lists IDs) nor the
// difference between it and 404 tells of others' private objects.
func (s *Server) viewing(r *http.Request) context.Context {
	return store.WithViewer(r.Context(), s.viewer(r))
}

// mayChange answers a caller who may see an object but not change it (a
// public object of another user) with 403: only its owner or an admin may
// change or delete a profile, result or schedule, or cancel a run. Objects
// without an owner (made in single-user mode or by the CLI) are the
// admins'. Single-user mode has no owners.
func (s *Server) mayChange(r *http.Request, kind, ref, ownerID string) error {
	v := s.viewer(r)
	if v == nil || v.Admin || (v.UserID != "" && v.UserID == ownerID) {
		return nil
	}
	return &APIError{Status: http.StatusForbidden, Code: CodeForbidden,
		Message: fmt.Sprintf("%s %q belongs to another user: only its owner or an admin may change, delete or cancel it (you may read it, and run a public profile)", kind, ref)}
}

// visibleProfile returns the latest revision of the profile ref names if
// the caller may see it, and a 404 otherwise.
func (s *Server) visibleProfile(r *http.Request, ref string) (*store.Profile, error) {
	p, err := s.st.GetProfile(r.Context(), ref)
	if err != nil {
		return nil, fromStore(err, "profile", ref)
	}
	if !s.viewer(r).CanSee(p.OwnerID, p.Private) {
		return nil, notFound("profile", ref)
	}
	return p, nil
}

// visibleRun returns the run id names if the caller may see it, and a 404
// otherwise.
func (s *Server) visibleRun(r *http.Request, id string) (*store.Run, error) {
	run, err := s.st.GetRun(s.viewing(r), id)
	if err != nil {
		return nil, fromStore(err, "run", id)
	}
	if !s.viewer(r).CanSee(run.OwnerID, run.Private) {
		return nil, notFound("run", id)
	}
	return run, nil
}

// visibleSchedule returns the schedule id names if the caller may see it,
// and a 404 otherwise.
func (s *Server) visibleSchedule(r *http.Request, id string) (*store.Schedule, error) {
	sc, err := s.st.GetSchedule(r.Context(), id)
	if err != nil {
		return nil, fromStore(err, "schedule", id)
	}
	if !s.viewer(r).CanSee(sc.OwnerID, sc.Private) {
		return nil, notFound("schedule", id)
	}
	return sc, nil
}
