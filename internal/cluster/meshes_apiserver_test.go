package cluster

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/cluster/kubetest"
)

// The namespaces testdata/othermeshes/meshes.yaml creates (kube-system is
// the API server's own and stays).
var otherMeshNamespaces = []string{"consul", "consul-demo", "cilium-demo", "osm-system", "bookstore", "traefik-mesh", "nginx-mesh", "nsm-demo"}

// installOtherMeshes applies testdata/othermeshes and removes it all when
// the test ends, so the package's other API server tests see the three
// meshes of testdata/ alone.
func installOtherMeshes(t *testing.T, kc string) {
	t.Helper()
	crds := filepath.Join("testdata", "othermeshes", "crds.yaml")
	meshes := filepath.Join("testdata", "othermeshes", "meshes.yaml")
	t.Cleanup(func() {
		kubetest.Kubectl(t, kc, "", "delete", "--ignore-not-found", "--wait=false", "-f", meshes)
		kubetest.Kubectl(t, kc, "", "delete", "--ignore-not-found", "-f", crds)
		// No controller-manager runs, so nothing empties and finalizes a
		// deleted namespace: its objects are gone (above), finalize it here.
		for _, ns := range otherMeshNamespaces {
			body, _ := json.Marshal(map[string]any{
				"apiVersion": "v1", "kind": "Namespace",
				"metadata": map[string]any{"name": ns}, "spec": map[string]any{"finalizers": []string{}},
			})
			kubetest.Kubectl(t, kc, string(body), "replace", "--raw", "/api/v1/namespaces/"+ns+"/finalize", "-f", "-")
		}
		deadline := time.Now().Add(15 * time.Second)
		for {
			left := strings.Fields(kubetest.Kubectl(t, kc, "", "get", "namespaces", "-o", "jsonpath={.items[*].metadata.name}"))
			var still []string
			for _, ns := range otherMeshNamespaces {
				if slices.Contains(left, ns) {
					still = append(still, ns)
				}
			}
			if len(still) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("namespaces %v still there after their removal", still)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	kubetest.Kubectl(t, kc, "", "apply", "-f", crds)
	kubetest.Kubectl(t, kc, "", "wait", "--for", "condition=established", "--timeout", "60s", "-f", crds)
	kubetest.Kubectl(t, kc, "", "apply", "-f", meshes)
}

// TestAPIServerOtherMeshes is TestAPIServerDiscovery for the other five
// meshes of issue 18: Consul, Cilium service mesh, Open Service Mesh,
// Traefik Mesh and NGINX Service Mesh, as their installers and injectors
// write them into a real API server; their versions, modes, mTLS,
// injection and proxies; Consul's upgrade, its mTLS mode changed, and
// Traefik Mesh's removal seen live.
func TestAPIServerOtherMeshes(t *testing.T) {
	kc := kubetest.Kubeconfig(t)
	install(t, kc)
	installOtherMeshes(t, kc)
	inv := startInventory(t, restConfig(t, kc), Options{})
	events, unsubscribe := inv.Subscribe(10_000)
	defer unsubscribe()
	// The mTLS resources are watched once their CRDs are seen: wait for the
	// snapshot that has read them.
	waitSnapshot(t, inv, "Consul's ProxyDefaults and Cilium's policy read", func(s Snapshot) bool {
		c, ci := findMesh(s, "consul"), findMesh(s, "cilium")
		return s.Complete && c != nil && strings.Contains(c.MTLS, "ProxyDefaults") && ci != nil && strings.Contains(ci.MTLS, "CiliumNetworkPolicy")
	})
	s := inv.Snapshot()
	if len(s.Unreadable) != 0 {
		t.Fatalf("admin could not read %v", s.Unreadable)
	}

	t.Run("meshes", func(t *testing.T) {
		tests := []struct {
			mesh, version string
			mtls          string
			modes         []string
			components    []string
			crds          int
			injected      []string
			withProxy     int
			proxyVersions []string
		}{
			{"consul", "1.19.2", "permissive (ProxyDefaults consul/global)", []string{"sidecar"},
				[]string{"Deployment/consul/consul-connect-injector", "StatefulSet/consul/consul-server"}, 2, nil, 1, []string{"1.5.3"}},
			{"cilium", "v1.16.3", "mutual auth required by policy (CiliumNetworkPolicy cilium-demo/echo-require-auth)", []string{"sidecarless"},
				[]string{"DaemonSet/kube-system/cilium", "DaemonSet/kube-system/cilium-envoy", "Deployment/kube-system/cilium-operator"}, 2, nil, 0, nil},
			{"osm", "v1.2.4", "always on", []string{"sidecar"},
				[]string{"Deployment/osm-system/osm-controller", "Deployment/osm-system/osm-injector"}, 2, []string{"bookstore"}, 1, []string{"v1.22.2"}},
			{"traefik-mesh", "v1.4.8", "off", []string{"node-proxy"},
				[]string{"Deployment/traefik-mesh/traefik-mesh-controller", "DaemonSet/traefik-mesh/traefik-mesh-proxy"}, 0, nil, 0, nil},
			{"nginx-service-mesh", "2.0.0", "", []string{"sidecar"},
				[]string{"Deployment/nginx-mesh/nginx-mesh-controller"}, 2, []string{"nsm-demo"}, 1, []string{"2.0.0"}},
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
				var comps []string
				for _, c := range m.Components {
					comps = append(comps, c.Kind+"/"+c.Namespace+"/"+c.Name)
				}
				slices.Sort(comps)
				want := slices.Sorted(slices.Values(tt.components))
				if !slices.Equal(comps, want) {
					t.Errorf("components %v, want %v", comps, want)
				}
				if len(m.CRDs) != tt.crds {
					t.Errorf("CRDs %v, want %d", m.CRDs, tt.crds)
				}
				if !slices.Equal(m.InjectedNamespaces, tt.injected) {
					t.Errorf("injected namespaces %v, want %v", m.InjectedNamespaces, tt.injected)
				}
				if m.PodsWithProxy != tt.withProxy || m.PodsAmbient != 0 || !slices.Equal(m.ProxyVersions, tt.proxyVersions) {
					t.Errorf("pods with proxy %d, ambient %d, proxy versions %v; want %d, 0, %v",
						m.PodsWithProxy, m.PodsAmbient, m.ProxyVersions, tt.withProxy, tt.proxyVersions)
				}
				if m.Healthy {
					t.Errorf("healthy with no pod running: %+v", m.Components)
				}
			})
		}
		// The three of testdata/ are still there beside them.
		for _, m := range []string{"istio", "linkerd", "kuma"} {
			if findMesh(s, m) == nil {
				t.Errorf("%s lost among the others", m)
			}
		}
	})

	t.Run("pods", func(t *testing.T) {
		for _, c := range []struct {
			ns, pod, mesh, container, version, mtls string
			requests                                map[string]string
		}{
			{"consul-demo", "counting-6c8d5b7f9-q2w3e", "consul", "consul-dataplane", "1.5.3", "permissive (ProxyDefaults consul/global)", map[string]string{"cpu": "50m", "memory": "64Mi"}},
			{"bookstore", "bookstore-v1-5b9d7c6f4-h7k2m", "osm", "envoy", "v1.22.2", "always on", nil},
			{"nsm-demo", "target-v1-7f6d8c9b5-p4r8t", "nginx-service-mesh", "nginx-mesh-sidecar", "2.0.0", "", map[string]string{"cpu": "100m", "memory": "128Mi"}},
		} {
			p := findPod(s, c.ns, c.pod)
			if p == nil {
				t.Errorf("pod %s/%s missing", c.ns, c.pod)
				continue
			}
			if p.Mesh != c.mesh || p.Proxy == nil || p.Proxy.Container != c.container || p.Proxy.Version != c.version || p.Proxy.Native || p.MTLS != c.mtls {
				t.Errorf("pod %s/%s: mesh %q mTLS %q proxy %+v; want %s, %q, %s %s", c.ns, c.pod, p.Mesh, p.MTLS, p.Proxy, c.mesh, c.mtls, c.container, c.version)
				continue
			}
			for k, v := range c.requests {
				if p.Proxy.Requests[k] != v {
					t.Errorf("pod %s/%s proxy requests %v, want %v", c.ns, c.pod, p.Proxy.Requests, c.requests)
				}
			}
		}
		// The consul pod's injection is its own annotation: its namespace
		// is not marked.
		for _, n := range s.Namespaces {
			if n.Name == "consul-demo" && len(n.Meshes) != 0 {
				t.Errorf("namespace consul-demo marked %v", n.Injection)
			}
		}
	})

	t.Run("consul upgrade", func(t *testing.T) {
		kubetest.Kubectl(t, kc, "", "-n", "consul", "set", "image", "statefulset/consul-server", "consul=hashicorp/consul:1.20.1")
		e := waitEvent(t, events, "consul mesh-version", func(e Event) bool { return e.Type == "mesh-version" && e.Mesh == "consul" })
		if e.From != "1.19.2" || e.To != "1.20.1" {
			t.Errorf("upgrade event %+v, want from 1.19.2 to 1.20.1", e)
		}
		if v := findMesh(inv.Snapshot(), "consul").Version; v != "1.20.1" {
			t.Errorf("snapshot after the event says consul %s", v)
		}
	})

	t.Run("consul mtls strict", func(t *testing.T) {
		kubetest.Kubectl(t, kc, "", "-n", "consul", "patch", "proxydefaults", "global", "--type", "merge", "-p", `{"spec":{"mutualTLSMode":"strict"}}`)
		waitSnapshot(t, inv, "consul strict", func(s Snapshot) bool {
			m := findMesh(s, "consul")
			p := findPod(s, "consul-demo", "counting-6c8d5b7f9-q2w3e")
			return m != nil && m.MTLS == "strict (ProxyDefaults consul/global)" && p != nil && p.MTLS == m.MTLS
		})
		kubetest.Kubectl(t, kc, "", "-n", "consul", "delete", "proxydefaults", "global")
		waitSnapshot(t, inv, "consul's default", func(s Snapshot) bool {
			m := findMesh(s, "consul")
			return m != nil && m.MTLS == "strict (default)"
		})
	})

	t.Run("traefik mesh removal", func(t *testing.T) {
		kubetest.Kubectl(t, kc, "", "-n", "traefik-mesh", "delete", "deployment", "traefik-mesh-controller")
		kubetest.Kubectl(t, kc, "", "-n", "traefik-mesh", "delete", "daemonset", "traefik-mesh-proxy")
		e := waitEvent(t, events, "traefik-mesh mesh-removed", func(e Event) bool { return e.Type == "mesh-removed" && e.Mesh == "traefik-mesh" })
		if findMesh(inv.Snapshot(), "traefik-mesh") != nil {
			t.Errorf("traefik-mesh still in the snapshot after %+v", e)
		}
		if findMesh(inv.Snapshot(), "consul") == nil || findMesh(inv.Snapshot(), "osm") == nil {
			t.Error("removing Traefik Mesh removed others")
		}
	})
}
