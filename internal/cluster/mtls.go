package cluster

import (
	"cmp"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// podMTLS is the mTLS mode that applies to a meshed pod of rule's mesh.
// With PerWorkload (Istio's PeerAuthentication), the most specific policy
// stating a mode wins: one in the pod's namespace whose selector matches
// its labels, then the namespace's own (no selector), then the mesh-wide
// one; UNSET (or no mode) defers to the next. Otherwise it is the mesh's
// mode.
func podMTLS(rule MTLSRule, items []*unstructured.Unstructured, meshWide, ns string, labels map[string]string) string {
	if !rule.PerWorkload {
		return meshWide
	}
	var workload, namespace string
	for _, u := range items { // in name order (sortedByName)
		if u.GetNamespace() != ns {
			continue
		}
		mode := stringAt(u, rule.Path)
		if mode == "" || mode == "UNSET" {
			continue
		}
		where := fmt.Sprintf("%s (%s %s/%s)", mode, rule.Kind, u.GetNamespace(), u.GetName())
		sel, hasSel, _ := unstructured.NestedStringMap(u.Object, "spec", "selector", "matchLabels")
		_, selField, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "selector")
		switch {
		case selField && hasSel && len(sel) > 0:
			if workload == "" && hasLabels(labels, sel) {
				workload = where
			}
		case !selField && ns != rule.Namespace:
			if namespace == "" {
				namespace = where
			}
		}
	}
	switch {
	case workload != "":
		return workload
	case namespace != "":
		return namespace
	}
	return meshWide
}

// stringAt is the string at path in u, "" when none.
func stringAt(u *unstructured.Unstructured, path []string) string {
	v, _, _ := unstructured.NestedFieldNoCopy(u.Object, path...)
	s, _ := v.(string)
	return s
}

// stringsAt are the strings at path in obj, where a "[]" element of path
// stands for every item of a list, in order.
func stringsAt(obj any, path []string) []string {
	if len(path) == 0 {
		if s, ok := obj.(string); ok {
			return []string{s}
		}
		return nil
	}
	if path[0] == "[]" {
		items, _ := obj.([]any)
		var out []string
		for _, it := range items {
			out = append(out, stringsAt(it, path[1:])...)
		}
		return out
	}
	m, ok := obj.(map[string]any)
	if !ok {
		return nil
	}
	return stringsAt(m[path[0]], path[1:])
}

// sortedByName is a copy of items in namespace/name order.
func sortedByName(items []*unstructured.Unstructured) []*unstructured.Unstructured {
	items = slices.Clone(items)
	slices.SortFunc(items, func(a, b *unstructured.Unstructured) int {
		return cmp.Or(cmp.Compare(a.GetNamespace(), b.GetNamespace()), cmp.Compare(a.GetName(), b.GetName()))
	})
	return items
}
