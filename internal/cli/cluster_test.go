package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/meshperf/meshperf/internal/cluster"
	"github.com/meshperf/meshperf/internal/cluster/kubetest"
)

func runCluster(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errw bytes.Buffer
	code = Main(t.Context(), append([]string{"cluster"}, args...), strings.NewReader(""), &out, &errw)
	return out.String(), errw.String(), code
}

// TestClusterNoCluster: no kubeconfig, an unreachable API server and bad
// flags each get a message saying what is wrong, before any inventory.
func TestClusterNoCluster(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBECONFIG", filepath.Join(dir, "absent"))
	_, stderr, code := runCluster(t, "status")
	if code != ExitFailed || !strings.Contains(stderr, "no usable kubeconfig") || !strings.Contains(stderr, "--kubeconfig") {
		t.Errorf("no kubeconfig: exit %d, %q", code, stderr)
	}

	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	kc := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kc, fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://%s", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`, addr), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = runCluster(t, "workloads", "--kubeconfig", kc, "--request-timeout", "2s")
	if code != ExitFailed || !strings.Contains(stderr, "unreachable") || !strings.Contains(stderr, addr) {
		t.Errorf("unreachable: exit %d, %q", code, stderr)
	}

	for _, args := range [][]string{{"status", "-o", "yaml"}, {"status", "--wait", "0s"}, {"workloads", "--request-timeout", "11m"}} {
		_, stderr, code = runCluster(t, args...)
		flag := args[1]
		if code != ExitUsage || !strings.Contains(stderr, flag) {
			t.Errorf("%v: exit %d, %q; want %d naming %s", args, code, stderr, ExitUsage, flag)
		}
	}
}

// TestClusterAPIServer runs meshperf cluster status and workloads against
// a real API server holding the objects the meshes install, then as a
// user RBAC keeps from listing pods.
func TestClusterAPIServer(t *testing.T) {
	kc := kubetest.Kubeconfig(t)
	t.Cleanup(kubetest.Stop)
	data := filepath.Join(kubetest.RepoRoot(), "internal", "cluster", "testdata")
	kubetest.Kubectl(t, kc, "", "apply", "-f", filepath.Join(data, "crds.yaml"))
	kubetest.Kubectl(t, kc, "", "wait", "--for", "condition=established", "--timeout", "60s", "-f", filepath.Join(data, "crds.yaml"))
	kubetest.Kubectl(t, kc, "", "apply", "-f", filepath.Join(data, "meshes.yaml"))
	kubetest.Kubectl(t, kc, "", "apply", "-f", filepath.Join(data, "workloads.yaml"))

	t.Run("run records the mesh context", func(t *testing.T) { testRunMeshContext(t, kc) })
	t.Run("server serves the cluster", func(t *testing.T) { testServerCluster(t, kc) })
	t.Run("metrics of the mesh found", func(t *testing.T) { testClusterMetricsAuto(t, kc) })
	t.Run("run keeps what the mesh saw", func(t *testing.T) { testRunMeshTraffic(t, kc) })

	stdout, stderr, code := runCluster(t, "status", "--kubeconfig", kc, "-o", "json")
	if code != 0 {
		t.Fatalf("status: exit %d: %s", code, stderr)
	}
	var st struct {
		Meshes     []cluster.Mesh      `json:"meshes"`
		GatewayAPI *cluster.GatewayAPI `json:"gatewayAPI"`
		Coverage   cluster.Coverage    `json:"coverage"`
		Routes     []cluster.Route     `json:"routes"`
	}
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("status -o json: %v\n%s", err, stdout)
	}
	var got []string
	for _, m := range st.Meshes {
		got = append(got, m.Mesh+" "+m.Version)
	}
	if want := []string{"istio 1.23.2", "linkerd stable-2.14.10", "kuma 2.8.2"}; !slices.Equal(got, want) {
		t.Errorf("meshes %v, want %v", got, want)
	}
	if st.GatewayAPI == nil || st.GatewayAPI.Version != "v1.2.0" || st.Coverage.WithProxy != 3 || st.Coverage.Ambient != 1 {
		t.Errorf("gateway %+v coverage %+v", st.GatewayAPI, st.Coverage)
	}

	stdout, stderr, code = runCluster(t, "status", "--kubeconfig", kc)
	for _, want := range []string{"Istio", "1.23.2", "sidecar,ambient", "Gateway API v1.2.0 (standard channel)", "routes: 2 (1 GAMMA", "coverage: 5 pods: 3 with a proxy, 1 ambient, 1 without"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("status text lacks %q (exit %d, %s):\n%s", want, code, stderr, stdout)
		}
	}

	stdout, stderr, code = runCluster(t, "workloads", "--kubeconfig", kc, "-n", "shop")
	for _, want := range []string{"reviews-7d9c8b6f5-fghij", "istio-proxy (native sidecar)", "cpu=100m,memory=128Mi", "cpu=2,memory=1Gi"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("workloads -n shop lacks %q (exit %d, %s):\n%s", want, code, stderr, stdout)
		}
	}
	if strings.Contains(stdout, "emojivoto") {
		t.Errorf("workloads -n shop shows another namespace:\n%s", stdout)
	}
	if _, stderr, code = runCluster(t, "workloads", "--kubeconfig", kc, "-n", "nosuch"); code != ExitUsage || !strings.Contains(stderr, "nosuch") {
		t.Errorf("-n nosuch: exit %d, %q", code, stderr)
	}

	// The kubeconfig's second user, allowed everything but pods.
	kubetest.Kubectl(t, kc, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: meshperf-cli-no-pods}
rules:
- {apiGroups: [""], resources: [namespaces, services], verbs: [list, watch]}
- {apiGroups: [apps], resources: [deployments, statefulsets, daemonsets], verbs: [list, watch]}
- {apiGroups: [apiextensions.k8s.io], resources: [customresourcedefinitions], verbs: [list, watch]}
- {apiGroups: [gateway.networking.k8s.io], resources: [httproutes, grpcroutes], verbs: [list, watch]}
- {apiGroups: [security.istio.io], resources: [peerauthentications], verbs: [list, watch]}
- {apiGroups: [kuma.io], resources: [meshes], verbs: [list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: meshperf-cli-no-pods}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: meshperf-cli-no-pods}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: meshperf-noperm}]
`, "apply", "-f", "-")
	stdout, stderr, code = runCluster(t, "status", "--kubeconfig", kc, "--context", "meshperf-test-noperm")
	if code != ExitFailed || !strings.Contains(stderr, "forbidden") || !strings.Contains(stderr, "may not list and watch pods (RBAC") {
		t.Errorf("no pods: exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "Istio") || !strings.Contains(stdout, `unreadable: cannot list pods: pods is forbidden: User "meshperf-noperm"`) {
		t.Errorf("no pods: what could be read is not shown, or the refusal is not named:\n%s", stdout)
	}
}
