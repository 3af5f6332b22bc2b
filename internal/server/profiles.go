package server

import (
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/meshperf/meshperf/internal/api"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

// ProfileView is api.ProfileView, the contract's type.
type ProfileView = api.ProfileView

func view(p *store.Profile, withBody bool) (*ProfileView, error) {
	v := &ProfileView{ID: p.ID, Name: p.Name, Revision: p.Revision, Labels: p.Labels, CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC(),
		OwnerID: p.OwnerID, Private: p.Private}
	if withBody {
		doc, _, err := spec.ParseProfile(p.Body)
		if err != nil {
			return nil, err
		}
		doc.ID = p.ID
		v.Profile = doc
	}
	return v, nil
}

func (s *Server) listProfiles(w http.ResponseWriter, r *http.Request) error {
	q, err := parseNamedList(r.URL.Query())
	if err != nil {
		return err
	}
	ps, err := s.st.ListProfiles(r.Context(), store.ProfileFilter{Name: q.name, Labels: q.labels, Viewer: s.viewer(r),
		After: q.after, Limit: q.limit + 1, NoBody: true})
	if err != nil {
		return err
	}
	page := api.ProfileList{Profiles: []*ProfileView{}}
	ps, page.NextCursor = trimPage(ps, q.limit, func(p *store.Profile) string { return p.Name })
	for _, p := range ps {
		v, _ := view(p, false)
		page.Profiles = append(page.Profiles, v)
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// namedList is what the lists of named documents (profiles, designs) take
// from the query: a name, labels, and a page by name.
type namedList struct {
	name   string
	labels map[string]string
	limit  int
	after  string
}

func parseNamedList(q url.Values) (namedList, error) {
	labels, err := parseLabels(q["label"])
	if err != nil {
		return namedList{}, err
	}
	limit, after, err := pageParams(q)
	if err != nil {
		return namedList{}, err
	}
	return namedList{name: q.Get("name"), labels: labels, limit: limit, after: after}, nil
}

// trimPage cuts the one item more than the page that a list asks the store
// for (to know whether another page follows) and returns the cursor of the
// next page, or "" when there is none.
func trimPage[T any](items []T, limit int, name func(T) string) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, nameCursor(name(items[limit-1]))
}

func pageParams(q url.Values) (limit int, after string, err error) {
	limit = store.DefaultLimit
	if l := q.Get("limit"); l != "" {
		if limit, err = parsePositive("limit", l); err != nil {
			return 0, "", err
		}
		if limit > store.MaxLimit {
			return 0, "", badRequest("limit", "limit: at most %d, got %d", store.MaxLimit, limit)
		}
	}
	if c := q.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil || len(b) == 0 || len(b) > 4096 {
			return 0, "", badRequest("cursor", "cursor: not one this server gave (pass next_cursor from the page before)")
		}
		after = string(b)
	}
	return limit, after, nil
}

// nameCursor is the next_cursor of a page whose last item is name.
func nameCursor(name string) string { return base64.RawURLEncoding.EncodeToString([]byte(name)) }

// readProfile reads a profile document from the body: SMP JSON or YAML
// (Content-Type application/yaml), validated, every problem named.
func (s *Server) readProfile(w http.ResponseWriter, r *http.Request) (*spec.Profile, []string, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, min(s.maxBody, spec.MaxProfileSize)))
	if err != nil {
		return nil, nil, err
	}
	p, warnings, err := spec.ParseProfile(body)
	if err != nil {
		return nil, nil, problems(http.StatusBadRequest, CodeBadRequest, err)
	}
	if err := p.Validate(); err != nil {
		return nil, nil, problems(http.StatusUnprocessableEntity, CodeInvalid, err)
	}
	if p.Name == "" {
		return nil, nil, invalid("name", "name: a stored profile needs a name")
	}
	return p, warnings, nil
}

// readStoredProfile reads a profile to store (readProfile) and returns it
// with its JSON body, which the server's limits and allow-lists admit.
func (s *Server) readStoredProfile(w http.ResponseWriter, r *http.Request) (*spec.Profile, []byte, []string, error) {
	p, warnings, err := s.readProfile(w, r)
	if err != nil {
		return nil, nil, nil, err
	}
	body, err := p.JSON()
	if err != nil {
		return nil, nil, nil, err
	}
	if err := s.admitStored(r.Context(), body, ""); err != nil {
		return nil, nil, nil, err
	}
	return p, body, warnings, nil
}

// problems turns a joined error of field errors into one APIError listing
// each.
func problems(status int, code string, err error) *APIError {
	ae := &APIError{Status: status, Code: code, Err: err}
	var msgs []string
	for _, e := range unjoin(err) {
		d := Detail{Message: e.Error()}
		var fe *spec.FieldError
		if errors.As(e, &fe) {
			d.Field = fe.Path
		} else if path, _, ok := strings.Cut(e.Error(), ": "); ok && !strings.Contains(path, " ") {
			d.Field = path
		}
		ae.Details = append(ae.Details, d)
		msgs = append(msgs, d.Message)
	}
	ae.Message = strings.Join(msgs, "; ")
	if len(ae.Details) > 0 {
		ae.Field = ae.Details[0].Field
	}
	if len(ae.Details) == 1 {
		ae.Details = nil
	}
	return ae
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// createProfile stores a new profile. The body is the profile document, so
// a private profile (team mode) is asked for with the query parameter
// ?private=true.
func (s *Server) createProfile(w http.ResponseWriter, r *http.Request) error {
	private, err := s.privateParam(r)
	if err != nil {
		return err
	}
	p, body, warnings, err := s.readStoredProfile(w, r)
	if err != nil {
		return err
	}
	sp := &store.Profile{Name: p.Name, Labels: p.Labels, Body: body, OwnerID: s.owner(r), Private: private}
	if err := s.st.CreateProfile(r.Context(), sp); err != nil {
		return fromStore(err, "profile", p.Name)
	}
	v, err := view(sp, true)
	if err != nil {
		return err
	}
	v.Warnings = warnings
	w.Header().Set("Location", "/api/v1/profiles/"+sp.ID)
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (s *Server) getProfile(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("ref")
	n := 0
	if rev := r.URL.Query().Get("revision"); rev != "" {
		var err error
		if n, err = parsePositive("revision", rev); err != nil {
			return err
		}
	}
	p, err := s.visibleProfile(r, ref)
	if err != nil {
		return err
	}
	if n > 0 {
		if p, err = s.st.ProfileRevision(r.Context(), p.ID, n); err != nil {
			return fromStore(err, "profile", ref)
		}
	}
	v, err := view(p, true)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) updateProfile(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("ref")
	old, err := s.visibleProfile(r, ref)
	if err != nil {
		return err
	}
	if err := s.mayChange(r, "profile", ref, old.OwnerID); err != nil {
		return err
	}
	p, body, warnings, err := s.readStoredProfile(w, r)
	if err != nil {
		return err
	}
	sp := &store.Profile{ID: old.ID, Name: p.Name, Labels: p.Labels, Body: body}
	if err := s.st.UpdateProfile(r.Context(), sp); err != nil {
		return fromStore(err, "profile", ref)
	}
	v, err := view(sp, true)
	if err != nil {
		return err
	}
	v.Warnings = warnings
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) deleteProfile(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("ref")
	p, err := s.visibleProfile(r, ref)
	if err != nil {
		return err
	}
	if err := s.mayChange(r, "profile", ref, p.OwnerID); err != nil {
		return err
	}
	if err := s.st.DeleteProfile(r.Context(), p.ID); err != nil {
		return fromStore(err, "profile", ref)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) profileRevisions(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("ref")
	p, err := s.visibleProfile(r, ref)
	if err != nil {
		return err
	}
	revs, err := s.st.ProfileRevisions(r.Context(), p.ID)
	if err != nil {
		return fromStore(err, "profile", ref)
	}
	out := []*ProfileView{}
	for _, p := range revs {
		v, _ := view(p, false)
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, api.ProfileRevisions{Revisions: out})
	return nil
}
