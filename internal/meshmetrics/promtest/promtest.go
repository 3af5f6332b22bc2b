// Package promtest runs, for tests, a real Prometheus (Debian's
// prometheus) scraping a stand-in for the meshes' proxies: an endpoint
// publishing Istio's, Linkerd's and Open Service Mesh's (Envoy's) real
// metric names and labels with known rates.
package promtest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The stand-in for the meshes' proxies: an HTTP endpoint publishing Istio's
// and Linkerd's real metric names and labels with known rates. Every
// sample carries its timestamp and the value the counter has then (rate ×
// time since t0), so the counters are exactly linear and every figure can
// be computed by hand. A real Prometheus scrapes it; the queries, windows
// and maths are the real ones.
type series struct {
	name   string
	labels string
	rate   float64 // per second
}

// proxySeries are the stand-in's series. Per second:
//
//	Istio, destination shop/reviews (reporter=destination):
//	  from productpage: 6 × 200, latencies 5 in (0,5] ms, 1 in (5,10]
//	  from ratings:     3 × 200 + 1 × 503, latencies 2 in (5,10], 2 in (10,25]
//	  so 10 rps, 90% ok; buckets le1 0, le5 5, le10 8, le25 10: p50 1+4×5/5 = 5 ms,
//	  p90 10+15×(9−8)/2 = 17.5 ms, p99 10+15×(9.9−8)/2 = 24.25 ms.
//	Istio, the source side's report of productpage → reviews: 100/s,
//	  which must not be counted (reporter=source).
//	Istio, shop/details: series present, no traffic (rate 0).
//	Istio's destination series name the Service addressed
//	(destination_service_namespace/_name): Service shop/reviews has the
//	workload's figures (10 rps, 90%, 5/17.5/24.25 ms), shop/details rate 0.
//	Linkerd's outbound series name it too (dst_service="web-svc"):
//	Service emojivoto/web-svc 5 rps, 80%, 25/85/98.5 ms.
//	Open Service Mesh: Service bookstore/bookstore is every client's
//	outbound cluster "bookstore/bookstore|14001": bookbuyer's alone,
//	4 rps, 75%, 10/22/24.7 ms (the client side's count, not the 8 rps of
//	bookstore-v1's local cluster; no other client is published).
//	Linkerd, emojivoto/web inbound and vote-bot → web outbound: 5 rps,
//	  4 success, 1 failure; latencies 2 in (0,10], 3 in (10,100]:
//	  p50 10+90×0.5/3 = 25 ms, p90 85 ms, p99 98.5 ms.
//	Open Service Mesh (Envoy's cluster stats, OSM's source_* tags naming
//	the reporting proxy's workload):
//	  bookstore/bookstore-v1's local cluster "bookstore/bookstore|14001|local":
//	    8 rps; by class 6 × 2xx, 1 × 4xx, 1 × 5xx: 87.5% ok (a 4xx is no
//	    failure of the mesh); latencies le1 0, le5 4, le10 6, le25 8:
//	    p50 1+4×4/4 = 5 ms, p90 10+15×(7.2−6)/2 = 19 ms, p99 10+15×(7.92−6)/2 = 24.4 ms.
//	  bookbuyer/bookbuyer's cluster "bookstore/bookstore|14001" (the edge
//	    bookbuyer → Service bookstore/bookstore): 4 rps, 3 × 2xx, 1 × 5xx:
//	    75%; le5 0, le10 2, le25 4: p50 5+5×2/2 = 10, p90 10+15×1.6/2 = 22,
//	    p99 10+15×1.96/2 = 24.7 ms.
//	  bookbuyer's "passthrough-outbound" cluster: 2 rps, names no Service,
//	    so no edge.
func proxySeries() []series {
	var s []series
	istio := func(src, code string, rate float64) {
		s = append(s, series{"istio_requests_total", fmt.Sprintf(`reporter="destination",source_workload=%q,source_workload_namespace="shop",destination_workload="reviews",destination_workload_namespace="shop",destination_service_namespace="shop",destination_service_name="reviews",response_code=%q`, src, code), rate})
	}
	istio("productpage", "200", 6)
	istio("ratings", "200", 3)
	istio("ratings", "503", 1)
	s = append(s, series{"istio_requests_total", `reporter="source",source_workload="productpage",source_workload_namespace="shop",destination_workload="reviews",destination_workload_namespace="shop",response_code="200"`, 100})
	s = append(s, series{"istio_requests_total", `reporter="destination",source_workload="productpage",source_workload_namespace="shop",destination_workload="details",destination_workload_namespace="shop",destination_service_namespace="shop",destination_service_name="details",response_code="200"`, 0})
	buckets := func(name, labels string, les []string, cum []float64) {
		for i, le := range les {
			s = append(s, series{name, labels + `,le="` + le + `"`, cum[i]})
		}
	}
	les := []string{"1", "5", "10", "25", "100", "+Inf"}
	buckets("istio_request_duration_milliseconds_bucket", `reporter="destination",source_workload="productpage",source_workload_namespace="shop",destination_workload="reviews",destination_workload_namespace="shop",destination_service_namespace="shop",destination_service_name="reviews"`,
		les, []float64{0, 5, 6, 6, 6, 6})
	buckets("istio_request_duration_milliseconds_bucket", `reporter="destination",source_workload="ratings",source_workload_namespace="shop",destination_workload="reviews",destination_workload_namespace="shop",destination_service_namespace="shop",destination_service_name="reviews"`,
		les, []float64{0, 0, 2, 4, 4, 4})
	buckets("istio_request_duration_milliseconds_bucket", `reporter="source",source_workload="productpage",source_workload_namespace="shop",destination_workload="reviews",destination_workload_namespace="shop"`,
		les, []float64{100, 100, 100, 100, 100, 100})
	for _, side := range []string{`direction="inbound",namespace="emojivoto",deployment="web"`,
		`direction="outbound",namespace="emojivoto",deployment="vote-bot",dst_namespace="emojivoto",dst_deployment="web",dst_service="web-svc"`} {
		s = append(s, series{"request_total", side, 5},
			series{"response_total", side + `,classification="success",status_code="200"`, 4},
			series{"response_total", side + `,classification="failure",status_code="500"`, 1})
		buckets("response_latency_ms_bucket", side, []string{"10", "100", "+Inf"}, []float64{2, 5, 5})
	}
	envoy := func(ns, workload, cluster string, rate float64, classes map[string]float64, cum []float64) {
		l := fmt.Sprintf(`source_namespace=%q,source_workload_kind="Deployment",source_workload_name=%q,source_workload_pod=%q,envoy_cluster_name=%q`,
			ns, workload, workload+"-5d8f7c9b4-x2x7q", cluster)
		s = append(s, series{"envoy_cluster_upstream_rq_total", l, rate})
		for _, c := range []string{"2", "4", "5"} {
			if v, ok := classes[c]; ok {
				s = append(s, series{"envoy_cluster_upstream_rq_xx", `envoy_response_code_class="` + c + `",` + l, v})
			}
		}
		if cum != nil {
			buckets("envoy_cluster_upstream_rq_time_bucket", l, []string{"0.5", "1", "5", "10", "25", "50", "+Inf"}, cum)
		}
	}
	envoy("bookstore", "bookstore-v1", "bookstore/bookstore|14001|local", 8, map[string]float64{"2": 6, "4": 1, "5": 1}, []float64{0, 0, 4, 6, 8, 8, 8})
	envoy("bookbuyer", "bookbuyer", "bookstore/bookstore|14001", 4, map[string]float64{"2": 3, "5": 1}, []float64{0, 0, 0, 2, 4, 4, 4})
	envoy("bookbuyer", "bookbuyer", "passthrough-outbound", 2, map[string]float64{"2": 2}, nil)
	return s
}

// ProxyStandIn serves proxySeries at /metrics on 127.0.0.1.
func ProxyStandIn(t testing.TB) string {
	t0 := time.Now().Add(-time.Minute) // counters started a minute ago
	ss := proxySeries()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		ts := time.Now().UnixMilli()
		el := float64(ts-t0.UnixMilli()) / 1000
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		typed := map[string]bool{}
		for _, s := range ss {
			if !typed[s.name] {
				typed[s.name] = true
				fmt.Fprintf(w, "# TYPE %s counter\n", s.name)
			}
			fmt.Fprintf(w, "%s{%s} %.6f %d\n", s.name, s.labels, s.rate*el, ts)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// FreeAddr is a loopback host:port nothing listens on (now).
func FreeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Prometheus runs Debian's prometheus scraping target every second
// and returns its URL and the time of its first scrape.
func Prometheus(t testing.TB, target string) (string, time.Time) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus is not installed (apt-get install prometheus)")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n- job_name: mesh-proxies-stand-in\n  static_configs: [{targets: [%q]}]\n", target), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := FreeAddr(t)
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file", cfg, "--storage.tsdb.path", filepath.Join(dir, "data"), "--web.listen-address", addr)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("prometheus log (end):\n%s", b[max(0, len(b)-3000):])
		}
	})
	url := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/api/v1/query?query=up")
		if err == nil {
			var body struct {
				Data struct {
					Result []struct {
						Value [2]any `json:"value"`
					} `json:"result"`
				} `json:"data"`
			}
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if err == nil && len(body.Data.Result) == 1 && body.Data.Result[0].Value[1] == "1" {
				return url, time.Now()
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("prometheus did not scrape the stand-in within 30s")
	return "", time.Time{}
}
