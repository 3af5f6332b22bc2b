package design

import (
	"fmt"
	"slices"
	"strings"
)

// Edge is a reference from one resource to another.
type Edge struct {
	From string `json:"from"` // Resource.Ref of each
	To   string `json:"to"`
	Why  string `json:"why"` // "selects its pods", "mounts", "routes to"
}

// Graph is a design's resources and the references between them.
type Graph struct {
	Nodes []string `json:"nodes"`
	Edges []Edge   `json:"edges"`
	// Dangling are references to objects the design does not hold (they
	// must exist in the cluster already, or the reference is wrong).
	Dangling []Edge `json:"dangling,omitempty"`
}

// podSpecPath is where each workload kind keeps its pod template.
var podSpecPath = map[string][]string{
	"Deployment":            {"spec", "template"},
	"StatefulSet":           {"spec", "template"},
	"DaemonSet":             {"spec", "template"},
	"ReplicaSet":            {"spec", "template"},
	"ReplicationController": {"spec", "template"},
	"Job":                   {"spec", "template"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template"},
	"Pod":                   {},
}

// PodTemplate returns the pod template (or the Pod itself) of a workload,
// and whether the kind has one.
func PodTemplate(obj map[string]any) (map[string]any, bool) {
	kind, _ := obj["kind"].(string)
	path, ok := podSpecPath[kind]
	if !ok {
		return nil, false
	}
	if len(path) == 0 {
		return obj, true
	}
	t, ok := get(obj, path...).(map[string]any)
	return t, ok
}

// BuildGraph finds the references between a design's resources: Services
// to the workloads their selector picks, workloads to the ConfigMaps,
// Secrets, PersistentVolumeClaims and ServiceAccounts their pods use,
// Ingresses and Gateway API routes to Services, Istio VirtualServices and
// DestinationRules to Services by host, HorizontalPodAutoscalers to their
// target. Resources without a namespace are taken to be in ns.
func BuildGraph(rs []Resource, ns string) Graph {
	g := Graph{Nodes: []string{}, Edges: []Edge{}}
	type key struct{ kind, ns, name string }
	byKey := map[key]Resource{}
	nsOf := func(r Resource) string {
		if n := r.Namespace(); n != "" {
			return n
		}
		return ns
	}
	for _, r := range rs {
		g.Nodes = append(g.Nodes, r.Ref())
		byKey[key{r.Kind(), nsOf(r), r.Name()}] = r
	}
	add := func(from Resource, kind, ns, name, why string) {
		if name == "" {
			return
		}
		if to, ok := byKey[key{kind, ns, name}]; ok {
			g.Edges = append(g.Edges, Edge{From: from.Ref(), To: to.Ref(), Why: why})
			return
		}
		g.Dangling = append(g.Dangling, Edge{From: from.Ref(), To: strings.ToLower(kind) + "/" + name, Why: why})
	}
	for _, r := range rs {
		rns := nsOf(r)
		o := r.Object
		switch r.Kind() {
		case "Service":
			sel, _ := get(o, "spec", "selector").(map[string]any)
			if len(sel) == 0 {
				continue
			}
			found := false
			for _, w := range rs {
				t, ok := PodTemplate(w.Object)
				if !ok || nsOf(w) != rns || w.Kind() == "CronJob" || w.Kind() == "Job" {
					continue
				}
				labels, _ := get(t, "metadata", "labels").(map[string]any)
				if matches(sel, labels) {
					g.Edges = append(g.Edges, Edge{From: r.Ref(), To: w.Ref(), Why: "selects its pods"})
					found = true
				}
			}
			if !found {
				g.Dangling = append(g.Dangling, Edge{From: r.Ref(), To: "pods " + formatSelector(sel), Why: "selects no workload of the design"})
			}
		case "Ingress":
			if n := str(o, "spec", "defaultBackend", "service", "name"); n != "" {
				add(r, "Service", rns, n, "routes to")
			}
			for _, rule := range list(o, "spec", "rules") {
				for _, p := range list(rule, "http", "paths") {
					add(r, "Service", rns, str(p, "backend", "service", "name"), "routes to")
				}
			}
		case "HTTPRoute", "GRPCRoute", "TCPRoute", "TLSRoute", "UDPRoute":
			for _, p := range list(o, "spec", "parentRefs") {
				kind := str(p, "kind")
				if kind == "" {
					kind = "Gateway"
				}
				if kind == "Gateway" || kind == "Service" {
					add(r, kind, orNS(str(p, "namespace"), rns), str(p, "name"), "attaches to")
				}
			}
			for _, rule := range list(o, "spec", "rules") {
				for _, b := range list(rule, "backendRefs") {
					if k := str(b, "kind"); k == "" || k == "Service" {
						add(r, "Service", orNS(str(b, "namespace"), rns), str(b, "name"), "routes to")
					}
				}
			}
		case "VirtualService", "DestinationRule":
			hosts := []string{str(o, "spec", "host")}
			for _, h := range list(o, "spec", "http") {
				for _, d := range list(h, "route") {
					hosts = append(hosts, str(d, "destination", "host"))
				}
			}
			for _, h := range hosts {
				if h == "" || strings.Contains(h, "*") {
					continue
				}
				name, hns := serviceHost(h, rns)
				add(r, "Service", hns, name, "routes to")
			}
		case "HorizontalPodAutoscaler":
			add(r, str(o, "spec", "scaleTargetRef", "kind"), rns, str(o, "spec", "scaleTargetRef", "name"), "scales")
		}
		if t, ok := PodTemplate(o); ok {
			podRefs(t, func(kind, name, why string) { add(r, kind, rns, name, why) })
		}
	}
	g.Edges = dedupe(g.Edges)
	g.Dangling = dedupe(g.Dangling)
	return g
}

// podRefs calls ref for each ConfigMap, Secret, PVC and ServiceAccount a
// pod template refers to.
func podRefs(t map[string]any, ref func(kind, name, why string)) {
	spec, _ := t["spec"].(map[string]any)
	if spec == nil {
		return
	}
	if sa := str(spec, "serviceAccountName"); sa != "" {
		ref("ServiceAccount", sa, "runs as")
	}
	for _, s := range list(spec, "imagePullSecrets") {
		ref("Secret", str(s, "name"), "pulls images with")
	}
	for _, v := range list(spec, "volumes") {
		ref("ConfigMap", str(v, "configMap", "name"), "mounts")
		ref("Secret", str(v, "secret", "secretName"), "mounts")
		ref("PersistentVolumeClaim", str(v, "persistentVolumeClaim", "claimName"), "mounts")
		for _, src := range list(v, "projected", "sources") {
			ref("ConfigMap", str(src, "configMap", "name"), "mounts")
			ref("Secret", str(src, "secret", "name"), "mounts")
		}
	}
	var containers []map[string]any
	for _, f := range []string{"initContainers", "containers"} {
		containers = append(containers, list(spec, f)...)
	}
	for _, c := range containers {
		for _, e := range list(c, "envFrom") {
			ref("ConfigMap", str(e, "configMapRef", "name"), "reads its environment from")
			ref("Secret", str(e, "secretRef", "name"), "reads its environment from")
		}
		for _, e := range list(c, "env") {
			ref("ConfigMap", str(e, "valueFrom", "configMapKeyRef", "name"), "reads a variable from")
			ref("Secret", str(e, "valueFrom", "secretKeyRef", "name"), "reads a variable from")
		}
	}
}

// list returns the objects of the list at path.
func list(m map[string]any, path ...string) []map[string]any {
	l, _ := get(m, path...).([]any)
	out := make([]map[string]any, 0, len(l))
	for _, e := range l {
		if mm, ok := e.(map[string]any); ok {
			out = append(out, mm)
		}
	}
	return out
}

func matches(sel, labels map[string]any) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func formatSelector(sel map[string]any) string {
	var parts []string
	for k, v := range sel {
		parts = append(parts, fmt.Sprintf("%s=%v", k, v))
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

func orNS(ns, def string) string {
	if ns != "" {
		return ns
	}
	return def
}

// serviceHost turns a mesh host (web, web.shop, web.shop.svc.cluster.local)
// into a Service name and namespace.
func serviceHost(h, ns string) (string, string) {
	parts := strings.Split(h, ".")
	if len(parts) >= 2 {
		return parts[0], parts[1]
	}
	return parts[0], ns
}

func dedupe(es []Edge) []Edge {
	seen := map[Edge]bool{}
	out := es[:0]
	for _, e := range es {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}
