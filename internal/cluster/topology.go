package cluster

import (
	"cmp"
	"slices"
	"strings"
)

// Topology is the cluster drawn as a graph: Services and workloads as
// nodes; a Service selecting a workload's pods, and a route sending from
// its parent Service (GAMMA) or Gateway to its backends, as edges; and,
// when the mesh's metrics are read, the traffic it saw between them
// (kind "traffic").
type Topology struct {
	Nodes []TopologyNode `json:"nodes"`
	Edges []TopologyEdge `json:"edges"`
	// Traffic says where the traffic edges come from, or why there are
	// none; nil when they were not asked for.
	Traffic *TopologyTraffic `json:"traffic,omitempty"`
}

// TopologyTraffic is the origin of a topology's traffic edges.
type TopologyTraffic struct {
	Source string `json:"source,omitempty"` // "prometheus http://..."
	Window string `json:"window,omitempty"` // "60s"
	// Missing lists why some or all of the traffic is not shown (no
	// Prometheus, a mesh's metrics absent, a query failed): never drawn
	// as no traffic.
	Missing []string `json:"missing,omitempty"`
}

// TrafficKind is the kind of an edge the mesh's metrics drew.
const TrafficKind = "traffic"

// ObservedEdge is traffic a mesh reported from one resource to another.
// Kind is a node kind (Deployment, Service...), "Workload" when the
// mesh's labels do not say which, or "Unknown" for a source outside the
// mesh.
type ObservedEdge struct {
	FromKind, FromNamespace, FromName string
	ToKind, ToNamespace, ToName       string
	Mesh                              string
	RequestRate, SuccessRate          *float64
}

// OutsideID is the node of traffic from outside the mesh.
const OutsideID = "External//outside the mesh"

// TopologyNode is a Service, a workload or a Gateway. ID is
// kind/namespace/name.
type TopologyNode struct {
	ID string `json:"id"`
	// Kind is Service, Deployment, StatefulSet, DaemonSet or Gateway;
	// Workload for one the mesh's metrics name that the inventory does
	// not hold, External for traffic from outside the mesh.
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Mesh      string `json:"mesh,omitempty"`
	Pods      int    `json:"pods"`
	Meshed    int    `json:"meshed"`
}

// TopologyEdge goes from a Service to a workload it selects ("selects"),
// from a route's parent to a backend Service ("HTTPRoute ns/name"), or
// from a traffic source to its destination as the mesh saw it
// ("traffic", with Mesh and its figures over the Traffic window).
type TopologyEdge struct {
	From        string   `json:"from"`
	To          string   `json:"to"`
	Kind        string   `json:"kind"`
	Mesh        string   `json:"mesh,omitempty"`
	RequestRate *float64 `json:"requestRate,omitempty"`
	SuccessRate *float64 `json:"successRate,omitempty"`
}

// Topology returns the graph of namespace ns ("" for all).
func (s Snapshot) Topology(ns string) Topology {
	t := Topology{Nodes: []TopologyNode{}, Edges: []TopologyEdge{}}
	ids := map[string]bool{}
	add := func(n TopologyNode) {
		if !ids[n.ID] {
			ids[n.ID] = true
			t.Nodes = append(t.Nodes, n)
		}
	}
	for _, w := range s.Workloads {
		if ns == "" || w.Namespace == ns {
			add(TopologyNode{ID: w.Kind + "/" + w.Namespace + "/" + w.Name, Kind: w.Kind, Namespace: w.Namespace, Name: w.Name,
				Mesh: w.Mesh, Pods: w.Pods, Meshed: w.Meshed})
		}
	}
	for _, v := range s.Services {
		if ns != "" && v.Namespace != ns {
			continue
		}
		id := "Service/" + v.Namespace + "/" + v.Name
		tg, _ := s.TargetOf(v.Namespace, v.Name)
		add(TopologyNode{ID: id, Kind: "Service", Namespace: v.Namespace, Name: v.Name, Mesh: tg.Mesh, Pods: tg.Pods, Meshed: tg.Meshed})
		if len(v.Selector) == 0 {
			continue
		}
		owners := map[string]bool{}
		for _, p := range s.Pods {
			if p.Namespace == v.Namespace && p.Owner != "" && hasLabels(p.Labels, v.Selector) {
				owners[p.Owner] = true
			}
		}
		for o := range owners {
			to := ownerID(v.Namespace, o)
			if ids[to] {
				t.Edges = append(t.Edges, TopologyEdge{From: id, To: to, Kind: "selects"})
			}
		}
	}
	for _, r := range s.Routes {
		if ns != "" && r.Namespace != ns {
			continue
		}
		for _, p := range r.Parents {
			from := p // Kind/namespace/name
			if strings.HasPrefix(p, "Gateway/") && !ids[from] {
				parts := strings.SplitN(p, "/", 3)
				if len(parts) == 3 {
					add(TopologyNode{ID: from, Kind: "Gateway", Namespace: parts[1], Name: parts[2]})
				}
			}
			if !ids[from] {
				continue
			}
			for _, b := range r.Backends {
				to := "Service/" + b
				if ids[to] {
					t.Edges = append(t.Edges, TopologyEdge{From: from, To: to, Kind: r.Kind + " " + r.Namespace + "/" + r.Name})
				}
			}
		}
	}
	slices.SortFunc(t.Nodes, func(a, b TopologyNode) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(t.Edges, func(a, b TopologyEdge) int {
		return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To), cmp.Compare(a.Kind, b.Kind))
	})
	return t
}

// AddTraffic adds to t, the topology of namespace ns ("" for all) from s,
// the traffic edges the mesh reported. An end the topology lacks is added:
// from the inventory (a workload or Service of another namespace), as a
// Workload the inventory does not hold, or as OutsideID.
func (s Snapshot) AddTraffic(t *Topology, edges []ObservedEdge) {
	ids := map[string]bool{}
	for _, n := range t.Nodes {
		ids[n.ID] = true
	}
	node := func(kind, ns, name string) string {
		if kind == "Unknown" || name == "" || name == "unknown" {
			if !ids[OutsideID] {
				ids[OutsideID] = true
				t.Nodes = append(t.Nodes, TopologyNode{ID: OutsideID, Kind: "External", Name: "outside the mesh"})
			}
			return OutsideID
		}
		if kind == "Workload" {
			kind = cmp.Or(s.WorkloadKind(ns, name), "Workload")
		}
		id := kind + "/" + ns + "/" + name
		if ids[id] {
			return id
		}
		ids[id] = true
		n := TopologyNode{ID: id, Kind: kind, Namespace: ns, Name: name}
		for _, w := range s.Workloads {
			if w.Kind == kind && w.Namespace == ns && w.Name == name {
				n.Mesh, n.Pods, n.Meshed = w.Mesh, w.Pods, w.Meshed
			}
		}
		if kind == "Service" {
			tg, _ := s.TargetOf(ns, name)
			n.Mesh, n.Pods, n.Meshed = tg.Mesh, tg.Pods, tg.Meshed
		}
		t.Nodes = append(t.Nodes, n)
		return id
	}
	for _, e := range edges {
		from := node(e.FromKind, e.FromNamespace, e.FromName)
		to := node(e.ToKind, e.ToNamespace, e.ToName)
		t.Edges = append(t.Edges, TopologyEdge{From: from, To: to, Kind: TrafficKind, Mesh: e.Mesh, RequestRate: e.RequestRate, SuccessRate: e.SuccessRate})
	}
	slices.SortFunc(t.Nodes, func(a, b TopologyNode) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(t.Edges, func(a, b TopologyEdge) int {
		return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Mesh, b.Mesh))
	})
}

// ownerID is a pod owner's node id: owner is Kind/name.
func ownerID(ns, owner string) string {
	kind, name, _ := strings.Cut(owner, "/")
	return kind + "/" + ns + "/" + name
}

// WorkloadKind is the kind of workload ns/name (Deployment, StatefulSet,
// DaemonSet); "" when s has none of that name, or several kinds do.
func (s Snapshot) WorkloadKind(ns, name string) string {
	kind := ""
	for _, w := range s.Workloads {
		if w.Namespace == ns && w.Name == name {
			if kind != "" && kind != w.Kind {
				return ""
			}
			kind = w.Kind
		}
	}
	return kind
}
