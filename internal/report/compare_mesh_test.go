package report

import (
	"testing"

	"github.com/meshperf/meshperf/spec"
)

// meshCtx is the context of a run against reviews.shop in an Istio 1.23.2
// cluster with Linkerd beside it.
func meshCtx() *spec.MeshContext {
	return &spec.MeshContext{
		Cluster: "https://127.0.0.1:6443",
		Meshes: []spec.MeshInstall{
			{Mesh: "istio", Name: "Istio", Version: "1.23.2", Healthy: true},
			{Mesh: "linkerd", Name: "Linkerd", Version: "stable-2.14.10", Healthy: true},
		},
		Targets: []spec.MeshTarget{
			{URL: "http://reviews.shop:9080/", Namespace: "shop", Service: "reviews", Mesh: "istio", MeshVersion: "1.23.2",
				Mode: "sidecar", Pods: 2, Meshed: 2, Proxy: &spec.MeshProxy{Container: "istio-proxy", Version: "1.23.2"}},
			{URL: "http://127.0.0.1:8080/", Note: "host 127.0.0.1 is no Service"},
		},
	}
}

func TestCompareMeshContext(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(a, b *spec.Result)
		want   []string
	}{
		{"same", func(*spec.Result, *spec.Result) {}, nil},
		{"neither recorded", func(a, b *spec.Result) { a.Mesh, b.Mesh = nil, nil }, nil},
		{"time and cluster differ only", func(_, b *spec.Result) { b.Mesh.Cluster = "https://other:6443" }, nil},
		{"one recorded", func(_, b *spec.Result) { b.Mesh = nil },
			[]string{"not comparable: the cluster's mesh context was recorded for only some runs (recorded vs none)"}},
		{"mesh version", func(_, b *spec.Result) {
			b.Mesh.Meshes[0].Version = "1.24.1"
			b.Mesh.Targets[0].MeshVersion = "1.24.1"
			b.Mesh.Targets[0].Proxy.Version = "1.24.1"
		}, []string{
			"not comparable: runs were on different mesh versions (Istio 1.23.2, Linkerd stable-2.14.10 vs Istio 1.24.1, Linkerd stable-2.14.10)",
			"not comparable: the targets' mesh or version differs (reviews.shop: istio 1.23.2 vs reviews.shop: istio 1.24.1)",
			"not comparable: the targets' proxy version differs (reviews.shop: 1.23.2 vs reviews.shop: 1.24.1)",
		}},
		{"mesh removed", func(_, b *spec.Result) { b.Mesh.Meshes = b.Mesh.Meshes[:1] },
			[]string{"not comparable: runs were on different meshes (Istio, Linkerd vs Istio)"}},
		{"injection off", func(_, b *spec.Result) {
			t := &b.Mesh.Targets[0]
			t.Mesh, t.MeshVersion, t.Mode, t.Meshed, t.Proxy = "", "", "none", 0, nil
		}, []string{
			"not comparable: the targets' mesh or version differs (reviews.shop: istio 1.23.2 vs reviews.shop: (none))",
			"not comparable: the targets' injection differs (reviews.shop: sidecar, 2/2 pods meshed vs reviews.shop: none, 0/2 pods meshed)",
			"not comparable: the targets' proxy version differs (reviews.shop: 1.23.2 vs reviews.shop: no proxy)",
		}},
		{"mTLS mode", func(a, b *spec.Result) {
			a.Mesh.Targets[0].MTLS = "STRICT (PeerAuthentication istio-system/default)"
			b.Mesh.Targets[0].MTLS = "PERMISSIVE (PeerAuthentication shop/reviews)"
		}, []string{"not comparable: the targets' mTLS mode differs (reviews.shop: STRICT vs reviews.shop: PERMISSIVE)"}},
		{"mTLS stated elsewhere, same mode", func(a, b *spec.Result) {
			a.Mesh.Targets[0].MTLS = "STRICT (PeerAuthentication istio-system/default)"
			b.Mesh.Targets[0].MTLS = "STRICT (PeerAuthentication shop/default)"
		}, nil},
		{"half the pods meshed", func(_, b *spec.Result) { b.Mesh.Targets[0].Meshed = 1 },
			[]string{"not comparable: the targets' injection differs (reviews.shop: sidecar, 2/2 pods meshed vs reviews.shop: sidecar, 1/2 pods meshed)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := recorded(baseRun()), recorded(baseRun())
			a.Mesh, b.Mesh = meshCtx(), meshCtx()
			tc.change(a, b)
			c, err := Compare([]*spec.Result{a, b})
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Warnings) != len(tc.want) {
				t.Fatalf("got warnings %q\nwant %q", c.Warnings, tc.want)
			}
			for i := range tc.want {
				if c.Warnings[i] != tc.want[i] {
					t.Errorf("warning %d:\ngot  %q\nwant %q", i, c.Warnings[i], tc.want[i])
				}
			}
		})
	}
}
