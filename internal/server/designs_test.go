package server_test

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/meshperf/meshperf/internal/api"
	"github.com/meshperf/meshperf/internal/design"
	"github.com/meshperf/meshperf/internal/design/helmchart"
	"github.com/meshperf/meshperf/store"
)

// shopCompose is three services, one of them naming a file on the
// server (which must not be read) and an env_file.
const shopCompose = `services:
  front:
    image: ghcr.io/meshperf/meshperf:e2e
    ports: ["80:8080"]
    environment: {UPSTREAM: "http://api:9090"}
  api:
    image: ghcr.io/meshperf/meshperf:e2e
    expose: ["9090"]
    env_file: /etc/passwd
    configs: [leak, conf]
  cache:
    image: redis:7
    ports: ["6379"]
configs:
  leak: {file: /etc/hostname}
  conf: {content: "delay=1ms"}
`

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func designOf(t *testing.T, body []byte) api.DesignView {
	t.Helper()
	var v api.DesignView
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("design view: %v: %s", err, body)
	}
	return v
}

func refsOf(d *design.Design) []string {
	var out []string
	for _, r := range d.Resources {
		out = append(out, r.Ref())
	}
	slices.Sort(out)
	return out
}

// TestDesignsAPI: a Compose file imported inline (nothing else read),
// its graph, a revision from manifests with optimistic concurrency, past
// revisions, the YAML, pages, a packaged chart, and deletion.
func TestDesignsAPI(t *testing.T) {
	srv, _ := newServer(t)
	base := srv.URL + "/api/v1/designs"

	code, body := do(t, "POST", base, "application/json", `{"name": "shop", "namespace": "shop", "labels": {"team": "perf"},
		"compose": {"file": `+jsonString(shopCompose)+`}}`)
	if code != 201 {
		t.Fatalf("create from Compose: %d %s", code, body)
	}
	v := designOf(t, body)
	want := []string{"configmap/conf", "deployment.apps/api", "deployment.apps/cache", "deployment.apps/front",
		"service/api", "service/cache", "service/front"}
	if got := refsOf(v.Design); v.Revision != 1 || !slices.Equal(got, want) {
		t.Fatalf("revision %d resources %q, want 1 and %q", v.Revision, got, want)
	}
	host, _ := os.ReadFile("/etc/hostname")
	if h := strings.TrimSpace(string(host)); h != "" && strings.Contains(string(body), h) || strings.Contains(string(body), "root:x:0") {
		t.Errorf("the answer holds a server file's content: %s", body)
	}
	var notRead []string
	for _, n := range v.Design.Report {
		if strings.Contains(n.Reason, "not read") {
			notRead = append(notRead, n.Source+" "+n.Field)
		}
	}
	if len(notRead) != 2 {
		t.Errorf("report names %q as not read, want the env_file and the config file: %v", notRead, v.Design.Report)
	}
	wantEdges := []design.Edge{
		{From: "service/api", To: "deployment.apps/api", Why: "selects its pods"},
		{From: "deployment.apps/api", To: "configmap/conf", Why: "mounts"},
	}
	for _, e := range wantEdges {
		if !slices.ContainsFunc(v.Graph.Edges, func(g design.Edge) bool { return g.From == e.From && g.To == e.To }) {
			t.Errorf("graph edges %v lack %s -> %s", v.Graph.Edges, e.From, e.To)
		}
	}
	if len(v.Graph.Nodes) != len(want) {
		t.Errorf("graph nodes %q, want the %d resources", v.Graph.Nodes, len(want))
	}

	if code, body := do(t, "POST", base, "application/json", `{"name": "shop", "manifests": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"}`); code != 409 {
		t.Errorf("create again: %d %s, want 409", code, body)
	}
	// The next revision: the document as GET answered it, plus manifests.
	doc, _ := json.Marshal(v.Design)
	extra := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {a: b}\n"
	code, body = do(t, "PUT", base+"/shop", "application/json", `{"revision": 1, "namespace": "shop", "document": `+string(doc)+`, "manifests": `+jsonString(extra)+`}`)
	if code != 200 {
		t.Fatalf("PUT revision 2: %d %s", code, body)
	}
	if v2 := designOf(t, body); v2.Revision != 2 || len(v2.Design.Resources) != len(want)+1 || len(v2.Labels) != 0 {
		t.Errorf("revision %d with %d resources, labels %v; want 2, %d, none", v2.Revision, len(v2.Design.Resources), v2.Labels, len(want)+1)
	}
	if code, body := do(t, "PUT", base+"/shop", "application/json", `{"revision": 1, "manifests": `+jsonString(extra)+`}`); code != 409 {
		t.Errorf("PUT following revision 1 again: %d %s, want 409", code, body)
	}
	if code, body := do(t, "GET", base+"/shop?revision=1", "", ""); code != 200 || len(designOf(t, body).Design.Resources) != len(want) {
		t.Errorf("GET revision 1: %d %s", code, body)
	}
	code, body = do(t, "GET", base+"/shop/revisions", "", "")
	var revs api.DesignRevisions
	if err := json.Unmarshal(body, &revs); code != 200 || err != nil || len(revs.Revisions) != 2 || revs.Revisions[0].Labels["team"] != "perf" {
		t.Errorf("revisions: %d %s", code, body)
	}
	code, body = do(t, "GET", base+"/shop/manifests", "", "")
	if code != 200 || strings.Count(string(body), "\n---\n") != len(want) || !strings.Contains(string(body), "name: extra") {
		t.Errorf("manifests: %d %s", code, body)
	}

	// A packaged chart, with values; and one that does not render.
	tgz, err := helmchart.Package("../design/helmchart/testdata/echo", "echo")
	if err != nil {
		t.Fatal(err)
	}
	archive, _ := json.Marshal(tgz)
	code, body = do(t, "POST", base, "application/json", `{"name": "echo", "namespace": "demo", "chart": {"archive": `+string(archive)+`,
		"filename": "echo-0.3.1.tgz", "release": "r1", "values": {"replicas": 3}, "repo": "https://charts.example/echo"}}`)
	if code != 201 {
		t.Fatalf("create from a chart: %d %s", code, body)
	}
	ev := designOf(t, body)
	if len(ev.Design.Resources) != 4 || len(ev.Design.Charts) != 1 || ev.Design.Charts[0].Chart != "echo" || ev.Design.Charts[0].From != "echo-0.3.1.tgz" {
		t.Errorf("chart design: %d resources, charts %+v", len(ev.Design.Resources), ev.Design.Charts)
	}
	broken, err := helmchart.Package("../design/helmchart/testdata/broken", "broken")
	if err != nil {
		t.Fatal(err)
	}
	archive, _ = json.Marshal(broken)
	code, body = do(t, "POST", base, "application/json", `{"name": "broken", "chart": {"archive": `+string(archive)+`}}`)
	if e := apiErr(t, body); code != 422 || e.Error.Field != "chart" || !strings.Contains(e.Error.Message, "mustSet is required") {
		t.Errorf("a chart that does not render: %d %s", code, body)
	}

	// Pages by name.
	code, body = do(t, "GET", base+"?limit=1", "", "")
	var page api.DesignList
	if err := json.Unmarshal(body, &page); code != 200 || err != nil || len(page.Designs) != 1 || page.Designs[0].Name != "echo" || page.NextCursor == "" {
		t.Fatalf("page 1: %d %s", code, body)
	}
	code, body = do(t, "GET", base+"?limit=1&cursor="+page.NextCursor, "", "")
	page = api.DesignList{}
	if err := json.Unmarshal(body, &page); code != 200 || err != nil || len(page.Designs) != 1 || page.Designs[0].Name != "shop" || page.NextCursor != "" {
		t.Errorf("page 2: %d %s", code, body)
	}
	if code, body := do(t, "GET", base+"?label=team=perf", "", ""); code != 200 || strings.Contains(string(body), `"echo"`) || strings.Contains(string(body), `"shop"`) {
		t.Errorf("by label (shop's latest revision has none): %d %s", code, body)
	}

	if code, body := do(t, "DELETE", base+"/shop", "", ""); code != 204 {
		t.Errorf("delete: %d %s", code, body)
	}
	if code, _ := do(t, "GET", base+"/shop", "", ""); code != 404 {
		t.Errorf("after delete: %d", code)
	}
	if code, _ := do(t, "GET", base+"/shop/revisions", "", ""); code != 404 {
		t.Errorf("revisions after delete: %d", code)
	}
}

func apiErr(t *testing.T, body []byte) apiError {
	t.Helper()
	var e apiError
	_ = json.Unmarshal(body, &e)
	return e
}

// TestDesignsAPIBadInput: each bad request is refused naming its field,
// before anything is stored.
func TestDesignsAPIBadInput(t *testing.T) {
	srv, st := newServer(t) // --max-body 64 KiB
	base := srv.URL + "/api/v1/designs"
	cm := jsonString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
	manyLabels := map[string]string{}
	for i := range 65 {
		manyLabels[strings.Repeat("k", i+1)] = "v"
	}
	labels, _ := json.Marshal(manyLabels)
	for _, tc := range []struct {
		name, body string
		code       int
		field      string
	}{
		{"name not a DNS name", `{"name": "Shop!", "manifests": ` + cm + `}`, 422, "name"},
		{"no name", `{"manifests": ` + cm + `}`, 422, "name"},
		{"bad namespace", `{"name": "a", "namespace": "a_b", "manifests": ` + cm + `}`, 422, "namespace"},
		{"no source", `{"name": "a"}`, 422, "document"},
		{"too many labels", `{"name": "a", "labels": ` + string(labels) + `, "manifests": ` + cm + `}`, 422, "labels"},
		{"private in single-user mode", `{"name": "a", "private": true, "manifests": ` + cm + `}`, 422, "private"},
		{"revision on create", `{"name": "a", "revision": 3, "manifests": ` + cm + `}`, 422, "revision"},
		{"manifest without a kind", `{"name": "a", "manifests": ` + jsonString("apiVersion: v1\nmetadata: {name: c}\n") + `}`, 422, "manifests"},
		{"manifests that are not YAML", `{"name": "a", "manifests": ` + jsonString("a: [\n") + `}`, 422, "manifests"},
		{"the same object twice", `{"name": "a", "manifests": ` + jsonString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n") + `}`, 422, "manifests"},
		{"compose that is not Compose", `{"name": "a", "compose": {"file": "services: 3"}}`, 422, "compose.file"},
		{"empty compose", `{"name": "a", "compose": {"file": " "}}`, 422, "compose.file"},
		{"archive not a chart", `{"name": "a", "chart": {"archive": "aGVsbG8="}}`, 422, "chart"},
		{"archive not base64", `{"name": "a", "chart": {"archive": "!!"}}`, 400, ""},
		{"chart filename with a directory", `{"name": "a", "chart": {"archive": "aGVsbG8=", "filename": "../x.tgz"}}`, 422, "chart.filename"},
		{"bad release", `{"name": "a", "chart": {"archive": "aGVsbG8=", "release": "R!"}}`, 422, "chart.release"},
		{"document resource without a name", `{"name": "a", "document": {"resources": [{"object": {"apiVersion": "v1", "kind": "ConfigMap"}}]}}`, 422, "document"},
		{"document of another kind", `{"name": "a", "document": {"apiVersion": "v1", "kind": "Pod", "resources": []}}`, 422, "document"},
		{"unknown field", `{"name": "a", "manifest": ` + cm + `}`, 400, "manifest"},
		{"too large", `{"name": "a", "manifests": ` + jsonString(strings.Repeat("#", 70<<10)) + `}`, 413, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := do(t, "POST", base, "application/json", tc.body)
			if e := apiErr(t, body); code != tc.code || e.Error.Field != tc.field {
				t.Errorf("%d field %q (%s), want %d field %q", code, e.Error.Field, body, tc.code, tc.field)
			}
		})
	}
	if ds, err := st.ListDesigns(t.Context(), store.DesignFilter{}); err != nil || len(ds) != 0 {
		t.Errorf("stored after refusals: %d designs, %v", len(ds), err)
	}
	if code, body := do(t, "PUT", base+"/nope", "application/json", `{"manifests": `+cm+`}`); code != 404 {
		t.Errorf("PUT of an unknown design: %d %s", code, body)
	}
	if code, body := do(t, "GET", base+"/nope?revision=0", "", ""); code != 400 {
		t.Errorf("revision=0: %d %s", code, body)
	}
}

// TestDesignsVisibility: team mode's rules, as for profiles.
func TestDesignsVisibility(t *testing.T) {
	base, a := teamServer(t)
	api := base + "/api/v1/designs"
	alice, bob, admin := loginAs(t, a, "alice", false), loginAs(t, a, "bob", false), loginAs(t, a, "root", true)
	cm := jsonString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
	if code, body := call(t, "POST", api, alice, `{"name": "secret", "private": true, "manifests": `+cm+`}`); code != 201 || !strings.Contains(body, `"private": true`) {
		t.Fatalf("alice's private design: %d %s", code, body)
	}
	if code, body := call(t, "POST", api, alice, `{"name": "shared", "manifests": `+cm+`}`); code != 201 {
		t.Fatalf("alice's public design: %d %s", code, body)
	}
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/secret", ""}, {"GET", "/secret?revision=1", ""}, {"GET", "/secret/revisions", ""},
		{"GET", "/secret/manifests", ""}, {"PUT", "/secret", `{"manifests": ` + cm + `}`}, {"DELETE", "/secret", ""},
	} {
		if code, body := call(t, c.method, api+c.path, bob, c.body); code != 404 {
			t.Errorf("bob %s %s: %d %s, want 404", c.method, c.path, code, body)
		}
	}
	if got := listed(t, api, bob, "designs", "name"); !slices.Equal(got, []string{"shared"}) {
		t.Errorf("bob lists %q, want only shared", got)
	}
	if got := listed(t, api, admin, "designs", "name"); !slices.Equal(got, []string{"secret", "shared"}) {
		t.Errorf("the admin lists %q", got)
	}
	if code, body := call(t, "PUT", api+"/shared", bob, `{"manifests": `+cm+`}`); code != 403 {
		t.Errorf("bob changes alice's public design: %d %s, want 403", code, body)
	}
	if code, body := call(t, "PUT", api+"/shared", alice, `{"private": true, "manifests": `+cm+`}`); code != 422 {
		t.Errorf("making a design private afterwards: %d %s, want 422", code, body)
	}
	if code, body := call(t, "PUT", api+"/shared", admin, `{"manifests": `+cm+`}`); code != 200 || !strings.Contains(body, `"revision": 2`) {
		t.Errorf("the admin changes it: %d %s", code, body)
	}
	if code, body := call(t, "DELETE", api+"/shared", bob, ""); code != 403 {
		t.Errorf("bob deletes it: %d %s", code, body)
	}
	if code, body := call(t, "DELETE", api+"/secret", alice, ""); code != 204 {
		t.Errorf("alice deletes hers: %d %s", code, body)
	}
}

// TestProfileNamingDesignsRefused: a server puts no designs on a cluster,
// so a profile naming designs is refused where it is stored or run,
// naming the field, rather than run without them.
func TestProfileNamingDesignsRefused(t *testing.T) {
	srv, _ := newServer(t)
	doc := `{"name": "d", "duration": "1s", "clients": [{"rps": 1, "endpoint_urls": ["http://127.0.0.1:9/"]}], "meshperf": {"designs": [{"name": "shop"}]}}`
	for _, c := range []struct{ path, body string }{
		{"/api/v1/profiles", doc},
		{"/api/v1/runs", `{"profile_document": ` + doc + `}`},
	} {
		code, body := do(t, "POST", srv.URL+c.path, "application/json", c.body)
		if e := apiErr(t, body); code != 422 || e.Error.Field != "meshperf.designs" && e.Error.Field != "profile_document.meshperf.designs" {
			t.Errorf("POST %s: %d %s, want 422 naming meshperf.designs", c.path, code, body)
		}
	}
}
