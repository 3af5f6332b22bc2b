package kubenode_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/kubenode"
)

// TestClusterDNS asks the node's cluster DNS (CoreDNS with its kubernetes
// plugin on the node's address, the pods' nameserver) over UDP and TCP
// from inside the node's network namespace, as a pod would: a Service's
// ClusterIP, a headless Service's endpoints, the reverse name of a
// ClusterIP, Traefik Mesh's name of a Service (the stub domain its prepare
// step adds), a missing name, a name outside the cluster, and a deletion
// seen live.
func TestClusterDNS(t *testing.T) {
	n := kubenode.Get(t)
	const ns = "dns-test"
	n.Kubectl(t, "", "create", "namespace", ns)
	t.Cleanup(func() { n.Kubectl(t, "", "delete", "namespace", ns, "--wait=false") })
	// Traefik Mesh's shadow Service of web (what its controller creates in
	// its own namespace), for the traefik.mesh stub domain.
	n.Kubectl(t, `apiVersion: v1
kind: Namespace
metadata: {name: traefik-mesh}
---
apiVersion: v1
kind: Service
metadata: {name: traefik-mesh-web-6d61657368-dns-test, namespace: traefik-mesh}
spec:
  ports: [{name: http, port: 80}]
`, "apply", "-f", "-")
	t.Cleanup(func() {
		n.Kubectl(t, "", "delete", "service", "traefik-mesh-web-6d61657368-dns-test", "-n", "traefik-mesh", "--ignore-not-found")
	})
	n.Kubectl(t, `apiVersion: v1
kind: Service
metadata: {name: web, namespace: dns-test}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: dns-test}
spec:
  clusterIP: None
  ports: [{name: pg, port: 5432}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: db-1
  namespace: dns-test
  labels: {kubernetes.io/service-name: db}
addressType: IPv4
ports: [{name: pg, port: 5432, protocol: TCP}]
endpoints:
- addresses: [10.244.0.201]
  conditions: {ready: true}
- addresses: [10.244.0.202]
  conditions: {ready: true}
- addresses: [10.244.0.203]
  conditions: {ready: false}
`, "apply", "-f", "-")
	clusterIP := strings.TrimSpace(n.Kubectl(t, "", "get", "service", "web", "-n", ns, "-o", "jsonpath={.spec.clusterIP}"))
	if net.ParseIP(clusterIP) == nil {
		t.Fatalf("service web has no ClusterIP: %q", clusterIP)
	}
	shadowIP := strings.TrimSpace(n.Kubectl(t, "", "get", "service", "traefik-mesh-web-6d61657368-dns-test", "-n", "traefik-mesh", "-o", "jsonpath={.spec.clusterIP}"))

	for _, network := range []string{"udp", "tcp"} {
		r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return n.DialContext(ctx, network, net.JoinHostPort(n.NodeIP, "53"))
		}}
		t.Run(network, func(t *testing.T) {
			// The informers see new objects within moments; wait for
			// the last one applied.
			eventually(t, 15*time.Second, func() error {
				got, err := lookup(t, r, "db.dns-test.svc.cluster.local.")
				if err != nil {
					return err
				}
				if want := []string{"10.244.0.201", "10.244.0.202"}; !slices.Equal(got, want) {
					return errors.New("headless Service db: got " + strings.Join(got, ",") + ", want its ready endpoints " + strings.Join(want, ","))
				}
				return nil
			})
			got, err := lookup(t, r, "web.dns-test.svc.cluster.local.")
			if err != nil || !slices.Equal(got, []string{clusterIP}) {
				t.Errorf("Service web: got %v, %v; want its ClusterIP %s", got, err, clusterIP)
			}
			names, err := r.LookupAddr(t.Context(), clusterIP)
			if err != nil || !slices.Equal(names, []string{"web.dns-test.svc.cluster.local."}) {
				t.Errorf("reverse of %s: got %v, %v; want web.dns-test.svc.cluster.local.", clusterIP, names, err)
			}
			// Traefik Mesh's name of web: its shadow Service's address,
			// under the name asked.
			if got, err := lookup(t, r, "web.dns-test.traefik.mesh."); err != nil || !slices.Equal(got, []string{shadowIP}) {
				t.Errorf("web.dns-test.traefik.mesh: got %v, %v; want the shadow Service's %s", got, err, shadowIP)
			}
			if got, err := lookup(t, r, "nothing.dns-test.svc.cluster.local."); !notFound(err) {
				t.Errorf("a Service the cluster lacks: got %v, %v; want NXDOMAIN", got, err)
			}
			if got, err := lookup(t, r, "example.org."); err == nil {
				t.Errorf("a name outside the cluster (no upstream here): got %v, want no answer", got)
			}
		})
	}

	n.Kubectl(t, "", "delete", "service", "web", "-n", ns)
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return n.DialContext(ctx, "udp", net.JoinHostPort(n.NodeIP, "53"))
	}}
	eventually(t, 15*time.Second, func() error {
		if got, err := lookup(t, r, "web.dns-test.svc.cluster.local."); !notFound(err) {
			return errors.New("deleted Service web still answers: " + strings.Join(got, ","))
		}
		return nil
	})
}

func lookup(t *testing.T, r *net.Resolver, name string) ([]string, error) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	got, err := r.LookupHost(ctx, name)
	slices.Sort(got)
	return got, err
}

func notFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// eventually retries f every 200 ms until it succeeds, failing the test
// with f's last error after timeout.
func eventually(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
