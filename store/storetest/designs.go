package storetest

import (
	"reflect"
	"testing"

	"github.com/meshperf/meshperf/store"
)

// RunDesigns runs the design part of the suite (store.DesignStore).
func RunDesigns(t *testing.T, open func(t *testing.T) store.Store) {
	o := opener(open)
	t.Run("save, revisions, get", o.testSaveDesign)
	t.Run("invalid and stale", o.testDesignInvalid)
	t.Run("list filters and visibility", o.testListDesigns)
	t.Run("create only, revisions, pages", o.testDesignCreateRevisionsPages)
	t.Run("delete", o.testDeleteDesign)
	t.Run("reopen", o.testReopenDesigns)
}

func (o opener) testSaveDesign(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	d := &store.Design{Name: "shop", Labels: map[string]string{"team": "perf"}, Body: []byte(`{"v":1}`), OwnerID: "u1", Private: true}
	must(t, "SaveDesign", s.SaveDesign(ctx, d))
	if d.ID == "" || d.Revision != 1 || d.CreatedAt.IsZero() || !d.UpdatedAt.Equal(d.CreatedAt) {
		t.Fatalf("first save: %+v, want an ID, revision 1 and equal times", d)
	}
	first := *d
	d2 := &store.Design{Name: "shop", Body: []byte(`{"v":2}`), OwnerID: "someone-else"}
	must(t, "SaveDesign again", s.SaveDesign(ctx, d2))
	if d2.ID != d.ID || d2.Revision != 2 || d2.OwnerID != "u1" || !d2.Private || !d2.CreatedAt.Equal(d.CreatedAt) {
		t.Errorf("second save: %+v, want the same ID, revision 2, the first owner and private flag", d2)
	}
	for _, tc := range []struct {
		ref  string
		rev  int
		body string
		lab  map[string]string
	}{{"shop", 0, `{"v":2}`, nil}, {d.ID, 0, `{"v":2}`, nil}, {"shop", 1, `{"v":1}`, map[string]string{"team": "perf"}}, {d.ID, 2, `{"v":2}`, nil}} {
		got, err := s.GetDesign(ctx, tc.ref, tc.rev)
		must(t, "GetDesign", err)
		if string(got.Body) != tc.body || !reflect.DeepEqual(got.Labels, tc.lab) || got.Name != "shop" {
			t.Errorf("GetDesign(%s, %d) = body %s labels %v, want %s %v", tc.ref, tc.rev, got.Body, got.Labels, tc.body, tc.lab)
		}
	}
	got, err := s.GetDesign(ctx, "shop", 1)
	must(t, "GetDesign revision 1", err)
	if !reflect.DeepEqual(*got, first) {
		t.Errorf("revision 1 read back:\n got %+v\nwant %+v", *got, first)
	}
	_, err = s.GetDesign(ctx, "shop", 3)
	wantErr(t, "GetDesign of a revision that does not exist", err, store.ErrNotFound)
	_, err = s.GetDesign(ctx, "nope", 0)
	wantErr(t, "GetDesign of an unknown design", err, store.ErrNotFound)
}

func (o opener) testDesignInvalid(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	wantErr(t, "no name", s.SaveDesign(ctx, &store.Design{Body: []byte("{}")}), store.ErrInvalid)
	wantErr(t, "too big", s.SaveDesign(ctx, &store.Design{Name: "big", Body: make([]byte, store.MaxDesignBody+1)}), store.ErrInvalid)
	_, err := s.GetDesign(ctx, "big", 0)
	wantErr(t, "a refused design is not stored", err, store.ErrNotFound)
	must(t, "SaveDesign", s.SaveDesign(ctx, &store.Design{Name: "d", Body: []byte("{}")}))
	must(t, "SaveDesign rev 2", s.SaveDesign(ctx, &store.Design{Name: "d", Revision: 1, Body: []byte("{}")}))
	wantErr(t, "stale revision", s.SaveDesign(ctx, &store.Design{Name: "d", Revision: 1, Body: []byte("{}")}), store.ErrConflict)
	_, err = s.GetDesign(ctx, "d", -1)
	wantErr(t, "negative revision", err, store.ErrInvalid)
}

func (o opener) testListDesigns(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	for _, d := range []*store.Design{
		{Name: "Bookinfo", Labels: map[string]string{"mesh": "istio"}, Body: []byte("{}")},
		{Name: "echo-app", Labels: map[string]string{"mesh": "linkerd"}, Body: []byte("{}")},
		{Name: "secret-app", OwnerID: "alice", Private: true, Body: []byte("{}")},
	} {
		must(t, "SaveDesign "+d.Name, s.SaveDesign(ctx, d))
	}
	names := func(f store.DesignFilter) []string {
		ds, err := s.ListDesigns(ctx, f)
		must(t, "ListDesigns", err)
		var out []string
		for _, d := range ds {
			if d.Body != nil {
				t.Errorf("ListDesigns returned the body of %s", d.Name)
			}
			out = append(out, d.Name)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    store.DesignFilter
		want []string
	}{
		{"all", store.DesignFilter{}, []string{"Bookinfo", "echo-app", "secret-app"}},
		{"name substring, any case", store.DesignFilter{Name: "BOOK"}, []string{"Bookinfo"}},
		{"label", store.DesignFilter{Labels: map[string]string{"mesh": "linkerd"}}, []string{"echo-app"}},
		{"label absent", store.DesignFilter{Labels: map[string]string{"mesh": "cilium"}}, nil},
		{"another user", store.DesignFilter{Viewer: &store.Viewer{UserID: "bob"}}, []string{"Bookinfo", "echo-app"}},
		{"the owner", store.DesignFilter{Viewer: &store.Viewer{UserID: "alice"}}, []string{"Bookinfo", "echo-app", "secret-app"}},
		{"an admin", store.DesignFilter{Viewer: &store.Viewer{UserID: "root", Admin: true}}, []string{"Bookinfo", "echo-app", "secret-app"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := names(tc.f); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func (o opener) testDeleteDesign(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	d := &store.Design{Name: "gone", Body: []byte("{}")}
	must(t, "SaveDesign", s.SaveDesign(ctx, d))
	must(t, "SaveDesign rev 2", s.SaveDesign(ctx, &store.Design{Name: "gone", Body: []byte("{}")}))
	must(t, "DeleteDesign", s.DeleteDesign(ctx, "gone"))
	_, err := s.GetDesign(ctx, d.ID, 1)
	wantErr(t, "GetDesign after delete", err, store.ErrNotFound)
	wantErr(t, "DeleteDesign again", s.DeleteDesign(ctx, "gone"), store.ErrNotFound)
	// The name is free again, from revision 1.
	again := &store.Design{Name: "gone", Body: []byte("{}")}
	must(t, "SaveDesign after delete", s.SaveDesign(ctx, again))
	if again.Revision != 1 || again.ID == d.ID {
		t.Errorf("saved again: %+v, want a new design at revision 1", again)
	}
}

func (o opener) testReopenDesigns(t *testing.T) {
	s, ctx := o(t), t.Context()
	d := &store.Design{Name: "kept", Labels: map[string]string{"a": "b"}, Body: []byte(`{"x":1}`)}
	must(t, "SaveDesign", s.SaveDesign(ctx, d))
	must(t, "Close", s.Close())
	s = o.open(t)
	got, err := s.GetDesign(ctx, "kept", 0)
	must(t, "GetDesign after reopening", err)
	if !reflect.DeepEqual(*got, *d) {
		t.Errorf("design changed across reopening:\n got %+v\nwant %+v", *got, *d)
	}
}

func (o opener) testDesignCreateRevisionsPages(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	d := &store.Design{Name: "app", Body: []byte(`{"v":1}`), OwnerID: "alice"}
	must(t, "CreateDesign", s.CreateDesign(ctx, d))
	if d.Revision != 1 || d.ID == "" {
		t.Fatalf("CreateDesign: %+v, want revision 1 and an ID", d)
	}
	wantErr(t, "CreateDesign of a name that exists", s.CreateDesign(ctx, &store.Design{Name: "app", Body: []byte("{}"), OwnerID: "bob"}), store.ErrConflict)
	wantErr(t, "SaveDesign naming another design's ID", s.SaveDesign(ctx, &store.Design{ID: "other", Name: "app", Body: []byte("{}")}), store.ErrConflict)
	must(t, "SaveDesign with its ID", s.SaveDesign(ctx, &store.Design{ID: d.ID, Name: "app", Revision: 1, Labels: map[string]string{"r": "2"}, Body: []byte(`{"v":2}`)}))
	revs, err := s.DesignRevisions(ctx, "app")
	must(t, "DesignRevisions", err)
	var got []int
	for _, r := range revs {
		got = append(got, r.Revision)
		if r.Body != nil || r.OwnerID != "alice" {
			t.Errorf("revision %d: body %q owner %q, want no body and owner alice", r.Revision, r.Body, r.OwnerID)
		}
	}
	if !reflect.DeepEqual(got, []int{1, 2}) || revs[1].Labels["r"] != "2" {
		t.Errorf("DesignRevisions = %v (labels of the last %v), want [1 2] oldest first with the second's labels", got, revs[len(revs)-1].Labels)
	}
	_, err = s.DesignRevisions(ctx, "nope")
	wantErr(t, "DesignRevisions of an unknown design", err, store.ErrNotFound)

	for _, n := range []string{"b", "c", "d"} {
		must(t, "SaveDesign "+n, s.SaveDesign(ctx, &store.Design{Name: n, Body: []byte("{}")}))
	}
	var pages [][]string
	after := ""
	for range 5 {
		ds, err := s.ListDesigns(ctx, store.DesignFilter{After: after, Limit: 2})
		must(t, "ListDesigns page", err)
		if len(ds) == 0 {
			break
		}
		var names []string
		for _, d := range ds {
			names = append(names, d.Name)
		}
		pages = append(pages, names)
		after = names[len(names)-1]
	}
	if want := [][]string{{"app", "b"}, {"c", "d"}}; !reflect.DeepEqual(pages, want) {
		t.Errorf("pages of 2 = %q, want %q", pages, want)
	}
	ds, err := s.ListDesigns(ctx, store.DesignFilter{After: "b", Viewer: &store.Viewer{UserID: "bob"}, Limit: 1})
	must(t, "ListDesigns after b as bob", err)
	if len(ds) != 1 || ds[0].Name != "c" {
		t.Errorf("ListDesigns after b, limit 1, as bob = %d designs, want c", len(ds))
	}
}
