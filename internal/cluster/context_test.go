package cluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/cluster/kubetest"
	"github.com/meshperf/meshperf/kube"
	"github.com/meshperf/meshperf/spec"
)

// TestAPIServerContextFor reads a real API server once, as a run does at
// its start, and matches target URLs to Services by name and ClusterIP.
func TestAPIServerContextFor(t *testing.T) {
	kc := kubetest.Kubeconfig(t)
	install(t, kc)
	ip := strings.TrimSpace(kubetest.Kubectl(t, kc, "", "get", "service", "-n", "shop", "reviews", "-o", "jsonpath={.spec.clusterIP}"))
	if ip == "" || ip == "None" {
		t.Fatalf("reviews has no ClusterIP: %q", ip)
	}
	targets := []string{
		"http://reviews.shop.svc.cluster.local:9080/api",
		"http://" + ip + ":9080/",
		"grpc://reviews.shop:9080",
		"http://127.0.0.1:8080/",
		"http://reviews:9080/", // bare: ambiguous, not matched
		"http://reviews.shop.svc.cluster.local:9080/api",
		"http://nosuch.shop.svc:80/",
	}
	start := time.Now()
	mc, err := ContextFor(context.Background(), kube.Config{Kubeconfig: kc}, targets)
	if err != nil {
		t.Fatalf("ContextFor: %v (context %+v)", err, mc)
	}
	t.Logf("context read in %s", time.Since(start).Round(time.Millisecond))
	if mc.Error != "" || mc.Cluster == "" || mc.Time.IsZero() {
		t.Errorf("context error %q, cluster %q, time %v", mc.Error, mc.Cluster, mc.Time)
	}
	var istio *spec.MeshInstall
	for i := range mc.Meshes {
		if mc.Meshes[i].Mesh == "istio" {
			istio = &mc.Meshes[i]
		}
	}
	if istio == nil || istio.Version != "1.23.2" || istio.SMPType != 3 || !strings.HasPrefix(istio.MTLS, "STRICT") {
		t.Errorf("istio in the context: %+v (all: %+v)", istio, mc.Meshes)
	}
	if len(mc.Targets) != 6 {
		t.Fatalf("%d targets, want 6 (the duplicate once): %+v", len(mc.Targets), mc.Targets)
	}
	for i, want := range []bool{true, true, true, false, false, false} {
		tg := mc.Targets[i]
		matched := tg.Service == "reviews" && tg.Namespace == "shop"
		if matched != want {
			t.Errorf("target %s: matched %v, want %v (%+v)", tg.URL, matched, want, tg)
			continue
		}
		if !want {
			if tg.Note == "" || tg.Mesh != "" {
				t.Errorf("unmatched target %s: note %q mesh %q", tg.URL, tg.Note, tg.Mesh)
			}
			continue
		}
		if tg.Mesh != "istio" || tg.MeshVersion != "1.23.2" || tg.Mode != "sidecar" || tg.Pods != 2 || tg.Meshed != 2 ||
			len(tg.Injection) != 1 || tg.Proxy == nil || tg.Proxy.Container != "istio-proxy" || tg.Proxy.Version != "1.23.2" ||
			tg.Proxy.Requests["memory"] != "128Mi" || tg.MTLS != "PERMISSIVE (PeerAuthentication shop/reviews-permissive)" ||
			len(tg.Workloads) != 1 || tg.Workloads[0] != "Deployment/reviews" {
			t.Errorf("target %s: %+v (proxy %+v)", tg.URL, tg, tg.Proxy)
		}
	}
}

// TestContextForNoCluster: no kubeconfig gives ErrNoKubeconfig (nothing
// to record); an unreachable API server is recorded as the context's
// error within the timeout, never blocking.
func TestContextForNoCluster(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("KUBECONFIG", filepath.Join(dir, "none"))
	t.Setenv("HOME", dir)
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	_, err := ContextFor(context.Background(), kube.Config{}, []string{"http://a.b/"})
	if !errors.Is(err, kube.ErrNoKubeconfig) {
		t.Errorf("no kubeconfig: %v, want ErrNoKubeconfig", err)
	}

	kc := filepath.Join(dir, "kubeconfig")
	// Port 1 on loopback: nothing listens, the connection is refused.
	const body = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`
	if err := os.WriteFile(kc, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	mc, err := ContextFor(context.Background(), kube.Config{Kubeconfig: kc}, []string{"http://reviews.shop.svc:9080/"})
	took := time.Since(start)
	if !errors.Is(err, kube.ErrUnreachable) || !strings.Contains(mc.Error, "unreachable") {
		t.Errorf("unreachable: err %v, context error %q", err, mc.Error)
	}
	if took > DefaultContextTimeout+time.Second {
		t.Errorf("took %s, want at most the timeout %s", took, DefaultContextTimeout)
	}
	if len(mc.Targets) != 1 || mc.Targets[0].Service != "" || mc.Targets[0].Note == "" {
		t.Errorf("targets of an unread cluster: %+v", mc.Targets)
	}
}

// TestMeshContextVia: a target URL's host is matched to a Service by its
// in-cluster name or its ClusterIP, or else to a pod by the pod's own
// address, and the result says which; a pod's own figures are recorded
// for it (not its Service's).
func TestMeshContextVia(t *testing.T) {
	proxy := &Proxy{Container: "istio-proxy", Image: "docker.io/istio/proxyv2:1.23.2", Version: "1.23.2"}
	s := Snapshot{
		Meshes:     []Mesh{{Mesh: "istio", Name: "Istio", Version: "1.23.2"}},
		Namespaces: []Namespace{{Name: "shop", Injection: []string{"istio-injection=enabled"}}},
		Services: []Service{{Namespace: "shop", Name: "reviews", Selector: map[string]string{"app": "reviews"},
			ClusterIPs: []string{"10.96.7.7"}}},
		Pods: []Pod{
			{Namespace: "shop", Name: "reviews-a", Owner: "Deployment/reviews", Labels: map[string]string{"app": "reviews"},
				IPs: []string{"10.244.0.11"}, Mesh: "istio", Proxy: proxy, MTLS: "STRICT (PeerAuthentication istio-system/default)"},
			{Namespace: "shop", Name: "reviews-b", Owner: "Deployment/reviews", Labels: map[string]string{"app": "reviews"},
				IPs: []string{"10.244.0.12", "fd00::12"}},
		},
	}
	mc := s.MeshContext([]string{
		"http://reviews.shop.svc.cluster.local:9080/",
		"http://10.96.7.7:9080/",
		"http://10.244.0.11:9080/",
		"http://[fd00::12]:9080/",
		"http://10.244.0.99:9080/",
	})
	type want struct{ via, service, pod, mode string }
	for i, w := range []want{
		{ViaServiceName, "reviews", "", "sidecar"},
		{ViaClusterIP, "reviews", "", "sidecar"},
		{ViaPodIP, "", "reviews-a", "sidecar"},
		{ViaPodIP, "", "reviews-b", "none"},
		{"", "", "", ""},
	} {
		got := mc.Targets[i]
		if got.Via != w.via || got.Service != w.service || got.Pod != w.pod || got.Mode != w.mode {
			t.Errorf("%s: via %q service %q pod %q mode %q; want %q %q %q %q", got.URL, got.Via, got.Service, got.Pod, got.Mode, w.via, w.service, w.pod, w.mode)
		}
	}
	if p := mc.Targets[1]; p.Pods != 2 || p.Meshed != 1 {
		t.Errorf("the Service's pods %d, meshed %d; want 2, 1", p.Pods, p.Meshed)
	}
	a := mc.Targets[2]
	if a.Namespace != "shop" || a.Pods != 1 || a.Meshed != 1 || a.Mesh != "istio" || a.MeshVersion != "1.23.2" ||
		a.Proxy == nil || a.Proxy.Version != "1.23.2" || !strings.HasPrefix(a.MTLS, "STRICT") ||
		len(a.Workloads) != 1 || a.Workloads[0] != "Deployment/reviews" || len(a.Injection) != 1 {
		t.Errorf("pod reviews-a's context %+v", a)
	}
	if b := mc.Targets[3]; b.Meshed != 0 || b.Mesh != "" || b.Proxy != nil {
		t.Errorf("pod reviews-b (no proxy) %+v", b)
	}
	if n := mc.Targets[4].Note; !strings.Contains(n, "no pod's address") {
		t.Errorf("an address of nothing: note %q", n)
	}
}
