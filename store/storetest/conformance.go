package storetest

import (
	"reflect"
	"testing"
	"time"

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
