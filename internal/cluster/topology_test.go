package cluster

import (
	"fmt"
	"testing"
)

func TestAddTraffic(t *testing.T) {
	p := func(v float64) *float64 { return &v }
	snap := Snapshot{
		Workloads: []Workload{
			{Kind: "Deployment", Namespace: "shop", Name: "reviews", Pods: 2, Meshed: 2, Mesh: "istio"},
			{Kind: "StatefulSet", Namespace: "other", Name: "ratings", Pods: 1, Meshed: 1, Mesh: "istio"},
		},
		Services: []Service{{Namespace: "shop", Name: "reviews", Selector: map[string]string{"app": "reviews"}}},
		Pods: []Pod{
			{Namespace: "shop", Name: "reviews-1", Owner: "Deployment/reviews", Labels: map[string]string{"app": "reviews"}, Mesh: "istio"},
			{Namespace: "shop", Name: "reviews-2", Owner: "Deployment/reviews", Labels: map[string]string{"app": "reviews"}, Mesh: "istio"},
		},
	}
	topo := snap.Topology("shop")
	snap.AddTraffic(&topo, []ObservedEdge{
		// Istio's labels leave the kind unsaid: the inventory names it.
		{FromKind: "Workload", FromNamespace: "other", FromName: "ratings", ToKind: "Workload", ToNamespace: "shop", ToName: "reviews", Mesh: "istio", RequestRate: p(4), SuccessRate: p(0.75)},
		{FromKind: "Unknown", FromName: "unknown", ToKind: "Workload", ToNamespace: "shop", ToName: "reviews", Mesh: "istio", RequestRate: p(100), SuccessRate: p(1)},
		// A workload the inventory does not hold stays a Workload.
		{FromKind: "Workload", FromNamespace: "shop", FromName: "productpage", ToKind: "Service", ToNamespace: "shop", ToName: "reviews", Mesh: "osm", RequestRate: p(6)},
	})
	got := map[string]string{}
	for _, n := range topo.Nodes {
		got[n.ID] = fmt.Sprintf("%s pods %d meshed %d", n.Kind, n.Pods, n.Meshed)
	}
	want := map[string]string{
		"Deployment/shop/reviews":   "Deployment pods 2 meshed 2",
		"Service/shop/reviews":      "Service pods 2 meshed 0",     // these pods have no proxy container
		"StatefulSet/other/ratings": "StatefulSet pods 1 meshed 1", // from another namespace, whole
		"Workload/shop/productpage": "Workload pods 0 meshed 0",
		OutsideID:                   "External pods 0 meshed 0",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("nodes\n got %v\nwant %v", got, want)
	}
	var edges []string
	for _, e := range topo.Edges {
		s := e.From + " > " + e.To + " " + e.Kind
		if e.Kind == TrafficKind {
			s += " " + e.Mesh + fmt.Sprintf(" %v", *e.RequestRate)
			if e.SuccessRate != nil {
				s += fmt.Sprintf(" %v", *e.SuccessRate)
			}
		}
		edges = append(edges, s)
	}
	wantEdges := []string{
		"External//outside the mesh > Deployment/shop/reviews traffic istio 100 1",
		"Service/shop/reviews > Deployment/shop/reviews selects",
		"StatefulSet/other/ratings > Deployment/shop/reviews traffic istio 4 0.75",
		"Workload/shop/productpage > Service/shop/reviews traffic osm 6",
	}
	if fmt.Sprint(edges) != fmt.Sprint(wantEdges) {
		t.Errorf("edges\n got %q\nwant %q", edges, wantEdges)
	}
}
