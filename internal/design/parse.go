package design

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// MaxManifestBytes is the largest manifest file (or rendered chart) read.
const MaxManifestBytes = 16 << 20

// maxDocBytes is the largest single YAML document.
const maxDocBytes = 4 << 20

// ParseManifests reads Kubernetes objects from a multi-document YAML or
// JSON stream; source names it in errors and in each Resource's Source
// ("web.yaml#2"). Lists (kind List, or any *List with items) are unpacked.
// Empty documents are skipped; every object must have apiVersion, kind and
// metadata.name.
func ParseManifests(source string, data []byte) ([]Resource, error) {
	if len(data) > MaxManifestBytes {
		return nil, fmt.Errorf("%s: %d bytes, more than %d", source, len(data), MaxManifestBytes)
	}
	r := utilyaml.NewYAMLReader(bufio.NewReaderSize(bytes.NewReader(data), 64<<10))
	var out []Resource
	for doc := 1; ; doc++ {
		b, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, doc, err)
		}
		if len(b) > maxDocBytes {
			return nil, fmt.Errorf("%s: document %d: %d bytes, more than %d", source, doc, len(b), maxDocBytes)
		}
		if len(bytes.TrimSpace(stripComments(b))) == 0 {
			continue
		}
		js, err := yaml.YAMLToJSON(b)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, doc, err)
		}
		if string(bytes.TrimSpace(js)) == "null" {
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal(js, &obj); err != nil {
			return nil, fmt.Errorf("%s: document %d: not an object: %w", source, doc, err)
		}
		where := fmt.Sprintf("%s#%d", source, doc)
		rs, err := unpack(where, obj)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
		if len(out) > MaxResources {
			return nil, fmt.Errorf("%s: more than %d objects", source, MaxResources)
		}
	}
	return out, nil
}

// unpack returns obj as a resource, or the items of a list.
func unpack(where string, obj map[string]any) ([]Resource, error) {
	kind, _ := obj["kind"].(string)
	if items, ok := obj["items"].([]any); ok && strings.HasSuffix(kind, "List") {
		var out []Resource
		for i, it := range items {
			m, ok := it.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s: items[%d]: not an object", where, i)
			}
			if err := checkObject(m); err != nil {
				return nil, fmt.Errorf("%s: items[%d]: %w", where, i, err)
			}
			out = append(out, Resource{Source: fmt.Sprintf("%s items[%d]", where, i), Object: m})
		}
		return out, nil
	}
	if err := checkObject(obj); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return []Resource{{Source: where, Object: obj}}, nil
}

// checkObject checks what every object needs before a server sees it.
func checkObject(obj map[string]any) error {
	av, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	md, _ := obj["metadata"].(map[string]any)
	name, _ := md["name"].(string)
	var missing []string
	if av == "" {
		missing = append(missing, "apiVersion")
	}
	if kind == "" {
		missing = append(missing, "kind")
	}
	if name == "" {
		missing = append(missing, "metadata.name")
	}
	if len(missing) > 0 {
		what := kind
		if what == "" {
			what = "object"
		}
		return fmt.Errorf("%s %s: %s missing (generateName is not supported: a design's objects are applied by name)", what, name, strings.Join(missing, ", "))
	}
	if ns, ok := md["namespace"]; ok {
		s, _ := ns.(string)
		if msgs := validation.IsDNS1123Label(s); s != "" && len(msgs) > 0 {
			return fmt.Errorf("%s %s: metadata.namespace %q: %s", kind, name, s, strings.Join(msgs, "; "))
		}
	}
	return nil
}

// stripComments drops YAML comment lines, so a document of comments only
// counts as empty.
func stripComments(b []byte) []byte {
	var out bytes.Buffer
	for line := range bytes.Lines(b) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] == '#' {
			continue
		}
		out.Write(line)
	}
	return out.Bytes()
}
