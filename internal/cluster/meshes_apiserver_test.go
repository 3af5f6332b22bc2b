package cluster

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/meshperf/meshperf/internal/cluster/kubetest"
)

// TestAPIServerMoreMeshes is TestAPIServerDiscovery for the meshes its
// objects leave out: Consul, Cilium service mesh, Open Service Mesh,
// Traefik Mesh and NGINX Service Mesh, each from the workloads, CRDs and
// injected pods it creates (testdata/more-*.yaml), read from a real API
// server; then a Consul upgrade and OSM's removal seen live. It removes
// what it applied (its namespaces stay, plain), so the package's other
// tests see the meshes as before.
func TestAPIServerMoreMeshes(t *testing.T) {
	kc := kubetest.Kubeconfig(t)
	crds, meshes := filepath.Join("testdata", "more-crds.yaml"), filepath.Join("testdata", "more-meshes.yaml")
	kubetest.Kubectl(t, kc, "", "apply", "-f", crds)
	kubetest.Kubectl(t, kc, "", "wait", "--for", "condition=established", "--timeout", "60s", "-f", crds)
	kubetest.Kubectl(t, kc, "", "apply", "-f", filepath.Join("testdata", "more-namespaces.yaml"))
	kubetest.Kubectl(t, kc, "", "apply", "-f", meshes)
	t.Cleanup(func() {
		// Unscheduled pods and workloads without a controller go at once;
		// the namespaces stay (no controller-manager would finish
		// deleting them), without their injection markers.
		kubetest.Kubectl(t, kc, "", "delete", "--ignore-not-found", "--timeout", "60s", "-f", meshes)
		kubetest.Kubectl(t, kc, "", "delete", "--ignore-not-found", "--timeout", "60s", "-f", crds)
		kubetest.Kubectl(t, kc, "", "label", "namespace", "bookstore", "openservicemesh.io/monitored-by-")
		kubetest.Kubectl(t, kc, "", "annotate", "namespace", "bookstore", "openservicemesh.io/sidecar-injection-")
		kubetest.Kubectl(t, kc, "", "label", "namespace", "nginx-demo", "injector.nsm.nginx.com/auto-inject-")
	})
	inv := startInventory(t, restConfig(t, kc), Options{})
	events, unsubscribe := inv.Subscribe(10_000)
	defer unsubscribe()
	s := inv.Snapshot()

	tests := []struct {
		mesh, name, version string
		modes               []string
		mtls                string
		crds                []string
		components          []string
		injected            []string
		withProxy           int
		proxyVersions       []string
	}{
		{"consul", "Consul", "1.20.1", []string{"sidecar"}, "always on", []string{"proxydefaults.consul.hashicorp.com"},
			[]string{"StatefulSet/consul/consul-server", "Deployment/consul/consul-connect-injector"}, nil, 1, []string{"1.6.1"}},
		{"cilium", "Cilium service mesh", "v1.16.3", []string{"sidecarless"}, "", []string{"ciliumnetworkpolicies.cilium.io"},
			[]string{"DaemonSet/kube-system/cilium", "DaemonSet/kube-system/cilium-envoy", "Deployment/kube-system/cilium-operator"}, nil, 0, nil},
		{"osm", "Open Service Mesh", "v1.2.4", []string{"sidecar"}, "always on", []string{"meshconfigs.config.openservicemesh.io"},
			[]string{"Deployment/osm-system/osm-controller", "Deployment/osm-system/osm-injector"}, []string{"bookstore"}, 1, []string{"v1.22.2"}},
		{"traefik-mesh", "Traefik Mesh", "v1.4.8", []string{"node-proxy"}, "off (no mTLS in Traefik Mesh)", nil,
			[]string{"Deployment/traefik-mesh/traefik-mesh-controller", "DaemonSet/traefik-mesh/traefik-mesh-proxy"}, nil, 0, nil},
		{"nginx-service-mesh", "NGINX Service Mesh", "2.0.0", []string{"sidecar"}, "", []string{"ratelimits.specs.smi.nginx.com"},
			[]string{"Deployment/nginx-mesh/nginx-mesh-controller", "Deployment/nginx-mesh/nginx-mesh-api"}, []string{"nginx-demo"}, 1, []string{"2.0.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.mesh, func(t *testing.T) {
			m := findMesh(s, tt.mesh)
			if m == nil {
				t.Fatalf("%s not detected; meshes %+v", tt.mesh, s.Meshes)
			}
			if m.Name != tt.name || m.Version != tt.version || !slices.Equal(m.Modes, tt.modes) || m.MTLS != tt.mtls {
				t.Errorf("%q version %q modes %v mTLS %q; want %q %q %v %q", m.Name, m.Version, m.Modes, m.MTLS, tt.name, tt.version, tt.modes, tt.mtls)
			}
			if !slices.Equal(m.CRDs, tt.crds) {
				t.Errorf("CRDs %v, want %v", m.CRDs, tt.crds)
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
			if !slices.Equal(m.InjectedNamespaces, tt.injected) {
				t.Errorf("injected namespaces %v, want %v", m.InjectedNamespaces, tt.injected)
			}
			if m.PodsWithProxy != tt.withProxy || !slices.Equal(m.ProxyVersions, tt.proxyVersions) {
				t.Errorf("pods with proxy %d, proxy versions %v; want %d, %v", m.PodsWithProxy, m.ProxyVersions, tt.withProxy, tt.proxyVersions)
			}
			if m.Healthy {
				t.Errorf("healthy with no pod running: %+v", m.Components)
			}
		})
	}

	t.Run("pods", func(t *testing.T) {
		for _, c := range []struct{ ns, pod, mesh, container, version, mtls string }{
			{"counting", "counting-6f8d7c-abcde", "consul", "consul-dataplane", "1.6.1", "always on"},
			{"bookstore", "bookstore-v1-5d8f9c-qwert", "osm", "envoy", "v1.22.2", "always on"},
			{"nginx-demo", "target-v1-7c9d8b-zxcvb", "nginx-service-mesh", "nginx-mesh-sidecar", "2.0.0", ""},
		} {
			p := findPod(s, c.ns, c.pod)
			if p == nil {
				t.Errorf("pod %s/%s missing", c.ns, c.pod)
				continue
			}
			if p.Mesh != c.mesh || p.Proxy == nil || p.Proxy.Container != c.container || p.Proxy.Version != c.version || p.MTLS != c.mtls {
				t.Errorf("pod %s/%s: mesh %q proxy %+v mTLS %q; want %s's %s %s, mTLS %q", c.ns, c.pod, p.Mesh, p.Proxy, p.MTLS, c.mesh, c.container, c.version, c.mtls)
			}
		}
		if p := findPod(s, "counting", "counting-6f8d7c-abcde"); p == nil || p.Proxy == nil || p.Proxy.Requests["memory"] != "64Mi" || p.Proxy.Limits["cpu"] != "200m" {
			t.Errorf("consul-dataplane's resources: %+v", p)
		}
	})

	t.Run("upgrade", func(t *testing.T) {
		kubetest.Kubectl(t, kc, "", "-n", "consul", "set", "image", "statefulset/consul-server", "consul=hashicorp/consul:1.20.2")
		e := waitEvent(t, events, "consul mesh-version", func(e Event) bool { return e.Type == "mesh-version" && e.Mesh == "consul" })
		if e.From != "1.20.1" || e.To != "1.20.2" {
			t.Errorf("upgrade event %+v, want from 1.20.1 to 1.20.2", e)
		}
	})

	t.Run("removal", func(t *testing.T) {
		kubetest.Kubectl(t, kc, "", "-n", "osm-system", "delete", "deployment", "osm-controller", "osm-injector")
		kubetest.Kubectl(t, kc, "", "delete", "crd", "meshconfigs.config.openservicemesh.io")
		e := waitEvent(t, events, "osm mesh-removed", func(e Event) bool { return e.Type == "mesh-removed" && e.Mesh == "osm" })
		after := inv.Snapshot()
		if findMesh(after, "osm") != nil {
			t.Errorf("osm still in the snapshot after %+v", e)
		}
		if findMesh(after, "consul") == nil || findMesh(after, "traefik-mesh") == nil {
			t.Errorf("removing OSM took other meshes with it: %+v", after.Meshes)
		}
	})
}
