package smi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/meshperf/meshperf/internal/cluster"
	"github.com/meshperf/meshperf/internal/conformance/result"
	"github.com/meshperf/meshperf/kube"
)

// EchoImage is the echo app of the Gateway API suite's mesh tests
// (its mesh/manifests.yaml; TestEchoImageIsTheSuites checks it), server
// and client in one; scripts/conformance-images.sh builds it for clusters
// that cannot pull it.
const EchoImage = "registry.k8s.io/gateway-api/echo-advanced:v1.5.1"

// NamespacePrefix begins the name of the namespace a run creates.
const NamespacePrefix = "meshperf-smi-"

// Options of one SMI run.
type Options struct {
	Kube kube.Config
	// Mesh and MeshVersion name the implementation; empty takes the one
	// mesh discovery (internal/cluster) finds, if exactly one.
	Mesh, MeshVersion string
	// NamespaceLabels and NamespaceAnnotations go on the run's namespace
	// (a mesh's injection label, e.g. openservicemesh.io/monitored-by=osm).
	NamespaceLabels      map[string]string
	NamespaceAnnotations map[string]string
	// Image of the echo harness (default EchoImage).
	Image string
	// HostDomain, when set, is the domain under which the clients address
	// the harness's Services: <service>.<namespace>.<HostDomain> instead
	// of <service>. Traefik Mesh routes (and applies SMI to) only what is
	// sent to its own names, <service>.<namespace>.traefik.mesh.
	HostDomain string
	// SetupTimeout bounds the wait for the harness's pods to be ready
	// (default 300s); Timeout the whole run (required, at most 24h).
	SetupTimeout, Timeout time.Duration
	// Requests is N of the weight test (default 200, 20..10000).
	Requests int
	// Consistency is how long a mesh has to apply a resource (default 30s).
	Consistency time.Duration
	// DiscoveryWait bounds reading the cluster's meshes (default 15s).
	DiscoveryWait time.Duration
	Selection
	// Progress, when set, is called as each test ends.
	Progress func(result.TestResult)
}

// Check returns ErrInput naming every option no run could take.
func (o Options) Check() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if o.Timeout <= 0 || o.Timeout > 24*time.Hour {
		bad("timeout %s: want more than 0 and at most 24h", o.Timeout)
	}
	if o.SetupTimeout < 0 || o.SetupTimeout > o.Timeout {
		bad("setup timeout %s: want at least 0 and at most the timeout", o.SetupTimeout)
	}
	if o.Requests != 0 && (o.Requests < 20 || o.Requests > 10000) {
		bad("requests %d: want 20..10000", o.Requests)
	}
	if o.Consistency < 0 || o.Consistency > 10*time.Minute {
		bad("consistency %s: want 0..10m", o.Consistency)
	}
	for k, v := range o.NamespaceLabels {
		for _, msg := range append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...) {
			bad("namespace label %s=%s: %s", k, v, msg)
		}
		if k == RunLabel {
			bad("namespace label %s: meshperf sets it", k)
		}
	}
	if o.HostDomain != "" {
		for _, msg := range validation.IsDNS1123Subdomain(o.HostDomain) {
			bad("host domain %s: %s", o.HostDomain, msg)
		}
	}
	if len(o.SkipTests) > 200 {
		bad("skip tests: at most 200 names")
	}
	if err := o.Selection.Check(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInput, errors.Join(errs...))
	}
	return nil
}

// Discover reads which SMI versions the cluster of rc serves.
func Discover(rc *rest.Config) (APIs, error) {
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return APIs{}, err
	}
	groups, err := cs.Discovery().ServerGroups()
	if err != nil {
		return APIs{}, fmt.Errorf("read the API server's groups: %w", err)
	}
	return FromGroups(groups), nil
}

// Run runs the SMI test set against the cluster. An error before any
// resource was created (bad options, no SMI CRDs) returns no result;
// after, a result is returned however the run ended, its namespace
// deleted.
func Run(ctx context.Context, o Options) (*result.Result, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	rc, _, err := kube.RESTConfig(o.Kube)
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	apis, err := Discover(rc)
	if err != nil {
		return nil, err
	}
	if err := apis.Check(); err != nil {
		return nil, err
	}
	res := &result.Result{
		Kind: Kind, Profile: Profile, SuiteVersion: apis.SuiteVersion(), Cluster: rc.Host,
		Implementation: implementation(ctx, rc, o), Started: time.Now().UTC(),
		SupportedFeatures: []string{}, UnsupportedFeatures: []string{},
	}
	for _, g := range Groups {
		if apis.Has(g) {
			res.SupportedFeatures = append(res.SupportedFeatures, apis.GV(g))
		} else {
			res.UnsupportedFeatures = append(res.UnsupportedFeatures, g)
		}
	}

	rctx, rcancel := context.WithTimeoutCause(ctx, o.Timeout, fmt.Errorf("the run's timeout (%s) passed before this test ended", o.Timeout))
	defer rcancel()
	ns := NamespacePrefix + randomID()
	runID := strings.TrimPrefix(ns, NamespacePrefix)
	setupErr := createHarness(rctx, cs, o, ns, runID)
	if setupErr == nil {
		setupErr = waitReady(rctx, cs, ns, o.SetupTimeout)
	}
	if setupErr != nil {
		why := "the harness was not set up: " + setupErr.Error()
		if rctx.Err() != nil {
			why = endedReason(rctx)
		}
		res.Tests = NotRun(apis, o.Selection, why)
		res.Reason = why
	} else {
		env := Env{
			Namespace: ns, APIs: apis, Requests: o.Requests, Consistency: o.Consistency, HostDomain: o.HostDomain,
			Apply: func(ctx context.Context, u *unstructured.Unstructured) error {
				_, err := dyn.Resource(gvr(u)).Namespace(ns).Create(ctx, u, metav1.CreateOptions{})
				return err
			},
		}
		env.Client, env.Other, setupErr = senders(rctx, cs, rc, ns)
		if setupErr != nil {
			res.Tests = NotRun(apis, o.Selection, "the harness was not set up: "+setupErr.Error())
			res.Reason = setupErr.Error()
		} else {
			del := func(ctx context.Context, u *unstructured.Unstructured) error {
				err := dyn.Resource(gvr(u)).Namespace(ns).Delete(ctx, u.GetName(), metav1.DeleteOptions{})
				if apierrors.IsNotFound(err) {
					return nil
				}
				return err
			}
			res.Tests = RunTests(rctx, env, del, o.Selection, o.Progress)
		}
	}

	cleanCtx, cleanCancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cleanCancel()
	res.Cleanup, err = deleteRunNamespaces(cleanCtx, cs, runID)
	if err != nil {
		res.CleanupError = err.Error()
	}
	res.Finished = time.Now().UTC()
	switch {
	case ctx.Err() != nil:
		res.Outcome, res.Reason = result.OutcomeCancelled, "cancelled"
	case rctx.Err() != nil:
		res.Outcome, res.Reason = result.OutcomeCancelled, "timed out after "+o.Timeout.String()
	}
	res.Count()
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, nil
}

func gvr(u *unstructured.Unstructured) schema.GroupVersionResource {
	gv, _ := schema.ParseGroupVersion(u.GetAPIVersion())
	return gv.WithResource(strings.ToLower(u.GetKind()) + "s")
}

// The harness's workloads: name, ServiceAccount, labels.
var workloads = []struct{ name, sa, app, version string }{
	{ServiceV1, SABackend, "echo", "v1"},
	{ServiceV2, SABackend, "echo", "v2"},
	{"smi-client", SAClient, "smi-client", ""},
	{"smi-other", SAOther, "smi-other", ""},
}

// createHarness creates the run's namespace and the echo harness in it.
func createHarness(ctx context.Context, cs kubernetes.Interface, o Options, ns, runID string) error {
	labels := map[string]string{RunLabel: runID}
	for k, v := range o.NamespaceLabels {
		labels[k] = v
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: ns, Labels: labels, Annotations: o.NamespaceAnnotations}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %s: %w", ns, err)
	}
	for _, sa := range []string{SABackend, SAClient, SAOther} {
		if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create service account %s/%s: %w", ns, sa, err)
		}
	}
	image := o.Image
	if image == "" {
		image = EchoImage
	}
	for _, w := range workloads {
		sel := map[string]string{"app": w.app}
		if w.version != "" {
			sel["version"] = w.version
		}
		one := int32(1)
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: w.name, Labels: sel},
			Spec: appsv1.DeploymentSpec{
				Replicas: &one,
				Selector: &metav1.LabelSelector{MatchLabels: sel},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: sel},
					Spec: corev1.PodSpec{
						ServiceAccountName: w.sa,
						Containers: []corev1.Container{{
							Name: "echo", Image: image, ImagePullPolicy: corev1.PullIfNotPresent,
							Args:           []string{"--port=8080"},
							Ports:          []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
							ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1},
						}},
					},
				},
			},
		}
		if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create deployment %s/%s: %w", ns, w.name, err)
		}
	}
	http := "http"
	for _, s := range []struct {
		name string
		sel  map[string]string
	}{{ServiceRoot, map[string]string{"app": "echo"}}, {ServiceV1, map[string]string{"app": "echo", "version": "v1"}}, {ServiceV2, map[string]string{"app": "echo", "version": "v2"}}} {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: s.name}, Spec: corev1.ServiceSpec{
			Selector: s.sel,
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), AppProtocol: &http}},
		}}
		if _, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create service %s/%s: %w", ns, s.name, err)
		}
	}
	return nil
}

// waitReady waits for a ready pod of each workload, and says which were
// not and why when timeout passes.
func waitReady(ctx context.Context, cs kubernetes.Interface, ns string, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = 300 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for {
		missing, err := notReady(ctx, cs, ns)
		if err == nil && len(missing) == 0 {
			return nil
		}
		if err != nil {
			missing = []string{err.Error()}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("its pods never became ready within %s: %s (kubectl get pods -n %s)", timeout, strings.Join(missing, "; "), ns)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func notReady(ctx context.Context, cs kubernetes.Interface, ns string) ([]string, error) {
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	var missing []string
	for _, w := range workloads {
		state := "no pod of " + w.name + " exists (is there a node to run it?)"
		for _, p := range pods.Items {
			if !strings.HasPrefix(p.Name, w.name+"-") {
				continue
			}
			if podReady(&p) {
				state = ""
				break
			}
			state = fmt.Sprintf("pod %s is %s%s", p.Name, p.Status.Phase, waitingReason(&p))
		}
		if state != "" {
			missing = append(missing, state)
		}
	}
	return missing, nil
}

func podReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func waitingReason(p *corev1.Pod) string {
	for _, c := range p.Status.ContainerStatuses {
		if w := c.State.Waiting; w != nil && w.Reason != "" {
			return " (" + c.Name + ": " + w.Reason + ")"
		}
	}
	return ""
}

// senders are the two client pods' senders.
func senders(ctx context.Context, cs kubernetes.Interface, rc *rest.Config, ns string) (client, other Sender, err error) {
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("list pods: %w", err)
	}
	find := func(prefix string) (Sender, error) {
		for _, p := range pods.Items {
			if strings.HasPrefix(p.Name, prefix+"-") && podReady(&p) {
				return PodSender{CS: cs, Config: rc, Namespace: ns, Pod: p.Name}, nil
			}
		}
		return nil, fmt.Errorf("no ready pod of %s", prefix)
	}
	if client, err = find("smi-client"); err != nil {
		return nil, nil, err
	}
	other, err = find("smi-other")
	return client, other, err
}

// deleteRunNamespaces deletes the namespaces labelled with this run's id
// and returns their names.
func deleteRunNamespaces(ctx context.Context, cs kubernetes.Interface, runID string) ([]string, error) {
	list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: RunLabel + "=" + runID})
	if err != nil {
		return nil, fmt.Errorf("list the run's namespaces: %w", err)
	}
	var names []string
	var errs []error
	for _, n := range list.Items {
		if !strings.HasPrefix(n.Name, NamespacePrefix) {
			continue
		}
		names = append(names, n.Name)
		if n.DeletionTimestamp != nil {
			continue
		}
		if err := cs.CoreV1().Namespaces().Delete(ctx, n.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete namespace %s: %w", n.Name, err))
		}
	}
	sort.Strings(names)
	return names, errors.Join(errs...)
}

// implementation names what is tested: the mesh from the options or the
// cluster's inventory.
func implementation(ctx context.Context, rc *rest.Config, o Options) result.Implementation {
	impl := result.Implementation{Mesh: o.Mesh, Version: o.MeshVersion}
	wait := o.DiscoveryWait
	if wait <= 0 {
		wait = 15 * time.Second
	}
	inv, err := cluster.New(rc, cluster.Options{})
	if err == nil {
		ictx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- inv.Run(ictx) }()
		wctx, wcancel := context.WithTimeout(ictx, wait)
		_ = inv.WaitSynced(wctx)
		wcancel()
		meshes := inv.Snapshot().Meshes
		cancel()
		<-done
		i := slices.IndexFunc(meshes, func(m cluster.Mesh) bool {
			return o.Mesh == "" && len(meshes) == 1 || o.Mesh != "" && (strings.EqualFold(m.Mesh, o.Mesh) || strings.EqualFold(m.Name, o.Mesh))
		})
		if i >= 0 {
			impl.Mesh, impl.Detected = meshes[i].Name, true
			if impl.Version == "" {
				impl.Version = meshes[i].Version
			}
		}
	}
	impl.Project = impl.Mesh
	return impl
}

func randomID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
