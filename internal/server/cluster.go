package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/meshperf/meshperf/internal/cluster"
	"github.com/meshperf/meshperf/internal/meshmetrics"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

// ClusterSource is the live inventory of the cluster the server was
// started with (a *cluster.Inventory that runs until the server ends).
type ClusterSource interface {
	Snapshot() cluster.Snapshot
	History() []cluster.Event
	Synced() (bool, []cluster.Denied)
}

var _ ClusterSource = (*cluster.Inventory)(nil)

// maxClusterEvents bounds one page of GET /api/v1/cluster/events.
const maxClusterEvents = 1000

// errNoCluster answers the cluster endpoints of a server without a cluster.
var errNoCluster = &APIError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
	Message: "no cluster: this server reads no Kubernetes cluster (start it with --kubeconfig FILE, a kubeconfig in $KUBECONFIG or ~/.kube/config, or in a pod)"}

func (s *Server) clusterRoutes() []route {
	return []route{
		{"GET /api/v1/cluster", s.clusterStatus},
		{"GET /api/v1/cluster/meshes", s.clusterMeshes},
		{"GET /api/v1/cluster/workloads", s.clusterWorkloads},
		{"GET /api/v1/cluster/topology", s.clusterTopology},
		{"GET /api/v1/cluster/events", s.clusterEvents},
		{"GET /api/v1/cluster/metrics", s.clusterMetrics},
	}
}

// ClusterStatus is the body of GET /api/v1/cluster.
type ClusterStatus struct {
	// Synced is false until the snapshot covers every resource listed (or
	// refused) once; Pending names what is still being read and why.
	Synced     bool                `json:"synced"`
	Pending    []cluster.Denied    `json:"pending,omitempty"`
	Time       time.Time           `json:"time"`
	Seq        uint64              `json:"seq"`
	Server     string              `json:"server"`
	Meshes     []cluster.Mesh      `json:"meshes"`
	GatewayAPI *cluster.GatewayAPI `json:"gatewayAPI,omitempty"`
	SMI        []cluster.CRD       `json:"smi,omitempty"`
	Coverage   cluster.Coverage    `json:"coverage"`
	Namespaces []cluster.Namespace `json:"namespaces"`
	Routes     []cluster.Route     `json:"routes"`
	Unreadable []cluster.Denied    `json:"unreadable,omitempty"`
}

// ClusterMeshes is the body of GET /api/v1/cluster/meshes.
type ClusterMeshes struct {
	Meshes []cluster.Mesh `json:"meshes"`
}

// ClusterEvents is the body of GET /api/v1/cluster/events.
type ClusterEvents struct {
	Events []cluster.Event `json:"events"`
}

// ClusterWorkloads is the body of GET /api/v1/cluster/workloads.
type ClusterWorkloads struct {
	Namespace string             `json:"namespace,omitempty"`
	Services  []cluster.Service  `json:"services"`
	Workloads []cluster.Workload `json:"workloads"`
	Pods      []cluster.Pod      `json:"pods"`
}

func (s *Server) clusterSnapshot() (cluster.Snapshot, error) {
	if s.cluster == nil {
		return cluster.Snapshot{}, errNoCluster
	}
	return s.cluster.Snapshot(), nil
}

func (s *Server) clusterStatus(w http.ResponseWriter, _ *http.Request) error {
	snap, err := s.clusterSnapshot()
	if err != nil {
		return err
	}
	_, pending := s.cluster.Synced()
	writeJSON(w, http.StatusOK, ClusterStatus{Synced: snap.Complete, Pending: pending, Time: snap.Time, Seq: snap.Seq, Server: snap.Server,
		Meshes: nonNil(snap.Meshes), GatewayAPI: snap.GatewayAPI, SMI: snap.SMI, Coverage: snap.Coverage,
		Namespaces: nonNil(snap.Namespaces), Routes: nonNil(snap.Routes), Unreadable: snap.Unreadable})
	return nil
}

func (s *Server) clusterMeshes(w http.ResponseWriter, _ *http.Request) error {
	snap, err := s.clusterSnapshot()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ClusterMeshes{Meshes: nonNil(snap.Meshes)})
	return nil
}

// namespaceParam reads ?namespace=, a DNS label or empty.
func namespaceParam(r *http.Request) (string, error) {
	ns := r.URL.Query().Get("namespace")
	if len(ns) > 63 {
		return "", badRequest("namespace", "namespace: at most 63 characters")
	}
	for _, c := range ns {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return "", badRequest("namespace", "namespace %q: not a Kubernetes namespace name", ns)
		}
	}
	return ns, nil
}

func (s *Server) clusterWorkloads(w http.ResponseWriter, r *http.Request) error {
	ns, err := namespaceParam(r)
	if err != nil {
		return err
	}
	snap, err := s.clusterSnapshot()
	if err != nil {
		return err
	}
	out := ClusterWorkloads{Namespace: ns, Services: []cluster.Service{}, Workloads: []cluster.Workload{}, Pods: []cluster.Pod{}}
	for _, v := range snap.Services {
		if ns == "" || v.Namespace == ns {
			out.Services = append(out.Services, v)
		}
	}
	for _, v := range snap.Workloads {
		if ns == "" || v.Namespace == ns {
			out.Workloads = append(out.Workloads, v)
		}
	}
	for _, v := range snap.Pods {
		if ns == "" || v.Namespace == ns {
			out.Pods = append(out.Pods, v)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// topologyTrafficTimeout bounds what the topology waits for the mesh's
// metrics; past it, its traffic edges are missing, not the topology.
const topologyTrafficTimeout = 10 * time.Second

// clusterTopology serves the topology of ?namespace= (all when empty),
// with the traffic the mesh saw over ?window= (default 1m) as edges unless
// ?traffic=false.
func (s *Server) clusterTopology(w http.ResponseWriter, r *http.Request) error {
	ns, err := namespaceParam(r)
	if err != nil {
		return err
	}
	window, err := windowParam(r)
	if err != nil {
		return err
	}
	traffic := r.URL.Query().Get("traffic")
	if traffic != "" && traffic != "true" && traffic != "false" {
		return badRequest("traffic", "traffic %q: want true or false", clipParam(traffic))
	}
	snap, err := s.clusterSnapshot()
	if err != nil {
		return err
	}
	topo := snap.Topology(ns)
	if traffic != "false" {
		s.topologyTraffic(r.Context(), snap, &topo, ns, window)
	}
	writeJSON(w, http.StatusOK, topo)
	return nil
}

// topologyTraffic adds to topo the edges each mesh of snap with a query
// set reported into namespace ns; what could not be read is said in
// topo.Traffic.Missing.
func (s *Server) topologyTraffic(ctx context.Context, snap cluster.Snapshot, topo *cluster.Topology, ns string, window time.Duration) {
	tt := &cluster.TopologyTraffic{}
	topo.Traffic = tt
	if s.meshMetrics == nil {
		tt.Missing = []string{errNoMeshMetrics.Message}
		return
	}
	ctx, cancel := context.WithTimeout(ctx, topologyTrafficTimeout)
	defer cancel()
	var edges []cluster.ObservedEdge
	for _, m := range snap.Meshes {
		if _, ok := meshmetrics.QuerySetFor(m.Mesh); !ok {
			continue
		}
		rep, err := s.meshMetrics.Traffic(ctx, meshmetrics.Query{Mesh: m.Mesh, Namespace: ns, Window: window, Edges: true})
		if err != nil {
			tt.Missing = append(tt.Missing, m.Mesh+": "+err.Error())
			continue
		}
		tt.Source, tt.Window = rep.Source, rep.Window
		if rep.Missing != "" {
			tt.Missing = append(tt.Missing, m.Mesh+": "+rep.Missing)
		}
		for _, e := range rep.Edges {
			edges = append(edges, cluster.ObservedEdge{FromKind: e.Source.Kind, FromNamespace: e.Source.Namespace, FromName: e.Source.Name,
				ToKind: e.Destination.Kind, ToNamespace: e.Destination.Namespace, ToName: e.Destination.Name,
				Mesh: m.Mesh, RequestRate: e.RequestRate, SuccessRate: e.SuccessRate})
		}
	}
	if tt.Source == "" && len(tt.Missing) == 0 {
		tt.Missing = []string{"no mesh with traffic metrics (istio, linkerd, osm) in the cluster"}
	}
	snap.AddTraffic(topo, edges)
}

// windowParam reads ?window=, a Go duration (0 when absent: the default).
func windowParam(r *http.Request) (time.Duration, error) {
	v := r.URL.Query().Get("window")
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || len(v) > 32 {
		return 0, badRequest("window", "window %q: want a duration such as 60s", clipParam(v))
	}
	if d < meshmetrics.MinWindow || d > meshmetrics.MaxWindow || d%time.Second != 0 {
		return 0, badRequest("window", "window %s: want whole seconds from %s to %s", d, meshmetrics.MinWindow, meshmetrics.MaxWindow)
	}
	return d, nil
}

// clusterEvents lists the kept events after ?after=SEQ (oldest first), at
// most ?limit=N (default and most maxClusterEvents): the newest ones.
func (s *Server) clusterEvents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var after uint64
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return badRequest("after", "after %q: want an event sequence number", v)
		}
		after = n
	}
	limit := maxClusterEvents
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxClusterEvents {
			return badRequest("limit", "limit %q: want 1 to %d", v, maxClusterEvents)
		}
		limit = n
	}
	if s.cluster == nil {
		return errNoCluster
	}
	events := []cluster.Event{}
	for _, e := range s.cluster.History() {
		if e.Seq > after {
			events = append(events, e)
		}
	}
	if len(events) > limit {
		events = events[len(events)-limit:]
	}
	writeJSON(w, http.StatusOK, ClusterEvents{Events: events})
	return nil
}

// meshContext is the mesh context of a run's targets from the live
// inventory at its start; nil when the server reads no cluster.
func (s *Server) meshContext(plans []*loadgen.Plan) *spec.MeshContext {
	if s.cluster == nil {
		return nil
	}
	var targets []string
	for _, p := range plans {
		targets = append(targets, p.Targets...)
	}
	snap := s.cluster.Snapshot()
	mc := snap.MeshContext(targets)
	if !snap.Complete {
		_, pending := s.cluster.Synced()
		mc.Error = "the cluster inventory is not complete yet"
		for _, d := range pending {
			mc.Error += "; " + d.String()
		}
	}
	return &mc
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// errNoMeshMetrics answers GET /api/v1/cluster/metrics on a server without
// a Prometheus for them.
var errNoMeshMetrics = &APIError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
	Message: "no mesh metrics: this server reads no Prometheus for them (start it with --mesh-prometheus URL)"}

// ClusterMetrics is the body of GET /api/v1/cluster/metrics: one report
// per mesh asked.
type ClusterMetrics struct {
	Reports []*meshmetrics.Report `json:"reports"`
}

// clusterMetrics serves the mesh's traffic metrics: ?mesh= (default: each
// mesh the inventory finds with a query set), ?namespace=, ?workload=,
// ?window= (Go duration, default 1m), ?edges=true, ?services=true,
// ?service= (one Service, with ?namespace=), ?format=smi.
func (s *Server) clusterMetrics(w http.ResponseWriter, r *http.Request) error {
	if s.meshMetrics == nil {
		return errNoMeshMetrics
	}
	q := r.URL.Query()
	ns, err := namespaceParam(r)
	if err != nil {
		return err
	}
	window, err := windowParam(r)
	if err != nil {
		return err
	}
	query := meshmetrics.Query{Namespace: ns, Workload: q.Get("workload"), Edges: q.Get("edges") == "true", Window: window,
		Services: q.Get("services") == "true", Service: q.Get("service")}
	format := q.Get("format")
	if format != "" && format != "smi" {
		return badRequest("format", "format %q: want smi or nothing", clipParam(format))
	}
	meshes := []string{}
	if m := q.Get("mesh"); m != "" {
		if _, ok := meshmetrics.QuerySetFor(m); !ok {
			return badRequest("mesh", "mesh %q: want istio, linkerd or osm", clipParam(m))
		}
		meshes = append(meshes, m)
	} else if s.cluster != nil {
		for _, m := range s.cluster.Snapshot().Meshes {
			if _, ok := meshmetrics.QuerySetFor(m.Mesh); ok {
				meshes = append(meshes, m.Mesh)
			}
		}
		if len(meshes) == 0 {
			return &APIError{Status: http.StatusNotFound, Code: CodeNotFound, Message: "no mesh with traffic metrics (istio, linkerd, osm) in the cluster"}
		}
	} else {
		return badRequest("mesh", "mesh: name one (istio, linkerd, osm); this server reads no cluster to find it")
	}
	out := ClusterMetrics{Reports: []*meshmetrics.Report{}}
	for _, m := range meshes {
		query.Mesh = m
		if err := query.Validate(); err != nil {
			return badRequest("", "%v", err)
		}
		rep, err := s.meshMetrics.Traffic(r.Context(), query)
		if err != nil {
			return &APIError{Status: http.StatusBadGateway, Code: CodeUnavailable, Message: err.Error(), Err: err}
		}
		if s.cluster != nil {
			rep.ResolveKinds(s.cluster.Snapshot().WorkloadKind)
		}
		out.Reports = append(out.Reports, rep)
	}
	if format == "smi" {
		sel := meshmetrics.SMIResource{Kind: "Workload", Namespace: ns, Name: query.Workload}
		if query.Service != "" && query.Workload == "" {
			sel = meshmetrics.SMIResource{Kind: "Service", Namespace: ns, Name: query.Service}
		}
		lists := make([]meshmetrics.SMIList, 0, len(out.Reports))
		for _, rep := range out.Reports {
			lists = append(lists, rep.SMI(sel))
		}
		if len(lists) == 1 {
			writeJSON(w, http.StatusOK, lists[0])
		} else {
			writeJSON(w, http.StatusOK, lists)
		}
		return nil
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func clipParam(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
