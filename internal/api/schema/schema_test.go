package schema_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/api/schema"
)

type inner struct {
	N int `json:"n"`
}

type Base struct {
	ID string `json:"id"`
}

type Node struct {
	*Base
	Name     string            `json:"name"`
	Skip     string            `json:"-"`
	Count    int64             `json:"count,omitempty"`
	Ratio    float64           `json:"ratio"`
	On       bool              `json:"on,omitzero"`
	At       time.Time         `json:"at,omitempty"` // omitempty leaves no struct out
	Raw      json.RawMessage   `json:"raw,omitempty"`
	Bytes    []byte            `json:"bytes"`
	Tags     map[string]string `json:"tags"`
	Children []*Node           `json:"children"`
	Inline   struct{ A bool }  `json:"inline"`
	Quoted   int               `json:"quoted,string"`
	NoTag    uint8
	hidden   int      //nolint:unused // unexported fields are not written
	Named    inner    `json:"named"`
	Maybe    *float64 `json:"maybe"`
	Perhaps  *float64 `json:"perhaps,omitempty"`
	Parent   *Node    `json:"parent"`
}

type selfWriting struct{}

func (selfWriting) MarshalJSON() ([]byte, error) { return []byte(`"x"`), nil }

type withSelfWriting struct {
	S selfWriting `json:"s"`
}

func build(t *testing.T, b *schema.Builder, roots ...reflect.Type) map[string]schema.Schema {
	t.Helper()
	got, err := b.Components(roots...)
	if err != nil {
		t.Fatal(err)
	}
	// As the document holds them: decoded JSON.
	data, _ := json.Marshal(got)
	var out map[string]schema.Schema
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestComponents(t *testing.T) {
	got := build(t, &schema.Builder{Names: map[reflect.Type]string{reflect.TypeFor[inner](): "Inner"}}, reflect.TypeFor[Node]())
	want := `{
 "Inner": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
 "Node": {"type": "object", "properties": {
  "id": {"type": "string"},
  "name": {"type": "string"},
  "count": {"type": "integer"},
  "ratio": {"type": "number"},
  "on": {"type": "boolean"},
  "at": {"type": "string", "format": "date-time"},
  "raw": {},
  "bytes": {"type": "string", "contentEncoding": "base64"},
  "tags": {"type": "object", "additionalProperties": {"type": "string"}},
  "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
  "inline": {"type": "object", "properties": {"A": {"type": "boolean"}}, "required": ["A"]},
  "quoted": {"type": "string"},
  "NoTag": {"type": "integer"},
  "named": {"$ref": "#/components/schemas/Inner"},
  "maybe": {"type": ["number", "null"]},
  "perhaps": {"type": "number"},
  "parent": {"$ref": "#/components/schemas/Node"}
 }, "required": ["NoTag", "at", "bytes", "children", "id", "inline", "maybe", "name", "named", "parent", "quoted", "ratio", "tags"]}
}`
	var w map[string]schema.Schema
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, w) {
		g, _ := json.MarshalIndent(got, "", " ")
		t.Errorf("got:\n%s\nwant:\n%s", g, want)
	}
}

func TestComponentsErrors(t *testing.T) {
	type Inner struct{}
	type Two struct {
		A inner `json:"a"`
		B Inner `json:"b"`
	}
	tests := []struct {
		name  string
		b     *schema.Builder
		root  reflect.Type
		want  string
		fixed bool
	}{
		{"writes its own JSON", &schema.Builder{}, reflect.TypeFor[withSelfWriting](), "schema_test.selfWriting writes its own JSON", false},
		{"fixed", &schema.Builder{Fixed: map[reflect.Type]schema.Schema{reflect.TypeFor[selfWriting](): {"type": "string"}}}, reflect.TypeFor[withSelfWriting](), "", true},
		{"two types, one name", &schema.Builder{Names: map[reflect.Type]string{reflect.TypeFor[inner](): "Inner"}}, reflect.TypeFor[Two](), "component Inner: both", false},
		{"root not a struct", &schema.Builder{}, reflect.TypeFor[[]Node](), "a root must be a named struct type", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.b.Components(tt.root)
			if tt.fixed {
				if err != nil {
					t.Fatal(err)
				}
				s := got["withSelfWriting"]["properties"].(schema.Schema)["s"]
				if !reflect.DeepEqual(s, schema.Schema{"type": "string"}) {
					t.Errorf("s: %v", s)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func TestDiffAndMerge(t *testing.T) {
	gen := build(t, &schema.Builder{Names: map[reflect.Type]string{reflect.TypeFor[inner](): "Inner"}}, reflect.TypeFor[Node]())
	doc := build(t, &schema.Builder{Names: map[reflect.Type]string{reflect.TypeFor[inner](): "Inner"}}, reflect.TypeFor[Node]())
	if d := schema.Diff(doc, gen); len(d) != 0 {
		t.Fatalf("same types differ: %v", d)
	}
	// Annotations are a person's to write: not compared, and kept by Merge.
	props := doc["Node"]["properties"].(schema.Schema)
	props["name"].(schema.Schema)["description"] = "what it is called"
	props["tags"].(schema.Schema)["additionalProperties"].(schema.Schema)["enum"] = []any{"a", "b"}
	if d := schema.Diff(doc, gen); len(d) != 0 {
		t.Fatalf("annotations compared: %v", d)
	}
	merged := schema.Merge(doc, gen)
	if !reflect.DeepEqual(merged, doc) {
		t.Errorf("merge lost the annotations:\n%v\nwant\n%v", merged, doc)
	}

	props["count"] = schema.Schema{"type": "number"}
	props["maybe"] = schema.Schema{"type": "number"}
	delete(props, "ratio")
	props["extra"] = schema.Schema{"type": "string"}
	props["children"].(schema.Schema)["items"] = schema.Schema{"$ref": schema.RefPrefix + "Inner"}
	doc["Inner"]["required"] = []any{}
	doc["Node"]["required"] = append(doc["Node"]["required"].([]any), "count")
	doc["Old"] = schema.Schema{"type": "object"}
	want := []string{
		"Inner.n: always written by Go (no omitempty), not required in openapi.json",
		"Node.children[]: openapi.json has Inner, Go has Node",
		"Node.count: openapi.json has number, Go has integer",
		"Node.maybe: openapi.json has number, Go has number or null",
		"Node.ratio: a field in Go, missing from openapi.json",
		"Node.extra: a field in openapi.json, not in Go",
		"Node.count: required in openapi.json, omitted when empty by Go",
		"Old: a schema in openapi.json with no Go type of the API",
	}
	got := schema.Diff(doc, gen)
	if !slices.Equal(got, want) {
		t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
