package experiment_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// The end-to-end tests run real components: meshperf's own binary (echo
// and the CLI), HAProxy as a stand-in sidecar with its built-in Prometheus
// exporter, prometheus-process-exporter for the proxy's CPU and memory, and
// a real Prometheus scraping both each second. All from Debian packages:
// haproxy, prometheus, prometheus-process-exporter.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// meshperf builds the meshperf binary once for the package's tests.
func meshperf(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "meshperf-exp-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "meshperf")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/meshperf/meshperf/cmd/meshperf").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// need fails (in CI) or skips (where the package is not installed yet)
// when a binary is missing: CI installs them all.
func need(t *testing.T, bins ...string) {
	t.Helper()
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed (apt-get install haproxy prometheus prometheus-process-exporter)", b)
			}
			t.Skipf("%s is not installed (apt-get install haproxy prometheus prometheus-process-exporter)", b)
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start runs a process until the test ends, its output in a log file shown
// if the test fails.
func start(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), filepath.Base(name)+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			t.Logf("%s output (end):\n%s", name, b)
		}
	})
	return cmd
}

// waitOK polls url until it answers 200, for up to 30 s.
func waitOK(t *testing.T, url string) {
	t.Helper()
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer 200 within 30s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startEcho starts `meshperf echo` with a fixed delay; it returns its URL.
func startEcho(t *testing.T, delay string) string {
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	start(t, meshperf(t), "echo", "--addr", addr, "--delay", delay)
	waitOK(t, "http://"+addr+"/healthz")
	return "http://" + addr + "/"
}

// rig is the proxy set-up: echo, HAProxy in front of it, the exporters and
// Prometheus.
type rig struct {
	echo, proxy, prom string
	cfgDir            string
}

func startRig(t *testing.T) *rig {
	need(t, "haproxy", "prometheus", "prometheus-process-exporter")
	// No delay: the echo's timer jitter with a delay (tens of µs) is the
	// size of what HAProxy adds at the median (about 60 µs here), and
	// would make the sign of the difference a coin toss on a busy machine.
	r := &rig{echo: startEcho(t, "0"), cfgDir: t.TempDir()}
	echoHost := r.echo[len("http://") : len(r.echo)-1]
	front, stats := freePort(t), freePort(t)
	hcfg := filepath.Join(r.cfgDir, "sidecar-haproxy.cfg")
	writeFile(t, hcfg, fmt.Sprintf(`global
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend stats
  bind 127.0.0.1:%d
  http-request use-service prometheus-exporter if { path /metrics }
frontend sidecar
  bind 127.0.0.1:%d
  default_backend app
backend app
  server echo %s
`, stats, front, echoHost))
	start(t, "haproxy", "-f", hcfg, "-db")
	r.proxy = fmt.Sprintf("http://127.0.0.1:%d/", front)
	waitOK(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", stats))
	waitOK(t, r.proxy+"healthz")

	pe := freePort(t)
	pcfg := filepath.Join(r.cfgDir, "process-exporter.yaml")
	writeFile(t, pcfg, fmt.Sprintf("process_names:\n- name: sidecar\n  comm: [haproxy]\n  cmdline: ['%s']\n", regexp.QuoteMeta(hcfg)))
	start(t, "prometheus-process-exporter", "-config.path", pcfg, "-web.listen-address", fmt.Sprintf("127.0.0.1:%d", pe), "-threads=false", "-gather-smaps=false")
	waitOK(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", pe))

	pp := freePort(t)
	promCfg := filepath.Join(r.cfgDir, "prometheus.yml")
	writeFile(t, promCfg, fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
- job_name: haproxy
  static_configs: [{targets: ['127.0.0.1:%d']}]
- job_name: sidecar-process
  static_configs: [{targets: ['127.0.0.1:%d']}]
`, stats, pe))
	start(t, "prometheus", "--config.file", promCfg, "--storage.tsdb.path", filepath.Join(r.cfgDir, "tsdb"),
		"--web.listen-address", fmt.Sprintf("127.0.0.1:%d", pp))
	r.prom = fmt.Sprintf("http://127.0.0.1:%d", pp)
	waitOK(t, r.prom+"/-/ready")
	// Both targets scraped and up, and the proxy's CPU known.
	waitQuery(t, r.prom, `count(up == 1) == 2`)
	waitQuery(t, r.prom, `namedprocess_namegroup_num_procs{groupname="sidecar"} >= 1`)
	return r
}

// waitQuery polls Prometheus until query returns a non-empty vector, for
// up to 30 s.
func waitQuery(t *testing.T, addr, query string) {
	t.Helper()
	c, err := api.NewClient(api.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	papi := v1.NewAPI(c)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		v, _, _, err := papi.Query(ctx, query, time.Now())
		cancel()
		if vec, ok := v.(model.Vector); err == nil && ok && len(vec) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus: %q is still empty after 30s (%v)", query, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// lineWatcher scans a reader's lines, keeping them and counting those
// that match a pattern.
type lineWatcher struct {
	mu    sync.Mutex
	lines []string
	cells int
	done  chan struct{}
}

var cellLine = regexp.MustCompile(`^cell (\d+)/(\d+) `)

func watch(sc *bufio.Scanner) *lineWatcher {
	w := &lineWatcher{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for sc.Scan() {
			w.mu.Lock()
			w.lines = append(w.lines, sc.Text())
			if cellLine.MatchString(sc.Text()) {
				w.cells++
			}
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *lineWatcher) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cells
}

func (w *lineWatcher) text() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := ""
	for _, l := range w.lines {
		s += l + "\n"
	}
	return s
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }
