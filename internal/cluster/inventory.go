// Package cluster keeps a live inventory of a Kubernetes cluster and the
// service meshes in it: namespaces, Services, workloads, pods, CRDs and
// Gateway API routes, watched by informers over client-go's dynamic client,
// turned into a Snapshot by the detection table in rules.go.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// The resources watched from the start; routes are watched once their CRDs
// exist.
var (
	gvrNamespaces   = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	gvrServices     = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	gvrPods         = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	gvrDeployments  = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	gvrStatefulSets = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}
	gvrDaemonSets   = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}
	gvrCRDs         = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

var baseResources = []schema.GroupVersionResource{gvrNamespaces, gvrServices, gvrPods, gvrDeployments, gvrStatefulSets, gvrDaemonSets, gvrCRDs}

// routeKinds are the Gateway API route kinds the inventory watches.
var routeKinds = []string{"HTTPRoute", "GRPCRoute"}

// Limits bound what the inventory keeps.
const (
	DefaultHistory = 256 // events kept
	maxHistory     = 100_000
	// debounce gathers a burst of changes into one new snapshot.
	debounce = 100 * time.Millisecond
)

// Options configure an Inventory.
type Options struct {
	// History is how many events are kept (DefaultHistory when 0).
	History int
	// Rules is the detection table (Rules when nil).
	Rules  []Rule
	Logger *slog.Logger
}

// Event is one change the inventory saw: an object added, updated or
// deleted, or a mesh detected, removed, or changing version or health.
type Event struct {
	Seq       uint64    `json:"seq"`
	Time      time.Time `json:"time"`
	Type      string    `json:"type"` // added, updated, deleted, mesh-detected, mesh-removed, mesh-version, mesh-health
	Resource  string    `json:"resource,omitempty"`
	Namespace string    `json:"namespace,omitempty"`
	Name      string    `json:"name,omitempty"`
	Mesh      string    `json:"mesh,omitempty"`
	From      string    `json:"from,omitempty"`
	To        string    `json:"to,omitempty"`
}

// watched is one informer and what went wrong with it.
type watched struct {
	gvr  schema.GroupVersionResource
	inf  cache.SharedIndexInformer
	stop chan struct{}
	err  error // last list/watch error
}

// Inventory is the live view of one cluster.
type Inventory struct {
	client dynamic.Interface
	rules  []Rule
	log    *slog.Logger
	server string

	dirty chan struct{}

	refreshMu sync.Mutex // serialises refresh
	mu        sync.Mutex
	watched   map[schema.GroupVersionResource]*watched
	snapshot  Snapshot
	seq       uint64
	history   []Event // ring, oldest first once full
	histMax   int
	subs      map[chan Event]struct{}
	dropped   uint64
	running   bool
	runCtx    context.Context // Run's: informers started later live as long
}

// New returns an inventory of the cluster cfg reaches. Run starts it.
func New(cfg *rest.Config, opts Options) (*Inventory, error) {
	if opts.History < 0 || opts.History > maxHistory {
		return nil, fmt.Errorf("history %d: want 0 to %d events", opts.History, maxHistory)
	}
	if opts.History == 0 {
		opts.History = DefaultHistory
	}
	if opts.Rules == nil {
		opts.Rules = Rules
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	cfg = rest.CopyConfig(cfg)
	// Watches are long requests: a client timeout would cut them (the
	// server ends each after its own timeoutSeconds).
	cfg.Timeout = 0
	cfg.QPS, cfg.Burst = 50, 100
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client for %s: %w", cfg.Host, err)
	}
	return &Inventory{
		client: dc, rules: opts.Rules, log: opts.Logger, server: cfg.Host,
		dirty:   make(chan struct{}, 1),
		watched: map[schema.GroupVersionResource]*watched{},
		histMax: opts.History,
		subs:    map[chan Event]struct{}{},
	}, nil
}

// Run watches the cluster until ctx ends.
func (inv *Inventory) Run(ctx context.Context) error {
	inv.mu.Lock()
	if inv.running {
		inv.mu.Unlock()
		return errors.New("inventory already running")
	}
	inv.running = true
	inv.runCtx = ctx
	for _, gvr := range baseResources {
		inv.watchLocked(gvr)
	}
	inv.mu.Unlock()
	defer func() {
		inv.mu.Lock()
		for _, w := range inv.watched {
			close(w.stop)
		}
		inv.watched = map[schema.GroupVersionResource]*watched{}
		inv.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-inv.dirty:
		}
		// Let a burst of changes settle into one snapshot.
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(debounce):
		}
		inv.refresh(ctx)
	}
}

// watchLocked starts an informer on gvr. inv.mu is held.
func (inv *Inventory) watchLocked(gvr schema.GroupVersionResource) {
	ctx := inv.runCtx
	if _, ok := inv.watched[gvr]; ok {
		return
	}
	ri := inv.client.Resource(gvr)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return ri.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return ri.Watch(ctx, o)
		},
	}
	inf := cache.NewSharedIndexInformer(lw, &unstructured.Unstructured{}, 0, cache.Indexers{})
	w := &watched{gvr: gvr, inf: inf, stop: make(chan struct{})}
	// Keep less: managed fields are most of an object and say nothing here.
	_ = inf.SetTransform(func(o any) (any, error) {
		if u, ok := o.(*unstructured.Unstructured); ok {
			u.SetManagedFields(nil)
		}
		return o, nil
	})
	_ = inf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
		inv.mu.Lock()
		w.err = err
		inv.mu.Unlock()
		inv.log.Debug("list/watch failed", "resource", resourceName(gvr), "err", err)
		inv.markDirty()
	})
	name := resourceName(gvr)
	record := func(typ string, o any) {
		if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
			o = d.Obj
		}
		u, ok := o.(*unstructured.Unstructured)
		if !ok {
			return
		}
		inv.publish(Event{Type: typ, Resource: name, Namespace: u.GetNamespace(), Name: u.GetName()})
		inv.markDirty()
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(o any) { record("added", o) },
		UpdateFunc: func(old, o any) {
			if ou, ok := old.(*unstructured.Unstructured); ok {
				if nu, ok := o.(*unstructured.Unstructured); ok && ou.GetResourceVersion() == nu.GetResourceVersion() {
					return
				}
			}
			record("updated", o)
		},
		DeleteFunc: func(o any) { record("deleted", o) },
	})
	inv.watched[gvr] = w
	go inf.RunWithContext(stopContext(ctx, w.stop))
	inv.markDirty()
}

// stopContext is ctx, also ended when stop closes.
func stopContext(ctx context.Context, stop <-chan struct{}) context.Context {
	c, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-stop:
			cancel()
		case <-c.Done():
		}
	}()
	return c
}

func (inv *Inventory) markDirty() {
	select {
	case inv.dirty <- struct{}{}:
	default:
	}
}

// Synced reports whether every watched resource has been listed once or
// refused, and the resources still pending with their last error.
func (inv *Inventory) Synced() (bool, []Denied) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if !inv.running {
		return false, nil
	}
	ok := true
	var pending []Denied
	for _, w := range inv.watched {
		if w.inf.HasSynced() {
			continue
		}
		if w.err != nil && apierrors.IsForbidden(w.err) {
			continue
		}
		ok = false
		d := Denied{Resource: resourceName(w.gvr), Verb: "list"}
		if w.err != nil {
			d.Message = w.err.Error()
		} else {
			d.Message = "not listed yet"
		}
		pending = append(pending, d)
	}
	return ok, pending
}

// WaitSynced waits until every resource is listed or refused (and the
// snapshot reflects it), or ctx ends: then the error names what is pending.
func (inv *Inventory) WaitSynced(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if ok, _ := inv.Synced(); ok {
			// One more snapshot covering everything listed. It is the
			// answer only if it was built complete: a watch that synced
			// while it was being built (one a CRD brought, say) leaves
			// it marked incomplete, and the next round rebuilds it.
			inv.refresh(ctx)
			if ok, _ := inv.Synced(); ok && inv.Snapshot().Complete {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			_, pending := inv.Synced()
			msgs := make([]string, 0, len(pending))
			for _, p := range pending {
				msgs = append(msgs, p.String())
			}
			slices.Sort(msgs)
			return fmt.Errorf("cluster inventory incomplete: %w: %v", ctx.Err(), msgs)
		case <-t.C:
		}
	}
}

// Snapshot returns the latest snapshot.
func (inv *Inventory) Snapshot() Snapshot {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return inv.snapshot
}

// History returns the events kept, oldest first.
func (inv *Inventory) History() []Event {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return slices.Clone(inv.history)
}

// Subscribe returns a channel of events (buffer of n, 1 to 10,000) and a
// function to stop. A subscriber that falls behind misses events; they are
// still in History.
func (inv *Inventory) Subscribe(n int) (<-chan Event, func()) {
	n = min(max(n, 1), 10_000)
	ch := make(chan Event, n)
	inv.mu.Lock()
	inv.subs[ch] = struct{}{}
	inv.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			inv.mu.Lock()
			delete(inv.subs, ch)
			inv.mu.Unlock()
			close(ch)
		})
	}
}

func (inv *Inventory) publish(e Event) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.publishLocked(e)
}

func (inv *Inventory) publishLocked(e Event) {
	inv.seq++
	e.Seq = inv.seq
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if len(inv.history) >= inv.histMax {
		copy(inv.history, inv.history[1:])
		inv.history = inv.history[:len(inv.history)-1]
	}
	inv.history = append(inv.history, e)
	for ch := range inv.subs {
		select {
		case ch <- e:
		default:
			inv.dropped++
		}
	}
}

// refresh rebuilds the snapshot from the informers' stores, starts or
// stops the route informers as their CRDs come and go, and publishes the
// mesh-level changes.
func (inv *Inventory) refresh(ctx context.Context) {
	// One refresh at a time (Run's loop and WaitSynced); the objects are
	// converted and the snapshot built outside inv.mu, so event handlers
	// are not held up by a large cluster's rebuild.
	inv.refreshMu.Lock()
	defer inv.refreshMu.Unlock()

	inv.mu.Lock()
	if !inv.running || ctx.Err() != nil || inv.runCtx.Err() != nil {
		inv.mu.Unlock()
		return
	}
	// Routes: watch each route kind whose CRD exists, at its storage version.
	// And each mesh's mTLS resource kind, likewise.
	want := map[schema.GroupVersionResource]bool{}
	policyKind := map[schema.GroupVersionResource]string{}
	if w := inv.watched[gvrCRDs]; w != nil {
		for _, u := range listStore(w.inf.GetStore()) {
			c := crdOf(u)
			if c.Storage == "" {
				continue
			}
			gvr := schema.GroupVersionResource{Group: c.Group, Version: c.Storage, Resource: c.Plural}
			if c.Group == GatewayGroup && slices.Contains(routeKinds, c.Kind) {
				want[gvr] = true
			}
			for _, r := range inv.rules {
				if r.MTLS.Kind != "" && r.MTLS.Group == c.Group && r.MTLS.Kind == c.Kind {
					want[gvr] = true
					policyKind[gvr] = c.Group + "/" + c.Kind
				}
			}
		}
	}
	for gvr, w := range inv.watched {
		if !slices.Contains(baseResources, gvr) && !want[gvr] {
			close(w.stop)
			delete(inv.watched, gvr)
		}
	}
	for gvr := range want {
		inv.watchLocked(gvr)
	}
	var o objects
	stores := map[schema.GroupVersionResource]cache.Store{}
	complete := true
	for gvr, w := range inv.watched {
		stores[gvr] = w.inf.GetStore()
		if !w.inf.HasSynced() && w.err != nil && apierrors.IsForbidden(w.err) {
			o.denied = append(o.denied, Denied{Resource: resourceName(gvr), Verb: "list", Message: apiMessage(w.err)})
		} else if !w.inf.HasSynced() {
			complete = false
		}
	}
	inv.mu.Unlock()

	slices.SortFunc(o.denied, func(a, b Denied) int { return compareStrings(a.Resource, b.Resource) })
	items := func(gvr schema.GroupVersionResource) []*unstructured.Unstructured {
		if st := stores[gvr]; st != nil {
			return listStore(st)
		}
		return nil
	}
	o.namespaces = convert[corev1.Namespace](items(gvrNamespaces))
	o.services = convert[corev1.Service](items(gvrServices))
	o.pods = convert[corev1.Pod](items(gvrPods))
	o.deployments = convert[appsv1.Deployment](items(gvrDeployments))
	o.statefulSets = convert[appsv1.StatefulSet](items(gvrStatefulSets))
	o.daemonSets = convert[appsv1.DaemonSet](items(gvrDaemonSets))
	o.crds = items(gvrCRDs)
	o.policies = map[string][]*unstructured.Unstructured{}
	for gvr := range want {
		if k, ok := policyKind[gvr]; ok {
			o.policies[k] = items(gvr)
		} else {
			o.routes = append(o.routes, items(gvr)...)
		}
	}
	s := build(o, inv.rules)
	s.Time, s.Complete = time.Now(), complete
	s.Server = inv.server

	inv.mu.Lock()
	defer inv.mu.Unlock()
	for _, e := range meshChanges(inv.snapshot.Meshes, s.Meshes) {
		inv.publishLocked(e)
	}
	s.Seq = inv.seq
	inv.snapshot = s
}

// listStore is a store's objects; the informer replaces them on change and
// never modifies one in place, so they may be read without a lock.
func listStore(st cache.Store) []*unstructured.Unstructured {
	xs := st.List()
	out := make([]*unstructured.Unstructured, 0, len(xs))
	for _, x := range xs {
		if u, ok := x.(*unstructured.Unstructured); ok {
			out = append(out, u)
		}
	}
	return out
}

// meshChanges lists the mesh-level events between two snapshots.
func meshChanges(before, after []Mesh) []Event {
	var out []Event
	find := func(ms []Mesh, name string) *Mesh {
		for i := range ms {
			if ms[i].Mesh == name {
				return &ms[i]
			}
		}
		return nil
	}
	for _, a := range after {
		b := find(before, a.Mesh)
		switch {
		case b == nil:
			out = append(out, Event{Type: "mesh-detected", Mesh: a.Mesh, To: a.Version})
		case b.Version != a.Version:
			out = append(out, Event{Type: "mesh-version", Mesh: a.Mesh, From: b.Version, To: a.Version})
		}
		if b != nil && b.Healthy != a.Healthy {
			out = append(out, Event{Type: "mesh-health", Mesh: a.Mesh, From: health(b.Healthy), To: health(a.Healthy)})
		}
	}
	for _, b := range before {
		if find(after, b.Mesh) == nil {
			out = append(out, Event{Type: "mesh-removed", Mesh: b.Mesh, From: b.Version})
		}
	}
	return out
}

func health(ok bool) string {
	if ok {
		return "healthy"
	}
	return "unhealthy"
}

// convert turns unstructured objects into typed ones; one that does not
// convert (a server sending something odd) is left out.
func convert[T any](us []*unstructured.Unstructured) []*T {
	out := make([]*T, 0, len(us))
	for _, u := range us {
		t := new(T)
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, t); err != nil {
			continue
		}
		out = append(out, t)
	}
	return out
}

// resourceName is how kubectl names a resource: pods, deployments.apps.
func resourceName(gvr schema.GroupVersionResource) string {
	if gvr.Group == "" {
		return gvr.Resource
	}
	return gvr.Resource + "." + gvr.Group
}

// apiMessage is the API server's own message for a status error.
func apiMessage(err error) string {
	var se apierrors.APIStatus
	if errors.As(err, &se) && se.Status().Message != "" {
		return se.Status().Message
	}
	return err.Error()
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
