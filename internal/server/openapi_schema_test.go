package server_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/meshperf/meshperf/internal/api"
	"github.com/meshperf/meshperf/internal/api/routes"
	"github.com/meshperf/meshperf/internal/api/schema"
)

// go test ./internal/server -run TestOpenAPISchemas -update writes
// openapi.json's schemas again from the Go types of internal/api (keeping
// their descriptions and enums), and points each route at its types' schemas.
var update = flag.Bool("update", false, "write openapi.json's schemas from internal/api's Go types")

const openAPIFile = "openapi.json"

// goSchemas builds the component schemas of every API body.
func goSchemas(t *testing.T) (*schema.Builder, map[string]schema.Schema) {
	t.Helper()
	b := &schema.Builder{Names: routes.Names, Fixed: map[reflect.Type]schema.Schema{}}
	for k, v := range routes.Fixed {
		b.Fixed[k] = v
	}
	roots := append([]reflect.Type{}, routes.Bodies...)
	for _, o := range routes.Operations {
		for _, rt := range []reflect.Type{o.Request, o.Response} {
			if rt != nil {
				roots = append(roots, rt)
			}
		}
	}
	gen, err := b.Components(roots...)
	if err != nil {
		t.Fatal(err)
	}
	return b, gen
}

func readDoc(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(openAPIFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", openAPIFile, err)
	}
	return doc
}

// checkDoc returns every difference between the document and the Go types:
// schemas field by field, and each route's request and answer schema.
func checkDoc(b *schema.Builder, gen map[string]schema.Schema, doc map[string]any) []string {
	problems := schema.Diff(docSchemas(doc), gen)
	ops := map[string]routes.Operation{}
	for _, o := range routes.Operations {
		ops[strings.ToUpper(o.Method)+" "+o.Path] = o
	}
	paths, _ := doc["paths"].(map[string]any)
	for path, v := range paths {
		for method, v := range v.(map[string]any) {
			key := strings.ToUpper(method) + " " + path
			op := v.(map[string]any)
			o, known := ops[key]
			delete(ops, key)
			reqJSON := jsonSchemas(op["requestBody"])
			respJSON := map[string][]any{}
			responses, _ := op["responses"].(map[string]any)
			for code, r := range responses {
				if s := jsonSchemas(r); len(s) > 0 {
					respJSON[code] = s
				}
			}
			if !known {
				if len(reqJSON) > 0 || len(respJSON) > 0 {
					problems = append(problems, fmt.Sprintf("%s: a JSON body in openapi.json but no Go type in routes.Operations", key))
				}
				continue
			}
			problems = append(problems, checkBody(key+" request", b, o.Request, reqJSON)...)
			code := strconv.Itoa(o.Status)
			if _, ok := responses[code]; !ok {
				problems = append(problems, fmt.Sprintf("%s: no %s response in openapi.json", key, code))
			}
			problems = append(problems, checkBody(key+" response "+code, b, o.Response, respJSON[code])...)
			for c := range respJSON {
				if c != code {
					problems = append(problems, fmt.Sprintf("%s: a JSON response %s in openapi.json, routes.Operations says %s", key, c, code))
				}
			}
		}
	}
	for key := range ops {
		problems = append(problems, fmt.Sprintf("%s: in routes.Operations, not in openapi.json", key))
	}
	return problems
}

// jsonSchemas are the schemas of a request body's or response's JSON and
// YAML content.
func jsonSchemas(v any) []any {
	m, _ := v.(map[string]any)
	content, _ := m["content"].(map[string]any)
	var out []any
	for _, ct := range []string{"application/json", "application/yaml"} {
		if c, ok := content[ct].(map[string]any); ok {
			out = append(out, c["schema"])
		}
	}
	return out
}

func checkBody(what string, b *schema.Builder, t reflect.Type, schemas []any) []string {
	if t == nil {
		if len(schemas) > 0 {
			return []string{what + ": a JSON body in openapi.json, none in routes.Operations"}
		}
		return nil
	}
	want := schema.RefPrefix + b.Name(t)
	if len(schemas) == 0 {
		return []string{fmt.Sprintf("%s: no JSON body in openapi.json, Go has %s", what, want)}
	}
	var out []string
	for _, s := range schemas {
		m, _ := s.(map[string]any)
		if got, _ := m["$ref"].(string); got != want {
			out = append(out, fmt.Sprintf("%s: openapi.json's schema is %v, want {$ref: %s}", what, s, want))
		}
	}
	return out
}

func docSchemas(doc map[string]any) map[string]schema.Schema {
	comps, _ := doc["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)
	out := map[string]schema.Schema{}
	for k, v := range schemas {
		s, _ := v.(map[string]any)
		out[k] = s
	}
	return out
}

func TestOpenAPISchemas(t *testing.T) {
	b, gen := goSchemas(t)
	doc := readDoc(t)
	if *update {
		writeDoc(t, b, gen, doc)
		doc = readDoc(t)
	}
	for _, p := range checkDoc(b, gen, doc) {
		t.Error(p)
	}
	if t.Failed() {
		t.Log("go test ./internal/server -run TestOpenAPISchemas -update writes openapi.json from the Go types; then cd web && npm run gen:api")
	}
}

// TestOpenAPISchemasDisagree shows the check fails, naming the field, when
// the document and the Go types disagree in either direction.
func TestOpenAPISchemasDisagree(t *testing.T) {
	b, gen := goSchemas(t)
	tests := []struct {
		name   string
		mutate func(doc map[string]any)
		want   []string
	}{
		{"renamed field", func(doc map[string]any) {
			props := docSchemas(doc)["ProfileView"]["properties"].(map[string]any)
			props["owner"] = props["owner_id"]
			delete(props, "owner_id")
		}, []string{"ProfileView.owner_id: a field in Go, missing from openapi.json", "ProfileView.owner: a field in openapi.json, not in Go"}},
		{"extra field", func(doc map[string]any) {
			props := docSchemas(doc)["ProgressEvent"]["properties"].(map[string]any)
			props["p95_ms"] = map[string]any{"type": "number"}
		}, []string{"ProgressEvent.p95_ms: a field in openapi.json, not in Go"}},
		{"other type", func(doc map[string]any) {
			props := docSchemas(doc)["Achieved"]["properties"].(map[string]any)
			props["requests"] = map[string]any{"type": "string"}
		}, []string{"Achieved.requests: openapi.json has string, Go has integer"}},
		{"nested array item", func(doc map[string]any) {
			props := docSchemas(doc)["AgentList"]["properties"].(map[string]any)
			props["agents"].(map[string]any)["items"] = map[string]any{"$ref": schema.RefPrefix + "Run"}
		}, []string{"AgentList.agents[]: openapi.json has Run, Go has AgentView"}},
		{"no longer required", func(doc map[string]any) {
			s := docSchemas(doc)["TokenResponse"]
			s["required"] = []any{"access_token", "refresh_token", "token_type"}
		}, []string{"TokenResponse.expires_in: always written by Go (no omitempty), not required in openapi.json"}},
		{"route answers another type", func(doc map[string]any) {
			op := doc["paths"].(map[string]any)["/api/v1/runs/{id}"].(map[string]any)["get"].(map[string]any)
			content := op["responses"].(map[string]any)["200"].(map[string]any)["content"].(map[string]any)
			content["application/json"] = map[string]any{"schema": map[string]any{"$ref": schema.RefPrefix + "ResultPage"}}
		}, []string{"GET /api/v1/runs/{id} response 200: openapi.json's schema is map[$ref:#/components/schemas/ResultPage], want {$ref: #/components/schemas/Run}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := readDoc(t)
			if got := checkDoc(b, gen, doc); len(got) != 0 {
				t.Fatalf("the document disagrees before the change: %v", got)
			}
			tt.mutate(doc)
			got := checkDoc(b, gen, doc)
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

// writeDoc replaces the document's schemas with gen (keeping their
// annotations) and points each route of routes.Operations at its types.
func writeDoc(t *testing.T, b *schema.Builder, gen map[string]schema.Schema, doc map[string]any) {
	t.Helper()
	merged := schema.Merge(docSchemas(doc), gen)
	schemas := map[string]any{}
	for k, v := range merged {
		schemas[k] = v
	}
	doc["components"].(map[string]any)["schemas"] = schemas
	paths := doc["paths"].(map[string]any)
	for _, o := range routes.Operations {
		op, ok := paths[o.Path].(map[string]any)[strings.ToLower(o.Method)].(map[string]any)
		if !ok {
			continue // reported by checkDoc
		}
		if o.Request != nil {
			rb, _ := op["requestBody"].(map[string]any)
			if rb == nil {
				rb = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{}}}
				op["requestBody"] = rb
			}
			setRefs(rb, b.Name(o.Request))
		}
		if o.Response != nil {
			responses := op["responses"].(map[string]any)
			code := strconv.Itoa(o.Status)
			r, _ := responses[code].(map[string]any)
			if r == nil {
				r = map[string]any{"description": "OK"}
				responses[code] = r
			}
			if r["content"] == nil {
				r["content"] = map[string]any{"application/json": map[string]any{}}
			}
			setRefs(r, b.Name(o.Response))
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(openAPIFile, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// setRefs points the JSON and YAML content of a body at a component,
// keeping the description the document gave the old schema.
func setRefs(body map[string]any, name string) {
	content := body["content"].(map[string]any)
	for _, ct := range []string{"application/json", "application/yaml"} {
		c, ok := content[ct].(map[string]any)
		if !ok {
			continue
		}
		s := map[string]any{"$ref": schema.RefPrefix + name}
		if old, ok := c["schema"].(map[string]any); ok && old["description"] != nil {
			s["description"] = old["description"]
		}
		c["schema"] = s
	}
}

// TestServedBodiesAreTheirTypes asks a server for what each route answers
// and reads it as the type routes.Operations names: no field the type does
// not have, and every field its schema requires. So the types checked
// against openapi.json are the ones the handlers write.
func TestServedBodiesAreTheirTypes(t *testing.T) {
	b, gen := goSchemas(t)
	srv, _ := newServer(t)
	ops := map[string]routes.Operation{}
	for _, o := range routes.Operations {
		ops[o.Method+" "+o.Path] = o
	}
	check := func(route, url, ctype, body string) []byte {
		t.Helper()
		o, ok := ops[route]
		if !ok {
			t.Fatalf("%s: not in routes.Operations", route)
		}
		method, _, _ := strings.Cut(route, " ")
		code, got := do(t, method, srv.URL+url, ctype, body)
		if code != o.Status {
			t.Fatalf("%s %s: %d %s, want %d", method, url, code, got, o.Status)
		}
		readAs(t, route, got, o.Response, gen[b.Name(o.Response)])
		return got
	}
	check("POST /api/v1/profiles", "/api/v1/profiles", "application/yaml", profileYAML)
	check("PUT /api/v1/profiles/{ref}", "/api/v1/profiles/checkout", "application/yaml", strings.Replace(profileYAML, "rps: 100", "rps: 200", 1))
	check("GET /api/v1/profiles/{ref}", "/api/v1/profiles/checkout", "", "")
	check("GET /api/v1/profiles", "/api/v1/profiles", "", "")
	check("GET /api/v1/profiles/{ref}/revisions", "/api/v1/profiles/checkout/revisions", "", "")
	sc := check("POST /api/v1/schedules", "/api/v1/schedules", "application/json", `{"profile": "checkout", "spec": "@daily", "timezone": "Europe/Berlin"}`)
	var created struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(sc, &created); err != nil || created.ID == "" {
		t.Fatalf("schedule created: %s", sc)
	}
	check("GET /api/v1/schedules/{id}", "/api/v1/schedules/"+created.ID, "", "")
	check("PUT /api/v1/schedules/{id}", "/api/v1/schedules/"+created.ID, "application/json", `{"spec": "@hourly", "enabled": false}`)
	check("GET /api/v1/schedules", "/api/v1/schedules", "", "")
	check("GET /api/v1/info", "/api/v1/info", "", "")
	check("GET /api/v1/results", "/api/v1/results", "", "")
	check("GET /api/v1/runs", "/api/v1/runs", "", "")
	check("GET /api/v1/experiments", "/api/v1/experiments", "", "")

	// Every error, whatever the route, is an ErrorBody.
	code, got := do(t, "POST", srv.URL+"/api/v1/profiles", "application/json", `{"name": "x", "clients": [{"rps": -1}]}`)
	if code/100 != 4 {
		t.Fatalf("invalid profile: %d %s", code, got)
	}
	errType := reflect.TypeFor[api.ErrorBody]()
	readAs(t, "an error", got, errType, gen[b.Name(errType)])
}

// readAs decodes body as a value of type typ, refusing fields typ does not
// have, and checks it has every field the schema requires.
func readAs(t *testing.T, what string, body []byte, typ reflect.Type, s schema.Schema) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(reflect.New(typ).Interface()); err != nil {
		t.Errorf("%s: the answer is not a %s: %v\n%s", what, typ, err, body)
	}
	var fields map[string]any
	if err := json.Unmarshal(body, &fields); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	req, _ := s["required"].([]any)
	for _, k := range req {
		if _, ok := fields[k.(string)]; !ok {
			t.Errorf("%s: the answer has no %q, which %s always has\n%s", what, k, typ, body)
		}
	}
}
