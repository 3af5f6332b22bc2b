package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/server"
	"github.com/meshperf/meshperf/store"
	"github.com/meshperf/meshperf/store/sqlite"
	"github.com/meshperf/meshperf/store/storetest"
)

func newServer(t *testing.T) (*httptest.Server, store.Store) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv := httptest.NewServer(server.New(server.Options{Store: st, Version: "test", MaxBody: 64 << 10}))
	t.Cleanup(srv.Close)
	return srv, st
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
		Details []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"details"`
	} `json:"error"`
}

func do(t *testing.T, method, url, contentType, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

const profileYAML = `name: checkout
labels: {team: shop}
duration: 10s
clients:
- protocol: 1
  connections: 4
  rps: 100
  endpoint_urls: [http://127.0.0.1:8080/]
`

func TestProfilesAPI(t *testing.T) {
	srv, _ := newServer(t)
	base := srv.URL + "/api/v1/profiles"

	code, body := do(t, "POST", base, "application/yaml", profileYAML)
	if code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	var v server.ProfileView
	json.Unmarshal(body, &v)
	if v.Name != "checkout" || v.Revision != 1 || v.Profile == nil || v.Profile.Clients[0].RPS != 100 {
		t.Errorf("created %+v", v)
	}
	if code, body := do(t, "POST", base, "application/yaml", profileYAML); code != 409 || !strings.Contains(string(body), `"conflict"`) {
		t.Errorf("duplicate: %d %s", code, body)
	}
	code, body = do(t, "PUT", base+"/checkout", "application/yaml", strings.Replace(profileYAML, "rps: 100", "rps: 200", 1))
	if code != 200 || !strings.Contains(string(body), `"revision": 2`) {
		t.Errorf("update: %d %s", code, body)
	}
	if code, body := do(t, "GET", base+"/checkout?revision=1", "", ""); code != 200 || !strings.Contains(string(body), `"rps": 100`) {
		t.Errorf("revision 1: %d %s", code, body)
	}
	if code, body := do(t, "GET", base+"/checkout/revisions", "", ""); code != 200 || strings.Count(string(body), `"revision"`) != 2 {
		t.Errorf("revisions: %d %s", code, body)
	}
	if code, body := do(t, "GET", base+"?label=team=shop", "", ""); code != 200 || !strings.Contains(string(body), "checkout") {
		t.Errorf("list by label: %d %s", code, body)
	}
	if code, body := do(t, "GET", base+"?label=team=other", "", ""); code != 200 || strings.Contains(string(body), "checkout") {
		t.Errorf("list by other label: %d %s", code, body)
	}
	if code, _ := do(t, "DELETE", base+"/checkout", "", ""); code != 204 {
		t.Errorf("delete: %d", code)
	}
	if code, _ := do(t, "GET", base+"/checkout", "", ""); code != 404 {
		t.Errorf("after delete: %d", code)
	}
}

func TestErrors(t *testing.T) {
	srv, _ := newServer(t)
	api := srv.URL + "/api/v1"
	tests := []struct {
		name, method, path, ctype, body string
		status                          int
		code, field, message            string
	}{
		{"malformed profile", "POST", "/profiles", "application/json", `{"name": "x", "clients": [`, 400, "bad_request", "", "truncated"},
		{"wrong type", "POST", "/profiles", "application/json", `{"name":"x","duration":"1s","clients":[{"connections":"ten","endpoint_urls":["http://a/"]}]}`, 400, "bad_request", "clients[0].connections", "want an integer"},
		{"invalid values, all named", "POST", "/profiles", "application/yaml", "name: x\nduration: 5x\nclients:\n- rps: -1\n  endpoint_urls: [ftp://a/]\n", 422, "invalid", "duration", "clients[0].rps: must be >= 0"},
		{"no name", "POST", "/profiles", "application/yaml", "duration: 1s\nclients:\n- endpoint_urls: [http://a/]\n", 422, "invalid", "name", "needs a name"},
		{"too large", "POST", "/profiles", "application/yaml", "name: x\nlabels: {a: " + strings.Repeat("x", 70<<10) + "}\n", 413, "too_large", "", "larger than"},
		{"unknown profile", "GET", "/profiles/nope", "", "", 404, "not_found", "", `no profile "nope"`},
		{"bad revision", "GET", "/profiles/x?revision=zero", "", "", 400, "bad_request", "revision", "positive integer"},
		{"unknown result", "GET", "/results/0123456789", "", "", 404, "not_found", "", "no result"},
		{"bad limit", "GET", "/results?limit=0", "", "", 400, "bad_request", "limit", "positive integer"},
		{"limit too big", "GET", "/results?limit=5000", "", "", 400, "bad_request", "limit", "at most 1000"},
		{"bad since", "GET", "/results?since=yesterday", "", "", 400, "bad_request", "since", "RFC 3339"},
		{"bad label", "GET", "/results?label=nokey", "", "", 400, "bad_request", "label", "key=value"},
		{"bad cursor", "GET", "/results?cursor=@@@", "", "", 400, "bad_request", "", "cursor"},
		{"compare unknown field", "POST", "/compare", "application/json", `{"ids":["a","b"],"extra":1}`, 400, "bad_request", "extra", "unknown field"},
		{"compare wrong type", "POST", "/compare", "application/json", `{"ids":"a"}`, 400, "bad_request", "ids", "want"},
		{"compare one", "POST", "/compare", "application/json", `{"ids":["a"]}`, 422, "invalid", "ids", "two or more"},
		{"compare empty", "POST", "/compare", "application/json", ``, 400, "bad_request", "", "empty body"},
		{"compare two values", "POST", "/compare", "application/json", `{"ids":["a","b"]}{}`, 400, "bad_request", "", "more than one"},
		{"export format", "GET", "/results/x/export?format=xml", "", "", 400, "bad_request", "format", "unknown"},
		{"no endpoint", "GET", "/nothing", "", "", 404, "not_found", "", "no endpoint"},
		{"method", "PATCH", "/profiles", "", "", 405, "method_not_allowed", "", "not allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := do(t, tc.method, api+tc.path, tc.ctype, tc.body)
			var e apiError
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body is not the error shape: %v: %s", err, body)
			}
			if status != tc.status || e.Error.Code != tc.code || e.Error.Field != tc.field || !strings.Contains(e.Error.Message, tc.message) {
				t.Errorf("got %d %q field %q %q; want %d %q field %q containing %q", status, e.Error.Code, e.Error.Field, e.Error.Message, tc.status, tc.code, tc.field, tc.message)
			}
		})
	}
}

func TestResultsCompareExport(t *testing.T) {
	srv, st := newServer(t)
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var ids []string
	for i := 0; i < 3; i++ {
		r := storetest.SampleResult(nil, storetest.Sample{Start: start.Add(time.Duration(i) * time.Hour), Values: 2000, Seconds: 10, OpenLoop: true,
			Labels: map[string]string{"run": []string{"a", "b", "c"}[i]}})
		id, err := st.SaveResult(t.Context(), r, store.ResultRef{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	api := srv.URL + "/api/v1"
	var page struct {
		Results []struct {
			ID string `json:"id"`
		} `json:"results"`
		Next string `json:"next"`
	}
	_, body := do(t, "GET", api+"/results?limit=2", "", "")
	json.Unmarshal(body, &page)
	if len(page.Results) != 2 || page.Next == "" || page.Results[0].ID != ids[2] {
		t.Fatalf("first page: %s", body)
	}
	_, body = do(t, "GET", api+"/results?limit=2&cursor="+page.Next, "", "")
	page.Next = ""
	json.Unmarshal(body, &page)
	if len(page.Results) != 1 || page.Results[0].ID != ids[0] || page.Next != "" {
		t.Errorf("second page: %s", body)
	}
	_, body = do(t, "GET", api+"/results?label=run=b&since="+start.Add(30*time.Minute).Format(time.RFC3339), "", "")
	if !strings.Contains(string(body), ids[1]) || strings.Contains(string(body), ids[0]) {
		t.Errorf("filtered: %s", body)
	}
	code, body := do(t, "GET", api+"/results/"+ids[0], "", "")
	if code != 200 || !strings.Contains(string(body), `"histogram"`) {
		t.Errorf("get: %d", code)
	}
	code, body = do(t, "POST", api+"/compare", "application/json", `{"ids":["`+ids[0]+`","`+ids[1]+`"]}`)
	if code != 200 || !strings.Contains(string(body), "p99") {
		t.Errorf("compare: %d %s", code, body)
	}
	for format, want := range map[string]string{"smp": "latencies_ms", "fortio": "DurationHistogram", "csv": "p99_ms", "timeline-csv": "achieved_rps", "json": "meshperf.result/v1"} {
		req, _ := http.NewRequest("GET", api+"/results/"+ids[0]+"/export?format="+format, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) || !strings.Contains(resp.Header.Get("Content-Disposition"), ids[0]) {
			t.Errorf("export %s: %d, %q…", format, resp.StatusCode, truncate(b))
		}
	}
	if code, _ := do(t, "DELETE", api+"/results/"+ids[0], "", ""); code != 204 {
		t.Errorf("delete: %d", code)
	}
	if code, _ := do(t, "GET", api+"/results/"+ids[0], "", ""); code != 404 {
		t.Errorf("after delete: %d", code)
	}
}

func truncate(b []byte) string {
	if len(b) > 80 {
		return string(b[:80])
	}
	return string(b)
}

func TestHealth(t *testing.T) {
	srv, st := newServer(t)
	if code, _ := do(t, "GET", srv.URL+"/healthz", "", ""); code != 200 {
		t.Errorf("healthz %d", code)
	}
	if code, _ := do(t, "GET", srv.URL+"/readyz", "", ""); code != 200 {
		t.Errorf("readyz %d", code)
	}
	st.Close()
	if code, body := do(t, "GET", srv.URL+"/readyz", "", ""); code != 503 || !strings.Contains(string(body), "unavailable") {
		t.Errorf("readyz with the store closed: %d %s", code, body)
	}
}

// The OpenAPI document describes exactly the routes the server has.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	srv, _ := newServer(t)
	_, body := do(t, "GET", srv.URL+"/api/v1/openapi.json", "", "")
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("not an OpenAPI 3 document: %v", err)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method, op := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
			if _, ok := op["responses"]; !ok {
				t.Errorf("%s %s: no responses", method, path)
			}
		}
	}
	served := server.Routes()
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Errorf("documented:\n  %s\nserved:\n  %s", strings.Join(documented, "\n  "), strings.Join(served, "\n  "))
	}
	// And each documented route answers (not with the mux's 404/405).
	for _, rt := range served {
		method, path, _ := strings.Cut(rt, " ")
		path = strings.NewReplacer("{ref}", "x", "{id}", "x").Replace(path)
		code, body := do(t, method, srv.URL+path, "application/json", "{}")
		if code == 405 || (code == 404 && strings.Contains(string(body), "no endpoint")) {
			t.Errorf("%s: %d %s", rt, code, body)
		}
	}
}
