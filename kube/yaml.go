package kube

import (
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// WriteYAML writes the objects as one multi-document YAML stream, ready for
// `kubectl apply -f -`. Empty fields the API server fills in (status,
// creation timestamps) are left out.
func WriteYAML(w io.Writer, objs []Object) error {
	for i, obj := range objs {
		m, err := cleanMap(obj)
		if err != nil {
			return err
		}
		b, err := yaml.Marshal(m)
		if err != nil {
			return fmt.Errorf("encode %s: %w", describe(obj), err)
		}
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// cleanMap converts obj to the map its JSON form has, without the empty
// status and creationTimestamp fields typed objects always carry. The same
// map is what Apply sends.
func cleanMap(obj Object) (map[string]any, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("convert %s: %w", describe(obj), err)
	}
	delete(m, "status")
	dropEmpty(m, "metadata", "creationTimestamp")
	dropEmpty(m, "spec", "template", "metadata", "creationTimestamp")
	dropEmpty(m, "spec", "strategy")
	dropEmpty(m, "spec")
	return m, nil
}

// dropEmpty deletes the field at path if it is null or an empty object.
func dropEmpty(m map[string]any, path ...string) {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			return
		}
		m = next
	}
	last := path[len(path)-1]
	switch v := m[last].(type) {
	case nil:
		delete(m, last)
	case map[string]any:
		if len(v) == 0 {
			delete(m, last)
		}
	}
}

// describe names an object as kubectl does: kind/name.
func describe(obj Object) string {
	kind := obj.GetObjectKind().GroupVersionKind().Kind
	if ns := obj.GetNamespace(); ns != "" && kind != "Namespace" {
		return fmt.Sprintf("%s %s/%s", kind, ns, obj.GetName())
	}
	return fmt.Sprintf("%s %s", kind, obj.GetName())
}
