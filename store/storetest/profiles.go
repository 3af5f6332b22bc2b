package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/meshperf/meshperf/store"
)

func newProfile(name string, labels map[string]string) *store.Profile {
	return &store.Profile{Name: name, Labels: labels, Body: []byte(fmt.Sprintf(`{"name":%q,"rps":100}`, name))}
}

// sameProfile fails the test unless got is want, timestamps to the
// nanosecond.
func sameProfile(t *testing.T, what string, got, want *store.Profile) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || got.Revision != want.Revision ||
		!bytes.Equal(got.Body, want.Body) || !maps.Equal(got.Labels, want.Labels) ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) ||
		got.OwnerID != want.OwnerID || got.Private != want.Private {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func (o opener) testCreateProfile(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	before := time.Now()
	p := newProfile("smoke", map[string]string{"mesh": "istio", "env": "dev"})
	must(t, "CreateProfile", s.CreateProfile(ctx, p))
	if len(p.ID) != 20 || p.Revision != 1 {
		t.Errorf("created profile has ID %q, revision %d; want a 20-digit ID, revision 1", p.ID, p.Revision)
	}
	if p.CreatedAt.Before(before.Add(-time.Second)) || !p.UpdatedAt.Equal(p.CreatedAt) {
		t.Errorf("created at %v, updated at %v; want now, twice", p.CreatedAt, p.UpdatedAt)
	}
	for _, ref := range []string{p.ID, p.Name} {
		got, err := s.GetProfile(ctx, ref)
		must(t, "GetProfile "+ref, err)
		sameProfile(t, "GetProfile "+ref, got, p)
	}

	q := newProfile("with-id", nil)
	q.ID = "my-own-id"
	must(t, "CreateProfile with an ID", s.CreateProfile(ctx, q))
	got, err := s.GetProfile(ctx, "my-own-id")
	must(t, "GetProfile my-own-id", err)
	sameProfile(t, "GetProfile my-own-id", got, q)
}

func (o opener) testProfileConflict(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	p := newProfile("smoke", nil)
	must(t, "CreateProfile", s.CreateProfile(ctx, p))
	wantErr(t, "CreateProfile with a taken name", s.CreateProfile(ctx, newProfile("smoke", nil)), store.ErrConflict)
	q := newProfile("other", nil)
	q.ID = p.ID
	wantErr(t, "CreateProfile with a taken ID", s.CreateProfile(ctx, q), store.ErrConflict)
	ps, err := s.ListProfiles(ctx, store.ProfileFilter{})
	must(t, "ListProfiles", err)
	if len(ps) != 1 {
		t.Errorf("after conflicts, %d profiles, want 1", len(ps))
	}
}

func (o opener) testProfileInvalid(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	big := newProfile("big", nil)
	big.Body = bytes.Repeat([]byte("x"), store.MaxProfileBody+1)
	for name, p := range map[string]*store.Profile{"nil": nil, "no name": newProfile("", nil), "body over 1 MiB": big} {
		wantErr(t, "CreateProfile "+name, s.CreateProfile(ctx, p), store.ErrInvalid)
	}
	p := newProfile("ok", nil)
	must(t, "CreateProfile", s.CreateProfile(ctx, p))
	big.Name = "ok"
	wantErr(t, "UpdateProfile body over 1 MiB", s.UpdateProfile(ctx, big), store.ErrInvalid)
	big.Body = big.Body[:store.MaxProfileBody]
	must(t, "UpdateProfile with a body of 1 MiB", s.UpdateProfile(ctx, big))
}

func (o opener) testUpdateProfile(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	p := newProfile("soak", map[string]string{"env": "dev"})
	must(t, "CreateProfile", s.CreateProfile(ctx, p))
	want := []store.Profile{*p}
	prev := *p
	for i, labels := range []map[string]string{{"env": "staging"}, nil} {
		next := prev
		next.Body = []byte(fmt.Sprintf(`{"name":"soak","rps":%d}`, 200*(i+1)))
		next.Labels = labels
		must(t, "UpdateProfile", s.UpdateProfile(ctx, &next))
		if next.Revision != i+2 || next.ID != p.ID || !next.CreatedAt.Equal(p.CreatedAt) || next.UpdatedAt.Before(p.UpdatedAt) {
			t.Fatalf("update %d: got revision %d, ID %s, created %v, updated %v", i+1, next.Revision, next.ID, next.CreatedAt, next.UpdatedAt)
		}
		want = append(want, next)
		prev = next
	}

	revs, err := s.ProfileRevisions(ctx, "soak")
	must(t, "ProfileRevisions", err)
	if len(revs) != len(want) {
		t.Fatalf("got %d revisions, want %d", len(revs), len(want))
	}
	for i := range want {
		sameProfile(t, fmt.Sprintf("revision %d", i+1), revs[i], &want[i])
		got, err := s.ProfileRevision(ctx, p.ID, i+1)
		must(t, "ProfileRevision", err)
		sameProfile(t, fmt.Sprintf("ProfileRevision %d", i+1), got, &want[i])
	}
	if bytes.Equal(revs[0].Body, revs[1].Body) || bytes.Equal(revs[1].Body, revs[2].Body) {
		t.Error("revisions share a body")
	}
	latest, err := s.GetProfile(ctx, "soak")
	must(t, "GetProfile", err)
	sameProfile(t, "GetProfile after updates", latest, &want[2])
}

func (o opener) testUpdateProfileRef(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	p := newProfile("a", nil)
	must(t, "CreateProfile", s.CreateProfile(ctx, p))
	must(t, "CreateProfile", s.CreateProfile(ctx, newProfile("b", nil)))

	byName := newProfile("a", map[string]string{"v": "2"})
	must(t, "UpdateProfile by name", s.UpdateProfile(ctx, byName))
	if byName.ID != p.ID || byName.Revision != 2 {
		t.Errorf("update by name: ID %s revision %d, want %s 2", byName.ID, byName.Revision, p.ID)
	}

	stale := *p // revision 1
	wantErr(t, "UpdateProfile of a stale revision", s.UpdateProfile(ctx, &stale), store.ErrConflict)

	taken := &store.Profile{ID: p.ID, Name: "b", Body: []byte("{}")}
	wantErr(t, "rename to a taken name", s.UpdateProfile(ctx, taken), store.ErrConflict)

	rename := &store.Profile{ID: p.ID, Name: "a2", Body: []byte(`{"renamed":true}`)}
	must(t, "rename", s.UpdateProfile(ctx, rename))
	if rename.Revision != 3 {
		t.Errorf("rename: revision %d, want 3 (the failed updates stored nothing)", rename.Revision)
	}
	if _, err := s.GetProfile(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetProfile of the old name: %v, want not found", err)
	}
	revs, err := s.ProfileRevisions(ctx, "a2")
	must(t, "ProfileRevisions", err)
	var names []string
	for _, r := range revs {
		names = append(names, r.Name)
	}
	if want := []string{"a", "a", "a2"}; !slices.Equal(names, want) {
		t.Errorf("names of the revisions: %q, want %q", names, want)
	}

	wantErr(t, "UpdateProfile of a missing profile", s.UpdateProfile(ctx, newProfile("missing", nil)), store.ErrNotFound)
	wantErr(t, "UpdateProfile without ID or name", s.UpdateProfile(ctx, &store.Profile{}), store.ErrInvalid)
}

func (o opener) testProfileNotFound(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	must(t, "CreateProfile", s.CreateProfile(ctx, newProfile("there", nil)))
	_, err := s.GetProfile(ctx, "missing")
	wantErr(t, "GetProfile", err, store.ErrNotFound)
	_, err = s.ProfileRevision(ctx, "missing", 1)
	wantErr(t, "ProfileRevision", err, store.ErrNotFound)
	_, err = s.ProfileRevision(ctx, "there", 2)
	wantErr(t, "ProfileRevision of a missing revision", err, store.ErrNotFound)
	_, err = s.ProfileRevision(ctx, "there", 0)
	wantErr(t, "ProfileRevision 0", err, store.ErrInvalid)
	_, err = s.ProfileRevisions(ctx, "missing")
	wantErr(t, "ProfileRevisions", err, store.ErrNotFound)
	wantErr(t, "DeleteProfile", s.DeleteProfile(ctx, "missing"), store.ErrNotFound)
}

func (o opener) testListProfiles(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	for _, p := range []*store.Profile{
		newProfile("istio-smoke", map[string]string{"mesh": "istio", "env": "dev"}),
		newProfile("Istio-Soak", map[string]string{"mesh": "istio", "env": "prod"}),
		newProfile("linkerd-smoke", map[string]string{"mesh": "linkerd", "env": "dev"}),
		newProfile("baseline", nil),
	} {
		must(t, "CreateProfile", s.CreateProfile(ctx, p))
	}
	// The latest revision's labels count, not the old ones.
	must(t, "UpdateProfile", s.UpdateProfile(ctx, newProfile("baseline", map[string]string{"env": "dev"})))
	must(t, "UpdateProfile", s.UpdateProfile(ctx, newProfile("linkerd-smoke", map[string]string{"mesh": "linkerd"})))

	tests := []struct {
		name string
		f    store.ProfileFilter
		want []string
	}{
		{"all, by name", store.ProfileFilter{}, []string{"Istio-Soak", "baseline", "istio-smoke", "linkerd-smoke"}},
		{"name substring, any case", store.ProfileFilter{Name: "ISTIO"}, []string{"Istio-Soak", "istio-smoke"}},
		{"name substring", store.ProfileFilter{Name: "smoke"}, []string{"istio-smoke", "linkerd-smoke"}},
		{"one label", store.ProfileFilter{Labels: map[string]string{"env": "dev"}}, []string{"baseline", "istio-smoke"}},
		{"every label", store.ProfileFilter{Labels: map[string]string{"env": "dev", "mesh": "istio"}}, []string{"istio-smoke"}},
		{"labels and name", store.ProfileFilter{Name: "soak", Labels: map[string]string{"mesh": "istio"}}, []string{"Istio-Soak"}},
		{"no match", store.ProfileFilter{Name: "consul"}, nil},
		{"label value no match", store.ProfileFilter{Labels: map[string]string{"mesh": "consul"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := s.ListProfiles(ctx, tt.f)
			must(t, "ListProfiles", err)
			var got []string
			for _, p := range ps {
				got = append(got, p.Name)
				if len(p.Body) == 0 || p.Revision == 0 {
					t.Errorf("listed profile %s has no body or revision", p.Name)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	ps, err := s.ListProfiles(ctx, store.ProfileFilter{Name: "linkerd"})
	must(t, "ListProfiles", err)
	if len(ps) != 1 || ps[0].Revision != 2 || !maps.Equal(ps[0].Labels, map[string]string{"mesh": "linkerd"}) {
		t.Errorf("listed linkerd-smoke: %+v, want revision 2 with its labels", ps)
	}
}

func (o opener) testDeleteProfile(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	p := newProfile("gone", map[string]string{"k": "v"})
	must(t, "CreateProfile", s.CreateProfile(ctx, p))
	must(t, "UpdateProfile", s.UpdateProfile(ctx, newProfile("gone", map[string]string{"k": "w"})))
	must(t, "CreateProfile", s.CreateProfile(ctx, newProfile("kept", map[string]string{"k": "v"})))
	id, err := s.SaveResult(ctx, sample(0, nil), store.ResultRef{ProfileID: p.ID, ProfileRevision: 2})
	must(t, "SaveResult", err)

	must(t, "DeleteProfile", s.DeleteProfile(ctx, "gone"))
	_, err = s.GetProfile(ctx, p.ID)
	wantErr(t, "GetProfile after delete", err, store.ErrNotFound)
	_, err = s.ProfileRevision(ctx, p.ID, 1)
	wantErr(t, "ProfileRevision after delete", err, store.ErrNotFound)
	wantErr(t, "DeleteProfile twice", s.DeleteProfile(ctx, p.ID), store.ErrNotFound)
	ps, err := s.ListProfiles(ctx, store.ProfileFilter{Labels: map[string]string{"k": "v"}})
	must(t, "ListProfiles", err)
	if len(ps) != 1 || ps[0].Name != "kept" {
		t.Errorf("after delete, profiles with k=v: %v, want only kept", ps)
	}
	// The name is free again, with a new ID and history.
	again := newProfile("gone", nil)
	must(t, "CreateProfile with the deleted name", s.CreateProfile(ctx, again))
	if again.ID == p.ID || again.Revision != 1 {
		t.Errorf("recreated profile: ID %s revision %d", again.ID, again.Revision)
	}

	r, err := s.GetResult(ctx, id)
	must(t, "GetResult", err)
	if r.Summary.ProfileID != p.ID || r.Summary.ProfileRevision != 2 {
		t.Errorf("result of a deleted profile refers to %s revision %d, want %s 2", r.Summary.ProfileID, r.Summary.ProfileRevision, p.ID)
	}
}
