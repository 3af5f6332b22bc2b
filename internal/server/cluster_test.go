package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/meshperf/meshperf/internal/auth"
	"github.com/meshperf/meshperf/internal/cluster"
	"github.com/meshperf/meshperf/internal/cluster/kubetest"
	"github.com/meshperf/meshperf/internal/meshmetrics"
	"github.com/meshperf/meshperf/internal/meshmetrics/promtest"
	"github.com/meshperf/meshperf/internal/server"
	"github.com/meshperf/meshperf/kube"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

// TestClusterAPINoCluster: a server started without a cluster answers
// every cluster endpoint with 503 and says how to give it one.
func TestClusterAPINoCluster(t *testing.T) {
	srv, _ := newServer(t)
	for _, path := range []string{"", "/meshes", "/workloads", "/topology", "/events"} {
		code, body := do(t, "GET", srv.URL+"/api/v1/cluster"+path, "", "")
		var e apiError
		json.Unmarshal(body, &e)
		if code != 503 || e.Error.Code != "unavailable" || !strings.Contains(e.Error.Message, "--kubeconfig") {
			t.Errorf("%s: %d %s", path, code, body)
		}
	}
}

// startClusterInventory installs the meshes' objects in a real API server
// and returns its kubeconfig and a running inventory of it.
func startClusterInventory(t *testing.T) (string, *cluster.Inventory) {
	kc := kubetest.Kubeconfig(t)
	t.Cleanup(kubetest.Stop)
	data := filepath.Join(kubetest.RepoRoot(), "internal", "cluster", "testdata")
	kubetest.Kubectl(t, kc, "", "apply", "-f", filepath.Join(data, "crds.yaml"))
	kubetest.Kubectl(t, kc, "", "wait", "--for", "condition=established", "--timeout", "60s", "-f", filepath.Join(data, "crds.yaml"))
	kubetest.Kubectl(t, kc, "", "apply", "-f", filepath.Join(data, "meshes.yaml"))
	kubetest.Kubectl(t, kc, "", "apply", "-f", filepath.Join(data, "workloads.yaml"))
	rc, _, err := kube.RESTConfig(kube.Config{Kubeconfig: kc})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := cluster.New(rc, cluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- inv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if err := inv.WaitSynced(wctx); err != nil {
		t.Fatal(err)
	}
	return kc, inv
}

// TestClusterAPI serves a real API server's inventory under
// /api/v1/cluster, records it in a run's result, and shows an upgrade
// through the events; in team mode only to authenticated users.
func TestClusterAPI(t *testing.T) {
	kc, inv := startClusterInventory(t)
	s := newRunServer(t, "", server.Options{Cluster: inv})
	api := s.url + "/api/v1/cluster"

	t.Run("status", func(t *testing.T) {
		// A resource the inventory starts watching late (one a CRD brings)
		// makes a snapshot incomplete until it is listed: wait, bounded.
		var st server.ClusterStatus
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			st = server.ClusterStatus{}
			getJSON(t, api, &st)
			if st.Synced || time.Now().After(deadline) {
				break
			}
		}
		versions := map[string]string{}
		for _, m := range st.Meshes {
			versions[m.Mesh] = m.Version
		}
		if !st.Synced || st.Server == "" || len(st.Unreadable) != 0 ||
			versions["istio"] != "1.23.2" || versions["linkerd"] != "stable-2.14.10" || versions["kuma"] != "2.8.2" || len(versions) != 3 {
			t.Errorf("status: synced %v server %q unreadable %v meshes %v", st.Synced, st.Server, st.Unreadable, versions)
		}
		if st.Coverage.Pods != 5 || st.Coverage.WithProxy != 3 || st.Coverage.Ambient != 1 || st.GatewayAPI == nil || st.GatewayAPI.Version != "v1.2.0" {
			t.Errorf("coverage %+v, gateway %+v", st.Coverage, st.GatewayAPI)
		}
		var ms struct{ Meshes []cluster.Mesh }
		getJSON(t, api+"/meshes", &ms)
		if len(ms.Meshes) != 3 {
			t.Errorf("meshes: %+v", ms.Meshes)
		}
	})

	t.Run("workloads", func(t *testing.T) {
		var w server.ClusterWorkloads
		getJSON(t, api+"/workloads?namespace=shop", &w)
		if len(w.Services) != 1 || w.Services[0].Name != "reviews" || len(w.Services[0].ClusterIPs) != 1 {
			t.Errorf("services %+v", w.Services)
		}
		if len(w.Workloads) != 1 || w.Workloads[0].Pods != 2 || w.Workloads[0].Meshed != 2 || w.Workloads[0].Mesh != "istio" {
			t.Errorf("workloads %+v", w.Workloads)
		}
		for _, p := range w.Pods {
			if p.Namespace != "shop" || p.Proxy == nil {
				t.Errorf("pod %+v", p)
			}
		}
		var all server.ClusterWorkloads
		getJSON(t, api+"/workloads", &all)
		if len(all.Pods) != 5 {
			t.Errorf("all namespaces: %d pods, want 5", len(all.Pods))
		}
		for _, bad := range []string{"../etc", "Shop", strings.Repeat("a", 64)} {
			code, body := do(t, "GET", api+"/workloads?namespace="+bad, "", "")
			if code != 400 || !strings.Contains(string(body), "namespace") {
				t.Errorf("namespace %q: %d %s", bad, code, body)
			}
		}
	})

	t.Run("topology", func(t *testing.T) {
		var topo cluster.Topology
		getJSON(t, api+"/topology?namespace=shop", &topo)
		var ids []string
		for _, n := range topo.Nodes {
			ids = append(ids, n.ID)
		}
		want := []string{"Deployment/shop/reviews", "Gateway/istio-system/public-gw", "Service/shop/reviews"}
		if !slices.Equal(ids, want) {
			t.Errorf("nodes %v, want %v", ids, want)
		}
		var edges []string
		for _, e := range topo.Edges {
			edges = append(edges, e.From+" -> "+e.To+" ("+e.Kind+")")
		}
		wantEdges := []string{
			"Gateway/istio-system/public-gw -> Service/shop/reviews (HTTPRoute shop/ingress)",
			"Service/shop/reviews -> Deployment/shop/reviews (selects)",
			"Service/shop/reviews -> Service/shop/reviews (HTTPRoute shop/reviews-split)",
		}
		if !slices.Equal(edges, wantEdges) {
			t.Errorf("edges\n  %s\nwant\n  %s", strings.Join(edges, "\n  "), strings.Join(wantEdges, "\n  "))
		}
		// No Prometheus: no traffic edge, and the reason, never "no traffic".
		if topo.Traffic == nil || len(topo.Traffic.Missing) != 1 || !strings.Contains(topo.Traffic.Missing[0], "--mesh-prometheus") {
			t.Errorf("traffic %+v, want it missing for want of --mesh-prometheus", topo.Traffic)
		}
		var none cluster.Topology
		if getJSON(t, api+"/topology?namespace=shop&traffic=false", &none); none.Traffic != nil {
			t.Errorf("traffic=false: %+v", none.Traffic)
		}
		for _, bad := range []string{"traffic=maybe", "window=1s", "window=ever"} {
			code, body := do(t, "GET", api+"/topology?"+bad, "", "")
			if field, _, _ := strings.Cut(bad, "="); code != 400 || !strings.Contains(string(body), field) {
				t.Errorf("%s: %d %s", bad, code, body)
			}
		}
	})

	t.Run("topology with the traffic the mesh saw", func(t *testing.T) {
		prom, first := promtest.Prometheus(t, promtest.ProxyStandIn(t))
		src, err := meshmetrics.NewPrometheus(prom, nil)
		if err != nil {
			t.Fatal(err)
		}
		ms := newRunServer(t, "", server.Options{Cluster: inv, MeshMetrics: src})
		time.Sleep(time.Until(first.Add(meshmetrics.MinWindow + 2*time.Second)))
		var topo cluster.Topology
		getJSON(t, ms.url+"/api/v1/cluster/topology?namespace=shop&window=10s", &topo)
		if topo.Traffic == nil || topo.Traffic.Source != "prometheus "+prom || topo.Traffic.Window != "10s" || len(topo.Traffic.Missing) != 0 {
			t.Fatalf("traffic %+v", topo.Traffic)
		}
		// The stand-in's Istio edges into shop (see promtest): productpage
		// 6/s all ok, ratings 4/s 75% ok, to reviews (a Deployment the
		// inventory names); productpage → details present, idle. The
		// sources are in no inventory: Workload nodes. Linkerd has no edge
		// into shop; Kuma has no query set.
		got := map[string]string{}
		for _, e := range topo.Edges {
			if e.Kind != cluster.TrafficKind {
				continue
			}
			f := e.Mesh
			for _, v := range []*float64{e.RequestRate, e.SuccessRate} {
				if v == nil {
					f += " -"
				} else {
					f += fmt.Sprintf(" %.3f", *v)
				}
			}
			got[e.From+" > "+e.To] = f
		}
		want := map[string]string{
			"Workload/shop/productpage > Deployment/shop/reviews": "istio 6.000 1.000",
			"Workload/shop/ratings > Deployment/shop/reviews":     "istio 4.000 0.750",
			"Workload/shop/productpage > Workload/shop/details":   "istio 0.000 -",
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("traffic edges\n got %v\nwant %v", got, want)
		}
		var routes int
		for _, e := range topo.Edges {
			if e.Kind != cluster.TrafficKind {
				routes++
			}
		}
		if routes != 3 {
			t.Errorf("%d route and selector edges beside the traffic, want the 3 of the topology", routes)
		}
	})

	t.Run("run records the mesh context", func(t *testing.T) {
		echo := startEcho(t)
		r := submit(t, s.url, doc(echo, 50, "1s"))
		r = waitState(t, s.url, r.ID, store.RunSucceeded, store.RunFailed)
		if r.State != store.RunSucceeded {
			t.Fatalf("run %s: %s", r.State, r.Error)
		}
		var res spec.Result
		getJSON(t, s.url+"/api/v1/results/"+r.ResultID, &res)
		mc := res.Mesh
		if mc == nil || mc.Error != "" || len(mc.Meshes) != 3 || len(mc.Targets) != 1 || mc.Targets[0].Note == "" {
			t.Fatalf("mesh context %+v", mc)
		}
	})

	t.Run("events and an upgrade", func(t *testing.T) {
		var ev struct{ Events []cluster.Event }
		getJSON(t, api+"/events?limit=5", &ev)
		if len(ev.Events) != 5 || !slices.IsSortedFunc(ev.Events, func(a, b cluster.Event) int { return int(a.Seq) - int(b.Seq) }) {
			t.Fatalf("events %+v", ev.Events)
		}
		last := ev.Events[4].Seq
		kubetest.Kubectl(t, kc, "", "-n", "istio-system", "set", "image", "deployment/istiod", "discovery=docker.io/istio/pilot:1.24.1")
		deadline := time.Now().Add(15 * time.Second)
		for {
			getJSON(t, fmt.Sprintf("%s/events?after=%d", api, last), &ev)
			i := slices.IndexFunc(ev.Events, func(e cluster.Event) bool { return e.Type == "mesh-version" && e.Mesh == "istio" })
			if i >= 0 {
				if e := ev.Events[i]; e.From != "1.23.2" || e.To != "1.24.1" {
					t.Errorf("upgrade event %+v", e)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no mesh-version event after seq %d within 15s: %+v", last, ev.Events)
			}
			time.Sleep(100 * time.Millisecond)
		}
		for _, e := range ev.Events {
			if e.Seq <= last {
				t.Errorf("event %d returned after=%d", e.Seq, last)
			}
		}
		for _, bad := range []string{"after=-1", "after=x", "limit=0", "limit=1001"} {
			if code, body := do(t, "GET", api+"/events?"+bad, "", ""); code != 400 {
				t.Errorf("%s: %d %s", bad, code, body)
			}
		}
	})

	t.Run("team mode", func(t *testing.T) {
		a, err := auth.New(auth.NewMemoryStore(), auth.GenerateKey(), auth.WithBcryptCost(bcrypt.MinCost), auth.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.CreateUser(t.Context(), "viewer", "correct horse battery", false); err != nil {
			t.Fatal(err)
		}
		srv := server.New(server.Options{Auth: a, Cluster: inv})
		hs := httptest.NewServer(srv)
		defer func() { hs.Close(); srv.Close() }()
		if code, body := call(t, "GET", hs.URL+"/api/v1/cluster", "", ""); code != 401 {
			t.Errorf("without a token: %d %s", code, body)
		}
		code, body := call(t, "POST", hs.URL+"/api/v1/auth/login", "", `{"name":"viewer","password":"correct horse battery"}`)
		var tok server.TokenResponse
		if code != 200 || json.Unmarshal([]byte(body), &tok) != nil {
			t.Fatalf("login: %d %s", code, body)
		}
		for _, path := range []string{"", "/meshes", "/workloads", "/topology", "/events"} {
			if code, body := call(t, "GET", hs.URL+"/api/v1/cluster"+path, tok.AccessToken, ""); code != 200 {
				t.Errorf("%s as a user: %d %s", path, code, body)
			}
		}
	})
}
