package cli_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServerBinaryRefusesAttacks is issue 12's findings over real HTTP
// against the real `meshperf server` binary in team mode (internal/server's
// tests go through each finding in depth in-process; this checks that the
// program people run behaves the same): bounds on every number, files an
// API caller names, the target allow-list, who may change what, who may
// mint tokens, and slow clients that would hold the server. Nothing refused
// is queued or stored.
func TestServerBinaryRefusesAttacks(t *testing.T) {
	env := remoteEnv(t)
	db := filepath.Join(t.TempDir(), "team.db")
	const pw = "correct horse battery staple"
	for _, u := range []struct {
		name  string
		admin bool
	}{{"root", true}, {"alice", false}, {"bob", false}} {
		args := []string{"user", "add", u.name, "--password-stdin", "--db", db}
		if u.admin {
			args = append(args, "--admin")
		}
		if out, errOut, code := mp(t, env, pw+"\n", args...); code != 0 {
			t.Fatalf("user add %s: exit %d, %s %s", u.name, code, out, errOut)
		}
	}
	echo := startEcho(t)
	srv := startServer(t, env, "--auth", "--db", db, "--allow-target", "127.0.0.1", "--max-connections", "256")
	api := srv + "/api/v1"

	client := &http.Client{Timeout: 10 * time.Second}
	call := func(method, url, bearer, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, string(b)
	}
	login := func(name string) string {
		t.Helper()
		code, body := call("POST", api+"/auth/login", "", fmt.Sprintf(`{"name": %q, "password": %q}`, name, pw))
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal([]byte(body), &tok); code != 200 || err != nil || tok.AccessToken == "" {
			t.Fatalf("login %s: %d %s", name, code, body)
		}
		return tok.AccessToken
	}
	alice, bob := login("alice"), login("bob")

	doc := func(client string) string {
		return `{"profile_document": {"name": "x", "duration": "2s", "clients": [{"endpoint_urls": ["` + echo + `/"]` + client + `}]}}`
	}
	for _, tc := range []struct {
		name, body string
		code       int
		says       []string
	}{
		{"connections", doc(`, "connections": 2000000000`), 422, []string{"profile_document.clients[0].connections", `limit \"connections\"`}},
		{"rps max int64", doc(`, "rps": 9223372036854775807`), 422, []string{"profile_document.clients[0].rps", `limit \"rps\"`}},
		{"streams", doc(`, "meshperf": {"streams": 2000000000, "http_version": "h2c"}`), 422, []string{`limit \"streams\"`}},
		{"duration", `{"profile_document": {"duration": "2000000h", "clients": [{"endpoint_urls": ["` + echo + `/"]}]}}`, 422, []string{`limit \"duration\"`}},
		{"a server file", doc(`, "meshperf": {"cert_file": "/dev/zero", "key_file": "/dev/zero"}`), 422, []string{"--allow-files"}},
		{"a private key's path", doc(`, "meshperf": {"cert_file": "/root/.ssh/id_rsa", "key_file": "/root/.ssh/id_rsa"}`), 422, []string{"--allow-files"}},
		{"outside the allow-list", `{"profile_document": {"duration": "1s", "clients": [{"endpoint_urls": ["http://db.internal.example:5432/"]}]}}`, 403, []string{"db.internal.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			code, body := call("POST", api+"/runs", alice, tc.body)
			if code != tc.code {
				t.Errorf("POST /runs: %d %s; want %d", code, body, tc.code)
			}
			for _, s := range tc.says {
				if !strings.Contains(body, s) {
					t.Errorf("the refusal %s does not say %q", body, s)
				}
			}
			if strings.Contains(body, "no such file") {
				t.Errorf("the refusal tells whether the file exists: %s", body)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("refused after %s", took)
			}
		})
	}
	if code, body := call("GET", api+"/runs", alice, ""); code != 200 || strings.Contains(body, `"id"`) {
		t.Errorf("refused runs were queued: %d %s", code, body)
	}

	t.Run("owners", func(t *testing.T) {
		prof := `{"name": "shared", "duration": "1s", "clients": [{"connections": 1, "rps": 5, "endpoint_urls": ["` + echo + `/"]}]}`
		if code, body := call("POST", api+"/profiles", alice, prof); code != 201 {
			t.Fatalf("alice stores a profile: %d %s", code, body)
		}
		for _, rt := range []struct{ method, body string }{{"PUT", strings.Replace(prof, echo+"/", echo+"/bob", 1)}, {"DELETE", ""}} {
			if code, body := call(rt.method, api+"/profiles/shared", bob, rt.body); code != 403 || !strings.Contains(body, "only its owner or an admin") {
				t.Errorf("bob %s alice's profile: %d %s; want 403", rt.method, code, body)
			}
		}
		if code, body := call("GET", api+"/profiles/shared", alice, ""); code != 200 || strings.Contains(body, "/bob") {
			t.Errorf("alice's profile after bob's attempts: %d %s", code, body)
		}
	})

	t.Run("tokens", func(t *testing.T) {
		code, body := call("POST", api+"/tokens", alice, `{"name": "ci"}`)
		var created struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal([]byte(body), &created); code != 201 || err != nil || created.Token == "" {
			t.Fatalf("alice mints from her login session: %d %s", code, body)
		}
		if code, body := call("POST", api+"/tokens", created.Token, `{"name": "copy"}`); code != 403 || !strings.Contains(body, "login session") {
			t.Errorf("alice's API token mints another: %d %s; want 403", code, body)
		}
	})

	t.Run("slow clients", func(t *testing.T) {
		// 100 connections that send half a request head and stop, held
		// open while others use the API.
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		host := strings.TrimPrefix(srv, "http://")
		for range 100 {
			c, err := net.DialTimeout("tcp", host, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, c)
			if _, err := c.Write([]byte("GET /api/v1/results HTTP/1.1\r\nHost: x\r\n")); err != nil {
				t.Fatal(err)
			}
		}
		for range 5 {
			start := time.Now()
			code, body := call("GET", api+"/results", alice, "")
			if took := time.Since(start); code != 200 || took > 2*time.Second {
				t.Errorf("with 100 slow clients held: %d after %s (%.80s)", code, took, body)
			}
		}
	})
}
