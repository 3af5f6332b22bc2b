package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
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

	"github.com/meshperf/meshperf/internal/meshmetrics"
	"github.com/meshperf/meshperf/internal/meshmetrics/promtest"
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

// testRunMeshTraffic (called by TestClusterAPIServer, with its API server)
// runs a test whose target names the cluster's meshed Service shop/reviews
// (http://reviews.shop:PORT/; a DNS server of the test's own answers
// 127.0.0.1, where a local echo listens) with --mesh-prometheus naming a
// real Prometheus scraping the proxies' stand-in (promtest): the result
// keeps, beside meshperf's figures, what that Prometheus says of
// Deployment/reviews over the run's window, the stand-in's 10 rps, 90% ok,
// p50 5, p90 17.5, p99 24.25 ms (computed by hand in promtest).
func testRunMeshTraffic(t *testing.T, kc string) {
	prom, first := promtest.Prometheus(t, promtest.ProxyStandIn(t))
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(target(t), "http://"))
	url := "http://reviews.shop:" + port + "/"
	time.Sleep(time.Until(first.Add(meshmetrics.MinWindow + 2*time.Second))) // a whole window of samples
	out, errOut, code := runMeshperf(t, "run", url, "--rps", "50", "-c", "2", "-d", "2s", "-o", "json", "--no-save",
		"--kubeconfig", kc, "--resolver", dnsLoopback(t), "--mesh-prometheus", prom)
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, errOut)
	}
	var res spec.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Achieved.Responses == 0 {
		t.Fatalf("no response from %s: %+v", url, res.Errors)
	}
	if res.Mesh == nil || len(res.Mesh.Targets) != 1 {
		t.Fatalf("mesh context %+v", res.Mesh)
	}
	tg := res.Mesh.Targets[0]
	if tg.Service != "reviews" || tg.Mesh != "istio" || len(tg.Workloads) != 1 || len(tg.Traffic) != 1 {
		t.Fatalf("target %+v", tg)
	}
	tr := tg.Traffic[0]
	near := func(v *float64, want float64) bool { return v != nil && math.Abs(*v-want) < 1e-3 }
	if tr.Workload != "Deployment/reviews" || tr.Source != "prometheus "+prom || len(tr.Missing) != 0 ||
		!near(tr.RequestRate, 10) || !near(tr.SuccessRate, 0.9) || !near(tr.P50Ms, 5) || !near(tr.P90Ms, 17.5) || !near(tr.P99Ms, 24.25) {
		t.Errorf("what the mesh saw: %+v", tr)
	}
	// A 2 s run is read over the mesh's shortest window, ending with it.
	if !tr.End.Equal(res.EndTime) || tr.End.Sub(tr.Start) != meshmetrics.MinWindow {
		t.Errorf("window %s – %s, want %s ending at the run's end %s", tr.Start, tr.End, meshmetrics.MinWindow, res.EndTime)
	}
}

// dnsLoopback is a DNS server on 127.0.0.1 answering every A query with
// 127.0.0.1 and every other with no record.
func dnsLoopback(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			// Header (12 bytes), then one question: name, type, class.
			end := 12
			for end < n && buf[end] != 0 {
				end += int(buf[end]) + 1
			}
			if end+5 > n {
				continue
			}
			q := buf[:end+5]
			resp := append([]byte(nil), q...)
			resp[2] = 0x81 | (buf[2] & 0x01) // QR, RD copied
			resp[3] = 0x80                   // RA, no error
			resp[6], resp[7], resp[8], resp[9], resp[10], resp[11] = 0, 0, 0, 0, 0, 0
			if buf[end+1] == 0 && buf[end+2] == 1 { // type A
				resp[7] = 1
				resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1) // name at 12, A, IN, TTL 60, 127.0.0.1
			}
			_, _ = pc.WriteTo(resp, addr)
		}
	}()
	return pc.LocalAddr().String()
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
