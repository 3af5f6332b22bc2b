package cluster

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/meshperf/meshperf/internal/cluster/kubetest"
	"github.com/meshperf/meshperf/kube"
)

func TestMain(m *testing.M) { kubetest.Main(m) }

// install creates, as the meshes' installers and injectors would, the
// objects in testdata/ (kubectl apply: idempotent).
func install(t *testing.T, kc string) {
	t.Helper()
	kubetest.Kubectl(t, kc, "", "apply", "-f", filepath.Join("testdata", "crds.yaml"))
	kubetest.Kubectl(t, kc, "", "wait", "--for", "condition=established", "--timeout", "60s", "-f", filepath.Join("testdata", "crds.yaml"))
	kubetest.Kubectl(t, kc, "", "apply", "-f", filepath.Join("testdata", "meshes.yaml"))
	kubetest.Kubectl(t, kc, "", "apply", "-f", filepath.Join("testdata", "workloads.yaml"))
}

func restConfig(t *testing.T, kc string) *rest.Config {
	t.Helper()
	rc, _, err := kube.RESTConfig(kube.Config{Kubeconfig: kc})
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// startInventory runs an inventory until the test ends and waits for its
// first complete snapshot.
func startInventory(t *testing.T, rc *rest.Config, opts Options) *Inventory {
	t.Helper()
	inv, err := New(rc, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- inv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	start := time.Now()
	if err := inv.WaitSynced(wctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("first complete snapshot in %s", time.Since(start).Round(time.Millisecond))
	return inv
}

// waitEvent waits up to 15 s for an event matching ok.
func waitEvent(t *testing.T, events <-chan Event, what string, ok func(Event) bool) Event {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case e := <-events:
			if ok(e) {
				return e
			}
		case <-timeout:
			t.Fatalf("no %s event within 15s", what)
		}
	}
}

func findMesh(s Snapshot, name string) *Mesh {
	for i := range s.Meshes {
		if s.Meshes[i].Mesh == name {
			return &s.Meshes[i]
		}
	}
	return nil
}

func findPod(s Snapshot, ns, name string) *Pod {
	for i := range s.Pods {
		if s.Pods[i].Namespace == ns && s.Pods[i].Name == name {
			return &s.Pods[i]
		}
	}
	return nil
}

// TestAPIServerDiscovery is issue 18's discovery acceptance test: meshes,
// versions, coverage, Gateway API, GAMMA routes and SMI found in a real
// API server; an upgrade and a removal seen live.
func TestAPIServerDiscovery(t *testing.T) {
	kc := kubetest.Kubeconfig(t)
	install(t, kc)
	inv := startInventory(t, restConfig(t, kc), Options{})
	events, unsubscribe := inv.Subscribe(10_000)
	defer unsubscribe()
	s := inv.Snapshot()
	if len(s.Unreadable) != 0 || !s.Complete {
		t.Fatalf("admin could not read %v (complete %v)", s.Unreadable, s.Complete)
	}

	t.Run("meshes", func(t *testing.T) {
		tests := []struct {
			mesh, version string
			mtls          string
			modes         []string
			injected      []string
			withProxy     int
			ambient       int
			proxyVersions []string
		}{
			{"istio", "1.23.2", "STRICT (PeerAuthentication istio-system/default)", []string{"sidecar", "ambient"}, []string{"ambient", "shop"}, 2, 1, []string{"1.23.2"}},
			{"linkerd", "stable-2.14.10", "always on", []string{"sidecar"}, []string{"emojivoto"}, 1, 0, []string{"stable-2.14.10"}},
			{"kuma", "2.8.2", "on, backend ca-1 (Mesh default)", []string{"sidecar"}, []string{"kuma-demo"}, 0, 0, nil},
		}
		for _, tt := range tests {
			t.Run(tt.mesh, func(t *testing.T) {
				m := findMesh(s, tt.mesh)
				if m == nil {
					t.Fatalf("%s not detected; meshes %+v", tt.mesh, s.Meshes)
				}
				if m.Version != tt.version || !slices.Equal(m.Modes, tt.modes) {
					t.Errorf("version %q modes %v, want %q %v", m.Version, m.Modes, tt.version, tt.modes)
				}
				if m.MTLS != tt.mtls {
					t.Errorf("mTLS %q, want %q", m.MTLS, tt.mtls)
				}
				if !slices.Equal(m.InjectedNamespaces, tt.injected) {
					t.Errorf("injected namespaces %v, want %v", m.InjectedNamespaces, tt.injected)
				}
				if m.PodsWithProxy != tt.withProxy || m.PodsAmbient != tt.ambient || !slices.Equal(m.ProxyVersions, tt.proxyVersions) {
					t.Errorf("pods with proxy %d, ambient %d, proxy versions %v; want %d, %d, %v",
						m.PodsWithProxy, m.PodsAmbient, m.ProxyVersions, tt.withProxy, tt.ambient, tt.proxyVersions)
				}
				// No kubelet runs: nothing is ready.
				if m.Healthy {
					t.Errorf("healthy with no pod running: %+v", m.Components)
				}
			})
		}
		for _, absent := range []string{"consul", "cilium", "osm", "traefik-mesh", "nginx-service-mesh"} {
			if m := findMesh(s, absent); m != nil {
				t.Errorf("%s detected from nothing: %+v", absent, m)
			}
		}
	})

	t.Run("coverage", func(t *testing.T) {
		c := s.Coverage
		if c.Pods != 5 || c.WithProxy != 3 || c.Ambient != 1 || c.WithoutProxy != 1 || c.InjectedNS != 4 {
			t.Errorf("coverage %+v, want 5 pods: 3 with a proxy, 1 ambient, 1 without; 4 injected namespaces", c)
		}
		sidecar := findPod(s, "shop", "reviews-7d9c8b6f5-abcde")
		native := findPod(s, "shop", "reviews-7d9c8b6f5-fghij")
		linkerd := findPod(s, "emojivoto", "web-5f7b9c-xyz12")
		plain := findPod(s, "plain", "batch-1")
		if sidecar == nil || native == nil || linkerd == nil || plain == nil {
			t.Fatalf("pods missing from %+v", s.Pods)
		}
		if p := sidecar.Proxy; p == nil || p.Container != "istio-proxy" || p.Native || p.Version != "1.23.2" ||
			p.Requests["cpu"] != "100m" || p.Requests["memory"] != "128Mi" || p.Limits["cpu"] != "2" || p.Limits["memory"] != "1Gi" {
			t.Errorf("sidecar pod's proxy %+v", p)
		}
		if p := native.Proxy; p == nil || !p.Native || p.Container != "istio-proxy" {
			t.Errorf("native sidecar pod's proxy %+v, want istio-proxy as a native sidecar", p)
		}
		if p := linkerd.Proxy; linkerd.Mesh != "linkerd" || p == nil || p.Container != "linkerd-proxy" || p.Version != "stable-2.14.10" || p.Limits["memory"] != "250Mi" {
			t.Errorf("linkerd pod: mesh %q proxy %+v", linkerd.Mesh, p)
		}
		if plain.Proxy != nil || plain.Ambient || plain.Mesh != "" {
			t.Errorf("pod in no mesh: %+v", plain)
		}
		if sidecar.Owner != "Deployment/reviews" {
			t.Errorf("owner %q, want Deployment/reviews", sidecar.Owner)
		}
		var reviews *Workload
		for i, w := range s.Workloads {
			if w.Namespace == "shop" && w.Name == "reviews" {
				reviews = &s.Workloads[i]
			}
		}
		if reviews == nil || reviews.Pods != 2 || reviews.Meshed != 2 || reviews.Mesh != "istio" || reviews.Desired != 2 {
			t.Errorf("workload shop/reviews %+v, want 2 desired, 2 pods both meshed by istio", reviews)
		}
	})

	t.Run("target", func(t *testing.T) {
		tg, ok := s.TargetOf("shop", "reviews")
		if !ok || tg.Mesh != "istio" || tg.MeshVersion != "1.23.2" || tg.Mode != "sidecar" || tg.Pods != 2 || tg.Meshed != 2 ||
			tg.Proxy == nil || tg.Proxy.Requests["memory"] != "128Mi" || len(tg.Injection) != 1 {
			t.Errorf("target shop/reviews %+v (proxy %+v)", tg, tg.Proxy)
		}
		if want := "PERMISSIVE (PeerAuthentication shop/reviews-permissive)"; tg.MTLS != want {
			t.Errorf("reviews mTLS %q, want %q (its own policy over the namespace's UNSET and the mesh's STRICT)", tg.MTLS, want)
		}
		for _, c := range []struct{ ns, pod, want string }{
			{"ambient", "ratings-0", "STRICT (PeerAuthentication istio-system/default)"}, // the namespace has none: the mesh's
			{"emojivoto", "web-5f7b9c-xyz12", "always on"},
			{"plain", "batch-1", ""}, // in no mesh
		} {
			if p := findPod(s, c.ns, c.pod); p == nil || p.MTLS != c.want {
				t.Errorf("pod %s/%s mTLS: %+v, want %q", c.ns, c.pod, p, c.want)
			}
		}
		if _, ok := s.TargetOf("shop", "nosuch"); ok {
			t.Error("a Service that does not exist has a target")
		}
	})

	t.Run("gateway api and smi", func(t *testing.T) {
		g := s.GatewayAPI
		if g == nil || g.Version != "v1.2.0" || g.Channel != "standard" || len(g.CRDs) != 3 {
			t.Fatalf("Gateway API %+v, want v1.2.0 standard with 3 CRDs", g)
		}
		want := []Route{
			{Kind: "HTTPRoute", Namespace: "shop", Name: "ingress", Parents: []string{"Gateway/istio-system/public-gw"}},
			{Kind: "HTTPRoute", Namespace: "shop", Name: "reviews-split", Parents: []string{"Service/shop/reviews"}, GAMMA: true},
		}
		if !slices.EqualFunc(s.Routes, want, routeEqual) {
			t.Errorf("routes %+v, want %+v", s.Routes, want)
		}
		var split *CRD
		for i := range s.SMI {
			if s.SMI[i].Kind == "TrafficSplit" {
				split = &s.SMI[i]
			}
		}
		if split == nil || split.Group != "split.smi-spec.io" || !slices.Equal(split.Versions, []string{"v1alpha4", "v1alpha3", "v1alpha2"}) || split.Storage != "v1alpha4" {
			t.Errorf("SMI TrafficSplit %+v", split)
		}
	})

	t.Run("route added live", func(t *testing.T) {
		kubetest.Kubectl(t, kc, `apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: ratings-grpc, namespace: shop}
spec:
  parentRefs: [{kind: Service, group: "", name: reviews}]
`, "apply", "-f", "-")
		waitEvent(t, events, "grpcroute added", func(e Event) bool {
			return e.Type == "added" && e.Resource == "grpcroutes.gateway.networking.k8s.io" && e.Name == "ratings-grpc"
		})
		waitSnapshot(t, inv, "GAMMA GRPCRoute", func(s Snapshot) bool {
			return slices.ContainsFunc(s.Routes, func(r Route) bool { return r.Kind == "GRPCRoute" && r.GAMMA })
		})
	})

	t.Run("upgrade", func(t *testing.T) {
		kubetest.Kubectl(t, kc, "", "-n", "istio-system", "set", "image", "deployment/istiod", "discovery=docker.io/istio/pilot:1.24.1")
		e := waitEvent(t, events, "istio mesh-version", func(e Event) bool { return e.Type == "mesh-version" && e.Mesh == "istio" })
		if e.From != "1.23.2" || e.To != "1.24.1" {
			t.Errorf("upgrade event %+v, want from 1.23.2 to 1.24.1", e)
		}
		if v := findMesh(inv.Snapshot(), "istio").Version; v != "1.24.1" {
			t.Errorf("snapshot after the event says istio %s", v)
		}
		if !slices.ContainsFunc(inv.History(), func(h Event) bool {
			return h.Type == "updated" && h.Resource == "deployments.apps" && h.Namespace == "istio-system" && h.Name == "istiod"
		}) {
			t.Errorf("history lacks the istiod update")
		}
	})

	t.Run("removal", func(t *testing.T) {
		kubetest.Kubectl(t, kc, "", "-n", "linkerd", "delete", "deployment", "linkerd-destination")
		kubetest.Kubectl(t, kc, "", "delete", "crd", "servers.policy.linkerd.io")
		e := waitEvent(t, events, "linkerd mesh-removed", func(e Event) bool { return e.Type == "mesh-removed" && e.Mesh == "linkerd" })
		if findMesh(inv.Snapshot(), "linkerd") != nil {
			t.Errorf("linkerd still in the snapshot after %+v", e)
		}
		// The injected pod is still there, counted under its proxy.
		if p := findPod(inv.Snapshot(), "emojivoto", "web-5f7b9c-xyz12"); p == nil || p.Proxy == nil {
			t.Errorf("linkerd-injected pod %+v", p)
		}
	})
}

func waitSnapshot(t *testing.T, inv *Inventory, what string, ok func(Snapshot) bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok(inv.Snapshot()) {
		if time.Now().After(deadline) {
			t.Fatalf("no snapshot with %s within 15s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func routeEqual(a, b Route) bool {
	return a.Kind == b.Kind && a.Namespace == b.Namespace && a.Name == b.Name && a.GAMMA == b.GAMMA && slices.Equal(a.Parents, b.Parents)
}

// TestAPIServerForbidden reads the cluster as a user whose role lists
// everything but pods: the rest is read, pods are named as unreadable.
func TestAPIServerForbidden(t *testing.T) {
	kc := kubetest.Kubeconfig(t)
	install(t, kc)
	kubetest.Kubectl(t, kc, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: meshperf-discovery-no-pods}
rules:
- apiGroups: [""]
  resources: [namespaces, services]
  verbs: [get, list, watch]
- apiGroups: [apps]
  resources: [deployments, statefulsets, daemonsets]
  verbs: [get, list, watch]
- apiGroups: [apiextensions.k8s.io]
  resources: [customresourcedefinitions]
  verbs: [get, list, watch]
- apiGroups: [gateway.networking.k8s.io]
  resources: [httproutes, grpcroutes]
  verbs: [get, list, watch]
- apiGroups: [security.istio.io]
  resources: [peerauthentications]
  verbs: [get, list, watch]
- apiGroups: [kuma.io]
  resources: [meshes]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: meshperf-discovery-no-pods}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: meshperf-discovery-no-pods}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: meshperf-limited}]
`, "apply", "-f", "-")
	rc := restConfig(t, kc)
	rc.Impersonate = rest.ImpersonationConfig{UserName: "meshperf-limited"}
	inv := startInventory(t, rc, Options{})
	s := inv.Snapshot()
	if len(s.Unreadable) != 1 || s.Unreadable[0].Resource != "pods" || s.Unreadable[0].Verb != "list" ||
		!strings.Contains(s.Unreadable[0].Message, `cannot list resource "pods"`) {
		t.Fatalf("unreadable %+v, want pods alone", s.Unreadable)
	}
	if !slices.ContainsFunc(s.Namespaces, func(n Namespace) bool { return n.Name == "shop" && slices.Equal(n.Meshes, []string{"istio"}) }) {
		t.Errorf("namespace shop not read with its injection: %+v", s.Namespaces)
	}
	if findMesh(s, "istio") == nil || findMesh(s, "kuma") == nil {
		t.Errorf("meshes not detected from what could be read: %+v", s.Meshes)
	}
	if s.Coverage.Pods != 0 || len(s.Pods) != 0 {
		t.Errorf("pods counted without the right to list them: %+v", s.Coverage)
	}
}
