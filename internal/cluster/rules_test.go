package cluster

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestSplitImage(t *testing.T) {
	tests := []struct{ image, repo, tag string }{
		{"docker.io/istio/pilot:1.23.2", "istio/pilot", "1.23.2"},
		{"cr.l5d.io/linkerd/controller:stable-2.14.10", "linkerd/controller", "stable-2.14.10"},
		{"gcr.io/istio-release/pilot:1.24.0-distroless", "istio-release/pilot", "1.24.0-distroless"},
		{"localhost:5000/kumahq/kuma-cp:2.8.2", "kumahq/kuma-cp", "2.8.2"},
		{"quay.io/cilium/cilium:v1.16.3@sha256:62d2a09bbef840a46099ac4c69421c90f84f28d018d479749049011329aa7f28", "cilium/cilium", "v1.16.3"},
		{"istio/proxyv2@sha256:62d2a09bbef840a46099ac4c69421c90f84f28d018d479749049011329aa7f28", "istio/proxyv2", ""},
		{"busybox", "busybox", ""},
		{"registry:5000/busybox", "busybox", ""},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			repo, tag := splitImage(tt.image)
			if repo != tt.repo || tag != tt.tag {
				t.Errorf("got %q %q, want %q %q", repo, tag, tt.repo, tt.tag)
			}
		})
	}
	if imageIs("docker.io/notistio/pilot-fork:1", "istio/pilot") {
		t.Error("istio/pilot matched notistio/pilot-fork")
	}
	if !imageIs("mirror.example.com/team/istio/pilot:1.2", "istio/pilot") {
		t.Error("istio/pilot not matched under a mirror's path")
	}
}

func TestRouteOf(t *testing.T) {
	tests := []struct {
		name    string
		parents []any
		want    []string
		gamma   bool
	}{
		{"service", []any{map[string]any{"group": "", "kind": "Service", "name": "reviews"}}, []string{"Service/shop/reviews"}, true},
		{"gateway by default", []any{map[string]any{"name": "gw", "namespace": "infra"}}, []string{"Gateway/infra/gw"}, false},
		{"service of another group", []any{map[string]any{"group": "example.com", "kind": "Service", "name": "x"}}, []string{"Service/shop/x"}, false},
		{"both", []any{map[string]any{"name": "gw"}, map[string]any{"group": "", "kind": "Service", "name": "r"}}, []string{"Gateway/shop/gw", "Service/shop/r"}, true},
		{"hostile shapes", []any{"not a map", map[string]any{"kind": int64(7)}}, []string{"Gateway/shop/"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
				"metadata": map[string]any{"name": "r", "namespace": "shop"},
				"spec":     map[string]any{"parentRefs": tt.parents},
			}}
			got := routeOf(u)
			if !slices.Equal(got.Parents, tt.want) || got.GAMMA != tt.gamma {
				t.Errorf("got %v gamma %v, want %v gamma %v", got.Parents, got.GAMMA, tt.want, tt.gamma)
			}
		})
	}
}

func TestMarker(t *testing.T) {
	labels := map[string]string{"istio-injection": "disabled", "istio.io/rev": "1-24"}
	annotations := map[string]string{"linkerd.io/inject": "enabled"}
	tests := []struct {
		m    Marker
		want bool
	}{
		{Marker{Key: "istio-injection", Value: "enabled"}, false},
		{Marker{Key: "istio.io/rev"}, true},
		{Marker{Annotation: true, Key: "linkerd.io/inject", Value: "enabled"}, true},
		{Marker{Key: "linkerd.io/inject", Value: "enabled"}, false}, // a label, not the annotation
	}
	for _, tt := range tests {
		if got := tt.m.matches(labels, annotations); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.m, got, tt.want)
		}
	}
}

// Every row of the table is usable: a mesh name once, components with a
// kind the inventory watches and something to match them by.
func TestRulesTable(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules {
		if r.Mesh == "" || r.Name == "" || seen[r.Mesh] {
			t.Errorf("rule %+v: empty or repeated mesh name", r)
		}
		seen[r.Mesh] = true
		if len(r.Components) == 0 {
			t.Errorf("%s: no components", r.Mesh)
		}
		for _, c := range r.Components {
			if !slices.Contains([]string{"Deployment", "DaemonSet", "StatefulSet"}, c.Kind) || (len(c.Images) == 0 && len(c.Labels) == 0) || c.Name == "" {
				t.Errorf("%s: component %+v", r.Mesh, c)
			}
		}
	}
	for _, m := range []string{"istio", "linkerd", "consul", "kuma", "cilium", "osm", "traefik-mesh", "nginx-service-mesh"} {
		if !seen[m] {
			t.Errorf("no rule for %s", m)
		}
	}
}

func TestHistoryBounded(t *testing.T) {
	inv := &Inventory{histMax: 3, subs: map[chan Event]struct{}{}}
	ch, stop := inv.Subscribe(2)
	defer stop()
	for i := range 5 {
		inv.publish(Event{Type: "added", Name: string(rune('a' + i))})
	}
	h := inv.History()
	var names []string
	for _, e := range h {
		names = append(names, e.Name)
	}
	if !slices.Equal(names, []string{"c", "d", "e"}) || h[2].Seq != 5 {
		t.Errorf("history %v (last seq %d), want c d e with seq 5", names, h[len(h)-1].Seq)
	}
	// The subscriber's buffer of 2 kept the first two; the rest were dropped, not blocked on.
	if e := <-ch; e.Name != "a" {
		t.Errorf("first event %q", e.Name)
	}
	if inv.dropped != 3 {
		t.Errorf("dropped %d, want 3", inv.dropped)
	}
}

func TestParseServiceHost(t *testing.T) {
	tests := []struct {
		host, ns, svc string
		ok            bool
	}{
		{"reviews", "default", "reviews", true},
		{"reviews.shop", "shop", "reviews", true},
		{"reviews.shop.svc", "shop", "reviews", true},
		{"reviews.shop.svc.cluster.local.", "shop", "reviews", true},
		{"example.com.au", "", "", false},
		{"a..b", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		ns, svc, err := ParseServiceHost(tt.host, "default")
		if (err == nil) != tt.ok || ns != tt.ns || svc != tt.svc {
			t.Errorf("%q: %q %q %v, want %q %q ok=%v", tt.host, ns, svc, err, tt.ns, tt.svc, tt.ok)
		}
	}
}

// TestMTLSModeRows reads each mesh's mTLS row against resources shaped as
// the meshes write them, including the values that are no statement.
func TestMTLSModeRows(t *testing.T) {
	rule := func(mesh string) MTLSRule {
		for _, r := range Rules {
			if r.Mesh == mesh {
				return r.MTLS
			}
		}
		t.Fatalf("no rule for %s", mesh)
		return MTLSRule{}
	}
	obj := func(ns, name string, spec map[string]any) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
		u.SetNamespace(ns)
		u.SetName(name)
		return u
	}
	cnp := func(name string, modes ...string) *unstructured.Unstructured {
		var ingress []any
		for _, m := range modes {
			ingress = append(ingress, map[string]any{"authentication": map[string]any{"mode": m}})
		}
		ingress = append(ingress, map[string]any{"fromEntities": []any{"world"}}) // no authentication
		return obj("demo", name, map[string]any{"ingress": ingress})
	}
	tests := []struct {
		name, mesh string
		items      []*unstructured.Unstructured
		want       string
	}{
		{"cilium none", "cilium", nil, "off (default)"},
		{"cilium disabled is no statement", "cilium", []*unstructured.Unstructured{cnp("a", "disabled")}, "off (default)"},
		{"cilium required in a later rule", "cilium", []*unstructured.Unstructured{cnp("a", "disabled"), cnp("b", "disabled", "required")},
			"mutual auth required by policy (CiliumNetworkPolicy demo/b)"},
		{"cilium hostile shape", "cilium", []*unstructured.Unstructured{obj("demo", "x", map[string]any{"ingress": "not a list"})}, "off (default)"},
		{"consul unset", "consul", []*unstructured.Unstructured{obj("consul", "global", map[string]any{})}, "strict (default)"},
		{"consul permissive", "consul", []*unstructured.Unstructured{obj("consul", "global", map[string]any{"mutualTLSMode": "permissive"})},
			"permissive (ProxyDefaults consul/global)"},
		{"kuma backend", "kuma", []*unstructured.Unstructured{obj("", "default", map[string]any{"mtls": map[string]any{"enabledBackend": "ca-1"}})},
			"on, backend ca-1 (Mesh default)"},
		{"osm", "osm", nil, "always on"},
		{"traefik mesh", "traefik-mesh", nil, "off"},
		{"nginx service mesh: no resource says", "nginx-service-mesh", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mtlsMode(rule(tt.mesh), tt.items); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
