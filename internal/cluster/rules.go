package cluster

import "strings"

// A Rule says how one mesh shows itself in a cluster: the CRD groups it
// installs, its control-plane workloads, how a namespace or pod asks for
// injection, and the proxy containers its injector adds. Adding a mesh is
// adding a row to Rules.
type Rule struct {
	Mesh string // short name: istio, linkerd, ...
	Name string // as people write it
	// CRDGroups are API groups whose CRDs only this mesh installs.
	CRDGroups []string
	// Components are its control plane (and node proxies); any one present
	// means the mesh is installed, the first present gives its version.
	Components []Component
	// Injection lists what turns injection on for a namespace (or, with
	// Pod set, for one pod).
	Injection []Marker
	// Ambient lists namespace markers that put pods in a sidecarless data
	// plane (Istio ambient): covered without a proxy container.
	Ambient []Marker
	// Proxies are the container names the injector adds, with the image
	// repositories that carry the proxy's version in their tag.
	Proxies []string
	// MTLS says where the mesh's own resources state its mTLS mode.
	MTLS MTLSRule
}

// MTLSRule locates a mesh's mTLS mode: a field of one kind of its
// resources, or a fixed default when none says otherwise.
type MTLSRule struct {
	Default string // when no resource says: "PERMISSIVE", "always on"
	Group   string // API group of the resource ("" for none)
	Kind    string
	// Namespace is where a mesh-wide resource lives (Istio's root
	// namespace); "" for cluster-scoped kinds.
	Namespace string
	// Path is the field holding the mode, e.g. spec.mtls.mode; a "[]"
	// element stands for every item of a list (spec.ingress[].…).
	Path []string
	// Match, when set, is the one value that counts (Cilium's "required");
	// other values are not a statement of the mode.
	Match string
	// Stated formats a value found (%s), e.g. "on, backend %s"; the value
	// itself when "".
	Stated string
	// MeshWide: only resources without spec.selector count (a workload's
	// own policy is not the mesh's mode).
	MeshWide bool
	// PerWorkload: the kind also exists per namespace (no selector) and per
	// workload (spec.selector.matchLabels), overriding the mesh's mode
	// for the pods it covers (mtls.go).
	PerWorkload bool
}

// A Component is one control-plane workload.
type Component struct {
	Kind string // Deployment, DaemonSet or StatefulSet
	Name string // its usual name, shown when it is missing
	// Images are image repositories (registry-less, tag-less suffixes):
	// a workload running one of them is this component; the tag is the
	// mesh's version.
	Images []string
	// Labels, all of which a workload must carry to be this component
	// when its image is a mirror under another name.
	Labels map[string]string
	// Mode is the data-plane mode this component means (sidecar, ambient,
	// sidecarless).
	Mode string
}

// A Marker is a label or annotation that enables something.
type Marker struct {
	Annotation bool   // an annotation, not a label
	Key        string // e.g. istio-injection
	Value      string // required value; "" means any value
	Pod        bool   // set on the pod (template), not the namespace
}

func (m Marker) String() string {
	kind := "label"
	if m.Annotation {
		kind = "annotation"
	}
	if m.Value == "" {
		return kind + " " + m.Key
	}
	return kind + " " + m.Key + "=" + m.Value
}

// matches reports whether labels/annotations carry the marker.
func (m Marker) matches(labels, annotations map[string]string) bool {
	src := labels
	if m.Annotation {
		src = annotations
	}
	v, ok := src[m.Key]
	if !ok {
		return false
	}
	return m.Value == "" || v == m.Value
}

// Rules is the detection table, one row per mesh.
var Rules = []Rule{
	{
		Mesh: "istio", Name: "Istio",
		CRDGroups: []string{"networking.istio.io", "security.istio.io", "telemetry.istio.io", "extensions.istio.io"},
		Components: []Component{
			{Kind: "Deployment", Name: "istiod", Images: []string{"istio/pilot", "istio-release/pilot"}, Labels: map[string]string{"app": "istiod", "istio": "pilot"}, Mode: "sidecar"},
			{Kind: "DaemonSet", Name: "ztunnel", Images: []string{"istio/ztunnel", "istio-release/ztunnel"}, Labels: map[string]string{"app": "ztunnel"}, Mode: "ambient"},
			{Kind: "DaemonSet", Name: "istio-cni-node", Images: []string{"istio/install-cni", "istio-release/install-cni"}, Labels: map[string]string{"k8s-app": "istio-cni-node"}},
		},
		Injection: []Marker{
			{Key: "istio-injection", Value: "enabled"},
			{Key: "istio.io/rev"},
			{Key: "sidecar.istio.io/inject", Value: "true", Pod: true},
		},
		Ambient: []Marker{{Key: "istio.io/dataplane-mode", Value: "ambient"}},
		Proxies: []string{"istio-proxy"},
		MTLS: MTLSRule{Default: "PERMISSIVE", Group: "security.istio.io", Kind: "PeerAuthentication",
			Namespace: "istio-system", Path: []string{"spec", "mtls", "mode"}, MeshWide: true, PerWorkload: true},
	},
	{
		Mesh: "linkerd", Name: "Linkerd",
		CRDGroups: []string{"linkerd.io", "policy.linkerd.io", "workload.linkerd.io"},
		Components: []Component{
			{Kind: "Deployment", Name: "linkerd-destination", Images: []string{"linkerd/controller"}, Labels: map[string]string{"linkerd.io/control-plane-component": "destination"}, Mode: "sidecar"},
			{Kind: "Deployment", Name: "linkerd-identity", Images: []string{"linkerd/controller"}, Labels: map[string]string{"linkerd.io/control-plane-component": "identity"}},
			{Kind: "Deployment", Name: "linkerd-proxy-injector", Images: []string{"linkerd/controller"}, Labels: map[string]string{"linkerd.io/control-plane-component": "proxy-injector"}},
		},
		Injection: []Marker{
			{Annotation: true, Key: "linkerd.io/inject", Value: "enabled"},
			{Annotation: true, Key: "linkerd.io/inject", Value: "enabled", Pod: true},
		},
		Proxies: []string{"linkerd-proxy"},
		// Linkerd encrypts every meshed connection; there is nothing to turn off.
		MTLS: MTLSRule{Default: "always on"},
	},
	{
		Mesh: "consul", Name: "Consul",
		CRDGroups: []string{"consul.hashicorp.com", "mesh.consul.hashicorp.com", "auth.consul.hashicorp.com"},
		Components: []Component{
			{Kind: "StatefulSet", Name: "consul-server", Images: []string{"hashicorp/consul", "hashicorp/consul-enterprise"}, Labels: map[string]string{"app": "consul", "component": "server"}, Mode: "sidecar"},
			{Kind: "Deployment", Name: "consul-connect-injector", Images: []string{"hashicorp/consul-k8s-control-plane"}, Labels: map[string]string{"app": "consul", "component": "connect-injector"}},
		},
		Injection: []Marker{
			{Annotation: true, Key: "consul.hashicorp.com/connect-inject", Value: "true", Pod: true},
		},
		Proxies: []string{"consul-dataplane", "envoy-sidecar"},
		// Connect always encrypts between sidecars; since Consul 1.16 the
		// global ProxyDefaults' mutualTLSMode may let a sidecar also
		// accept plaintext ("permissive"); unset is strict.
		MTLS: MTLSRule{Default: "strict", Group: "consul.hashicorp.com", Kind: "ProxyDefaults", Path: []string{"spec", "mutualTLSMode"}},
	},
	{
		Mesh: "kuma", Name: "Kuma",
		CRDGroups: []string{"kuma.io"},
		Components: []Component{
			{Kind: "Deployment", Name: "kuma-control-plane", Images: []string{"kumahq/kuma-cp", "kong/kuma-cp"}, Labels: map[string]string{"app": "kuma-control-plane"}, Mode: "sidecar"},
		},
		Injection: []Marker{
			{Key: "kuma.io/sidecar-injection", Value: "enabled"},
			{Key: "kuma.io/sidecar-injection", Value: "enabled", Pod: true},
		},
		Proxies: []string{"kuma-sidecar"},
		// A Mesh's mTLS backend, when set, turns mTLS on in it.
		MTLS: MTLSRule{Default: "off", Group: "kuma.io", Kind: "Mesh", Path: []string{"spec", "mtls", "enabledBackend"}, Stated: "on, backend %s"},
	},
	{
		Mesh: "cilium", Name: "Cilium service mesh",
		CRDGroups: []string{"cilium.io"},
		Components: []Component{
			{Kind: "DaemonSet", Name: "cilium", Images: []string{"cilium/cilium"}, Labels: map[string]string{"k8s-app": "cilium"}, Mode: "sidecarless"},
			{Kind: "DaemonSet", Name: "cilium-envoy", Images: []string{"cilium/cilium-envoy"}, Labels: map[string]string{"k8s-app": "cilium-envoy"}},
			{Kind: "Deployment", Name: "cilium-operator", Images: []string{"cilium/operator-generic", "cilium/operator"}, Labels: map[string]string{"io.cilium/app": "operator"}},
		},
		// Cilium's mutual authentication is asked for per policy: an
		// ingress (or egress) rule with authentication.mode "required";
		// without one, none.
		MTLS: MTLSRule{Default: "off", Group: "cilium.io", Kind: "CiliumNetworkPolicy",
			Path: []string{"spec", "ingress", "[]", "authentication", "mode"}, Match: "required", Stated: "mutual auth %s by policy"},
	},
	{
		Mesh: "osm", Name: "Open Service Mesh",
		CRDGroups: []string{"config.openservicemesh.io", "policy.openservicemesh.io"},
		Components: []Component{
			{Kind: "Deployment", Name: "osm-controller", Images: []string{"openservicemesh/osm-controller"}, Labels: map[string]string{"app": "osm-controller"}, Mode: "sidecar"},
			{Kind: "Deployment", Name: "osm-injector", Images: []string{"openservicemesh/osm-injector"}, Labels: map[string]string{"app": "osm-injector"}},
		},
		Injection: []Marker{
			{Key: "openservicemesh.io/monitored-by"},
			{Annotation: true, Key: "openservicemesh.io/sidecar-injection", Value: "enabled", Pod: true},
		},
		Proxies: []string{"envoy"},
		// OSM's sidecars always talk mTLS to each other; its MeshConfig's
		// permissive traffic policy mode is about authorisation, not
		// encryption.
		MTLS: MTLSRule{Default: "always on"},
	},
	{
		Mesh: "traefik-mesh", Name: "Traefik Mesh",
		Components: []Component{
			{Kind: "Deployment", Name: "traefik-mesh-controller", Images: []string{"traefik/mesh"}, Labels: map[string]string{"app": "maesh", "component": "controller"}, Mode: "node-proxy"},
			{Kind: "DaemonSet", Name: "traefik-mesh-proxy", Labels: map[string]string{"app": "maesh", "component": "maesh-mesh"}},
		},
		// Traefik Mesh's node proxies forward plain HTTP/TCP: it has no mTLS.
		MTLS: MTLSRule{Default: "off"},
	},
	{
		Mesh: "nginx-service-mesh", Name: "NGINX Service Mesh",
		CRDGroups: []string{"specs.smi.nginx.com"},
		Components: []Component{
			{Kind: "Deployment", Name: "nginx-mesh-controller", Images: []string{"nsm/nginx-mesh-controller"}, Labels: map[string]string{"app.kubernetes.io/name": "nginx-mesh-controller"}, Mode: "sidecar"},
			{Kind: "Deployment", Name: "nginx-mesh-api", Images: []string{"nsm/nginx-mesh-api"}, Labels: map[string]string{"app.kubernetes.io/name": "nginx-mesh-api"}},
		},
		Injection: []Marker{
			{Key: "injector.nsm.nginx.com/auto-inject", Value: "enabled"},
			{Annotation: true, Key: "injector.nsm.nginx.com/auto-inject", Value: "true", Pod: true},
		},
		Proxies: []string{"nginx-mesh-sidecar"},
	},
}

// API groups that are not one mesh's.
const (
	GatewayGroup = "gateway.networking.k8s.io"
	// GatewayBundleVersion is the annotation Gateway API's CRDs carry
	// with the release they come from (v1.2.0).
	GatewayBundleVersion = "gateway.networking.k8s.io/bundle-version"
	GatewayChannel       = "gateway.networking.k8s.io/channel"
)

// SMIGroups are the Service Mesh Interface's API groups.
var SMIGroups = []string{"access.smi-spec.io", "specs.smi-spec.io", "split.smi-spec.io", "metrics.smi-spec.io"}

// splitImage splits an image reference into its repository without the
// registry host, and its tag ("" when it has none, or only a digest).
func splitImage(image string) (repo, tag string) {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndex(image, ":"); i >= 0 && !strings.Contains(image[i:], "/") {
		image, tag = image[:i], image[i+1:]
	}
	// A first path element with a dot or colon, or localhost, is a registry.
	if i := strings.Index(image, "/"); i >= 0 {
		if first := image[:i]; strings.ContainsAny(first, ".:") || first == "localhost" {
			image = image[i+1:]
		}
	}
	return image, tag
}

// imageIs reports whether image's repository is repo or ends with /repo.
func imageIs(image, repo string) bool {
	r, _ := splitImage(image)
	return r == repo || strings.HasSuffix(r, "/"+repo)
}
