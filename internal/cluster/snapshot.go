package cluster

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Snapshot is what the inventory knows of the cluster at one moment.
type Snapshot struct {
	Time time.Time `json:"time"`
	Seq  uint64    `json:"seq"` // increases with every change
	// Complete is set when every resource had been listed (or refused)
	// once before the snapshot was built.
	Complete   bool        `json:"complete"`
	Server     string      `json:"server,omitempty"`
	Meshes     []Mesh      `json:"meshes"`
	GatewayAPI *GatewayAPI `json:"gatewayAPI,omitempty"`
	SMI        []CRD       `json:"smi,omitempty"`
	Coverage   Coverage    `json:"coverage"`
	Namespaces []Namespace `json:"namespaces"`
	Services   []Service   `json:"services"`
	Workloads  []Workload  `json:"workloads"`
	Pods       []Pod       `json:"pods"`
	Routes     []Route     `json:"routes,omitempty"`
	// Unreadable lists what RBAC (or anything else) kept from being read;
	// the rest of the snapshot is still true.
	Unreadable []Denied `json:"unreadable,omitempty"`
}

// Mesh is one detected mesh.
type Mesh struct {
	Mesh    string   `json:"mesh"`
	Name    string   `json:"name"`
	Version string   `json:"version,omitempty"`
	Modes   []string `json:"modes,omitempty"`
	// MTLS is the mesh-wide mTLS mode its resources state, with where
	// from: "STRICT (PeerAuthentication istio-system/default)".
	MTLS       string            `json:"mtls,omitempty"`
	Healthy    bool              `json:"healthy"`
	Components []ComponentStatus `json:"components,omitempty"`
	CRDs       []string          `json:"crds,omitempty"`
	// InjectedNamespaces are the namespaces whose label or annotation
	// turns this mesh's injection (or ambient mode) on.
	InjectedNamespaces []string `json:"injectedNamespaces,omitempty"`
	PodsWithProxy      int      `json:"podsWithProxy"`
	PodsAmbient        int      `json:"podsAmbient,omitempty"`
	ProxyVersions      []string `json:"proxyVersions,omitempty"`
}

// ComponentStatus is one control-plane workload found.
type ComponentStatus struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Image     string `json:"image"`
	Version   string `json:"version,omitempty"`
	Desired   int32  `json:"desired"`
	Ready     int32  `json:"ready"`
}

// GatewayAPI is the Gateway API install.
type GatewayAPI struct {
	Version string `json:"version,omitempty"` // bundle-version annotation
	Channel string `json:"channel,omitempty"`
	CRDs    []CRD  `json:"crds"`
}

// CRD is one CustomResourceDefinition: group, kind and served versions.
type CRD struct {
	Name     string   `json:"name"`
	Group    string   `json:"group"`
	Kind     string   `json:"kind"`
	Plural   string   `json:"plural"`
	Versions []string `json:"versions"` // served
	Storage  string   `json:"storage"`
	Bundle   string   `json:"bundleVersion,omitempty"`
	Channel  string   `json:"channel,omitempty"`
}

// Coverage counts pods by data plane.
type Coverage struct {
	Pods          int `json:"pods"`
	WithProxy     int `json:"withProxy"`
	Ambient       int `json:"ambient"`
	WithoutProxy  int `json:"withoutProxy"`
	InjectedNS    int `json:"injectedNamespaces"`
	NamespacesAll int `json:"namespaces"`
}

// Namespace and the meshes that inject it.
type Namespace struct {
	Name      string   `json:"name"`
	Injection []string `json:"injection,omitempty"` // "istio (label istio-injection=enabled)"
	Meshes    []string `json:"meshes,omitempty"`
	Ambient   bool     `json:"ambient,omitempty"`
}

// Service is one Service.
type Service struct {
	Namespace string            `json:"namespace"`
	Name      string            `json:"name"`
	Type      string            `json:"type"`
	Ports     []string          `json:"ports,omitempty"`
	Selector  map[string]string `json:"selector,omitempty"`
	// ClusterIPs are the Service's virtual IPs ("None" for a headless one).
	ClusterIPs []string `json:"clusterIPs,omitempty"`
}

// Workload is a Deployment, StatefulSet or DaemonSet.
type Workload struct {
	Kind      string   `json:"kind"`
	Namespace string   `json:"namespace"`
	Name      string   `json:"name"`
	Desired   int32    `json:"desired"`
	Ready     int32    `json:"ready"`
	Images    []string `json:"images"`
	// Pods and how many of them carry a proxy (or are ambient).
	Pods   int    `json:"pods"`
	Meshed int    `json:"meshed"`
	Mesh   string `json:"mesh,omitempty"`
	// MTLS is the mode of its first meshed pod.
	MTLS string `json:"mtls,omitempty"`
}

// Pod is one pod and its proxy, if any.
type Pod struct {
	Namespace string            `json:"namespace"`
	Name      string            `json:"name"`
	Owner     string            `json:"owner,omitempty"` // Kind/name of its workload
	Labels    map[string]string `json:"labels,omitempty"`
	Phase     string            `json:"phase,omitempty"`
	// IPs are the pod's own addresses (none for a pod on the host's
	// network, whose address is the node's).
	IPs     []string `json:"ips,omitempty"`
	Mesh    string   `json:"mesh,omitempty"`
	Ambient bool     `json:"ambient,omitempty"`
	Proxy   *Proxy   `json:"proxy,omitempty"`
	// MTLS is the mTLS mode that applies to a meshed pod, with the
	// resource stating it (mtls.go).
	MTLS string `json:"mtls,omitempty"`
}

// Proxy is the proxy container a mesh injected.
type Proxy struct {
	Container string            `json:"container"`
	Image     string            `json:"image"`
	Version   string            `json:"version,omitempty"`
	Native    bool              `json:"native"` // an init container with restartPolicy Always
	Requests  map[string]string `json:"requests,omitempty"`
	Limits    map[string]string `json:"limits,omitempty"`
}

// Route is an HTTPRoute or GRPCRoute; GAMMA when a parent is a Service.
type Route struct {
	Kind      string   `json:"kind"`
	Namespace string   `json:"namespace"`
	Name      string   `json:"name"`
	Parents   []string `json:"parents"` // Kind/namespace/name
	GAMMA     bool     `json:"gamma"`
	// Backends are the Services the rules send to, namespace/name.
	Backends []string `json:"backends,omitempty"`
}

// Denied is one resource the inventory could not read.
type Denied struct {
	Resource string `json:"resource"` // pods, deployments.apps, ...
	Verb     string `json:"verb"`
	Message  string `json:"message"`
}

func (d Denied) String() string {
	return fmt.Sprintf("cannot %s %s: %s", d.Verb, d.Resource, d.Message)
}

// objects is what a snapshot is built from.
type objects struct {
	namespaces   []*corev1.Namespace
	services     []*corev1.Service
	deployments  []*appsv1.Deployment
	statefulSets []*appsv1.StatefulSet
	daemonSets   []*appsv1.DaemonSet
	pods         []*corev1.Pod
	crds         []*unstructured.Unstructured
	routes       []*unstructured.Unstructured
	// policies are the mTLS resources, by "group/Kind".
	policies map[string][]*unstructured.Unstructured
	denied   []Denied
}

// build computes a snapshot from the objects with the rules.
func build(o objects, rules []Rule) Snapshot {
	var s Snapshot
	s.Unreadable = o.denied

	// CRDs: by group.
	crds := make([]CRD, 0, len(o.crds))
	for _, u := range o.crds {
		crds = append(crds, crdOf(u))
	}
	slices.SortFunc(crds, func(a, b CRD) int { return cmp.Compare(a.Name, b.Name) })
	for _, c := range crds {
		switch {
		case c.Group == GatewayGroup:
			if s.GatewayAPI == nil {
				s.GatewayAPI = &GatewayAPI{}
			}
			s.GatewayAPI.CRDs = append(s.GatewayAPI.CRDs, c)
			if c.Bundle != "" && (s.GatewayAPI.Version == "" || c.Kind == "HTTPRoute") {
				s.GatewayAPI.Version, s.GatewayAPI.Channel = c.Bundle, c.Channel
			}
		case slices.Contains(SMIGroups, c.Group):
			s.SMI = append(s.SMI, c)
		}
	}

	// Namespaces and their injection.
	nsIndex := map[string]*Namespace{}
	for _, ns := range o.namespaces {
		n := Namespace{Name: ns.Name}
		for _, r := range rules {
			for _, m := range r.Injection {
				if !m.Pod && m.matches(ns.Labels, ns.Annotations) {
					n.Injection = append(n.Injection, r.Mesh+" ("+m.String()+")")
					n.Meshes = appendOnce(n.Meshes, r.Mesh)
				}
			}
			for _, m := range r.Ambient {
				if m.matches(ns.Labels, ns.Annotations) {
					n.Injection = append(n.Injection, r.Mesh+" ambient ("+m.String()+")")
					n.Meshes = appendOnce(n.Meshes, r.Mesh)
					n.Ambient = true
				}
			}
		}
		s.Namespaces = append(s.Namespaces, n)
	}
	slices.SortFunc(s.Namespaces, func(a, b Namespace) int { return cmp.Compare(a.Name, b.Name) })
	for i := range s.Namespaces {
		nsIndex[s.Namespaces[i].Name] = &s.Namespaces[i]
		if len(s.Namespaces[i].Meshes) > 0 {
			s.Coverage.InjectedNS++
		}
	}
	s.Coverage.NamespacesAll = len(s.Namespaces)

	// Each mesh's mode, and its policies in name order, for the pods'.
	meshMTLS := map[string]string{}
	policies := map[string][]*unstructured.Unstructured{}
	for _, r := range rules {
		meshMTLS[r.Mesh] = mtlsMode(r.MTLS, o.policies[r.MTLS.Group+"/"+r.MTLS.Kind])
		policies[r.Mesh] = sortedByName(o.policies[r.MTLS.Group+"/"+r.MTLS.Kind])
	}

	// Pods.
	for _, p := range o.pods {
		pod := Pod{Namespace: p.Namespace, Name: p.Name, Phase: string(p.Status.Phase), Owner: podOwner(p), Labels: p.Labels}
		if !p.Spec.HostNetwork {
			for _, ip := range p.Status.PodIPs {
				pod.IPs = append(pod.IPs, ip.IP)
			}
			if len(pod.IPs) == 0 && p.Status.PodIP != "" {
				pod.IPs = []string{p.Status.PodIP}
			}
		}
		pod.Mesh, pod.Proxy = proxyOf(p, rules)
		if pod.Proxy == nil {
			if ns := nsIndex[p.Namespace]; ns != nil && ns.Ambient && p.Spec.HostNetwork == false {
				pod.Ambient = true
				pod.Mesh = ambientMesh(ns.Meshes, rules)
			}
		}
		if pod.Proxy != nil || pod.Ambient {
			for _, r := range rules {
				if r.Mesh == pod.Mesh {
					pod.MTLS = podMTLS(r.MTLS, policies[r.Mesh], meshMTLS[r.Mesh], p.Namespace, p.Labels)
				}
			}
		}
		s.Coverage.Pods++
		switch {
		case pod.Proxy != nil:
			s.Coverage.WithProxy++
		case pod.Ambient:
			s.Coverage.Ambient++
		default:
			s.Coverage.WithoutProxy++
		}
		s.Pods = append(s.Pods, pod)
	}
	slices.SortFunc(s.Pods, func(a, b Pod) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})

	// Workloads, with their pods counted through an index by owner.
	type podCount struct {
		pods, meshed int
		mesh, mtls   string
	}
	byOwner := map[string]*podCount{}
	for _, p := range s.Pods {
		if p.Owner == "" {
			continue
		}
		key := p.Namespace + "/" + p.Owner
		c := byOwner[key]
		if c == nil {
			c = &podCount{}
			byOwner[key] = c
		}
		c.pods++
		if p.Proxy != nil || p.Ambient {
			c.meshed++
			c.mesh = p.Mesh
			if c.mtls == "" {
				c.mtls = p.MTLS
			}
		}
	}
	add := func(kind, ns, name string, desired, ready int32, spec corev1.PodSpec) {
		w := Workload{Kind: kind, Namespace: ns, Name: name, Desired: desired, Ready: ready}
		for _, c := range spec.Containers {
			w.Images = append(w.Images, c.Image)
		}
		if c := byOwner[ns+"/"+kind+"/"+name]; c != nil {
			w.Pods, w.Meshed, w.Mesh, w.MTLS = c.pods, c.meshed, c.mesh, c.mtls
		}
		s.Workloads = append(s.Workloads, w)
	}
	for _, d := range o.deployments {
		add("Deployment", d.Namespace, d.Name, derefOr(d.Spec.Replicas, 1), d.Status.ReadyReplicas, d.Spec.Template.Spec)
	}
	for _, d := range o.statefulSets {
		add("StatefulSet", d.Namespace, d.Name, derefOr(d.Spec.Replicas, 1), d.Status.ReadyReplicas, d.Spec.Template.Spec)
	}
	for _, d := range o.daemonSets {
		add("DaemonSet", d.Namespace, d.Name, d.Status.DesiredNumberScheduled, d.Status.NumberReady, d.Spec.Template.Spec)
	}
	slices.SortFunc(s.Workloads, func(a, b Workload) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})

	for _, svc := range o.services {
		v := Service{Namespace: svc.Namespace, Name: svc.Name, Type: string(svc.Spec.Type), Selector: svc.Spec.Selector}
		v.ClusterIPs = svc.Spec.ClusterIPs
		if len(v.ClusterIPs) == 0 && svc.Spec.ClusterIP != "" {
			v.ClusterIPs = []string{svc.Spec.ClusterIP}
		}
		for _, p := range svc.Spec.Ports {
			v.Ports = append(v.Ports, fmt.Sprintf("%d/%s", p.Port, p.Protocol))
		}
		s.Services = append(s.Services, v)
	}
	slices.SortFunc(s.Services, func(a, b Service) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})

	for _, u := range o.routes {
		s.Routes = append(s.Routes, routeOf(u))
	}
	slices.SortFunc(s.Routes, func(a, b Route) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})

	// Meshes.
	for _, r := range rules {
		m := Mesh{Mesh: r.Mesh, Name: r.Name}
		for _, c := range crds {
			if slices.Contains(r.CRDGroups, c.Group) {
				m.CRDs = append(m.CRDs, c.Name)
			}
		}
		healthy := true
		seen := map[string]bool{}
		for _, comp := range r.Components {
			for _, cs := range findComponent(comp, o) {
				key := cs.Kind + "/" + cs.Namespace + "/" + cs.Name
				if seen[key] {
					continue
				}
				seen[key] = true
				m.Components = append(m.Components, cs)
				if m.Version == "" && cs.Version != "" {
					m.Version = cs.Version
				}
				if comp.Mode != "" {
					m.Modes = appendOnce(m.Modes, comp.Mode)
				}
				if cs.Ready < cs.Desired || cs.Desired == 0 {
					healthy = false
				}
			}
		}
		if len(m.Components) == 0 && len(m.CRDs) == 0 {
			continue
		}
		m.Healthy = healthy && len(m.Components) > 0
		m.MTLS = meshMTLS[r.Mesh]
		for _, ns := range s.Namespaces {
			if slices.Contains(ns.Meshes, r.Mesh) {
				m.InjectedNamespaces = append(m.InjectedNamespaces, ns.Name)
			}
		}
		for _, p := range s.Pods {
			if p.Mesh != r.Mesh {
				continue
			}
			if p.Proxy != nil {
				m.PodsWithProxy++
				if p.Proxy.Version != "" {
					m.ProxyVersions = appendOnce(m.ProxyVersions, p.Proxy.Version)
				}
			} else if p.Ambient {
				m.PodsAmbient++
			}
		}
		slices.Sort(m.ProxyVersions)
		s.Meshes = append(s.Meshes, m)
	}
	return s
}

// findComponent returns the workloads that are comp.
func findComponent(comp Component, o objects) []ComponentStatus {
	var out []ComponentStatus
	try := func(kind, ns, name string, labels map[string]string, spec corev1.PodSpec, desired, ready int32) {
		if kind != comp.Kind {
			return
		}
		image := ""
		for _, c := range spec.Containers {
			for _, repo := range comp.Images {
				if image == "" && imageIs(c.Image, repo) {
					image = c.Image
				}
			}
		}
		// Its labels say what it is; failing them, its image and name do
		// (control-plane workloads of one mesh may share an image).
		byLabels := len(comp.Labels) > 0 && hasLabels(labels, comp.Labels)
		byImage := image != "" && (len(comp.Labels) == 0 || strings.HasPrefix(name, comp.Name))
		if !byLabels && !byImage {
			return
		}
		if image == "" && len(spec.Containers) > 0 {
			image = spec.Containers[0].Image // a mirror under another name
		}
		_, tag := splitImage(image)
		out = append(out, ComponentStatus{Kind: kind, Namespace: ns, Name: name, Image: image, Version: tag, Desired: desired, Ready: ready})
	}
	for _, d := range o.deployments {
		try("Deployment", d.Namespace, d.Name, d.Labels, d.Spec.Template.Spec, derefOr(d.Spec.Replicas, 1), d.Status.ReadyReplicas)
	}
	for _, d := range o.statefulSets {
		try("StatefulSet", d.Namespace, d.Name, d.Labels, d.Spec.Template.Spec, derefOr(d.Spec.Replicas, 1), d.Status.ReadyReplicas)
	}
	for _, d := range o.daemonSets {
		try("DaemonSet", d.Namespace, d.Name, d.Labels, d.Spec.Template.Spec, d.Status.DesiredNumberScheduled, d.Status.NumberReady)
	}
	slices.SortFunc(out, func(a, b ComponentStatus) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// proxyOf finds the proxy container a mesh's injector added to p: a
// container, or a native sidecar (an init container that keeps running).
func proxyOf(p *corev1.Pod, rules []Rule) (string, *Proxy) {
	always := corev1.ContainerRestartPolicyAlways
	for _, r := range rules {
		for _, name := range r.Proxies {
			for _, c := range p.Spec.InitContainers {
				if c.Name == name && c.RestartPolicy != nil && *c.RestartPolicy == always {
					return r.Mesh, proxy(c, true)
				}
			}
			for _, c := range p.Spec.Containers {
				if c.Name == name {
					return r.Mesh, proxy(c, false)
				}
			}
		}
	}
	return "", nil
}

func proxy(c corev1.Container, native bool) *Proxy {
	_, tag := splitImage(c.Image)
	px := &Proxy{Container: c.Name, Image: c.Image, Version: tag, Native: native}
	px.Requests = quantities(c.Resources.Requests)
	px.Limits = quantities(c.Resources.Limits)
	return px
}

func quantities(l corev1.ResourceList) map[string]string {
	if len(l) == 0 {
		return nil
	}
	m := make(map[string]string, len(l))
	for k, v := range l {
		m[string(k)] = v.String()
	}
	return m
}

func ambientMesh(meshes []string, rules []Rule) string {
	for _, r := range rules {
		if len(r.Ambient) > 0 && slices.Contains(meshes, r.Mesh) {
			return r.Mesh
		}
	}
	return ""
}

// podOwner is Kind/name of the workload owning p, through its ReplicaSet
// for a Deployment (the ReplicaSet's name is the Deployment's plus a hash).
func podOwner(p *corev1.Pod) string {
	for _, ref := range p.OwnerReferences {
		if ref.Controller == nil || !*ref.Controller {
			continue
		}
		if ref.Kind == "ReplicaSet" {
			if i := strings.LastIndex(ref.Name, "-"); i > 0 {
				return "Deployment/" + ref.Name[:i]
			}
		}
		return ref.Kind + "/" + ref.Name
	}
	return ""
}

func crdOf(u *unstructured.Unstructured) CRD {
	c := CRD{Name: u.GetName()}
	c.Group, _, _ = unstructured.NestedString(u.Object, "spec", "group")
	c.Kind, _, _ = unstructured.NestedString(u.Object, "spec", "names", "kind")
	c.Plural, _, _ = unstructured.NestedString(u.Object, "spec", "names", "plural")
	versions := nestedSlice(u.Object, "spec", "versions")
	for _, v := range versions {
		vm, ok := v.(map[string]any)
		if !ok {
			continue
		}
		name, _ := vm["name"].(string)
		if served, _ := vm["served"].(bool); served {
			c.Versions = append(c.Versions, name)
		}
		if storage, _ := vm["storage"].(bool); storage {
			c.Storage = name
		}
	}
	a := u.GetAnnotations()
	c.Bundle, c.Channel = a[GatewayBundleVersion], a[GatewayChannel]
	return c
}

func routeOf(u *unstructured.Unstructured) Route {
	r := Route{Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName()}
	parents := nestedSlice(u.Object, "spec", "parentRefs")
	for _, p := range parents {
		pm, ok := p.(map[string]any)
		if !ok {
			continue
		}
		kind, _ := pm["kind"].(string)
		group, hasGroup := pm["group"].(string)
		if kind == "" {
			kind = "Gateway"
		}
		if !hasGroup && kind == "Gateway" {
			group = GatewayGroup
		}
		ns, _ := pm["namespace"].(string)
		if ns == "" {
			ns = r.Namespace
		}
		name, _ := pm["name"].(string)
		r.Parents = append(r.Parents, kind+"/"+ns+"/"+name)
		// GAMMA: a parentRef to a Service (core group, written "" or left out).
		if kind == "Service" && group == "" {
			r.GAMMA = true
		}
	}
	for _, rule := range nestedSlice(u.Object, "spec", "rules") {
		rm, ok := rule.(map[string]any)
		if !ok {
			continue
		}
		refs, _ := rm["backendRefs"].([]any)
		for _, b := range refs {
			bm, ok := b.(map[string]any)
			if !ok {
				continue
			}
			kind, _ := bm["kind"].(string)
			group, _ := bm["group"].(string)
			name, _ := bm["name"].(string)
			if (kind != "" && kind != "Service") || group != "" || name == "" || len(r.Backends) >= maxBackends {
				continue
			}
			ns, _ := bm["namespace"].(string)
			if ns == "" {
				ns = r.Namespace
			}
			r.Backends = appendOnce(r.Backends, ns+"/"+name)
		}
	}
	return r
}

// maxBackends bounds the backends kept of one route.
const maxBackends = 64

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func appendOnce(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

func derefOr(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

// nestedSlice is the list at path, or nil; unlike unstructured.NestedSlice
// it copies nothing.
func nestedSlice(obj map[string]any, path ...string) []any {
	v, ok, err := unstructured.NestedFieldNoCopy(obj, path...)
	if !ok || err != nil {
		return nil
	}
	s, _ := v.([]any)
	return s
}

// mtlsMode is the mode rule's resources state, the first in name order
// (namespace/name) that states one, else its default.
func mtlsMode(rule MTLSRule, items []*unstructured.Unstructured) string {
	if rule.Kind == "" {
		return rule.Default
	}
	items = slices.Clone(items)
	slices.SortFunc(items, func(a, b *unstructured.Unstructured) int {
		return cmp.Or(cmp.Compare(a.GetNamespace(), b.GetNamespace()), cmp.Compare(a.GetName(), b.GetName()))
	})
	for _, u := range items {
		if rule.Namespace != "" && u.GetNamespace() != rule.Namespace {
			continue
		}
		if rule.MeshWide {
			if sel, ok, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "selector"); ok && sel != nil {
				continue
			}
		}
		mode := ""
		for _, v := range stringsAt(u.Object, rule.Path) {
			if v != "" && (rule.Match == "" || v == rule.Match) {
				mode = v
				break
			}
		}
		if mode == "" {
			continue
		}
		where := u.GetName()
		if u.GetNamespace() != "" {
			where = u.GetNamespace() + "/" + where
		}
		if rule.Stated != "" {
			mode = fmt.Sprintf(rule.Stated, mode)
		}
		return fmt.Sprintf("%s (%s %s)", mode, rule.Kind, where)
	}
	if rule.Default == "" {
		return ""
	}
	return rule.Default + " (default)"
}
