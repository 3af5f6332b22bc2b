package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshperf/meshperf/spec"
)

// runMeshperf runs meshperf in process, results kept in a directory of the
// test's own.
func runMeshperf(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errw bytes.Buffer
	code = Main(t.Context(), args, strings.NewReader(""), &out, &errw)
	return out.String(), errw.String(), code
}

// target is a local HTTP server to load.
func target(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	t.Cleanup(srv.Close)
	return srv.URL
}

// testRunMeshContext (called by TestClusterAPIServer, with its API server)
// runs a test with --kubeconfig: the result records the cluster's meshes,
// and the target (a local echo, no Service of the cluster) as unmatched.
func testRunMeshContext(t *testing.T, kc string) {
	url := target(t)
	out, errOut, code := runMeshperf(t, "run", url+"/", "--rps", "50", "-c", "2", "-d", "1s", "-o", "json", "--no-save", "--kubeconfig", kc)
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, errOut)
	}
	var res spec.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	mc := res.Mesh
	if mc == nil || mc.Error != "" || len(mc.Targets) != 1 || mc.Targets[0].URL != url+"/" || mc.Targets[0].Service != "" || mc.Targets[0].Note == "" {
		t.Fatalf("mesh context %+v", mc)
	}
	versions := map[string]string{}
	for _, m := range mc.Meshes {
		versions[m.Mesh] = m.Version
	}
	if versions["istio"] != "1.23.2" || versions["linkerd"] != "stable-2.14.10" {
		t.Errorf("meshes recorded: %v", versions)
	}
	if mc.Time.After(res.StartTime) {
		t.Errorf("context read at %v, after the run's start %v", mc.Time, res.StartTime)
	}

	out, errOut, code = runMeshperf(t, "run", url+"/", "--rps", "50", "-c", "1", "-d", "1s", "-o", "json", "--no-save", "--kubeconfig", kc, "--cluster", "off")
	if code != 0 || strings.Contains(out, `"mesh"`) {
		t.Errorf("--cluster off: exit %d, a mesh context recorded: %s %s", code, errOut, out)
	}
}

// TestRunClusterUnreachable: a kubeconfig naming an API server that does
// not answer is recorded in the result and said, never failing the run; a
// bad --cluster is a usage error.
func TestRunClusterUnreachable(t *testing.T) {
	url := target(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://%s"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`, addr), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runMeshperf(t, "run", url+"/", "--rps", "50", "-c", "1", "-d", "1s", "-o", "json", "--no-save", "--kubeconfig", kc)
	if code != 0 || !strings.Contains(errOut, "cluster context incomplete") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res spec.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Mesh == nil || !strings.Contains(res.Mesh.Error, "unreachable") || res.Achieved.Requests == 0 {
		t.Errorf("mesh context %+v, %d requests", res.Mesh, res.Achieved.Requests)
	}
	_, errOut, code = runMeshperf(t, "run", url+"/", "-d", "1s", "--cluster", "maybe")
	if code != ExitUsage || !strings.Contains(errOut, "--cluster") {
		t.Errorf("--cluster maybe: exit %d, %s", code, errOut)
	}
	_, errOut, code = runMeshperf(t, "run", url+"/", "-d", "1s", "--mesh-prometheus", "ftp://x")
	if code != ExitUsage || !strings.Contains(errOut, "--mesh-prometheus") {
		t.Errorf("--mesh-prometheus ftp://x: exit %d, %s", code, errOut)
	}
}

// lockedBuffer is a bytes.Buffer safe to write from the server's goroutine
// while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testServerCluster (called by TestClusterAPIServer) starts meshperf
// server --kubeconfig: it serves the cluster's inventory at
// /api/v1/cluster.
func testServerCluster(t *testing.T, kc string) {
	ctx, cancel := context.WithCancel(t.Context())
	var errw lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"--db", filepath.Join(t.TempDir(), "m.db"), "server", "--listen", "127.0.0.1:0", "--kubeconfig", kc, "--log-level", "error"},
			strings.NewReader(""), io.Discard, &errw)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("server exit %d: %s", code, errw.String())
		}
	}()
	re := regexp.MustCompile(`listening on (http://[0-9.:]+)`)
	deadline := time.Now().Add(20 * time.Second)
	var base string
	for base == "" {
		if m := re.FindStringSubmatch(errw.String()); m != nil {
			base = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("server did not start: %s", errw.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(errw.String(), "reading cluster https://127.0.0.1:") {
		t.Errorf("server start does not name the cluster: %s", errw.String())
	}
	for {
		resp, err := http.Get(base + "/api/v1/cluster")
		if err != nil {
			t.Fatal(err)
		}
		var st struct {
			Synced bool `json:"synced"`
			Meshes []struct {
				Mesh, Version string
			} `json:"meshes"`
		}
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if resp.StatusCode != 200 || err != nil {
			t.Fatalf("GET /api/v1/cluster: %d %v", resp.StatusCode, err)
		}
		if st.Synced {
			if len(st.Meshes) != 3 || st.Meshes[0].Mesh != "istio" {
				t.Errorf("meshes %+v", st.Meshes)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the server's inventory never synced")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
