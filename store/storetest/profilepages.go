package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/meshperf/meshperf/store"
)

// testProfilePages: a list by pages (After, Limit) returns every profile
// once, in name order, with or without bodies, and the name filter pages
// over the matching names only.
func (o opener) testProfilePages(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	var want, wantSmoke []string
	for i := range 23 {
		name := fmt.Sprintf("p%02d", i)
		if i%3 == 0 {
			name += "-SMOKE"
			wantSmoke = append(wantSmoke, name)
		}
		want = append(want, name)
		must(t, "CreateProfile", s.CreateProfile(ctx, newProfile(name, map[string]string{"i": fmt.Sprint(i % 2)})))
	}
	pages := func(f store.ProfileFilter) (names []string, n int) {
		t.Helper()
		for n = 1; n < 100; n++ {
			ps, err := s.ListProfiles(ctx, f)
			must(t, "ListProfiles", err)
			if len(ps) > f.Limit {
				t.Fatalf("page of %d, limit %d", len(ps), f.Limit)
			}
			for _, p := range ps {
				names = append(names, p.Name)
				if f.NoBody != (len(p.Body) == 0) || p.Labels["i"] == "" {
					t.Errorf("%s: body %q, labels %v (NoBody %v)", p.Name, p.Body, p.Labels, f.NoBody)
				}
			}
			if len(ps) < f.Limit {
				return names, n
			}
			f.After = ps[len(ps)-1].Name
		}
		t.Fatal("pages never ended")
		return nil, 0
	}
	got, n := pages(store.ProfileFilter{Limit: 5, NoBody: true})
	if !slices.Equal(got, want) || n != 5 {
		t.Errorf("pages of 5 without bodies: %d pages %q, want 5 pages %q", n, got, want)
	}
	got, _ = pages(store.ProfileFilter{Limit: 7})
	if !slices.Equal(got, want) {
		t.Errorf("pages of 7 with bodies: %q, want %q", got, want)
	}
	got, n = pages(store.ProfileFilter{Limit: 3, Name: "smoke", NoBody: true})
	if !slices.Equal(got, wantSmoke) || n != 3 {
		t.Errorf("name filter in pages of 3: %d pages %q, want 3 pages %q", n, got, wantSmoke)
	}
	_, err := s.ListProfiles(ctx, store.ProfileFilter{Limit: -1})
	wantErr(t, "ListProfiles with a negative limit", err, store.ErrInvalid)
}
