package smi

import (
	"maps"
	"slices"
	"strconv"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The resources a test applies, apart from the version they are written
// at: each is written in the shape of the version the cluster serves
// (the SMI specification's apis/<spec>/<version>/*.md).

// Split is a TrafficSplit: requests to Service go to Backends by weight.
type Split struct {
	Name, Service string
	Backends      []Backend
}

// Backend is one service of a split with its weight.
type Backend struct {
	Service string
	Weight  int
}

// RouteGroup is an HTTPRouteGroup.
type RouteGroup struct {
	Name    string
	Matches []Match
}

// Match is one named route of an HTTPRouteGroup.
type Match struct {
	Name      string
	PathRegex string
	Methods   []string
	Headers   map[string]string // header name -> regex (specs v1alpha3 and later)
}

// Target is a TrafficTarget: pods of ServiceAccount Destination accept
// requests from the Sources' service accounts on the routes of RouteGroup
// named in Matches (all of them when empty).
type Target struct {
	Name        string
	Destination string
	Sources     []string
	RouteGroup  string
	Matches     []string
}

func newObject(apiVersion, kind, namespace, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(namespace)
	u.SetName(name)
	return u
}

// Object writes s at version v of split.smi-spec.io: v1alpha1's weights
// are quantities, later ones integers.
func (s Split) Object(v, namespace string) *unstructured.Unstructured {
	u := newObject(GroupSplit+"/"+v, "TrafficSplit", namespace, s.Name)
	var backends []any
	for _, b := range s.Backends {
		var w any = int64(b.Weight)
		if v == "v1alpha1" {
			w = strconv.Itoa(b.Weight)
		}
		backends = append(backends, map[string]any{"service": b.Service, "weight": w})
	}
	u.Object["spec"] = map[string]any{"service": s.Service, "backends": backends}
	return u
}

// Object writes g at version v of specs.smi-spec.io: v1alpha1 has its
// matches at the top level, later versions under spec; header filters
// exist from v1alpha3 (headersAt).
func (g RouteGroup) Object(v, namespace string) *unstructured.Unstructured {
	u := newObject(GroupSpecs+"/"+v, "HTTPRouteGroup", namespace, g.Name)
	var matches []any
	for _, m := range g.Matches {
		mm := map[string]any{"name": m.Name}
		if m.PathRegex != "" {
			mm["pathRegex"] = m.PathRegex
		}
		if len(m.Methods) > 0 {
			mm["methods"] = toAny(m.Methods)
		}
		if len(m.Headers) > 0 {
			mm["headers"] = headersAt(v, m.Headers)
		}
		matches = append(matches, mm)
	}
	if v == "v1alpha1" {
		u.Object["matches"] = matches
	} else {
		u.Object["spec"] = map[string]any{"matches": matches}
	}
	return u
}

// headersAt writes header filters as version v of specs.smi-spec.io has
// them: v1alpha3 a list of one-entry maps (what smi-sdk-go v0.4.1's
// httpHeaders marshals to, and the CRDs Traefik Mesh installs require),
// v1alpha4 one map.
func headersAt(v string, headers map[string]string) any {
	if v == "v1alpha3" {
		var list []any
		for _, k := range slices.Sorted(maps.Keys(headers)) {
			list = append(list, map[string]any{k: headers[k]})
		}
		return list
	}
	h := map[string]any{}
	for k, x := range headers {
		h[k] = x
	}
	return h
}

// Object writes t at version v of access.smi-spec.io, its routes a group
// of specs.smi-spec.io: v1alpha1 has destination, sources and specs at the
// top level, later versions spec.destination, spec.sources, spec.rules.
func (t Target) Object(v, namespace string) *unstructured.Unstructured {
	u := newObject(GroupAccess+"/"+v, "TrafficTarget", namespace, t.Name)
	sa := func(name string) map[string]any {
		return map[string]any{"kind": "ServiceAccount", "name": name, "namespace": namespace}
	}
	var sources []any
	for _, s := range t.Sources {
		sources = append(sources, sa(s))
	}
	rule := map[string]any{"kind": "HTTPRouteGroup", "name": t.RouteGroup}
	if len(t.Matches) > 0 {
		rule["matches"] = toAny(t.Matches)
	}
	if v == "v1alpha1" {
		u.Object["destination"] = sa(t.Destination)
		u.Object["sources"] = sources
		u.Object["specs"] = []any{rule}
		return u
	}
	u.Object["spec"] = map[string]any{"destination": sa(t.Destination), "sources": sources, "rules": []any{rule}}
	return u
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}
