// Package schema derives OpenAPI 3.1 component schemas from Go types, as
// encoding/json writes them, and compares them with an OpenAPI document's
// field by field. The API's openapi.json is kept equal to the Go types of
// internal/api through it: a field renamed, added, removed or retyped in Go
// fails a test that names the field, and the same test with -update writes
// the document's schemas again.
//
// Every named struct type becomes a component named after the type (or as
// Names says); other types are written inline. A field is required when
// encoding/json always writes it: its tag has neither omitzero nor
// omitempty (which leaves out no struct). A pointer to a number, string or
// bool without them may be null, and its type says so; a nil struct
// pointer, slice or map is written as null too, but the API sets those it
// always writes, so their schemas do not say null.
// Annotations a person writes in the document (description, enum, examples)
// are kept by Merge and ignored by Diff.
package schema

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"
)

// Schema is a JSON Schema object as decoded from JSON.
type Schema = map[string]any

// RefPrefix is where component schemas live in an OpenAPI document.
const RefPrefix = "#/components/schemas/"

// annotations are the keys a person may add to a schema in the document;
// they carry no shape, so Diff ignores them and Merge keeps them.
var annotations = []string{"description", "enum", "examples", "example", "title", "default", "deprecated"}

// Builder turns Go types into component schemas.
type Builder struct {
	// Names gives a component a name other than its Go type's.
	Names map[reflect.Type]string
	// Fixed is the schema of a type that writes itself (a json.Marshaler
	// or encoding.TextMarshaler). Such a type missing here is an error:
	// its JSON cannot be read off its fields.
	Fixed map[reflect.Type]Schema

	components map[string]Schema
	owner      map[string]reflect.Type
	errs       []string
}

var timeType = reflect.TypeFor[time.Time]()
var rawType = reflect.TypeFor[json.RawMessage]()
var jsonMarshaler = reflect.TypeFor[json.Marshaler]()
var textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()

// Components returns the component schemas of roots and of every named
// struct type they reach, by component name.
func (b *Builder) Components(roots ...reflect.Type) (map[string]Schema, error) {
	b.components = map[string]Schema{}
	b.owner = map[string]reflect.Type{}
	b.errs = nil
	for _, t := range roots {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if !isComponent(t) {
			b.errs = append(b.errs, fmt.Sprintf("%s: a root must be a named struct type", t))
			continue
		}
		b.of(t)
	}
	if len(b.errs) > 0 {
		return nil, fmt.Errorf("schemas from Go types:\n  %s", strings.Join(b.errs, "\n  "))
	}
	return b.components, nil
}

// Name is the component name of a named struct type.
func (b *Builder) Name(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n, ok := b.Names[t]; ok {
		return n
	}
	return t.Name()
}

func isComponent(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && t.Name() != "" && t != timeType
}

// of is the schema of a value of type t: a $ref for a named struct, whose
// component it adds, or the schema itself.
func (b *Builder) of(t reflect.Type) Schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s, ok := b.Fixed[t]; ok {
		return clone(s)
	}
	switch {
	case t == timeType:
		return Schema{"type": "string", "format": "date-time"}
	case t == rawType:
		return Schema{}
	case t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler) ||
		t.Implements(textMarshaler) || reflect.PointerTo(t).Implements(textMarshaler):
		b.errs = append(b.errs, fmt.Sprintf("%s writes its own JSON: give its schema in Builder.Fixed", t))
		return Schema{}
	}
	switch t.Kind() {
	case reflect.Bool:
		return Schema{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return Schema{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return Schema{"type": "number"}
	case reflect.String:
		return Schema{"type": "string"}
	case reflect.Interface:
		return Schema{}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return Schema{"type": "string", "contentEncoding": "base64"}
		}
		return Schema{"type": "array", "items": b.of(t.Elem())}
	case reflect.Map:
		return Schema{"type": "object", "additionalProperties": b.of(t.Elem())}
	case reflect.Struct:
		if t.Name() == "" {
			return b.object(t)
		}
		name := b.Name(t)
		if prev, ok := b.owner[name]; ok {
			if prev != t {
				b.errs = append(b.errs, fmt.Sprintf("component %s: both %s and %s; name one in Builder.Names", name, prev, t))
			}
		} else {
			b.owner[name] = t
			b.components[name] = nil // taken before its fields, for recursive types
			b.components[name] = b.object(t)
		}
		return Schema{"$ref": RefPrefix + name}
	}
	b.errs = append(b.errs, fmt.Sprintf("%s: no JSON schema for kind %s", t, t.Kind()))
	return Schema{}
}

// object is the schema of a struct's fields, as encoding/json writes them
// (embedded structs without a name in their tag are flattened).
func (b *Builder) object(t reflect.Type) Schema {
	props := Schema{}
	var required []string
	b.fields(t, props, &required)
	s := Schema{"type": "object", "properties": props}
	if len(required) > 0 {
		sort.Strings(required)
		req := make([]any, len(required))
		for i, r := range required {
			req[i] = r
		}
		s["required"] = req
	}
	return s
}

func (b *Builder) fields(t reflect.Type, props Schema, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			b.fields(ft, props, required)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		s := b.of(f.Type)
		if strings.Contains(","+opts+",", ",string,") {
			s = Schema{"type": "string"}
		}
		if f.Type.Kind() == reflect.Pointer && !omitted(f.Type, opts) {
			if t, ok := s["type"].(string); ok && t != "object" && t != "array" {
				s["type"] = []any{t, "null"} // a nil *float64 is written as null
			}
		}
		props[name] = s
		if !omitted(f.Type, opts) {
			*required = append(*required, name)
		}
	}
}

// omitted reports whether encoding/json may leave out a field of type t
// with tag options opts: omitzero always can, omitempty for every kind but
// a struct (which is never empty).
func omitted(t reflect.Type, opts string) bool {
	o := strings.Split(opts, ",")
	return slices.Contains(o, "omitzero") || (slices.Contains(o, "omitempty") && t.Kind() != reflect.Struct)
}

func clone(s Schema) Schema {
	b, _ := json.Marshal(s)
	var out Schema
	_ = json.Unmarshal(b, &out)
	return out
}

// Diff compares the document's component schemas (doc) with those built
// from Go (gen) and returns one line per difference, each naming the
// component and field: a field missing on one side, of another type, or
// required on one side only. Annotations are not compared.
func Diff(doc, gen map[string]Schema) []string {
	var out []string
	for _, name := range sortedKeys(gen) {
		d, ok := doc[name]
		if !ok {
			out = append(out, fmt.Sprintf("%s: a Go type of the API with no schema in openapi.json", name))
			continue
		}
		out = append(out, diff(name, d, gen[name])...)
	}
	for _, name := range sortedKeys(doc) {
		if _, ok := gen[name]; !ok {
			out = append(out, fmt.Sprintf("%s: a schema in openapi.json with no Go type of the API", name))
		}
	}
	return out
}

func diff(path string, doc, gen Schema) []string {
	var out []string
	if g, d := str(gen["$ref"]), str(doc["$ref"]); g != d {
		return []string{fmt.Sprintf("%s: openapi.json has %s, Go has %s", path, describe(doc), describe(gen))}
	}
	for _, k := range []string{"type", "format", "contentEncoding"} {
		if typeStr(gen[k]) != typeStr(doc[k]) {
			out = append(out, fmt.Sprintf("%s: openapi.json has %s, Go has %s", path, describe(doc), describe(gen)))
			return out
		}
	}
	if gi, ok := gen["items"].(Schema); ok {
		di, _ := doc["items"].(Schema)
		out = append(out, diff(path+"[]", di, gi)...)
	} else if doc["items"] != nil {
		out = append(out, fmt.Sprintf("%s: openapi.json has items, Go has none", path))
	}
	if ga, ok := gen["additionalProperties"].(Schema); ok {
		da, _ := doc["additionalProperties"].(Schema)
		out = append(out, diff(path+"{}", da, ga)...)
	} else if doc["additionalProperties"] != nil {
		out = append(out, fmt.Sprintf("%s: openapi.json has additionalProperties, Go has none", path))
	}
	gp, _ := gen["properties"].(Schema)
	dp, _ := doc["properties"].(Schema)
	for _, k := range sortedKeys(gp) {
		dv, ok := dp[k].(Schema)
		if !ok {
			out = append(out, fmt.Sprintf("%s.%s: a field in Go, missing from openapi.json", path, k))
			continue
		}
		out = append(out, diff(path+"."+k, dv, gp[k].(Schema))...)
	}
	for _, k := range sortedKeys(dp) {
		if _, ok := gp[k]; !ok {
			out = append(out, fmt.Sprintf("%s.%s: a field in openapi.json, not in Go", path, k))
		}
	}
	greq, dreq := strs(gen["required"]), strs(doc["required"])
	// A field missing on one side is reported above, not again here.
	for _, k := range greq {
		if _, ok := dp[k]; ok && !slices.Contains(dreq, k) {
			out = append(out, fmt.Sprintf("%s.%s: always written by Go (no omitempty), not required in openapi.json", path, k))
		}
	}
	for _, k := range dreq {
		if _, ok := gp[k]; ok && !slices.Contains(greq, k) {
			out = append(out, fmt.Sprintf("%s.%s: required in openapi.json, omitted when empty by Go", path, k))
		}
	}
	return out
}

// Merge returns gen with the annotations of doc kept where the same
// schema, field, item or value is still there.
func Merge(doc, gen map[string]Schema) map[string]Schema {
	out := map[string]Schema{}
	for name, g := range gen {
		out[name] = merge(doc[name], g)
	}
	return out
}

func merge(doc, gen Schema) Schema {
	out := clone(gen)
	if doc == nil {
		return out
	}
	for _, k := range annotations {
		if v, ok := doc[k]; ok {
			out[k] = v
		}
	}
	if gi, ok := out["items"].(Schema); ok {
		di, _ := doc["items"].(Schema)
		out["items"] = merge(di, gi)
	}
	if ga, ok := out["additionalProperties"].(Schema); ok {
		da, _ := doc["additionalProperties"].(Schema)
		out["additionalProperties"] = merge(da, ga)
	}
	if gp, ok := out["properties"].(Schema); ok {
		dp, _ := doc["properties"].(Schema)
		for k, v := range gp {
			dv, _ := dp[k].(Schema)
			gp[k] = merge(dv, v.(Schema))
		}
	}
	return out
}

func describe(s Schema) string {
	if r := str(s["$ref"]); r != "" {
		return strings.TrimPrefix(r, RefPrefix)
	}
	t := typeStr(s["type"])
	if t == "" {
		return "any type"
	}
	if f := str(s["format"]); f != "" {
		t += " (" + f + ")"
	}
	if e := str(s["contentEncoding"]); e != "" {
		t += " (" + e + ")"
	}
	return t
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// typeStr is a schema's type, a name or a list of names ("number or null").
func typeStr(v any) string {
	if a, ok := v.([]any); ok {
		return strings.Join(strs(a), " or ")
	}
	return str(v)
}

func strs(v any) []string {
	a, _ := v.([]any)
	out := make([]string, 0, len(a))
	for _, x := range a {
		out = append(out, str(x))
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
