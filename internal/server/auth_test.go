package server_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/meshperf/meshperf/internal/auth"
	"github.com/meshperf/meshperf/internal/server"
	"github.com/meshperf/meshperf/store"
	"github.com/meshperf/meshperf/store/sqlite"
)

func teamServer(t *testing.T) (string, *auth.Service) {
	t.Helper()
	url, a, _ := teamServerLog(t)
	return url, a
}

// teamServerLog is teamServer with its log (server and auth) in a buffer.
func teamServerLog(t *testing.T) (string, *auth.Service, *syncBuffer) {
	t.Helper()
	url, a, _, logs := teamServerStore(t)
	return url, a, logs
}

// teamServerStore is teamServerLog with its store.
func teamServerStore(t *testing.T) (string, *auth.Service, store.Store, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(auth.NewMemoryStore(), auth.GenerateKey(), auth.WithBcryptCost(bcrypt.MinCost), auth.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Options{Store: st, Auth: a, Logger: log})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close(); st.Close() })
	return hs.URL, a, st, logs
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Every refused request is logged with its reason, and no token is.
func TestRefusalsAreLogged(t *testing.T) {
	base, a, logs := teamServerLog(t)
	api := base + "/api/v1"
	a.CreateUser(t.Context(), "admin", "correct horse battery", true)
	a.CreateUser(t.Context(), "dev", "another long password", false)
	_, body := call(t, "POST", api+"/auth/login", "", `{"name":"dev","password":"another long password"}`)
	var dev server.TokenResponse
	json.Unmarshal([]byte(body), &dev)
	forged := dev.AccessToken[:len(dev.AccessToken)-4] + "AAAA"
	for _, tc := range []struct{ token, path, code string }{
		{"", "/results", "unauthenticated"},
		{forged, "/results", "unauthenticated"},
		{dev.AccessToken, "/users", "forbidden"},
	} {
		call(t, "GET", api+tc.path, tc.token, "")
		if !strings.Contains(logs.String(), "code="+tc.code) {
			t.Errorf("refusal %s not logged:\n%s", tc.code, logs)
		}
	}
	if strings.Contains(logs.String(), dev.AccessToken) || strings.Contains(logs.String(), forged) {
		t.Error("a token appears in the log")
	}
	if n := strings.Count(logs.String(), "request refused"); n < 3 {
		t.Errorf("%d refusals logged, want 3", n)
	}
}

func call(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

func TestTeamMode(t *testing.T) {
	base, a := teamServer(t)
	api := base + "/api/v1"
	if _, err := a.CreateUser(t.Context(), "admin", "correct horse battery", true); err != nil {
		t.Fatal(err)
	}
	// Public: health, the API document, login. Everything else needs a token.
	for _, path := range []string{"/healthz", "/api/v1/openapi.json"} {
		if code, _ := call(t, "GET", base+path, "", ""); code != 200 {
			t.Errorf("%s without a token: %d", path, code)
		}
	}
	for _, rt := range []string{"GET /profiles", "GET /results", "POST /runs", "GET /runs", "POST /compare", "GET /tokens", "GET /users", "GET /me", "GET /metrics"} {
		method, path, _ := strings.Cut(rt, " ")
		p := api + path
		if path == "/metrics" {
			p = base + path
		}
		code, body := call(t, method, p, "", "{}")
		if code != 401 || !strings.Contains(body, `"unauthenticated"`) {
			t.Errorf("%s without a token: %d %s", rt, code, body)
		}
		if code, _ := call(t, method, p, "forged.token.here", "{}"); code != 401 {
			t.Errorf("%s with a forged token: %d", rt, code)
		}
	}
	code, body := call(t, "POST", api+"/auth/login", "", `{"name":"admin","password":"wrong password!"}`)
	if code != 401 || !strings.Contains(body, "invalid_credentials") {
		t.Errorf("bad password: %d %s", code, body)
	}
	code, body = call(t, "POST", api+"/auth/login", "", `{"name":"admin","password":"correct horse battery"}`)
	if code != 200 {
		t.Fatalf("login: %d %s", code, body)
	}
	var tok server.TokenResponse
	json.Unmarshal([]byte(body), &tok)
	if code, body := call(t, "GET", api+"/me", tok.AccessToken, ""); code != 200 || !strings.Contains(body, `"admin"`) {
		t.Errorf("me: %d %s", code, body)
	}
	// An admin makes a user; the user may not list users.
	if code, body := call(t, "POST", api+"/users", tok.AccessToken, `{"name":"ci","password":"short"}`); code != 400 || !strings.Contains(body, "invalid_argument") {
		t.Errorf("weak password: %d %s", code, body)
	}
	if code, body := call(t, "POST", api+"/users", tok.AccessToken, `{"name":"dev","password":"another long password"}`); code != 201 {
		t.Fatalf("create user: %d %s", code, body)
	}
	_, body = call(t, "POST", api+"/auth/login", "", `{"name":"dev","password":"another long password"}`)
	var dev server.TokenResponse
	json.Unmarshal([]byte(body), &dev)
	if code, _ := call(t, "GET", api+"/users", dev.AccessToken, ""); code != 403 {
		t.Errorf("a non-admin listing users: %d", code)
	}
	// Refresh rotates; a reused refresh token revokes the family.
	code, body = call(t, "POST", api+"/auth/refresh", "", `{"refresh_token":"`+dev.RefreshToken+`"}`)
	if code != 200 {
		t.Fatalf("refresh: %d %s", code, body)
	}
	var rotated server.TokenResponse
	json.Unmarshal([]byte(body), &rotated)
	if code, body := call(t, "POST", api+"/auth/refresh", "", `{"refresh_token":"`+dev.RefreshToken+`"}`); code != 401 || !strings.Contains(body, "token_reused") {
		t.Errorf("reused refresh token: %d %s", code, body)
	}
	if code, _ := call(t, "POST", api+"/auth/refresh", "", `{"refresh_token":"`+rotated.RefreshToken+`"}`); code != 401 {
		t.Errorf("the family's newer token still works after reuse: %d", code)
	}
	// API tokens for CI: created, used, listed, revoked.
	code, body = call(t, "POST", api+"/tokens", dev.AccessToken, `{"name":"ci"}`)
	if code != 201 {
		t.Fatalf("create token: %d %s", code, body)
	}
	var created struct {
		Token string         `json:"token"`
		Info  *auth.APIToken `json:"info"`
	}
	json.Unmarshal([]byte(body), &created)
	if code, _ := call(t, "GET", api+"/results", created.Token, ""); code != 200 {
		t.Errorf("API token: %d", code)
	}
	if code, body := call(t, "GET", api+"/tokens", created.Token, ""); code != 200 || !strings.Contains(body, `"ci"`) || strings.Contains(body, created.Token) {
		t.Errorf("list tokens: %d %s", code, body)
	}
	if code, _ := call(t, "DELETE", api+"/tokens/"+created.Info.ID, dev.AccessToken, ""); code != 204 {
		t.Errorf("revoke: %d", code)
	}
	if code, body := call(t, "GET", api+"/results", created.Token, ""); code != 401 || !strings.Contains(body, "token_revoked") {
		t.Errorf("revoked token: %d %s", code, body)
	}
}

func TestSingleUserModeHasNoAuthEndpoints(t *testing.T) {
	srv, _ := newServer(t)
	code, body := call(t, "POST", srv.URL+"/api/v1/auth/login", "", `{"name":"a","password":"b"}`)
	if code != 404 || !strings.Contains(body, "single-user mode") {
		t.Errorf("login in single-user mode: %d %s", code, body)
	}
	if code, _ := call(t, "GET", srv.URL+"/api/v1/results", "", ""); code != 200 {
		t.Errorf("results without a token in single-user mode: %d", code)
	}
}
