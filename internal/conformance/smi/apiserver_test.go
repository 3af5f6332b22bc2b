package smi

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/meshperf/meshperf/internal/cluster/kubetest"
	"github.com/meshperf/meshperf/internal/conformance/result"
	"github.com/meshperf/meshperf/kube"
)

// Against a real kube-apiserver and etcd without a node
// (internal/cluster/kubetest): the SMI CRDs meshperf carries are
// installed, the resources of every version are stored, and pods never
// run. The subtests run in order on one cluster.
func TestAPIServer(t *testing.T) {
	kc := kubetest.Kubeconfig(t)
	rc, _, err := kube.RESTConfig(kube.Config{Kubeconfig: kc})
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(rc)
	base := Options{Kube: kube.Config{Kubeconfig: kc}, Timeout: 2 * time.Minute, SetupTimeout: 3 * time.Second, DiscoveryWait: 3 * time.Second}
	const crdNames = "trafficsplits.split.smi-spec.io traffictargets.access.smi-spec.io httproutegroups.specs.smi-spec.io"

	t.Run("no SMI CRDs", func(t *testing.T) {
		kubetest.Kubectl(t, kc, "", append([]string{"delete", "--ignore-not-found", "crd"}, strings.Fields(crdNames)...)...)
		waitServed(t, rc, func(a APIs) bool { return len(a.Version) == 0 && len(a.Unknown) == 0 })
		res, err := Run(t.Context(), base)
		if res != nil || !errors.Is(err, ErrNoSMI) {
			t.Fatalf("got %v, %v; want ErrNoSMI", res, err)
		}
		for _, want := range []string{"the cluster has no SMI CRDs (split.smi-spec.io, access.smi-spec.io, specs.smi-spec.io)", "meshperf conformance smi-crds | kubectl apply -f -"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
	})

	t.Run("only an unknown version", func(t *testing.T) {
		kubetest.Kubectl(t, kc, `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: trafficsplits.split.smi-spec.io}
spec:
  group: split.smi-spec.io
  scope: Namespaced
  names: {kind: TrafficSplit, plural: trafficsplits}
  versions:
  - name: v1beta1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`, "apply", "-f", "-")
		waitServed(t, rc, func(a APIs) bool { return len(a.Unknown[GroupSplit]) > 0 })
		_, err := Run(t.Context(), base)
		if !errors.Is(err, ErrNoSMI) || !strings.Contains(err.Error(), "the cluster serves no SMI version this test set knows: split.smi-spec.io serves v1beta1, not one of v1alpha1, v1alpha2, v1alpha3, v1alpha4") {
			t.Errorf("got %v", err)
		}
		kubetest.Kubectl(t, kc, "", "delete", "crd", "trafficsplits.split.smi-spec.io")
		waitServed(t, rc, func(a APIs) bool { return len(a.Unknown) == 0 })
	})

	kubetest.Kubectl(t, kc, CRDs(), "apply", "-f", "-")
	waitServed(t, rc, func(a APIs) bool { return len(a.Version) == 3 })

	t.Run("every version's resources are stored", func(t *testing.T) {
		// What the tests write at each version is what the CRDs (written
		// from the specification) accept.
		dyn := dynamic.NewForConfigOrDie(rc)
		ns := "smi-shapes"
		if _, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		defer finalize(t, cs, []string{ns})
		defer cs.CoreV1().Namespaces().Delete(context.WithoutCancel(t.Context()), ns, metav1.DeleteOptions{})
		for _, v := range Known[GroupSplit] {
			u := Split{Name: "s-" + v, Service: ServiceRoot, Backends: []Backend{{ServiceV1, 80}, {ServiceV2, 20}}}.Object(v, ns)
			if _, err := dyn.Resource(gvr(u)).Namespace(ns).Create(t.Context(), u, metav1.CreateOptions{}); err != nil {
				t.Errorf("TrafficSplit %s: %v", v, err)
			}
		}
		for _, v := range Known[GroupSpecs] {
			m := Match{Name: "m", PathRegex: "/x.*", Methods: []string{"GET"}}
			if v >= "v1alpha3" {
				m.Headers = map[string]string{"x-a": "^b$"}
			}
			u := RouteGroup{Name: "g-" + v, Matches: []Match{m}}.Object(v, ns)
			got, err := dyn.Resource(gvr(u)).Namespace(ns).Create(t.Context(), u, metav1.CreateOptions{})
			if err != nil {
				t.Errorf("HTTPRouteGroup %s: %v", v, err)
				continue
			}
			want := `"headers":{"x-a":"^b$"}`
			if v == "v1alpha3" {
				want = `"headers":[{"x-a":"^b$"}]`
			}
			if v >= "v1alpha3" && !strings.Contains(string(mustJSON(t, got)), want) {
				t.Errorf("HTTPRouteGroup %s lost its headers: %s", v, mustJSON(t, got))
			}
		}
		for _, v := range Known[GroupAccess] {
			u := Target{Name: "t-" + v, Destination: SABackend, Sources: []string{SAClient}, RouteGroup: "g", Matches: []string{"m"}}.Object(v, ns)
			got, err := dyn.Resource(gvr(u)).Namespace(ns).Create(t.Context(), u, metav1.CreateOptions{})
			if err != nil {
				t.Errorf("TrafficTarget %s: %v", v, err)
				continue
			}
			if !strings.Contains(string(mustJSON(t, got)), `"sources":[{"kind":"ServiceAccount","name":"smi-client","namespace":"smi-shapes"}]`) {
				t.Errorf("TrafficTarget %s pruned: %s", v, mustJSON(t, got))
			}
		}
	})

	t.Run("without a node", func(t *testing.T) {
		var told []result.TestResult
		o := base
		o.Progress = func(tr result.TestResult) { told = append(told, tr) }
		res, err := Run(t.Context(), o)
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != result.OutcomeNotRun || res.Counts.NotRun != len(Tests) || res.Kind != Kind || res.Profile != Profile {
			t.Fatalf("outcome %s, counts %+v; want every test not run", res.Outcome, res.Counts)
		}
		if want := "meshperf-smi/1 split.smi-spec.io/v1alpha4 access.smi-spec.io/v1alpha3 specs.smi-spec.io/v1alpha4"; res.SuiteVersion != want {
			t.Errorf("suite version %q, want %q", res.SuiteVersion, want)
		}
		if strings.Join(res.SupportedFeatures, " ") != "split.smi-spec.io/v1alpha4 access.smi-spec.io/v1alpha3 specs.smi-spec.io/v1alpha4" || len(res.UnsupportedFeatures) != 0 {
			t.Errorf("features %v, %v", res.SupportedFeatures, res.UnsupportedFeatures)
		}
		const why = "the harness was not set up: its pods never became ready within 3s: no pod of echo-v1 exists (is there a node to run it?); no pod of echo-v2 exists"
		if !strings.HasPrefix(res.Reason, why) {
			t.Errorf("reason %q, want it to begin %q", res.Reason, why)
		}
		for _, tr := range res.Tests {
			if tr.Status != result.NotRun || tr.Message != res.Reason {
				t.Errorf("%s: %s %q", tr.Name, tr.Status, tr.Message)
			}
		}
		if len(told) != 0 {
			t.Errorf("progress told %d tests that never ran", len(told))
		}
		if len(res.Cleanup) != 1 || !strings.HasPrefix(res.Cleanup[0], NamespacePrefix) || res.CleanupError != "" {
			t.Fatalf("cleanup %v %q", res.Cleanup, res.CleanupError)
		}
		wantDeleting(t, cs, res.Cleanup)
		finalize(t, cs, res.Cleanup)
		// The stored form reads back whole.
		rec, err := res.Record()
		if err != nil {
			t.Fatal(err)
		}
		back, err := result.FromRecord(rec)
		if err != nil || back.SuiteVersion != res.SuiteVersion || len(back.Tests) != len(res.Tests) || rec.NotRun != len(Tests) {
			t.Errorf("read back %+v, %v", back, err)
		}
	})

	t.Run("one group", func(t *testing.T) {
		kubetest.Kubectl(t, kc, "", "delete", "crd", "traffictargets.access.smi-spec.io")
		defer func() {
			// The next subtests need the group served again, not only
			// its CRD applied (CI's cancelled run saw it still missing).
			kubetest.Kubectl(t, kc, CRDs(), "apply", "-f", "-")
			waitServed(t, rc, func(a APIs) bool { return a.Has(GroupAccess) })
		}()
		waitServed(t, rc, func(a APIs) bool { return !a.Has(GroupAccess) })
		res, err := Run(t.Context(), base)
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range res.Tests {
			needsAccess := slices.Contains(Tests[slices.IndexFunc(Tests, func(x Test) bool { return x.Name == tr.Name })].Needs, GroupAccess)
			if needsAccess && (tr.Status != result.Skip || tr.Message != "needs access.smi-spec.io: the cluster does not serve access.smi-spec.io") {
				t.Errorf("%s: %s %q, want skipped", tr.Name, tr.Status, tr.Message)
			}
			if !needsAccess && tr.Status != result.NotRun {
				t.Errorf("%s: %s", tr.Name, tr.Status)
			}
		}
		if strings.Join(res.UnsupportedFeatures, " ") != GroupAccess {
			t.Errorf("unsupported %v", res.UnsupportedFeatures)
		}
		finalize(t, cs, res.Cleanup)
	})

	t.Run("cancelled", func(t *testing.T) {
		o := base
		o.SetupTimeout = 2 * time.Minute
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		type ran struct {
			res *result.Result
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
			if slices.ContainsFunc(list.Items, func(n corev1.Namespace) bool { return n.DeletionTimestamp == nil }) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the run created no namespace in 60s")
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
		if !errors.Is(r.err, context.Canceled) || r.res == nil || r.res.Outcome != result.OutcomeCancelled || r.res.Reason != "cancelled" {
			t.Fatalf("got %+v, %v; want a cancelled result", r.res, r.err)
		}
		for _, tr := range r.res.Tests {
			if tr.Status != result.NotRun || tr.Message != "the run was cancelled before this test ended" {
				t.Errorf("%s: %s %q", tr.Name, tr.Status, tr.Message)
			}
		}
		wantDeleting(t, cs, r.res.Cleanup)
		finalize(t, cs, r.res.Cleanup)
	})

	t.Run("timed out", func(t *testing.T) {
		o := base
		o.Timeout, o.SetupTimeout = 5*time.Second, 5*time.Second
		res, err := Run(t.Context(), o)
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != result.OutcomeCancelled || res.Reason != "timed out after 5s" {
			t.Fatalf("outcome %s, reason %q", res.Outcome, res.Reason)
		}
		for _, tr := range res.Tests {
			if tr.Status != result.NotRun || tr.Message != "the run's timeout (5s) passed before this test ended" {
				t.Errorf("%s: %s %q", tr.Name, tr.Status, tr.Message)
			}
		}
		wantDeleting(t, cs, res.Cleanup)
		finalize(t, cs, res.Cleanup)
	})
}

// waitServed waits until the API server's discovery shows what ok wants.
func waitServed(t *testing.T, rc *rest.Config, ok func(APIs) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		a, err := Discover(rc)
		if err == nil && ok(a) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("discovery did not change in 30s: %+v, %v", a, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func mustJSON(t *testing.T, u interface{ MarshalJSON() ([]byte, error) }) []byte {
	t.Helper()
	b, err := u.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantDeleting checks that each namespace of a run's cleanup is gone or
// being deleted.
func wantDeleting(t *testing.T, cs kubernetes.Interface, names []string) {
	t.Helper()
	if len(names) != 1 {
		t.Errorf("cleanup %v, want the run's one namespace", names)
	}
	for _, name := range names {
		ns, err := cs.CoreV1().Namespaces().Get(t.Context(), name, metav1.GetOptions{})
		if err == nil && ns.DeletionTimestamp == nil {
			t.Errorf("namespace %s is not being deleted", name)
		}
	}
}

// finalize does what the namespace controller (absent here) does once a
// namespace's content is deleted: it drops the kubernetes finalizer.
func finalize(t *testing.T, cs kubernetes.Interface, names []string) {
	t.Helper()
	ctx := context.WithoutCancel(t.Context())
	for _, name := range names {
		ns, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		ns.Spec.Finalizers = []corev1.FinalizerName{}
		if _, err := cs.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("finalize %s: %v", name, err)
		}
	}
}
