package cluster

import (
	"cmp"
	"slices"
	"strings"
)

// Topology is the cluster drawn as a graph: Services and workloads as
// nodes; a Service selecting a workload's pods, and a route sending from
// its parent Service (GAMMA) or Gateway to its backends, as edges.
type Topology struct {
	Nodes []TopologyNode `json:"nodes"`
	Edges []TopologyEdge `json:"edges"`
}

// TopologyNode is a Service, a workload or a Gateway. ID is
// kind/namespace/name.
type TopologyNode struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"` // Service, Deployment, StatefulSet, DaemonSet, Gateway
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Mesh      string `json:"mesh,omitempty"`
	Pods      int    `json:"pods"`
	Meshed    int    `json:"meshed"`
}

// TopologyEdge goes from a Service to a workload it selects ("selects"),
// or from a route's parent to a backend Service ("HTTPRoute ns/name").
type TopologyEdge struct {
	From string `json:"from"`
	To   string `json:"to"`
	Kind string `json:"kind"`
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
