package meshmetrics

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/meshmetrics/promtest"
	"github.com/meshperf/meshperf/spec"
)

func near(got *float64, want float64) bool {
	return got != nil && math.Abs(*got-want) <= 1e-6*math.Max(1, math.Abs(want))
}

func show(v *float64) string {
	if v == nil {
		return "nil"
	}
	return fmt.Sprint(*v)
}

// checkFigures compares f with the hand-computed figures (NaN: nil).
func checkFigures(t *testing.T, what string, f Figures, rps, ok, p50, p90, p99 float64, window float64) {
	t.Helper()
	for _, c := range []struct {
		name string
		got  *float64
		want float64
	}{{"rps", f.RequestRate, rps}, {"success rate", f.SuccessRate, ok}, {"p50", f.P50Ms, p50}, {"p90", f.P90Ms, p90}, {"p99", f.P99Ms, p99},
		{"successes", f.Successes, rps * ok * window}, {"failures", f.Failures, rps * (1 - ok) * window}} {
		if math.IsNaN(c.want) {
			if c.got != nil {
				t.Errorf("%s %s = %v, want missing", what, c.name, *c.got)
			}
			continue
		}
		if !near(c.got, c.want) {
			t.Errorf("%s %s = %s, want %v (missing: %v)", what, c.name, show(c.got), c.want, f.Missing)
		}
	}
}

func TestPrometheusTraffic(t *testing.T) {
	url, first := promtest.Prometheus(t, promtest.ProxyStandIn(t))
	p, err := NewPrometheus(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Query once the 10 s window ending at `at` lies wholly after the
	// first scrape, so every rate covers whole samples.
	at := first.Add(MinWindow + 2*time.Second).Truncate(time.Second)
	time.Sleep(time.Until(at.Add(1500 * time.Millisecond)))
	ctx := context.Background()
	nan := math.NaN()

	t.Run("istio", func(t *testing.T) {
		rep, err := p.Traffic(ctx, Query{Mesh: "istio", Namespace: "shop", Window: MinWindow, At: at, Edges: true})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Missing != "" || rep.Window != "10s" || len(rep.Workloads) != 2 {
			t.Fatalf("report %+v", rep)
		}
		d, r := rep.Workloads[0], rep.Workloads[1]
		if d.Name != "details" || r.Name != "reviews" || r.Namespace != "shop" {
			t.Fatalf("workloads %+v", rep.Workloads)
		}
		checkFigures(t, "reviews", r.Figures, 10, 0.9, 5, 17.5, 24.25, 10)
		// Present but idle: a rate of zero, nothing else known, none zero.
		checkFigures(t, "details", d.Figures, 0, nan, nan, nan, nan, 10)
		if len(d.Missing) != 4 {
			t.Errorf("details missing %q", d.Missing)
		}
		if len(rep.Edges) != 3 {
			t.Fatalf("edges %+v", rep.Edges)
		}
		e := map[string]EdgeTraffic{}
		for _, x := range rep.Edges {
			e[x.Source.Name+">"+x.Destination.Name] = x
		}
		// productpage: 6/s, le1 0, le5 5, le10 6: p50 1+4×3/5 = 3.4 ms (the
		// bucket below ends at 1 ms), p90 5+5×(5.4−5)/1 = 7, p99 5+5×0.94 = 9.7.
		// ratings: 4/s, le5 0, le10 2, le25 4: p50 5+5×2/2 = 10, p90 10+15×1.6/2 = 22, p99 24.7.
		checkFigures(t, "productpage>reviews", e["productpage>reviews"].Figures, 6, 1, 3.4, 7, 9.7, 10)
		checkFigures(t, "ratings>reviews", e["ratings>reviews"].Figures, 4, 0.75, 10, 22, 24.7, 10)
		if e["ratings>reviews"].Side != "server" {
			t.Errorf("istio edge side %q", e["ratings>reviews"].Side)
		}

		one, err := p.Traffic(ctx, Query{Mesh: "istio", Namespace: "shop", Workload: "reviews", Window: MinWindow, At: at})
		if err != nil || len(one.Workloads) != 1 || one.Edges != nil {
			t.Fatalf("one workload: %v %+v", err, one)
		}
		checkFigures(t, "reviews alone", one.Workloads[0].Figures, 10, 0.9, 5, 17.5, 24.25, 10)
	})

	t.Run("linkerd", func(t *testing.T) {
		rep, err := p.Traffic(ctx, Query{Mesh: "linkerd", Window: MinWindow, At: at, Edges: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Workloads) != 1 || rep.Workloads[0].Name != "web" || rep.Workloads[0].Kind != "Deployment" || len(rep.Edges) != 1 {
			t.Fatalf("report %+v", rep)
		}
		checkFigures(t, "web", rep.Workloads[0].Figures, 5, 0.8, 25, 85, 98.5, 10)
		edge := rep.Edges[0]
		if edge.Source.Name != "vote-bot" || edge.Destination.Name != "web" || edge.Side != "client" {
			t.Errorf("edge %+v", edge)
		}
		checkFigures(t, "vote-bot>web", edge.Figures, 5, 0.8, 25, 85, 98.5, 10)
	})

	t.Run("osm (envoy)", func(t *testing.T) {
		rep, err := p.Traffic(ctx, Query{Mesh: "osm", Window: MinWindow, At: at, Edges: true})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Missing != "" || len(rep.Workloads) != 1 || len(rep.Edges) != 1 {
			t.Fatalf("report %+v", rep)
		}
		w := rep.Workloads[0]
		if w.Kind != "Workload" || w.Namespace != "bookstore" || w.Name != "bookstore-v1" {
			t.Errorf("workload %+v", w.Resource)
		}
		checkFigures(t, "bookstore-v1", w.Figures, 8, 0.875, 5, 19, 24.4, 10)
		e := rep.Edges[0]
		if e.Source != (Resource{Kind: "Workload", Namespace: "bookbuyer", Name: "bookbuyer"}) ||
			e.Destination != (Resource{Kind: "Service", Namespace: "bookstore", Name: "bookstore"}) || e.Side != "client" {
			t.Errorf("edge %+v → %+v (%s)", e.Source, e.Destination, e.Side)
		}
		checkFigures(t, "bookbuyer>bookstore", e.Figures, 4, 0.75, 10, 22, 24.7, 10)

		// Narrowed to a namespace: the edge into it stays, its source elsewhere.
		in, err := p.Traffic(ctx, Query{Mesh: "osm", Namespace: "bookstore", Window: MinWindow, At: at, Edges: true})
		if err != nil || len(in.Workloads) != 1 || len(in.Edges) != 1 {
			t.Fatalf("bookstore: %v %+v", err, in)
		}
		out, err := p.Traffic(ctx, Query{Mesh: "osm", Namespace: "bookbuyer", Window: MinWindow, At: at, Edges: true})
		if err != nil || len(out.Workloads) != 0 || len(out.Edges) != 0 {
			t.Fatalf("bookbuyer (no inbound, no edge into it): %v %+v", err, out)
		}
	})

	t.Run("services", func(t *testing.T) {
		for _, c := range []struct {
			mesh, ns, svc string
			side          string
			rps, ok       float64
			p50, p90, p99 float64
		}{
			{"istio", "shop", "reviews", "server", 10, 0.9, 5, 17.5, 24.25},
			{"istio", "shop", "details", "server", 0, nan, nan, nan, nan},
			{"linkerd", "emojivoto", "web-svc", "client", 5, 0.8, 25, 85, 98.5},
			{"osm", "bookstore", "bookstore", "client", 4, 0.75, 10, 22, 24.7},
		} {
			rep, err := p.Traffic(ctx, Query{Mesh: c.mesh, Namespace: c.ns, Service: c.svc, Window: MinWindow, At: at})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Services) != 1 || rep.Services[0].Resource != (Resource{Kind: "Service", Namespace: c.ns, Name: c.svc}) || rep.Services[0].Side != c.side {
				t.Errorf("%s %s/%s: services %+v", c.mesh, c.ns, c.svc, rep.Services)
				continue
			}
			checkFigures(t, c.mesh+" Service "+c.ns+"/"+c.svc, rep.Services[0].Figures, c.rps, c.ok, c.p50, c.p90, c.p99, 10)
		}
		// Every Service of a mesh: OSM's passthrough cluster names none.
		all, err := p.Traffic(ctx, Query{Mesh: "osm", Services: true, Window: MinWindow, At: at})
		if err != nil || len(all.Services) != 1 || all.Services[0].Name != "bookstore" {
			t.Fatalf("osm services: %v %+v", err, all.Services)
		}
		shop, err := p.Traffic(ctx, Query{Mesh: "istio", Namespace: "shop", Services: true, Window: MinWindow, At: at})
		if err != nil || len(shop.Services) != 2 || shop.Services[0].Name != "details" || shop.Services[1].Name != "reviews" {
			t.Fatalf("istio services in shop: %v %+v", err, shop.Services)
		}
		// Not asked: none.
		if rep, _ := p.Traffic(ctx, Query{Mesh: "istio", Namespace: "shop", Window: MinWindow, At: at}); rep.Services != nil {
			t.Errorf("services not asked for: %+v", rep.Services)
		}
		// A Service with no series: missing, never zero.
		none, err := p.Traffic(ctx, Query{Mesh: "istio", Namespace: "shop", Service: "nosuch", Window: MinWindow, At: at})
		if err != nil || len(none.Services) != 1 || none.Services[0].RequestRate != nil || len(none.Services[0].Missing) != 1 ||
			!strings.Contains(none.Services[0].Missing[0], "no istio_requests_total series for Service shop/nosuch") {
			t.Errorf("absent Service: %v %+v", err, none.Services)
		}
		// SMI: resource kind Service.
		b, _ := json.Marshal(shop.SMI(SMIResource{Kind: "Service", Namespace: "shop"}))
		var l struct {
			Items []struct {
				Resource struct{ Kind, Namespace, Name string }
				Edge     *struct{}
				Metrics  []struct{ Name, Value string }
			}
		}
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatal(err)
		}
		var reviews map[string]string
		for _, it := range l.Items {
			if it.Resource.Kind == "Service" && it.Resource.Name == "reviews" && it.Edge == nil {
				reviews = map[string]string{}
				for _, m := range it.Metrics {
					reviews[m.Name] = m.Value
				}
			}
		}
		if want := map[string]string{"p50_response_latency": "5m", "p90_response_latency": "17500u", "p99_response_latency": "24250u",
			"success_count": "90", "failure_count": "10"}; fmt.Sprint(reviews) != fmt.Sprint(want) {
			t.Errorf("SMI Service shop/reviews %v, want %v (%s)", reviews, want, b)
		}
	})

	t.Run("smi shape", func(t *testing.T) {
		rep, err := p.Traffic(ctx, Query{Mesh: "istio", Namespace: "shop", Workload: "reviews", Window: MinWindow, At: at, Edges: true})
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(rep.SMI(SMIResource{Kind: "Workload", Namespace: "shop", Name: "reviews"}))
		if err != nil {
			t.Fatal(err)
		}
		var l struct {
			Kind, APIVersion string
			Items            []struct {
				Kind     string
				Window   string
				Resource struct{ Kind, Namespace, Name string }
				Edge     *struct {
					Direction, Side string
					Resource        struct{ Name string }
				}
				Metrics []struct{ Name, Unit, Value string }
			}
		}
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatal(err)
		}
		if l.Kind != "TrafficMetricsList" || l.APIVersion != "metrics.smi-spec.io/v1alpha1" || len(l.Items) != 3 {
			t.Fatalf("SMI list %s", b)
		}
		got := map[string]string{}
		for _, m := range l.Items[0].Metrics {
			got[m.Name] = m.Value + " " + m.Unit
		}
		want := map[string]string{"p50_response_latency": "5m seconds", "p90_response_latency": "17500u seconds", "p99_response_latency": "24250u seconds",
			"success_count": "90 ", "failure_count": "10 "}
		if fmt.Sprint(got) != fmt.Sprint(want) || l.Items[0].Edge != nil || l.Items[0].Window != "10s" || l.Items[0].Resource.Name != "reviews" {
			t.Errorf("SMI resource item: %v, want %v (%s)", got, want, b)
		}
		if e := l.Items[2].Edge; e == nil || e.Direction != "from" || e.Side != "server" || e.Resource.Name != "ratings" {
			t.Errorf("SMI edge item %s", b)
		}
	})

	t.Run("a run's targets", func(t *testing.T) {
		mc := &spec.MeshContext{Targets: []spec.MeshTarget{
			{URL: "http://reviews.shop:9080/", Namespace: "shop", Service: "reviews", Mesh: "istio", Workloads: []string{"Deployment/reviews"}},
			{URL: "http://web.emojivoto/", Namespace: "emojivoto", Service: "web-svc", Mesh: "linkerd", Workloads: []string{"Deployment/web"}},
			{URL: "http://batch.plain/", Namespace: "plain", Service: "batch", Workloads: []string{"Deployment/batch"}}, // no mesh
			{URL: "http://k.kuma/", Namespace: "kuma-demo", Service: "k", Mesh: "kuma", Workloads: []string{"Deployment/k"}},
		}}
		// A 4 s run: the mesh's window is the shortest it has, 10 s, ending with it.
		FillRun(ctx, p, "prometheus "+url, mc, at.Add(-4*time.Second), at)
		r := mc.Targets[0].Traffic
		if len(r) != 1 || r[0].Workload != "Deployment/reviews" || !r[0].End.Equal(at) || r[0].End.Sub(r[0].Start) != MinWindow ||
			!near(r[0].RequestRate, 10) || !near(r[0].SuccessRate, 0.9) || !near(r[0].P99Ms, 24.25) || len(r[0].Missing) != 0 {
			t.Errorf("reviews traffic %+v", r)
		}
		if w := mc.Targets[1].Traffic; len(w) != 1 || !near(w[0].RequestRate, 5) || !near(w[0].P50Ms, 25) {
			t.Errorf("web traffic %+v", w)
		}
		if mc.Targets[2].Traffic != nil {
			t.Errorf("a target in no mesh got traffic %+v", mc.Targets[2].Traffic)
		}
		if k := mc.Targets[3].Traffic; len(k) != 1 || k[0].RequestRate != nil || len(k[0].Missing) != 1 || !strings.Contains(k[0].Missing[0], "no traffic metrics for this mesh") {
			t.Errorf("kuma traffic %+v", k)
		}
	})

	t.Run("missing, never zero", func(t *testing.T) {
		rep, err := p.Traffic(ctx, Query{Mesh: "istio", Namespace: "shop", Workload: "nosuch", Window: MinWindow, At: at})
		if err != nil || len(rep.Workloads) != 1 {
			t.Fatalf("%v %+v", err, rep)
		}
		w := rep.Workloads[0]
		if w.RequestRate != nil || w.SuccessRate != nil || w.P50Ms != nil || len(w.Missing) != 1 || !strings.Contains(w.Missing[0], "no istio_requests_total series for shop/nosuch") {
			t.Errorf("absent workload %+v", w)
		}
		// A mesh whose metrics this Prometheus does not have.
		envoy := QuerySet{Mesh: "kuma", Requests: "envoy_cluster_upstream_rq_total", Success: `envoy_response_code_class!="5"`,
			Latency: "envoy_cluster_upstream_rq_time_bucket", Inbound: `envoy_cluster_name=~"localhost_.*"`, Namespace: "namespace", Workload: "workload"}
		pk, err := NewPrometheus(url, []QuerySet{envoy})
		if err != nil {
			t.Fatal(err)
		}
		rep, err = pk.Traffic(ctx, Query{Mesh: "kuma", Window: MinWindow, At: at})
		if err != nil || !strings.Contains(rep.Missing, "no envoy_cluster_upstream_rq_total series") || len(rep.Workloads) != 0 {
			t.Errorf("metrics absent: %v %+v", err, rep)
		}
		// A query Prometheus refuses: its status and class, none of its text.
		broken := envoy
		broken.Inbound = `envoy_cluster_name=~"("`
		pb, _ := NewPrometheus(url, []QuerySet{broken})
		if _, err := pb.Traffic(ctx, Query{Mesh: "kuma", Window: MinWindow, At: at}); err == nil || !strings.Contains(err.Error(), "refused the query: HTTP 400 (bad_data)") {
			t.Errorf("refused query: %v", err)
		}
		if _, err := p.Traffic(ctx, Query{Mesh: "kuma", Window: MinWindow}); err == nil || !strings.Contains(err.Error(), "istio, linkerd, osm") {
			t.Errorf("mesh without a query set: %v", err)
		}
	})
}

func TestTrafficBadInput(t *testing.T) {
	p, err := NewPrometheus("http://"+promtest.FreeAddr(t), nil) // nothing listens
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := p.Traffic(ctx, Query{Mesh: "istio"}); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("unreachable: %v", err)
	}
	for _, tc := range []struct {
		q    Query
		want string
	}{
		{Query{Mesh: "istio", Namespace: `shop"}`}, "namespace"},
		{Query{Mesh: "istio", Namespace: "shop", Workload: "a b"}, "workload"},
		{Query{Mesh: "istio", Workload: "reviews"}, "give its namespace"},
		{Query{Mesh: "istio", Window: time.Second}, "window"},
		{Query{Mesh: "istio", Window: 15500 * time.Millisecond}, "whole seconds"},
		{Query{Mesh: "istio", Window: 48 * time.Hour}, "window"},
		{Query{}, "mesh"},
		{Query{Mesh: strings.Repeat("a", 300)}, "mesh"},
	} {
		if _, err := p.Traffic(ctx, tc.q); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error naming %s", tc.q, err, tc.want)
		}
	}
	for _, u := range []string{"", "ftp://x", "http://", "127.0.0.1:9090", "http://" + strings.Repeat("a", 3000)} {
		if _, err := NewPrometheus(u, nil); err == nil {
			t.Errorf("NewPrometheus(%q): no error", u)
		}
	}
}
