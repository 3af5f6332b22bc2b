package server_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/meshperf/meshperf/internal/server"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
	"github.com/meshperf/meshperf/store/sqlite"
)

// newUIServer serves ui as the embedded UI over a fresh store.
func newUIServer(t *testing.T, ui fstest.MapFS, echoURL string) (*httptest.Server, store.Store) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv := httptest.NewServer(server.New(server.Options{Store: st, Version: "test", UI: ui, EchoURL: echoURL}))
	t.Cleanup(srv.Close)
	return srv, st
}

// get fetches url with the given request headers, without the client
// undoing gzip, and returns the response with its body read.
func get(t *testing.T, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func builtUI() fstest.MapFS {
	js := "console.log('meshperf');\n" + strings.Repeat("export const x = 'a fairly compressible line of script';\n", 200)
	return fstest.MapFS{
		"index.html":              {Data: []byte(`<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="root"></div></body></html>`)},
		"assets/index-abc123.js":  {Data: []byte(js)},
		"assets/index-abc123.css": {Data: []byte("body{color:black}")},
		"favicon.svg":             {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`)},
		".gitkeep":                {Data: nil},
	}
}

func TestUIServesAppPathsAndAssets(t *testing.T) {
	ui := builtUI()
	srv, _ := newUIServer(t, ui, "")
	for _, tc := range []struct {
		name, path   string
		wantStatus   int
		wantBody     string
		wantCache    string
		wantType     string
		acceptGzip   bool
		wantEncoding string
	}{
		{name: "root", path: "/", wantStatus: 200, wantBody: `<div id="root">`, wantCache: "no-cache", wantType: "text/html"},
		{name: "result link", path: "/results/0123456789ab", wantStatus: 200, wantBody: `<div id="root">`, wantCache: "no-cache", wantType: "text/html"},
		{name: "compare link with query", path: "/compare?ids=a,b", wantStatus: 200, wantBody: `<div id="root">`, wantCache: "no-cache"},
		{name: "index by name", path: "/index.html", wantStatus: 200, wantBody: `<div id="root">`, wantCache: "no-cache"},
		{name: "hashed asset", path: "/assets/index-abc123.js", wantStatus: 200, wantBody: "console.log('meshperf')",
			wantCache: "public, max-age=31536000, immutable", wantType: "text/javascript"},
		{name: "hashed asset gzipped", path: "/assets/index-abc123.js", acceptGzip: true, wantStatus: 200, wantBody: "console.log('meshperf')",
			wantCache: "public, max-age=31536000, immutable", wantEncoding: "gzip"},
		{name: "small file not gzipped", path: "/assets/index-abc123.css", acceptGzip: true, wantStatus: 200, wantBody: "body{color:black}", wantType: "text/css"},
		{name: "other file", path: "/favicon.svg", wantStatus: 200, wantBody: "<svg", wantCache: "public, max-age=3600", wantType: "image/svg+xml"},
		{name: "missing asset", path: "/assets/index-gone.js", wantStatus: 404, wantBody: "no such asset"},
		{name: "hidden file is not served", path: "/.gitkeep", wantStatus: 200, wantBody: `<div id="root">`},
		{name: "api stays json", path: "/api/v1/nothing", wantStatus: 404, wantBody: `"code": "not_found"`, wantType: "application/json"},
		{name: "api root stays json", path: "/api", wantStatus: 404, wantBody: `"code": "not_found"`},
		{name: "healthz", path: "/healthz", wantStatus: 200, wantBody: `"status": "ok"`},
		{name: "under metrics is not the UI", path: "/metrics/x", wantStatus: 404, wantBody: `"code": "not_found"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := []string{"Accept-Encoding", "identity"}
			if tc.acceptGzip {
				h = []string{"Accept-Encoding", "gzip, deflate"}
			}
			resp, body := get(t, srv.URL+tc.path, h...)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.wantStatus, body)
			}
			if got := resp.Header.Get("Content-Encoding"); got != tc.wantEncoding {
				t.Errorf("Content-Encoding %q, want %q", got, tc.wantEncoding)
			}
			if tc.wantEncoding == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(body, ui["assets/index-abc123.js"].Data) {
					t.Error("gzipped body does not decompress to the file")
				}
			}
			if !strings.Contains(string(body), tc.wantBody) {
				t.Errorf("body %.200q does not contain %q", body, tc.wantBody)
			}
			if tc.wantCache != "" && resp.Header.Get("Cache-Control") != tc.wantCache {
				t.Errorf("Cache-Control %q, want %q", resp.Header.Get("Cache-Control"), tc.wantCache)
			}
			if tc.wantType != "" && !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.wantType) {
				t.Errorf("Content-Type %q, want %s", resp.Header.Get("Content-Type"), tc.wantType)
			}
		})
	}
}

func TestUIRevalidatesWithETag(t *testing.T) {
	srv, _ := newUIServer(t, builtUI(), "")
	resp, _ := get(t, srv.URL+"/assets/index-abc123.js")
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	resp, body := get(t, srv.URL+"/assets/index-abc123.js", "If-None-Match", etag)
	if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Errorf("with If-None-Match: %d and %d bytes, want 304 and none", resp.StatusCode, len(body))
	}
}

func TestUIOnlyAnswersGET(t *testing.T) {
	srv, _ := newUIServer(t, builtUI(), "")
	code, body := do(t, "POST", srv.URL+"/results/abc", "application/json", "{}")
	if code != 404 || !strings.Contains(string(body), "no endpoint /results/abc") {
		t.Errorf("POST to a UI path: %d %s, want the API's JSON 404", code, body)
	}
}

func TestUINotBuilt(t *testing.T) {
	srv, _ := newUIServer(t, fstest.MapFS{".gitkeep": {Data: nil}}, "")
	for _, p := range []string{"/", "/results/abc"} {
		resp, body := get(t, srv.URL+p)
		if resp.StatusCode != 200 || !strings.Contains(string(body), "was not built") || !strings.Contains(string(body), "make web") {
			t.Errorf("%s: %d %s", p, resp.StatusCode, body)
		}
	}
	// The binary's own UI (built or not) is served without an option.
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	embedded := httptest.NewServer(server.New(server.Options{Store: st}))
	defer embedded.Close()
	if resp, body := get(t, embedded.URL+"/"); resp.StatusCode != 200 || !strings.Contains(string(body), "<html") {
		t.Errorf("embedded UI: %d %.200s", resp.StatusCode, body)
	}
}

func TestInfo(t *testing.T) {
	srv, _ := newUIServer(t, builtUI(), "http://127.0.0.1:9/")
	code, body := do(t, "GET", srv.URL+"/api/v1/info", "", "")
	var got server.Info
	if err := json.Unmarshal(body, &got); err != nil || code != 200 {
		t.Fatalf("%d %s: %v", code, body, err)
	}
	if got.Version != "test" || got.Mode != "single-user" || got.EchoURL != "http://127.0.0.1:9/" {
		t.Errorf("got %+v", got)
	}
	if len(got.Generators) == 0 || got.Generators[0].Name != "meshperf" || !got.Generators[0].Available {
		t.Errorf("generators %+v: want meshperf's own engine first and available", got.Generators)
	}
}

func TestVerdicts(t *testing.T) {
	srv, st := newUIServer(t, builtUI(), "")
	ctx := t.Context()
	prof := &store.Profile{Name: "slo", Body: []byte(`{"name":"slo","duration":"1s","clients":[{"rps":10,"endpoint_urls":["http://127.0.0.1:9/"]}],` +
		`"meshperf":{"slo":["p99<=20ms","error_rate<1%"]}}`)}
	if err := st.CreateProfile(ctx, prof); err != nil {
		t.Fatal(err)
	}
	res := &spec.Result{Schema: spec.ResultSchema, StartTime: time.Now(), EndTime: time.Now(),
		Generator: spec.GeneratorInfo{Name: "meshperf", Fidelity: "hdr"},
		Requested: spec.Requested{Targets: []string{"http://127.0.0.1:9/"}, Method: "GET", Protocol: "HTTP", RPS: 10, OpenLoop: true},
		Achieved:  spec.Achieved{Requests: 100, Responses: 98, Errors: 2, ErrorRate: 0.02, RPS: 10},
		Latency:   &spec.Distribution{Count: 98, Percentiles: []spec.Percentile{{P: 50, Ms: 1}, {P: 99, Ms: 12}}}}
	res.ProfileID, res.ProfileRevision = prof.ID, prof.Revision // as runs record them
	id, err := st.SaveResult(ctx, res, store.ResultRef{ProfileID: prof.ID, ProfileRevision: prof.Revision})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, query string
		wantSource  string
		wantMet     []bool
	}{
		{"from the profile", "", "profile", []bool{true, false}},
		{"given", "?objectives=p50<=0.5ms,rps>=5", "query", []bool{false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := do(t, "GET", srv.URL+"/api/v1/results/"+id+"/verdicts"+tc.query, "", "")
			var got server.VerdictsResponse
			if err := json.Unmarshal(body, &got); err != nil || code != 200 {
				t.Fatalf("%d %s: %v", code, body, err)
			}
			if got.Source != tc.wantSource || len(got.Verdicts) != len(tc.wantMet) {
				t.Fatalf("got %s", body)
			}
			for i, v := range got.Verdicts {
				status := map[bool]string{true: spec.VerdictMet, false: spec.VerdictBroken}[tc.wantMet[i]]
				if v.Met != tc.wantMet[i] || v.Status != status {
					t.Errorf("%s: met %v %q, want %v %q", v.Objective.Raw, v.Met, v.Status, tc.wantMet[i], status)
				}
			}
		})
	}
	code, body := do(t, "GET", srv.URL+"/api/v1/results/"+id+"/verdicts?objectives=p99<<3", "", "")
	if code != 422 || !strings.Contains(string(body), `"field": "objectives"`) {
		t.Errorf("bad objectives: %d %s", code, body)
	}
}
