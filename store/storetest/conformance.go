package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

func newConformance(mesh, profile string, start time.Time) *store.Conformance {
	return &store.Conformance{
		Kind: "gateway-api", Profile: profile, SuiteVersion: "v1.6.3", Mesh: mesh, MeshVersion: "1.2.3",
		Outcome: "failed", Passed: 10, Failed: 2, Skipped: 3, NotRun: 1,
		Started: start, Finished: start.Add(90 * time.Second),
		Body: []byte(`{"profile":"` + profile + `","tests":[{"name":"MeshBasic","status":"pass"}]}`),
	}
}

func (o opener) testConformanceRoundTrip(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	c := newConformance("Istio", "MESH-HTTP", time.Date(2026, 12, 3, 12, 0, 0, 123456789, time.UTC))
	must(t, "SaveConformance", s.SaveConformance(ctx, c))
	if len(c.ID) != 20 {
		t.Fatalf("SaveConformance assigned ID %q, want 20 characters", c.ID)
	}
	for _, ref := range []string{c.ID, c.ID[:store.MinPrefix]} {
		got, err := s.GetConformance(ctx, ref)
		must(t, "GetConformance "+ref, err)
		if !reflect.DeepEqual(got, c) {
			t.Errorf("GetConformance(%q):\n got %+v\nwant %+v", ref, got, c)
		}
	}
	dup := *c
	wantErr(t, "SaveConformance with a taken ID", s.SaveConformance(ctx, &dup), store.ErrConflict)
	_, err := s.GetConformance(ctx, "ffffffffffff")
	wantErr(t, "GetConformance of an unknown ID", err, store.ErrNotFound)
	_, err = s.GetConformance(ctx, c.ID[:3])
	wantErr(t, "GetConformance of a too short prefix", err, store.ErrNotFound)
	for name, bad := range map[string]*store.Conformance{
		"nil":        nil,
		"no profile": {Outcome: "passed"},
		"no outcome": {Profile: "MESH-HTTP"},
		"negative":   {Profile: "MESH-HTTP", Outcome: "passed", Failed: -1},
		"big body":   {Profile: "MESH-HTTP", Outcome: "passed", Body: make([]byte, store.MaxConformanceBody+1)},
	} {
		wantErr(t, "SaveConformance "+name, s.SaveConformance(ctx, bad), store.ErrInvalid)
	}
}

func (o opener) testListConformance(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	base := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var saved []*store.Conformance
	for i, m := range []struct{ mesh, profile string }{
		{"Istio", "MESH-HTTP"}, {"Linkerd", "MESH-HTTP"}, {"Istio", "MESH-GRPC"}, {"Istio", "MESH-HTTP"},
	} {
		c := newConformance(m.mesh, m.profile, base.Add(time.Duration(i)*time.Hour))
		must(t, "SaveConformance", s.SaveConformance(ctx, c))
		saved = append(saved, c)
	}
	ids := func(cs []*store.Conformance) []string {
		var out []string
		for _, c := range cs {
			if c.Body != nil {
				t.Errorf("ListConformance returned a body for %s", c.ID)
			}
			out = append(out, c.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    store.ConformanceFilter
		want []string
	}{
		{"all, newest first", store.ConformanceFilter{}, []string{saved[3].ID, saved[2].ID, saved[1].ID, saved[0].ID}},
		{"mesh", store.ConformanceFilter{Mesh: "Istio"}, []string{saved[3].ID, saved[2].ID, saved[0].ID}},
		{"mesh and profile", store.ConformanceFilter{Mesh: "Istio", Profile: "MESH-HTTP"}, []string{saved[3].ID, saved[0].ID}},
		{"limit", store.ConformanceFilter{Limit: 1}, []string{saved[3].ID}},
		{"nothing", store.ConformanceFilter{Mesh: "Kuma"}, nil},
		{"after a cursor", store.ConformanceFilter{Cursor: store.ConformanceCursor(saved[2])}, []string{saved[1].ID, saved[0].ID}},
		{"cursor and mesh", store.ConformanceFilter{Mesh: "Istio", Limit: 1, Cursor: store.ConformanceCursor(saved[3])}, []string{saved[2].ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListConformance(ctx, tc.f)
			must(t, "ListConformance", err)
			if g := ids(got); !reflect.DeepEqual(g, tc.want) {
				t.Errorf("got %v, want %v", g, tc.want)
			}
		})
	}
	t.Run("bad cursor", func(t *testing.T) {
		_, err := s.ListConformance(ctx, store.ConformanceFilter{Cursor: "not-a-cursor"})
		wantErr(t, "ListConformance", err, store.ErrInvalid)
	})
}

// testResultsByMesh: performance results are found by the meshes their
// mesh context names (display name case-insensitively, and version), as
// a conformance result of the same mesh version looks them up; an
// update replaces them; and conformance results by mesh and version.
func (o opener) testResultsByMesh(t *testing.T) {
	s, ctx := o.open(t), t.Context()
	withMesh := func(i int, meshes ...spec.MeshInstall) *spec.Result {
		r := sample(i, nil)
		if meshes != nil {
			r.Mesh = &spec.MeshContext{Meshes: meshes}
		}
		id, err := s.SaveResult(ctx, r, store.ResultRef{})
		must(t, "SaveResult", err)
		r.ID = id
		return r
	}
	a := withMesh(1, spec.MeshInstall{Mesh: "istio", Name: "Istio", Version: "1.28.0"})
	b := withMesh(2, spec.MeshInstall{Mesh: "istio", Name: "Istio", Version: "1.29.0"}, spec.MeshInstall{Mesh: "linkerd", Name: "Linkerd", Version: "2.19.1"})
	c := withMesh(3, spec.MeshInstall{Mesh: "kuma", Version: "2.9.0"})
	withMesh(4)
	for _, tc := range []struct {
		name, mesh, version string
		want                []string
	}{
		{"mesh", "istio", "", []string{b.ID, a.ID}},
		{"display name any case", "ISTIO", "1.28.0", []string{a.ID}},
		{"second mesh", "Linkerd", "2.19.1", []string{b.ID}},
		{"key when no name", "kuma", "2.9.0", []string{c.ID}},
		{"other version", "Istio", "1.27.0", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := s.ListResults(ctx, store.ResultFilter{Mesh: tc.mesh, MeshVersion: tc.version})
			must(t, "ListResults", err)
			if got := ids(page.Results); len(got)+len(tc.want) > 0 && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	a.Mesh.Meshes[0].Version = "1.28.1"
	must(t, "ReplaceResult", s.ReplaceResult(ctx, a))
	page, err := s.ListResults(ctx, store.ResultFilter{Mesh: "istio", MeshVersion: "1.28.1"})
	must(t, "ListResults", err)
	if got := ids(page.Results); !reflect.DeepEqual(got, []string{a.ID}) {
		t.Errorf("after the update: %v", got)
	}

	base := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	x := newConformance("Istio", "MESH-HTTP", base)
	x.MeshVersion = "1.28.0"
	y := newConformance("Istio", "MESH-HTTP", base.Add(time.Hour))
	y.MeshVersion = "1.29.0"
	must(t, "SaveConformance", s.SaveConformance(ctx, x))
	must(t, "SaveConformance", s.SaveConformance(ctx, y))
	cs, err := s.ListConformance(ctx, store.ConformanceFilter{Mesh: "istio", MeshVersion: "1.28.0"})
	must(t, "ListConformance", err)
	if len(cs) != 1 || cs[0].ID != x.ID {
		t.Errorf("conformance of istio 1.28.0: %v", cs)
	}
}
