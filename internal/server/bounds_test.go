package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/server"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

// rssKB is this process's resident set size.
func rssKB(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

func decodeErr(t *testing.T, b []byte) apiError {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("not an error body: %s", b)
	}
	return e
}

// A run asking for more than the server's bounds is refused before
// anything is allocated, naming the field and the bound.
func TestRunLimits(t *testing.T) {
	s := newRunServer(t, "", server.Options{})
	client := func(extra string) string {
		return `{"profile_document": {"name": "big", "duration": "2s", "clients": [{"endpoint_urls": ["http://127.0.0.1:1/"]` + extra + `}]}}`
	}
	before := rssKB(t)
	for _, tc := range []struct {
		name, body, field, want string
	}{
		{"connections", client(`, "connections": 2000000000`), "profile_document.clients[0].connections", `2000000000 is above the limit of 10000 (limit "connections")`},
		{"rps max int64", client(`, "rps": 9223372036854775807`), "profile_document.clients[0].rps", `is above the limit of 200000 (limit "rps")`},
		{"streams", client(`, "meshperf": {"streams": 2000000000, "http_version": "h2c"}`), "profile_document.clients[0].meshperf.streams", `limit "streams"`},
		{"tcp_expect_bytes", `{"profile_document": {"duration": "2s", "clients": [{"protocol": "tcp", "body": "x", "endpoint_urls": ["tcp://127.0.0.1:1"], "meshperf": {"tcp_expect_bytes": 2000000000}}]}}`,
			"profile_document.clients[0].meshperf.tcp_expect_bytes", `limit "tcp_expect_bytes"`},
		{"duration", `{"profile_document": {"duration": "2000000h", "clients": [{"endpoint_urls": ["http://127.0.0.1:1/"]}]}}`, "profile_document.duration", `limit "duration"`},
		{"ramp rate", client(`, "rps": 10, "meshperf": {"rate_shape": "ramp:1-1e300"}`), "profile_document.clients[0].meshperf.rate_shape", `limit "rps"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, b := do(t, "POST", s.url+"/api/v1/runs", "application/json", tc.body)
			e := decodeErr(t, b)
			if code != http.StatusUnprocessableEntity || e.Error.Field != tc.field || !strings.Contains(e.Error.Message, tc.want) {
				t.Errorf("got %d field %q: %s\nwant 422 field %q with %q", code, e.Error.Field, e.Error.Message, tc.field, tc.want)
			}
		})
	}
	if grown := rssKB(t) - before; grown > 100<<10 {
		t.Errorf("RSS grew by %d kB while refusing", grown)
	}
	code, b := do(t, "GET", s.url+"/api/v1/runs", "", "")
	var page store.RunPage
	json.Unmarshal(b, &page)
	if code != 200 || len(page.Runs) != 0 {
		t.Errorf("refused runs were queued: %s", b)
	}
}

// The operator raises a bound with the server's options (--limit); an API
// caller cannot.
func TestRunLimitsRaisedByOperator(t *testing.T) {
	l := loadgen.DefaultLimits
	if err := l.Set("connections=50000"); err != nil {
		t.Fatal(err)
	}
	if err := l.Set("total_connections=50000"); err != nil {
		t.Fatal(err)
	}
	prof := `{"name": "wide", "duration": "2s", "clients": [{"connections": 30000, "endpoint_urls": ["http://127.0.0.1:1/"]}]}`
	def := newRunServer(t, "", server.Options{})
	if code, b := do(t, "POST", def.url+"/api/v1/profiles", "application/json", prof); code != 422 || !strings.Contains(string(b), `limit \"connections\"`) {
		t.Errorf("default limits: %d %s, want 422", code, b)
	}
	raised := newRunServer(t, "", server.Options{Limits: &l})
	if code, b := do(t, "POST", raised.url+"/api/v1/profiles", "application/json", prof); code != 201 {
		t.Errorf("raised limits: %d %s, want 201", code, b)
	}
}

// Files named by a profile over the API: refused unless the operator
// allows a directory; then only regular files under it, and what lies
// outside cannot be told apart from what does not exist.
func TestProfileFilesOverAPI(t *testing.T) {
	allowed, outside := t.TempDir(), t.TempDir()
	ca := newTestCA(t, allowed, "ca")
	cert, key := ca.issue(t, allowed, "client", false)
	secret := filepath.Join(outside, "id_rsa")
	if err := os.WriteFile(secret, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nnot really\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(allowed, "escape.pem")); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(allowed, "fifo.pem")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(allowed, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	big := filepath.Join(allowed, "big.pem")
	os.WriteFile(big, make([]byte, 2<<20), 0o600)

	target := startEcho(t)
	profile := func(certFile, keyFile string) string {
		return fmt.Sprintf(`{"name": "mtls", "duration": "1s", "clients": [{"connections": 1, "rps": 20, "endpoint_urls": [%q], "meshperf": {"cert_file": %q, "key_file": %q}}]}`,
			target+"/", certFile, keyFile)
	}

	none := newRunServer(t, "", server.Options{})
	code, b := do(t, "POST", none.url+"/api/v1/profiles", "application/json", profile(cert, key))
	if e := decodeErr(t, b); code != 422 || !strings.Contains(e.Error.Message, "--allow-files") || strings.Contains(e.Error.Message, cert) {
		t.Errorf("no --allow-files: %d %s", code, b)
	}

	s := newRunServer(t, "", server.Options{AllowFiles: []string{allowed}})
	notAllowed := "" // the one message for everything outside
	for _, tc := range []struct{ name, path, want string }{
		{"dev zero", "/dev/zero", ""},
		{"outside, existing", secret, ""},
		{"outside, missing", filepath.Join(outside, "id_ed25519"), ""},
		{"dot dot", filepath.Join(allowed, "..", filepath.Base(outside), "id_rsa"), ""},
		{"symlink escape", filepath.Join(allowed, "escape.pem"), ""},
		{"relative", "client.pem", ""},
		{"fifo", fifo, "not a regular file"},
		{"too large", big, `limit \"file_size\"`},
		{"not PEM", notPEM, "no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			code, b := do(t, "POST", s.url+"/api/v1/profiles", "application/json", profile(tc.path, key))
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("took %s", took)
			}
			e := decodeErr(t, b)
			if code != 422 || !strings.HasPrefix(e.Error.Field, "clients[0].meshperf.cert") {
				t.Fatalf("%d %s, want 422 on clients[0].meshperf.cert_file", code, b)
			}
			if tc.want != "" {
				if !strings.Contains(string(b), tc.want) {
					t.Errorf("%s, want %q", b, tc.want)
				}
				return
			}
			if strings.Contains(e.Error.Message, "no such file") || strings.Contains(e.Error.Message, "OPENSSH") {
				t.Errorf("the error tells about the file: %s", e.Error.Message)
			}
			if notAllowed == "" {
				notAllowed = e.Error.Message
			} else if e.Error.Message != notAllowed {
				t.Errorf("message %q differs from %q: it tells paths apart", e.Error.Message, notAllowed)
			}
		})
	}

	// A good file: stored as its path, read again when the run starts.
	code, b = do(t, "POST", s.url+"/api/v1/profiles", "application/json", profile(cert, key))
	if code != 201 {
		t.Fatalf("good files: %d %s", code, b)
	}
	var v server.ProfileView
	json.Unmarshal(b, &v)
	if x := v.Profile.Clients[0].Meshperf; x.CertFile != cert || x.CertPEM != "" || x.KeyPEM != "" {
		t.Errorf("stored %+v, want the paths and no content", x)
	}
	run := submit(t, s.url, `{"profile": "mtls"}`)
	if r := waitState(t, s.url, run.ID, store.RunSucceeded, store.RunFailed); r.State != store.RunSucceeded {
		t.Errorf("run of good files: %s %s", r.State, r.Error)
	}

	// Inline, no file at all: the same certificate in the document.
	cb, _ := os.ReadFile(cert)
	kb, _ := os.ReadFile(key)
	inline, _ := json.Marshal(map[string]any{"duration": "1s", "clients": []any{map[string]any{"connections": 1, "rps": 20,
		"endpoint_urls": []string{target + "/"}, "meshperf": map[string]string{"cert_pem": string(cb), "key_pem": string(kb)}}}})
	run = submit(t, none.url, `{"profile_document": `+string(inline)+`}`)
	if r := waitState(t, none.url, run.ID, store.RunSucceeded, store.RunFailed); r.State != store.RunSucceeded {
		t.Errorf("run of inline certificate: %s %s", r.State, r.Error)
	}
}

// The target allow-list holds on every path: storing and changing a
// profile, creating a schedule, and each run queued by a schedule.
func TestAllowTargetsEverywhere(t *testing.T) {
	target := startEcho(t)
	s := newRunServer(t, "", server.Options{AllowTargets: []string{"127.0.0.1"}})
	good := `{"name": "p", "duration": "1s", "clients": [{"connections": 1, "rps": 20, "endpoint_urls": ["` + target + `/"]}]}`
	bad := `{"name": "p", "duration": "1s", "clients": [{"connections": 1, "rps": 20, "endpoint_urls": ["http://db.internal.example:5432/"]}]}`
	if code, b := do(t, "POST", s.url+"/api/v1/profiles", "application/json", bad); code != 403 || !strings.Contains(string(b), "db.internal.example") {
		t.Errorf("POST disallowed profile: %d %s", code, b)
	}
	if code, b := do(t, "POST", s.url+"/api/v1/profiles", "application/json", good); code != 201 {
		t.Fatalf("POST profile: %d %s", code, b)
	}
	code, b := do(t, "POST", s.url+"/api/v1/schedules", "application/json", `{"profile": "p", "spec": "every 1m"}`)
	if code != 201 {
		t.Fatalf("schedule: %d %s", code, b)
	}
	var sv server.ScheduleView
	json.Unmarshal(b, &sv)
	if code, b := do(t, "PUT", s.url+"/api/v1/profiles/p", "application/json", bad); code != 403 {
		t.Errorf("PUT a disallowed target into a scheduled profile: %d %s", code, b)
	}

	// A profile stored before the allow-list was set (written to the
	// store directly): the schedule's next run is refused with the reason,
	// and so is a direct run and a new schedule.
	sp, err := s.st.GetProfile(t.Context(), sv.ProfileID)
	if err != nil {
		t.Fatal(err)
	}
	prof, _, _ := spec.ParseProfile([]byte(bad))
	sp.Body, _ = prof.JSON()
	if err := s.st.UpdateProfile(t.Context(), sp); err != nil {
		t.Fatal(err)
	}
	if code, b := do(t, "POST", s.url+"/api/v1/runs", "application/json", `{"profile": "p"}`); code != 403 {
		t.Errorf("direct run: %d %s", code, b)
	}
	if code, b := do(t, "POST", s.url+"/api/v1/schedules", "application/json", `{"profile": "p", "spec": "@daily"}`); code != 403 || decodeErr(t, b).Error.Field != "profile.clients[0].endpoint_urls[0]" {
		t.Errorf("new schedule: %d %s", code, b)
	}
	sc, err := s.st.GetSchedule(t.Context(), sv.ID)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	sc.LastDueAt, sc.NextDueAt = now.Add(-2*time.Minute), now.Add(-time.Second)
	if err := s.st.UpdateSchedule(t.Context(), sc); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	var got *store.Run
	for (got == nil || got.State == store.RunQueued || got.State == store.RunRunning) && time.Now().Before(deadline) {
		_, b := do(t, "GET", s.url+"/api/v1/runs?limit=100", "", "")
		var page store.RunPage
		json.Unmarshal(b, &page)
		for i, r := range page.Runs {
			if r.ScheduleID == sv.ID && r.State != store.RunMissed {
				got = &page.Runs[i]
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got == nil {
		t.Fatal("the schedule made no run")
	}
	if got.State != store.RunFailed || !strings.Contains(got.Error, "db.internal.example") || !strings.Contains(got.Error, "not among the targets") || got.ResultID != "" {
		t.Errorf("scheduled run %+v, want failed, refused naming the host, no result", got)
	}
}

// metrics.prometheus goes through its own allow-list, and what a URL
// answers never comes back in the stored result.
func TestPrometheusAllowListAndNoReadBack(t *testing.T) {
	const secret = "s3cr3t-metadata-token"
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"status":"error","errorType":"x","error":"`+secret+`"} `+secret, http.StatusInternalServerError)
	}))
	defer internal.Close()
	target := startEcho(t)
	doc := `{"profile_document": {"name": "m", "duration": "1s", "clients": [{"connections": 1, "rps": 20, "endpoint_urls": ["` + target + `/"]}],
		"metrics": {"prometheus": "` + internal.URL + `", "queries": [{"name": "cpu", "query": "up"}]}}}`

	limited := newRunServer(t, "", server.Options{AllowPrometheus: []string{"prometheus.monitoring.svc"}})
	if code, b := do(t, "POST", limited.url+"/api/v1/runs", "application/json", doc); code != 403 || decodeErr(t, b).Error.Field != "profile_document.metrics.prometheus" {
		t.Errorf("disallowed Prometheus: %d %s", code, b)
	}

	s := newRunServer(t, "", server.Options{}) // single-user: any Prometheus
	run := submit(t, s.url, doc)
	r := waitState(t, s.url, run.ID, store.RunSucceeded, store.RunFailed)
	if r.ResultID == "" {
		t.Fatalf("no result: %+v", r)
	}
	_, b := do(t, "GET", s.url+"/api/v1/results/"+r.ResultID, "", "")
	if strings.Contains(string(b), secret) {
		t.Fatalf("the stored result carries the remote's body")
	}
	var res spec.Result
	json.Unmarshal(b, &res)
	if len(res.Metrics) != 1 || !strings.Contains(res.Metrics[0].Missing, "HTTP 500") {
		t.Errorf("metrics %+v, want missing with the status", res.Metrics)
	}
}
