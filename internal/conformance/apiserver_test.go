package conformance

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/meshperf/meshperf/internal/cluster/kubetest"
	"github.com/meshperf/meshperf/kube"
)

// Against a real kube-apiserver and etcd without a kubelet, scheduler or
// controller-manager (internal/cluster/kubetest): objects are stored,
// pods never exist. The subtests run in order on one cluster.
func TestAPIServer(t *testing.T) {
	kc := kubetest.Kubeconfig(t)
	cs := clientsetFor(t, kc, "")
	base := Options{
		Kube:          kube.Config{Kubeconfig: kc},
		Profile:       "MESH-HTTP",
		Timeout:       2 * time.Minute,
		SetupTimeout:  3 * time.Second,
		DiscoveryWait: 5 * time.Second,
		Command:       childCommand,
	}
	gwCRDs := filepath.Join(moduleDir(t, "sigs.k8s.io/gateway-api"), "config", "crd", "standard")

	t.Run("no Gateway API", func(t *testing.T) {
		kubetest.Kubectl(t, kc, "", "delete", "--ignore-not-found", "-f", gwCRDs)
		res, err := Run(t.Context(), base)
		if res != nil || !errors.Is(err, ErrNoGatewayAPI) {
			t.Fatalf("got %v, %v; want ErrNoGatewayAPI", res, err)
		}
		for _, want := range []string{"profile MESH-HTTP needs httproutes.gateway.networking.k8s.io", "the Gateway API CRDs are not installed",
			"kubectl apply --server-side -f https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.6.3/standard-install.yaml"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
	})

	kubetest.Kubectl(t, kc, "", "apply", "--server-side", "-f", gwCRDs)

	t.Run("another Gateway API release", func(t *testing.T) {
		const ann = "gateway.networking.k8s.io/bundle-version"
		kubetest.Kubectl(t, kc, "", "annotate", "--overwrite", "crd", "httproutes.gateway.networking.k8s.io", ann+"=v1.7.0")
		defer kubetest.Kubectl(t, kc, "", "annotate", "--overwrite", "crd", "httproutes.gateway.networking.k8s.io", ann+"="+SuiteVersion)
		_, err := Run(t.Context(), base)
		if !errors.Is(err, ErrNoGatewayAPI) || !strings.Contains(err.Error(), "mixes Gateway API releases (v1.6.3, v1.7.0)") {
			t.Fatalf("error %v, want the mixed releases named", err)
		}
	})

	t.Run("RBAC forbids creating namespaces", func(t *testing.T) {
		kubetest.Kubectl(t, kc, `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: meshperf-conformance-no-namespaces}
rules:
- apiGroups: [apiextensions.k8s.io]
  resources: [customresourcedefinitions]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [namespaces, pods, services]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [services]
  verbs: [create, delete]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, create, delete]
- apiGroups: [gateway.networking.k8s.io]
  resources: ["*"]
  verbs: ["*"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: meshperf-conformance-no-namespaces}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: meshperf-conformance-no-namespaces}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: meshperf-noperm}
`, "apply", "-f", "-")
		o := base
		o.Kube.Context = "meshperf-test-noperm"
		res, err := Run(t.Context(), o)
		if res != nil || !errors.Is(err, ErrForbidden) {
			t.Fatalf("got %v, %v; want ErrForbidden", res, err)
		}
		if !strings.Contains(err.Error(), "may not create namespaces, delete namespaces, create pods/exec (RBAC:") || strings.Contains(err.Error(), "services") {
			t.Errorf("error %q: want the namespace verbs named, and only them", err)
		}
		if _, err := cs.CoreV1().Namespaces().Get(t.Context(), "gateway-conformance-mesh", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("a refused run created the suite's namespace: %v", err)
		}
	})

	t.Run("without a node", func(t *testing.T) {
		start := time.Now()
		res, err := Run(t.Context(), base)
		took := time.Since(start)
		t.Logf("run took %s", took)
		if err != nil {
			t.Fatal(err)
		}
		if took > 60*time.Second {
			t.Errorf("a run whose setup waits 3s took %s", took)
		}
		if res.Outcome != OutcomeNotRun || res.Counts.Passed != 0 || res.Counts.Failed != 0 || res.Counts.NotRun == 0 {
			t.Fatalf("outcome %s, counts %+v; want not-run with no pass or fail", res.Outcome, res.Counts)
		}
		for _, want := range []string{"its pods never became ready", "error waiting for gateway-conformance-mesh, gateway-conformance-mesh-consumer namespaces to be ready", "No pods deployed yet in namespace gateway-conformance-mesh"} {
			if !strings.Contains(res.Reason, want) {
				t.Errorf("reason %q lacks %q", res.Reason, want)
			}
		}
		plan := Plan(mustProfile(t, "MESH-HTTP"), nil)
		if len(res.Tests) != len(plan) || len(plan) < 10 {
			t.Fatalf("%d tests reported, the plan has %d", len(res.Tests), len(plan))
		}
		for i, tr := range res.Tests {
			if tr.Name != plan[i].Name {
				t.Errorf("test %d is %s, want %s", i, tr.Name, plan[i].Name)
			}
			switch {
			case len(plan[i].Missing) > 0:
				if tr.Status != Skip || !strings.Contains(tr.Message, "not declared supported: "+plan[i].Missing[0]) {
					t.Errorf("%s: %s %q; want skip naming %s", tr.Name, tr.Status, tr.Message, plan[i].Missing[0])
				}
			default:
				if tr.Status != NotRun || !strings.HasPrefix(tr.Message, "the suite's setup failed: its pods never became ready") {
					t.Errorf("%s: %s %q; want not-run, naming the pods", tr.Name, tr.Status, tr.Message)
				}
			}
		}
		// The official report, as the suite wrote it.
		var rep confv1.ConformanceReport
		if err := yaml.UnmarshalStrict([]byte(res.Report), &rep); err != nil {
			t.Fatalf("official report: %v\n%s", err, res.Report)
		}
		if rep.Kind != "ConformanceReport" || rep.GatewayAPIVersion != SuiteVersion || rep.GatewayAPIChannel != "standard" || len(rep.ProfileReports) != 0 {
			t.Errorf("official report %+v", rep)
		}
		if res.ReportMismatch != "" {
			t.Errorf("the result disagrees with the suite's report: %s", res.ReportMismatch)
		}
		if res.GatewayAPI != SuiteVersion || res.Implementation.Mesh != "" || res.Implementation.Detected {
			t.Errorf("gateway API %q, implementation %+v", res.GatewayAPI, res.Implementation)
		}
		// The suite deleted its namespaces; without a controller-manager
		// they stay terminating, and meshperf names them.
		wantDeleting(t, cs, res.Cleanup, "gateway-conformance-mesh", "gateway-conformance-mesh-consumer")

		_, err = Run(t.Context(), base)
		if !errors.Is(err, ErrSuite) || !strings.Contains(err.Error(), "namespace gateway-conformance-mesh is still being deleted") {
			t.Errorf("a run while the last one's namespaces terminate: %v", err)
		}
		finalize(t, cs, res.Cleanup)
	})

	t.Run("timed out", func(t *testing.T) {
		o := base
		o.Timeout, o.SetupTimeout = 6*time.Second, 2*time.Minute
		start := time.Now()
		res, err := Run(t.Context(), o)
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 45*time.Second {
			t.Errorf("a run of 6s took %s", took)
		}
		if res.Outcome != OutcomeCancelled || res.Reason != "timed out after 6s" {
			t.Fatalf("outcome %s, reason %q", res.Outcome, res.Reason)
		}
		for _, tr := range res.Tests {
			if tr.Status != Skip && (tr.Status != NotRun || tr.Message != "the run's timeout (6s) passed before this test ended") {
				t.Errorf("%s: %s %q", tr.Name, tr.Status, tr.Message)
			}
		}
		wantDeleting(t, cs, res.Cleanup, "gateway-conformance-mesh", "gateway-conformance-mesh-consumer")
		finalize(t, cs, res.Cleanup)
	})

	t.Run("cancelled, with a mesh detected", func(t *testing.T) {
		// istiod as its installer writes it: discovery (internal/cluster)
		// names the mesh and version under test.
		istiod := `
apiVersion: v1
kind: Namespace
metadata: {name: istio-system}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: istiod
  namespace: istio-system
  labels: {app: istiod, istio: pilot}
spec:
  selector: {matchLabels: {istio: pilot}}
  template:
    metadata: {labels: {app: istiod, istio: pilot}}
    spec:
      containers: [{name: discovery, image: docker.io/istio/pilot:1.23.2}]
`
		kubetest.Kubectl(t, kc, istiod, "apply", "-f", "-")
		defer kubetest.Kubectl(t, kc, "", "delete", "deployment", "-n", "istio-system", "istiod")
		o := base
		o.SetupTimeout = 2 * time.Minute
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		type ran struct {
			res *Result
			err error
		}
		done := make(chan ran, 1)
		go func() {
			res, err := Run(ctx, o)
			done <- ran{res, err}
		}()
		deadline := time.Now().Add(60 * time.Second)
		for {
			list, err := cs.CoreV1().Namespaces().List(t.Context(), metav1.ListOptions{LabelSelector: RunLabel})
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Items) == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the suite created %d namespaces in 60s", len(list.Items))
			}
			time.Sleep(100 * time.Millisecond)
		}
		cancel()
		var r ran
		select {
		case r = <-done:
		case <-time.After(60 * time.Second):
			t.Fatal("Run did not return within 60s of its cancel")
		}
		if !errors.Is(r.err, context.Canceled) || r.res == nil || r.res.Outcome != OutcomeCancelled {
			t.Fatalf("got %+v, %v; want a cancelled result", r.res, r.err)
		}
		if got := r.res.Implementation; got.Mesh != "Istio" || got.Version != "1.23.2" || !got.Detected || got.Project != "Istio" {
			t.Errorf("implementation %+v, want Istio 1.23.2 detected", got)
		}
		for _, tr := range r.res.Tests {
			if tr.Status != Skip && (tr.Status != NotRun || tr.Message != "the run was cancelled before this test ended") {
				t.Errorf("%s: %s %q", tr.Name, tr.Status, tr.Message)
			}
		}
		// The suite was stopped before its own cleanup: meshperf deleted
		// what it created.
		wantDeleting(t, cs, r.res.Cleanup, "gateway-conformance-mesh", "gateway-conformance-mesh-consumer")
		finalize(t, cs, r.res.Cleanup)
	})
}

func childCommand(ctx context.Context, optionsPath string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(os.Environ(), envChild+"="+optionsPath)
	return cmd
}

func mustProfile(t *testing.T, name string) Profile {
	t.Helper()
	p, err := LookupProfile(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func clientsetFor(t *testing.T, kc, context string) kubernetes.Interface {
	t.Helper()
	rc, _, err := kube.RESTConfig(kube.Config{Kubeconfig: kc, Context: context})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// moduleDir is where the go command keeps module path (the version in
// go.mod).
func moduleDir(t *testing.T, path string) string {
	t.Helper()
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", path)
	cmd.Dir = kubetest.RepoRoot()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", path, err)
	}
	return strings.TrimSpace(string(out))
}

// wantDeleting checks that cleanup names want and that each is gone or
// being deleted.
func wantDeleting(t *testing.T, cs kubernetes.Interface, cleanup []string, want ...string) {
	t.Helper()
	if strings.Join(cleanup, ",") != strings.Join(want, ",") {
		t.Errorf("cleanup %v, want %v", cleanup, want)
	}
	for _, name := range want {
		ns, err := cs.CoreV1().Namespaces().Get(t.Context(), name, metav1.GetOptions{})
		if err == nil && ns.DeletionTimestamp == nil {
			t.Errorf("namespace %s is not being deleted", name)
		}
	}
}

// finalize does what the namespace controller (kube-controller-manager,
// absent here) does once a namespace's content is deleted: it drops the
// kubernetes finalizer, and the namespace goes.
func finalize(t *testing.T, cs kubernetes.Interface, names []string) {
	t.Helper()
	for _, name := range names {
		ns, err := cs.CoreV1().Namespaces().Get(t.Context(), name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		ns.Spec.Finalizers = []corev1.FinalizerName{}
		if _, err := cs.CoreV1().Namespaces().Finalize(t.Context(), ns, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("finalize %s: %v", name, err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, name := range names {
		for {
			_, err := cs.CoreV1().Namespaces().Get(t.Context(), name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("namespace %s still there after its finalize: %v", name, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}
