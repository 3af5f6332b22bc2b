package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/meshmetrics"
	"github.com/meshperf/meshperf/internal/meshmetrics/promtest"
)

// waitWindow waits until a 10 s window lies wholly after Prometheus's
// first scrape.
func waitWindow(first time.Time) {
	time.Sleep(time.Until(first.Add(meshmetrics.MinWindow + 2*time.Second)))
}

// TestClusterMetrics runs meshperf cluster metrics against a real
// Prometheus scraping the stand-in for the proxies, naming the mesh.
func TestClusterMetrics(t *testing.T) {
	prom, first := promtest.Prometheus(t, promtest.ProxyStandIn(t))
	waitWindow(first)

	stdout, stderr, code := runCluster(t, "metrics", "--prometheus", prom, "--mesh", "istio", "-n", "shop", "--window", "10s", "--edges")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var lines []string // spaces between columns folded
	for _, l := range strings.Split(stdout, "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	folded := strings.Join(lines, "\n")
	for _, want := range []string{"mesh istio, prometheus " + prom + ", the 10s to ",
		"shop reviews 10.00 90.00% 5 ms 17.5 ms 24.25 ms",
		"shop details 0.00 – – – –",
		"shop/productpage shop/reviews 6.00 100.00% 3.4 ms 7 ms 9.7 ms",
		"shop/ratings shop/reviews 4.00 75.00% 10 ms 22 ms 24.7 ms",
		"missing: shop/details: success rate: no responses in the window",
		"missing: shop/details: p99 latency: no latency histogram observations in the window"} {
		if !strings.Contains(folded, want) {
			t.Errorf("text lacks %q:\n%s", want, stdout)
		}
	}

	stdout, stderr, code = runCluster(t, "metrics", "--prometheus", prom, "--mesh", "linkerd", "-n", "emojivoto", "--workload", "web", "--window", "10s", "-o", "smi")
	var l meshmetrics.SMIList
	if code != 0 || json.Unmarshal([]byte(stdout), &l) != nil {
		t.Fatalf("smi: exit %d: %s %s", code, stderr, stdout)
	}
	if l.Kind != "TrafficMetricsList" || len(l.Items) != 1 || l.Items[0].Resource.Name != "web" || len(l.Items[0].Metrics) != 5 ||
		l.Items[0].Metrics[2].Name != "p50_response_latency" || l.Items[0].Metrics[2].Value.String() != "25m" {
		t.Errorf("SMI list %s", stdout)
	}

	// Per Service: OSM's Service bookstore/bookstore from its clients'
	// outbound clusters, and one Service in SMI's shape.
	stdout, stderr, code = runCluster(t, "metrics", "--prometheus", prom, "--mesh", "osm", "--window", "10s", "--services")
	if code != 0 {
		t.Fatalf("services: exit %d: %s", code, stderr)
	}
	folded = strings.Join(strings.Fields(stdout), " ")
	if want := "SERVICE SIDE RPS SUCCESS P50 P90 P99 bookstore/bookstore client 4.00 75.00% 10 ms 22 ms 24.7 ms"; !strings.Contains(folded, want) {
		t.Errorf("services text lacks %q:\n%s", want, stdout)
	}
	stdout, stderr, code = runCluster(t, "metrics", "--prometheus", prom, "--mesh", "linkerd", "-n", "emojivoto", "--service", "web-svc", "--window", "10s", "-o", "smi")
	l = meshmetrics.SMIList{}
	if code != 0 || json.Unmarshal([]byte(stdout), &l) != nil {
		t.Fatalf("service smi: exit %d: %s %s", code, stderr, stdout)
	}
	if last := len(l.Items) - 1; l.Resource.Kind != "Service" || l.Resource.Name != "web-svc" || last < 0 ||
		l.Items[last].Resource != (meshmetrics.SMIResource{Kind: "Service", Namespace: "emojivoto", Name: "web-svc"}) ||
		len(l.Items[last].Metrics) != 5 || l.Items[last].Metrics[0].Value.String() != "98500u" {
		t.Errorf("SMI Service list %s", stdout)
	}

	for _, tc := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"metrics", "--mesh", "istio"}, "--prometheus", ExitUsage},
		{[]string{"metrics", "--prometheus", prom, "--mesh", "istio", "--service", "web"}, "namespace", ExitUsage},
		{[]string{"metrics", "--prometheus", prom, "--mesh", "consul"}, "--mesh", ExitUsage},
		{[]string{"metrics", "--prometheus", prom, "--mesh", "istio", "--window", "1s"}, "window", ExitUsage},
		{[]string{"metrics", "--prometheus", prom, "--mesh", "istio", "--workload", "web"}, "namespace", ExitUsage},
		{[]string{"metrics", "--prometheus", prom, "--mesh", "istio", "-n", "Bad_NS"}, "namespace", ExitUsage},
		{[]string{"metrics", "--prometheus", "ftp://x", "--mesh", "istio"}, "--prometheus", ExitUsage},
		{[]string{"metrics", "--prometheus", "http://" + promtest.FreeAddr(t), "--mesh", "istio"}, "unreachable", ExitFailed},
	} {
		_, stderr, code := runCluster(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d %q; want %d naming %s", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}

// testClusterMetricsAuto (called by TestClusterAPIServer): --mesh auto
// finds Istio carrying shop/reviews in the cluster, and names the
// workload's kind.
func testClusterMetricsAuto(t *testing.T, kc string) {
	prom, first := promtest.Prometheus(t, promtest.ProxyStandIn(t))
	waitWindow(first)
	stdout, stderr, code := runCluster(t, "metrics", "--kubeconfig", kc, "--prometheus", prom, "-n", "shop", "--workload", "reviews", "--window", "10s", "-o", "json")
	var reps []meshmetrics.Report
	if code != 0 || json.Unmarshal([]byte(stdout), &reps) != nil {
		t.Fatalf("exit %d: %s %s", code, stderr, stdout)
	}
	if len(reps) != 1 || reps[0].Mesh != "istio" || len(reps[0].Workloads) != 1 || reps[0].Workloads[0].Kind != "Deployment" ||
		reps[0].Workloads[0].RequestRate == nil || *reps[0].Workloads[0].RequestRate < 9.999 || *reps[0].Workloads[0].RequestRate > 10.001 {
		t.Errorf("reports %s", stdout)
	}
	_, stderr, code = runCluster(t, "metrics", "--kubeconfig", kc, "--prometheus", prom, "-n", "plain")
	if code != ExitFailed || !strings.Contains(stderr, "no mesh with traffic metrics") {
		t.Errorf("namespace in no mesh: exit %d %s", code, stderr)
	}
}
