package lifecycle

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/cluster/kubetest"
	"github.com/meshperf/meshperf/internal/design"
	"github.com/meshperf/meshperf/internal/design/compose"
	"github.com/meshperf/meshperf/internal/design/helmchart"
	"github.com/meshperf/meshperf/kube"
)

// These tests run against a real kube-apiserver and etcd with no kubelet
// and no controller manager (internal/cluster/kubetest): objects are
// validated, stored and deleted, but no controller ever reports a
// Deployment available or a Service's endpoints, so readiness is honestly
// not reached. Tests on a node where pods run (kubetest's node, issue 17)
// belong beside these, asserting the ready side.

func TestMain(m *testing.M) { kubetest.Main(m) }

// waitShort is the readiness wait against the bare API server: nothing
// can become ready there, so the wait only has to end.
const waitShort = 2 * time.Second

func connect(t *testing.T, kcontext string) *Client {
	t.Helper()
	kc := kubetest.Kubeconfig(t)
	c, err := Connect(kube.Config{Kubeconfig: kc, Context: kcontext})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newNamespace creates a namespace named from prefix, unique to this
// run (a cluster given by MESHPERF_TEST_KUBECONFIG outlives runs).
func newNamespace(t *testing.T, prefix string) string {
	t.Helper()
	name := uniqueName(prefix)
	kubetest.Kubectl(t, kubetest.Kubeconfig(t), "", "create", "namespace", name)
	return name
}

func uniqueName(prefix string) string {
	return prefix + "-" + strconv.FormatInt(time.Now().UnixNano()%(36*36*36*36), 36)
}

func shopDesign(t *testing.T, ns string) *design.Design {
	t.Helper()
	d, err := compose.Convert(t.Context(), filepath.Join("..", "compose", "testdata", "shop.yaml"), compose.Options{Name: "shop", Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func actions(changes []Change) map[string]string {
	m := map[string]string{}
	for _, c := range changes {
		m[c.Ref] = c.Action
	}
	return m
}

// TestComposeLifecycle is the acceptance path against the API server
// alone: a three-service Compose file converted, validated, applied (not
// ready: nothing runs the pods), diffed with no changes, an image changed
// (the diff shows it, the apply configures only that Deployment), deleted.
func TestComposeLifecycle(t *testing.T) {
	c := connect(t, "")
	ctx := t.Context()
	ns := newNamespace(t, "design-shop")
	d := shopDesign(t, ns)

	res, err := c.Validate(ctx, d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) > 0 || len(res.Unchecked) > 0 || len(res.Checked) != 8 {
		t.Fatalf("validate: checked %v, problems %v, unchecked %v; want 8 checked", res.Checked, res.Problems, res.Unchecked)
	}
	// A dry run stores nothing.
	if out := kubetest.Kubectl(t, kubetest.Kubeconfig(t), "", "get", "deployments", "-n", ns, "-o", "name"); out != "" {
		t.Fatalf("validate created %q", out)
	}

	changes, err := c.Apply(ctx, d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"persistentvolumeclaim/" + ns + "/cache-data": "created", "configmap/" + ns + "/api-conf": "created",
		"service/" + ns + "/api": "created", "service/" + ns + "/cache": "created", "service/" + ns + "/front": "created",
		"deployment.apps/" + ns + "/api": "created", "deployment.apps/" + ns + "/cache": "created", "deployment.apps/" + ns + "/front": "created",
	}
	if got := actions(changes); !mapsEqual(got, want) {
		t.Fatalf("apply: %v, want %v", got, want)
	}
	// Order: the claim and config before the Services, Services before
	// the Deployments.
	var order []string
	for _, ch := range changes {
		order = append(order, strings.SplitN(ch.Ref, "/", 2)[0])
	}
	if want := []string{"configmap", "persistentvolumeclaim", "service", "service", "service", "deployment.apps", "deployment.apps", "deployment.apps"}; !slices.Equal(order, want) {
		t.Errorf("apply order %v, want %v", order, want)
	}
	kc := kubetest.Kubeconfig(t)
	if got := kubetest.Kubectl(t, kc, "", "get", "deployment", "front", "-n", ns, "-o", "jsonpath={.spec.replicas} {.metadata.labels.meshperf\\.dev/design} {.metadata.managedFields[0].manager}"); got != "2 shop meshperf" {
		t.Errorf("front: replicas, design label, field manager = %q, want 2 shop meshperf", got)
	}

	var events []string
	var mu sync.Mutex
	states, err := c.Wait(ctx, d, Options{Progress: func(e Event) { mu.Lock(); events = append(events, e.String()); mu.Unlock() }}, waitShort)
	if !errors.Is(err, ErrNotReady) {
		t.Fatalf("wait on the bare API server: %v, want ErrNotReady", err)
	}
	byRef := map[string]State{}
	for _, s := range states {
		byRef[s.Ref] = s
	}
	for ref, want := range map[string]string{
		"deployment.apps/" + ns + "/front":            "no controller has observed it yet",
		"service/" + ns + "/front":                    "no endpoints",
		"persistentvolumeclaim/" + ns + "/cache-data": "not bound",
	} {
		if s := byRef[ref]; s.Ready || !strings.Contains(s.Detail, want) {
			t.Errorf("%s: ready %v (%s), want not ready: %s", ref, s.Ready, s.Detail, want)
		}
	}
	if s := byRef["configmap/"+ns+"/api-conf"]; !s.Ready {
		t.Errorf("the ConfigMap is not ready: %+v", s)
	}
	if !slices.Contains(events, "waiting: 1 of 8 ready") {
		t.Errorf("progress %q, want a line saying 1 of 8 ready", events)
	}

	diffs, err := c.Diff(ctx, d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, df := range diffs {
		if df.State != "same" {
			t.Errorf("diff right after apply: %s is %s:\n%s", df.Ref, df.State, df.Text)
		}
	}

	// Change front's image: the diff shows that line, the apply changes
	// front only.
	for _, r := range d.Resources {
		if r.Kind() == "Deployment" && r.Name() == "front" {
			design.Get(r.Object, "spec", "template", "spec", "containers").([]any)[0].(map[string]any)["image"] = "ghcr.io/meshperf/meshperf:v2"
		}
	}
	diffs, err = c.Diff(ctx, d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, df := range diffs {
		switch {
		case df.Ref == "deployment.apps/"+ns+"/front":
			if df.State != "changed" || !strings.Contains(df.Text, "-        image: ghcr.io/meshperf/meshperf:e2e\n+        image: ghcr.io/meshperf/meshperf:v2\n") {
				t.Errorf("diff of front: %s\n%s", df.State, df.Text)
			}
			n := 0
			for _, l := range strings.Split(df.Text, "\n") {
				if (strings.HasPrefix(l, "-") || strings.HasPrefix(l, "+")) && !strings.HasPrefix(l, "---") && !strings.HasPrefix(l, "+++") {
					n++
				}
			}
			if n != 2 {
				t.Errorf("diff of front changes %d lines, want the image line only (2):\n%s", n, df.Text)
			}
		case df.State != "same":
			t.Errorf("diff: %s is %s, want same:\n%s", df.Ref, df.State, df.Text)
		}
	}
	changes, err = c.Apply(ctx, d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for ref, a := range actions(changes) {
		if want := map[bool]string{true: "configured", false: "unchanged"}[ref == "deployment.apps/"+ns+"/front"]; a != want {
			t.Errorf("re-apply: %s %s, want %s", ref, a, want)
		}
	}
	if got := kubetest.Kubectl(t, kc, "", "get", "deployment", "front", "-n", ns, "-o", "jsonpath={.spec.template.spec.containers[0].image}"); got != "ghcr.io/meshperf/meshperf:v2" {
		t.Errorf("front's image in the cluster: %q", got)
	}

	changes, err = c.Delete(ctx, d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var deleted []string
	for _, ch := range changes {
		if ch.Action != "deleted" {
			t.Errorf("delete: %s %s", ch.Ref, ch.Action)
		}
		deleted = append(deleted, strings.SplitN(ch.Ref, "/", 2)[0])
	}
	if want := []string{"deployment.apps", "deployment.apps", "deployment.apps", "service", "service", "service", "persistentvolumeclaim", "configmap"}; !slices.Equal(deleted, want) {
		t.Errorf("delete order %v, want %v", deleted, want)
	}
	states, err = c.WaitGone(ctx, d, Options{}, waitShort)
	// The claim keeps the protection finalizer the API server adds until
	// kube-controller-manager (absent here) sees no pod uses it.
	if !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "persistentvolumeclaim/"+ns+"/cache-data (terminating, held by finalizers [kubernetes.io/pvc-protection]") {
		t.Errorf("wait for removal: %v, want the claim held by its finalizer", err)
	}
	for _, s := range states {
		if !s.Ready && !strings.HasPrefix(s.Ref, "persistentvolumeclaim/") {
			t.Errorf("%s not removed: %s", s.Ref, s.Detail)
		}
	}
	kubetest.Kubectl(t, kc, "", "patch", "pvc", "cache-data", "-n", ns, "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
	if _, err := c.WaitGone(ctx, d, Options{}, 5*time.Second); err != nil {
		t.Errorf("after the finalizer is removed: %v", err)
	}
	// Deleting again: everything is already gone.
	changes, err = c.Delete(ctx, d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range changes {
		if ch.Action != "gone" {
			t.Errorf("second delete: %s %s, want gone", ch.Ref, ch.Action)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestInvalidManifest: the server's own error, naming the resource and
// the field, from validate and from apply; the valid rest still applies.
func TestInvalidManifest(t *testing.T) {
	c := connect(t, "")
	ns := newNamespace(t, "design-invalid")
	rs, err := design.ParseManifests("bad.yaml", []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: bad}
spec:
  selector: {matchLabels: {app: bad}}
  template:
    metadata: {labels: {app: other}}
    spec:
      containers: [{name: c}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: fine}
data: {a: b}
`))
	if err != nil {
		t.Fatal(err)
	}
	d := design.New("bad", ns)
	if err := d.Add(rs...); err != nil {
		t.Fatal(err)
	}
	res, err := c.Validate(t.Context(), d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) != 1 || !slices.Equal(res.Checked, []string{"configmap/" + ns + "/fine"}) {
		t.Fatalf("validate: problems %v, checked %v", res.Problems, res.Checked)
	}
	msg := res.Problems[0].Err.Error()
	for _, want := range []string{"deployment.apps/" + ns + "/bad", `Deployment.apps "bad" is invalid`,
		"spec.template.spec.containers[0].image: Required value", "spec.template.metadata.labels"} {
		if !strings.Contains(msg, want) {
			t.Errorf("validate error %q lacks %q", msg, want)
		}
	}
	changes, err := c.Apply(t.Context(), d, Options{})
	if err == nil || !strings.Contains(err.Error(), "spec.template.spec.containers[0].image: Required value") || !strings.Contains(err.Error(), "apply deployment.apps/"+ns+"/bad") {
		t.Errorf("apply error %v", err)
	}
	if a := actions(changes); a["configmap/"+ns+"/fine"] != "created" {
		t.Errorf("apply went on past the refusal? %v", a)
	}
}

// TestNoPermissions: a user RBAC grants nothing is told which resource
// it may not change, by the server; nothing is stored.
func TestNoPermissions(t *testing.T) {
	ns := newNamespace(t, "design-noperm")
	c := connect(t, "meshperf-test-noperm")
	d := shopDesign(t, ns)
	res, err := c.Validate(t.Context(), d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) != 8 {
		t.Fatalf("validate as a user without roles: %d problems (%v), want 8", len(res.Problems), res.Problems)
	}
	for _, p := range res.Problems {
		if !errors.Is(p.Err, kube.ErrForbidden) || !strings.Contains(p.Err.Error(), `User "meshperf-noperm" cannot patch resource`) {
			t.Errorf("%s: %v, want forbidden naming the user and resource", p.Ref, p.Err)
		}
	}
	if !strings.Contains(res.Problems[len(res.Problems)-1].Err.Error(), `resource "deployments" in API group "apps" in the namespace "`+ns+`"`) {
		t.Errorf("last problem %v, want it to name deployments in %s", res.Problems[len(res.Problems)-1].Err, ns)
	}
	_, err = c.Apply(t.Context(), d, Options{})
	if !errors.Is(err, kube.ErrForbidden) {
		t.Errorf("apply as a user without roles: %v, want ErrForbidden", err)
	}
	if out := kubetest.Kubectl(t, kubetest.Kubeconfig(t), "", "get", "all", "-n", ns, "-o", "name"); out != "" {
		t.Errorf("objects stored without permission: %s", out)
	}
}

// TestInterruptedApply: an apply cancelled half-way leaves part of the
// design; applying again converges (the applied part unchanged, the rest
// created) and the diff is then empty.
func TestInterruptedApply(t *testing.T) {
	c := connect(t, "")
	ns := newNamespace(t, "design-interrupted")
	d := shopDesign(t, ns)
	ctx, cancel := context.WithCancel(t.Context())
	n := 0
	_, err := c.Apply(ctx, d, Options{Progress: func(e Event) {
		if e.Action == "created" {
			if n++; n == 3 {
				cancel()
			}
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted apply: %v, want context.Canceled", err)
	}
	changes, err := c.Apply(t.Context(), d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, ch := range changes {
		count[ch.Action]++
	}
	if count["unchanged"] != 3 || count["created"] != 5 {
		t.Errorf("apply after the interruption: %v, want 3 unchanged and 5 created", actions(changes))
	}
	diffs, err := c.Diff(t.Context(), d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, df := range diffs {
		if df.State != "same" {
			t.Errorf("diff after converging: %s %s", df.Ref, df.State)
		}
	}
}

// TestChartWithCRD: a local chart whose crds/ define the kind of one of
// its templates: validate says the custom resource cannot be checked
// before its CRD exists; apply waits for the CRD to be established and
// then creates it; delete removes everything, the CRD last.
func TestChartWithCRD(t *testing.T) {
	c := connect(t, "")
	ns := newNamespace(t, "design-chart")
	rs, ref, _, err := helmchart.Render(helmchart.Options{Path: filepath.Join("..", "helmchart", "testdata", "echo"), Release: "e", Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	d := design.New("echo-chart", ns)
	d.Charts = []design.Chart{ref}
	if err := d.Add(rs...); err != nil {
		t.Fatal(err)
	}
	res, err := c.Validate(t.Context(), d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Unchecked) != 1 || res.Unchecked[0].Ref != "widget.example.meshperf.dev/"+ns+"/e-echo" || len(res.Problems) != 0 {
		t.Errorf("validate: unchecked %v problems %v", res.Unchecked, res.Problems)
	}
	changes, err := c.Apply(t.Context(), d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := actions(changes)
	if a["customresourcedefinition.apiextensions.k8s.io/widgets.example.meshperf.dev"] != "created" || a["widget.example.meshperf.dev/"+ns+"/e-echo"] != "created" {
		t.Errorf("apply: %v", a)
	}
	kc := kubetest.Kubeconfig(t)
	if got := kubetest.Kubectl(t, kc, "", "get", "widgets.example.meshperf.dev", "e-echo", "-n", ns, "-o", "jsonpath={.spec.size}"); got != "1" {
		t.Errorf("widget spec.size %q", got)
	}
	if _, err := c.Delete(t.Context(), d, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitGone(t.Context(), d, Options{}, 30*time.Second); err != nil {
		t.Errorf("chart not removed: %v", err)
	}
}

// TestInject: --inject puts the mesh's namespace marker on the namespace
// (Istio: a label), or its pod marker on the pod templates (Consul, which
// has no namespace marker).
func TestInject(t *testing.T) {
	c := connect(t, "")
	kc := kubetest.Kubeconfig(t)
	ns := uniqueName("design-inject")
	d := shopDesign(t, ns)
	// The namespace does not exist: apply creates it, marked.
	if _, err := c.Apply(t.Context(), d, Options{Inject: "istio"}); err != nil {
		t.Fatal(err)
	}
	if got := kubetest.Kubectl(t, kc, "", "get", "namespace", ns, "-o", "jsonpath={.metadata.labels.istio-injection} {.metadata.labels.app\\.kubernetes\\.io/managed-by}"); got != "enabled meshperf" {
		t.Errorf("namespace labels %q, want istio-injection=enabled and managed by meshperf", got)
	}
	if _, err := c.Apply(t.Context(), d, Options{Inject: "consul"}); err != nil {
		t.Fatal(err)
	}
	if got := kubetest.Kubectl(t, kc, "", "get", "deployment", "api", "-n", ns, "-o", `jsonpath={.spec.template.metadata.annotations.consul\.hashicorp\.com/connect-inject}`); got != "true" {
		t.Errorf("pod template annotation %q, want consul.hashicorp.com/connect-inject=true", got)
	}
	if _, err := c.Apply(t.Context(), d, Options{Inject: "nosuchmesh"}); err == nil || !strings.Contains(err.Error(), "istio") {
		t.Errorf("unknown mesh: %v, want the known ones listed", err)
	}
}

func init() {
	// Polling a bare API server that never changes its mind: look often.
	pollEvery = 200 * time.Millisecond
}
