package auth

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// whoami answers with the Principal the middleware found.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	p, ok := FromContext(r.Context())
	if !ok {
		http.Error(w, "no principal", http.StatusInternalServerError)
		return
	}
	fmt.Fprintf(w, "%s via %s", p.User.Name, p.Via)
})

func newServer(t *testing.T, f *fixture) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/whoami", f.svc.Middleware(whoami))
	mux.Handle("GET /api/v1/users", f.svc.Middleware(RequireAdmin(whoami)))
	mux.Handle("GET /api/v1/unguarded-admin", RequireAdmin(whoami))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

type response struct {
	status    int
	challenge string
	code      string // of the JSON error body
	message   string
	body      string // otherwise
}

func get(t *testing.T, url string, authorization ...string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range authorization {
		req.Header.Add("Authorization", a)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{status: resp.StatusCode, challenge: resp.Header.Get("WWW-Authenticate"), body: string(body)}
	if resp.StatusCode != http.StatusOK {
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("error Content-Type = %q, want application/json", ct)
		}
		var e errorBody
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatalf("error body %q: %v", body, err)
		}
		r.code, r.message, r.body = e.Error.Code, e.Error.Message, ""
	}
	return r
}

func TestMiddleware(t *testing.T) {
	f := newFixture(t)
	srv := newServer(t, f)
	access := f.login(t, "alice").AccessToken
	apiToken, _, err := f.svc.CreateAPIToken(t.Context(), f.alice, "ci")
	if err != nil {
		t.Fatal(err)
	}
	revoked, info, err := f.svc.CreateAPIToken(t.Context(), f.alice, "old")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RevokeAPIToken(t.Context(), f.alice, info.ID); err != nil {
		t.Fatal(err)
	}
	expired := signJWT(testKey, f.alice.ID, f.clock.Now().Add(-time.Hour), time.Minute)
	forged := makeJWTForAlg(`{"alg":"none"}`, f.alice.ID)

	tests := []struct {
		name          string
		authorization []string
		wantStatus    int
		wantCode      string
		wantBody      string
	}{
		{"access token", []string{"Bearer " + access}, 200, "", "alice via jwt"},
		{"API token", []string{"Bearer " + apiToken}, 200, "", "alice via api-token"},
		{"scheme is case insensitive", []string{"bearer " + access}, 200, "", "alice via jwt"},
		{"no header", nil, 401, CodeUnauthenticated, ""},
		{"empty header", []string{""}, 401, CodeUnauthenticated, ""},
		{"Basic scheme", []string{"Basic YWxpY2U6cGFzc3dvcmQ="}, 401, CodeUnauthenticated, ""},
		{"Bearer without token", []string{"Bearer "}, 401, CodeUnauthenticated, ""},
		{"token without scheme", []string{access}, 401, CodeUnauthenticated, ""},
		{"two headers", []string{"Bearer " + access, "Bearer " + apiToken}, 401, CodeUnauthenticated, ""},
		{"garbage", []string{"Bearer garbage"}, 401, CodeUnauthenticated, ""},
		{"alg none", []string{"Bearer " + forged}, 401, CodeUnauthenticated, ""},
		{"expired", []string{"Bearer " + expired}, 401, CodeTokenExpired, ""},
		{"revoked API token", []string{"Bearer " + revoked}, 401, CodeTokenRevoked, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := get(t, srv.URL+"/api/v1/whoami", tt.authorization...)
			if got.status != tt.wantStatus || got.code != tt.wantCode || got.body != tt.wantBody {
				t.Fatalf("got %d %q %q, want %d %q %q", got.status, got.code, got.body, tt.wantStatus, tt.wantCode, tt.wantBody)
			}
			if tt.wantStatus == http.StatusUnauthorized {
				if !strings.HasPrefix(got.challenge, "Bearer") {
					t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", got.challenge)
				}
				if got.message == "" {
					t.Error("error message is empty")
				}
				for _, a := range tt.authorization {
					if tok := strings.TrimPrefix(a, "Bearer "); len(tok) > 8 && strings.Contains(got.message, tok) {
						t.Errorf("message %q echoes the token", got.message)
					}
				}
			}
		})
	}
}

func makeJWTForAlg(header, sub string) string {
	return b64.EncodeToString([]byte(header)) + "." +
		b64.EncodeToString([]byte(`{"iss":"meshperf","aud":"meshperf","sub":"`+sub+`","iat":1,"exp":99999999999}`)) + "."
}

func TestRequireAdmin(t *testing.T) {
	f := newFixture(t)
	srv := newServer(t, f)
	aliceAPI, _, err := f.svc.CreateAPIToken(t.Context(), f.alice, "ci")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		path          string
		authorization []string
		wantStatus    int
		wantCode      string
	}{
		{"admin", "/api/v1/users", []string{"Bearer " + f.login(t, "root").AccessToken}, 200, ""},
		{"user", "/api/v1/users", []string{"Bearer " + f.login(t, "alice").AccessToken}, 403, CodeForbidden},
		{"user's API token", "/api/v1/users", []string{"Bearer " + aliceAPI}, 403, CodeForbidden},
		{"anonymous", "/api/v1/users", nil, 401, CodeUnauthenticated},
		{"without Middleware", "/api/v1/unguarded-admin", []string{"Bearer " + f.login(t, "root").AccessToken}, 401, CodeUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := get(t, srv.URL+tt.path, tt.authorization...)
			if got.status != tt.wantStatus || got.code != tt.wantCode {
				t.Fatalf("got %d %q (%s), want %d %q", got.status, got.code, got.message, tt.wantStatus, tt.wantCode)
			}
		})
	}
}

func TestErrorCode(t *testing.T) {
	tests := []struct {
		err        error
		wantStatus int
		wantCode   string
	}{
		{fmt.Errorf("x: %w", ErrUnauthenticated), 401, CodeUnauthenticated},
		{ErrInvalidCredentials, 401, CodeInvalidCredentials},
		{fmt.Errorf("access token: %w", ErrTokenExpired), 401, CodeTokenExpired},
		{ErrTokenRevoked, 401, CodeTokenRevoked},
		{ErrTokenReused, 401, CodeTokenReused},
		{ErrForbidden, 403, CodeForbidden},
		{fmt.Errorf("user %q: %w", "x", ErrConflict), 409, CodeConflict},
		{ErrNotFound, 404, CodeNotFound},
		{ErrWeakPassword, 400, CodeInvalidArgument},
		{ErrInvalidName, 400, CodeInvalidArgument},
		{io.ErrUnexpectedEOF, 500, CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			status, code := ErrorCode(tt.err)
			if status != tt.wantStatus || code != tt.wantCode {
				t.Errorf("ErrorCode = %d %q, want %d %q", status, code, tt.wantStatus, tt.wantCode)
			}
			rec := httptest.NewRecorder()
			WriteError(rec, tt.err)
			if rec.Code != tt.wantStatus || (status == 401) != strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WriteError: %d, WWW-Authenticate %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
			}
			if status == 500 && strings.Contains(rec.Body.String(), tt.err.Error()) {
				t.Errorf("internal error body %q shows the error", rec.Body)
			}
		})
	}
}
