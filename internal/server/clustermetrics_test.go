package server_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/meshmetrics"
	"github.com/meshperf/meshperf/internal/meshmetrics/promtest"
	"github.com/meshperf/meshperf/internal/server"
)

// TestClusterMetricsAPI serves the mesh's traffic metrics from a real
// Prometheus scraping the stand-in for the proxies.
func TestClusterMetricsAPI(t *testing.T) {
	prom, first := promtest.Prometheus(t, promtest.ProxyStandIn(t))
	src, err := meshmetrics.NewPrometheus(prom, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := newRunServer(t, "", server.Options{MeshMetrics: src})
	api := s.url + "/api/v1/cluster/metrics"
	time.Sleep(time.Until(first.Add(meshmetrics.MinWindow + 2*time.Second)))

	var m server.ClusterMetrics
	getJSON(t, api+"?mesh=istio&namespace=shop&workload=reviews&window=10s&edges=true", &m)
	if len(m.Reports) != 1 || len(m.Reports[0].Workloads) != 1 || len(m.Reports[0].Edges) != 2 {
		t.Fatalf("reports %+v", m.Reports)
	}
	w := m.Reports[0].Workloads[0]
	if w.RequestRate == nil || math.Abs(*w.RequestRate-10) > 1e-6 || w.SuccessRate == nil || math.Abs(*w.SuccessRate-0.9) > 1e-6 ||
		w.P90Ms == nil || math.Abs(*w.P90Ms-17.5) > 1e-6 {
		t.Errorf("reviews %+v", w.Figures)
	}
	var l meshmetrics.SMIList
	getJSON(t, api+"?mesh=linkerd&window=10s&format=smi", &l)
	if l.Kind != "TrafficMetricsList" || l.APIVersion != meshmetrics.SMIAPIVersion || len(l.Items) != 1 || l.Items[0].Resource.Name != "web" {
		t.Errorf("SMI list %+v", l)
	}
	// Per Service, in meshperf's shape and SMI's (resource kind Service).
	m = server.ClusterMetrics{}
	getJSON(t, api+"?mesh=istio&namespace=shop&window=10s&services=true", &m)
	if len(m.Reports) != 1 || len(m.Reports[0].Services) != 2 {
		t.Fatalf("services %+v", m.Reports)
	}
	sv := m.Reports[0].Services[1]
	if sv.Resource != (meshmetrics.Resource{Kind: "Service", Namespace: "shop", Name: "reviews"}) || sv.Side != "server" ||
		sv.RequestRate == nil || math.Abs(*sv.RequestRate-10) > 1e-6 || sv.SuccessRate == nil || math.Abs(*sv.SuccessRate-0.9) > 1e-6 ||
		sv.P99Ms == nil || math.Abs(*sv.P99Ms-24.25) > 1e-6 {
		t.Errorf("Service shop/reviews %+v", sv)
	}
	l = meshmetrics.SMIList{}
	getJSON(t, api+"?mesh=osm&namespace=bookstore&service=bookstore&window=10s&format=smi", &l)
	if n := len(l.Items); l.Resource.Kind != "Service" || n == 0 || l.Items[n-1].Resource.Kind != "Service" || l.Items[n-1].Resource.Name != "bookstore" ||
		len(l.Items[n-1].Metrics) != 5 || l.Items[n-1].Metrics[4].Name != "failure_count" || l.Items[n-1].Metrics[4].Value.String() != "10" {
		t.Errorf("SMI Service list %+v", l)
	}
	for _, tc := range []struct{ query, field string }{
		{"?namespace=shop", "mesh"}, // no cluster to find the mesh in
		{"?mesh=istio&service=reviews", "namespace"},
		{"?mesh=istio&namespace=shop&service=Bad_Svc", "service"},
		{"?mesh=consul", "mesh"},
		{"?mesh=istio&window=forever", "window"},
		{"?mesh=istio&window=1s", "window"},
		{"?mesh=istio&format=yaml", "format"},
		{"?mesh=istio&namespace=a%22%7D", "namespace"},
		{"?mesh=istio&workload=reviews", "namespace"},
	} {
		code, body := do(t, "GET", api+tc.query, "", "")
		if code != 400 || !strings.Contains(string(body), tc.field) {
			t.Errorf("%s: %d %s", tc.query, code, body)
		}
	}

	// A server without Prometheus: 503 naming the flag.
	plain, _ := newServer(t)
	code, body := do(t, "GET", plain.URL+"/api/v1/cluster/metrics?mesh=istio", "", "")
	var e apiError
	if json.Unmarshal(body, &e); code != 503 || !strings.Contains(e.Error.Message, "--mesh-prometheus") {
		t.Errorf("no prometheus: %d %s", code, body)
	}
	// A Prometheus that does not answer: 502.
	gone, _ := meshmetrics.NewPrometheus("http://"+promtest.FreeAddr(t), nil)
	g := newRunServer(t, "", server.Options{MeshMetrics: gone})
	if code, body := do(t, "GET", g.url+"/api/v1/cluster/metrics?mesh=istio", "", ""); code != 502 || !strings.Contains(string(body), "unreachable") {
		t.Errorf("prometheus unreachable: %d %s", code, body)
	}
}
