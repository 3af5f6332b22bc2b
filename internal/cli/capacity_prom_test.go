package cli_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startDaemon starts a program for the test's length, showing its output
// if the test fails.
func startDaemon(t *testing.T, name string, args ...string) {
	t.Helper()
	var logs bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s:\n%s", name, logs.String())
		}
	})
}

// waitFor polls ok every 100 ms for up to 30 s.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30 s", what)
		}
	}
}

// TestCapacityPrometheusObjective: a capacity search whose limit is a
// Prometheus metric's objective, judged on the real Prometheus per step.
// HAProxy (with its Prometheus exporter) forwards to echo, which is far
// from its limit; Prometheus scrapes HAProxy every second; the profile's
// query proxy_rps is the rate of requests HAProxy's frontend counted, and
// --metric 'proxy_rps<=300' is the only objective that can break. The
// search must find about 300/s, broken by proxy_rps.
func TestCapacityPrometheusObjective(t *testing.T) {
	for _, bin := range []string{"haproxy", "prometheus"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is not installed (apt-get install haproxy prometheus): %v", bin, err)
		}
	}
	echoURL := startEcho(t)
	dir := t.TempDir()
	front, stats, promAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	hcfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(hcfg, []byte(fmt.Sprintf(`global
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend stats
  bind %s
  http-request use-service prometheus-exporter if { path /metrics }
frontend front
  bind %s
  default_backend app
backend app
  server echo %s
`, stats, front, strings.TrimPrefix(echoURL, "http://"))), 0o644); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, "haproxy", "-f", hcfg, "-db")
	pcfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(pcfg, []byte(fmt.Sprintf("global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n- job_name: haproxy\n  static_configs: [{targets: ['%s']}]\n", stats)), 0o644); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, "prometheus", "--config.file", pcfg, "--storage.tsdb.path", filepath.Join(dir, "tsdb"), "--web.listen-address", promAddr)
	prom := "http://" + promAddr
	up := url.QueryEscape(`haproxy_frontend_http_requests_total{proxy="front"}`)
	waitFor(t, "Prometheus has HAProxy's frontend counter", func() bool {
		resp, err := http.Get(prom + "/api/v1/query?query=" + up)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return strings.Contains(b.String(), `"proxy":"front"`)
	})

	profile := filepath.Join(dir, "metric.yaml")
	if err := os.WriteFile(profile, []byte(fmt.Sprintf(`smp_version: v0.0.1
name: metric-capacity
duration: 3s
metrics:
  prometheus: %s
  step: 1s
  queries:
  - name: proxy_rps
    unit: rps
    query: sum(rate(haproxy_frontend_http_requests_total{proxy="front"}[2s]))
clients:
- load_generator: meshperf
  protocol: 1
  connections: 16
  endpoint_urls: [http://%s/]
`, prom, front)), 0o644); err != nil {
		t.Fatal(err)
	}
	const limit = 300.0
	rep, code, stderr := capacitySearch(t, "-f", profile, "--objective", "error_rate<1%", "--metric", "proxy_rps<=300",
		"--min", "75", "--max", "4800", "--step-duration", "3s", "--warmup", "1s", "--max-steps", "20", "--no-save")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, s := range rep.Steps {
		t.Logf("step %d %-7s %6.0f rps: achieved %7.1f errors %.3f%% met=%v metrics %+v broken %v",
			s.N, s.Phase, s.RPS, s.AchievedRPS, 100*s.ErrorRate, s.Met, s.MetricVerdicts, s.Broken)
	}
	// Prometheus's rate over a step lags its start by a scrape or two, so
	// a step a little above 300/s may average under it: allow that much
	// above, and the search's tolerance twice below.
	if rep.Sustained > limit*1.15 || rep.Sustained < limit/((1+rep.Tolerance)*(1+rep.Tolerance)) {
		t.Errorf("sustains %v rps, want about %v", rep.Sustained, limit)
	}
	if !brokenByOneOf(rep.BrokenBy, "proxy_rps") {
		t.Errorf("broken by %v, want proxy_rps", rep.BrokenBy)
	}
}
