package cli_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshperf/meshperf/store"
	"github.com/meshperf/meshperf/store/sqlite"
)

func postJSON(t *testing.T, url, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
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
	return resp.StatusCode, []byte(b.String())
}

// SIGTERM ends meshperf server within its grace plus a few seconds while a
// long test runs and its Prometheus hangs; the run is recorded interrupted
// with what it measured.
func TestServerSIGTERMKeepsWhatWasMeasured(t *testing.T) {
	env := remoteEnv(t)
	target := startEcho(t)
	// A Prometheus that never answers.
	stop := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer hang.Close()
	defer close(stop)
	db := filepath.Join(t.TempDir(), "m.db")
	base, cmd := serverProc(t, env, "--db", db, "--shutdown-grace", "2s")
	doc := `{"profile_document": {"name": "long", "duration": "10m", "clients": [{"connections": 2, "rps": 200, "endpoint_urls": ["` + target + `/"]}],
		"metrics": {"prometheus": "` + hang.URL + `", "queries": [{"name": "cpu", "query": "up"}]}}}`
	code, b := postJSON(t, base+"/api/v1/runs", doc)
	if code != 202 {
		t.Fatalf("submit: %d %s", code, b)
	}
	var run store.Run
	json.Unmarshal(b, &run)
	// A second run waits in the queue behind it.
	if code, b := postJSON(t, base+"/api/v1/runs", doc); code != 202 {
		t.Fatalf("submit 2: %d %s", code, b)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var r store.Run
		getJSON(t, base+"/api/v1/runs/"+run.ID, &r)
		if r.State == store.RunRunning && time.Since(r.StartedAt) > 3*time.Second {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		took := time.Since(start)
		t.Logf("exited %v after %s", err, took.Round(time.Millisecond))
		if took > 7*time.Second {
			t.Errorf("took %s to exit, want within the 2s grace + 5s", took)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("meshperf server did not exit within 30s of SIGTERM")
	}

	st, err := sqlite.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, err := st.GetRun(t.Context(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != store.RunInterrupted || r.ResultID == "" {
		t.Fatalf("run %s %q result %q, want interrupted with its result", r.State, r.Error, r.ResultID)
	}
	res, err := st.GetResult(t.Context(), r.ResultID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Result.Achieved.Requests < 400 || res.Result.Achieved.Responses == 0 {
		t.Errorf("the stored result has %d requests, %d responses: want what ~3 s at 200/s measured", res.Result.Achieved.Requests, res.Result.Achieved.Responses)
	}
	if len(res.Result.Metrics) != 1 || res.Result.Metrics[0].Missing == "" {
		t.Errorf("metrics %+v, want the hanging query marked missing", res.Result.Metrics)
	}
}

// The CLI gets the server's bound as a usage error (exit 2); the operator
// raises a bound with --limit, and cannot go past the ceiling.
func TestServerLimitsFromCLI(t *testing.T) {
	env := remoteEnv(t)
	if _, stderr, code := mp(t, env, "", "server", "--db", filepath.Join(t.TempDir(), "x.db"), "--limit", "connections=2000000000"); code != 2 || !strings.Contains(stderr, "connections: at most 1000000") {
		t.Errorf("--limit above the ceiling: exit %d %s", code, stderr)
	}
	for _, args := range [][]string{{"--allow-files", "/no/such/dir"}, {"--allow-prometheus", "[bad"}, {"--limit", "nosuch=1"}} {
		if _, stderr, code := mp(t, env, "", append([]string{"server", "--db", filepath.Join(t.TempDir(), "x.db")}, args...)...); code != 2 || !strings.Contains(stderr, args[0]) {
			t.Errorf("%v: exit %d %s, want a usage error naming the flag", args, code, stderr)
		}
	}
	base, _ := serverProc(t, env, "--db", filepath.Join(t.TempDir(), "m.db"))
	prof := filepath.Join(t.TempDir(), "big.yaml")
	os.WriteFile(prof, []byte("name: big\nduration: 2s\nclients:\n- connections: 2000000000\n  endpoint_urls: [http://127.0.0.1:1/]\n"), 0o644)
	_, stderr, code := mp(t, env, "", "run", "--server", base, "-f", prof)
	if code != 2 || !strings.Contains(stderr, "clients[0].connections") || !strings.Contains(stderr, `above the limit of 10000 (limit "connections")`) {
		t.Errorf("run past the bound: exit %d, stderr %s", code, stderr)
	}

	raised, _ := serverProc(t, env, "--db", filepath.Join(t.TempDir(), "r.db"), "--limit", "connections=50000", "--limit", "total_connections=50000")
	if code, b := postJSON(t, raised+"/api/v1/profiles", `{"name": "wide", "duration": "2s", "clients": [{"connections": 30000, "endpoint_urls": ["http://127.0.0.1:1/"]}]}`); code != 201 {
		t.Errorf("raised bound: %d %s", code, b)
	}
}
