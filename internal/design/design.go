// Package design holds designs: a named set of Kubernetes resources and the
// Helm chart references they were rendered from, with what an import left
// out and why. It parses manifests, orders resources for applying and
// deleting, and draws the graph of their references. Importers live in
// compose/ and helmchart/; putting a design on a cluster in lifecycle/.
package design

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// APIVersion and Kind mark a design document.
const (
	APIVersion = "meshperf.dev/v1"
	Kind       = "Design"
)

// Design is a named set of Kubernetes resources.
type Design struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	// Namespace is where namespaced resources that name none go.
	Namespace string `json:"namespace,omitempty"`
	// Resources are the objects to apply, each as its JSON object.
	Resources []Resource `json:"resources"`
	// Charts are the Helm charts some resources were rendered from.
	Charts []Chart `json:"charts,omitempty"`
	// Report lists what an import did not convert, and why.
	Report []Note `json:"report,omitempty"`
}

// Resource is one Kubernetes object and where it came from.
type Resource struct {
	// Source is the file and document, chart template or Compose service
	// the object came from.
	Source string         `json:"source,omitempty"`
	Object map[string]any `json:"object"`
}

// Chart is a Helm chart reference with the values it was rendered with.
type Chart struct {
	Release   string `json:"release"`
	Namespace string `json:"namespace,omitempty"`
	// Chart is the chart's name and version from Chart.yaml.
	Chart   string `json:"chart"`
	Version string `json:"version,omitempty"`
	// From is the directory or packaged chart it was loaded from.
	From string `json:"from,omitempty"`
	// Repo is the repository URL the user fetched it from, if given.
	Repo string `json:"repo,omitempty"`
	// Digest is the sha256 of the archive fetched from Repo
	// ("sha256:HEX"), when meshperf fetched it.
	Digest string         `json:"digest,omitempty"`
	Values map[string]any `json:"values,omitempty"`
}

// Note is something an import left out, or changed, and why.
type Note struct {
	Source string `json:"source"` // service web, chart istiod: templates/x.yaml
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

func (n Note) String() string {
	s := n.Source
	if n.Field != "" {
		s += ": " + n.Field
	}
	return s + ": " + n.Reason
}

// Limits on a design.
const (
	// MaxResources is the most resources one design holds.
	MaxResources = 5000
	// MaxDesignBytes is the largest design document accepted.
	MaxDesignBytes = 16 << 20
)

// New returns an empty design named name.
func New(name, namespace string) *Design {
	return &Design{APIVersion: APIVersion, Kind: Kind, Name: name, Namespace: namespace}
}

// Add appends resources, refusing a second object of the same kind,
// namespace and name.
func (d *Design) Add(rs ...Resource) error {
	seen := make(map[string]string, len(d.Resources))
	for _, r := range d.Resources {
		seen[r.Key()] = r.Source
	}
	for _, r := range rs {
		if len(d.Resources) >= MaxResources {
			return fmt.Errorf("design %s: more than %d resources", d.Name, MaxResources)
		}
		if prev, ok := seen[r.Key()]; ok {
			return fmt.Errorf("%s: %s is already in the design (from %s)", r.Source, r.Ref(), prev)
		}
		seen[r.Key()] = r.Source
		d.Resources = append(d.Resources, r)
	}
	return nil
}

// CheckName says why name cannot be a design's name, or nil.
func CheckName(name string) error {
	if msgs := validation.IsDNS1123Subdomain(name); name == "" || len(msgs) > 0 {
		return fmt.Errorf("name %q: must be a DNS subdomain (lower case letters, digits, '-' and '.')", name)
	}
	return nil
}

// CheckNamespace says why ns cannot be a namespace, or nil ("" is none).
func CheckNamespace(ns string) error {
	if msgs := validation.IsDNS1123Label(ns); ns != "" && len(msgs) > 0 {
		return fmt.Errorf("namespace %q: %s", ns, strings.Join(msgs, "; "))
	}
	return nil
}

// Validate checks the design's own shape (not the cluster's view of it).
func (d *Design) Validate() error {
	var errs []error
	if d.APIVersion != APIVersion || d.Kind != Kind {
		errs = append(errs, fmt.Errorf("design: apiVersion %q kind %q, want %s %s", d.APIVersion, d.Kind, APIVersion, Kind))
	}
	if err := CheckName(d.Name); err != nil {
		errs = append(errs, fmt.Errorf("design: %w", err))
	}
	if err := CheckNamespace(d.Namespace); err != nil {
		errs = append(errs, fmt.Errorf("design %s: %w", d.Name, err))
	}
	if len(d.Resources) > MaxResources {
		errs = append(errs, fmt.Errorf("design %s: %d resources, more than %d", d.Name, len(d.Resources), MaxResources))
	}
	seen := map[string]bool{}
	for i, r := range d.Resources {
		if err := checkObject(r.Object); err != nil {
			errs = append(errs, fmt.Errorf("design %s: resources[%d] (%s): %w", d.Name, i, r.Source, err))
			continue
		}
		if seen[r.Key()] {
			errs = append(errs, fmt.Errorf("design %s: resources[%d]: %s twice", d.Name, i, r.Ref()))
		}
		seen[r.Key()] = true
	}
	return errors.Join(errs...)
}

// Marshal returns the design document as JSON.
func (d *Design) Marshal() ([]byte, error) { return json.Marshal(d) }

// Unmarshal reads a design document (JSON or YAML) and validates it.
func Unmarshal(data []byte) (*Design, error) {
	if len(data) > MaxDesignBytes {
		return nil, fmt.Errorf("design document: %d bytes, more than %d", len(data), MaxDesignBytes)
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("design document: %w", err)
	}
	var d Design
	if err := json.Unmarshal(js, &d); err != nil {
		return nil, fmt.Errorf("design document: %w", err)
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return &d, nil
}

// APIVersion, Kind, Name and Namespace of the object.
func (r Resource) APIVersion() string { return str(r.Object, "apiVersion") }
func (r Resource) Kind() string       { return str(r.Object, "kind") }
func (r Resource) Name() string       { return str(r.Object, "metadata", "name") }
func (r Resource) Namespace() string  { return str(r.Object, "metadata", "namespace") }

// Group is the API group of the object ("" for the core group).
func (r Resource) Group() string {
	g, _, ok := strings.Cut(r.APIVersion(), "/")
	if !ok {
		return ""
	}
	return g
}

// Ref names the object as kubectl does: deployment.apps/web (with its
// namespace when it names one).
func (r Resource) Ref() string {
	k := strings.ToLower(r.Kind())
	if g := r.Group(); g != "" {
		k += "." + g
	}
	if ns := r.Namespace(); ns != "" {
		return k + "/" + ns + "/" + r.Name()
	}
	return k + "/" + r.Name()
}

// Key identifies the object within a design.
func (r Resource) Key() string {
	return r.Group() + "|" + r.Kind() + "|" + r.Namespace() + "|" + r.Name()
}

// Copy returns a deep copy of the resource.
func (r Resource) Copy() Resource {
	return Resource{Source: r.Source, Object: deepCopy(r.Object).(map[string]any)}
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, e := range t {
			l[i] = deepCopy(e)
		}
		return l
	default:
		return v
	}
}

// str returns the string at path in m, or "".
func str(m map[string]any, path ...string) string {
	s, _ := get(m, path...).(string)
	return s
}

// get returns the value at path in m, or nil.
func get(m map[string]any, path ...string) any {
	var v any = m
	for _, k := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// Get returns the value at path in obj, or nil.
func Get(obj map[string]any, path ...string) any { return get(obj, path...) }

// Set sets the value at path in obj, making maps on the way.
func Set(obj map[string]any, v any, path ...string) {
	m := obj
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}
