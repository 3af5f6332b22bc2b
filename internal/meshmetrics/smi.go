package meshmetrics

import (
	"math"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

// SMIAPIVersion is the SMI Traffic Metrics API version of the SMI shape.
const SMIAPIVersion = "metrics.smi-spec.io/v1alpha1"

// SMIList is SMI's TrafficMetricsList: the metrics of the workloads
// selected, then of their edges, then of the Services (resource kind
// Service).
type SMIList struct {
	Kind       string       `json:"kind"`
	APIVersion string       `json:"apiVersion"`
	Metadata   SMIMeta      `json:"metadata"`
	Resource   SMIResource  `json:"resource"`
	Items      []SMIMetrics `json:"items"`
}

// SMIMeta is the part of Kubernetes' ObjectMeta SMI objects carry.
type SMIMeta struct {
	Name              string    `json:"name,omitempty"`
	Namespace         string    `json:"namespace,omitempty"`
	CreationTimestamp time.Time `json:"creationTimestamp"`
}

// SMIResource is an ObjectReference: kind, namespace, name.
type SMIResource struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
}

// SMIMetrics is SMI's TrafficMetrics: one resource's (or one edge's)
// metrics over a window.
type SMIMetrics struct {
	Kind       string      `json:"kind"`
	APIVersion string      `json:"apiVersion"`
	Metadata   SMIMeta     `json:"metadata"`
	Timestamp  time.Time   `json:"timestamp"`
	Window     string      `json:"window"`
	Resource   SMIResource `json:"resource"`
	Edge       *SMIEdge    `json:"edge,omitempty"`
	Metrics    []SMIMetric `json:"metrics"`
}

// SMIEdge is the other end of the traffic: direction from (it sent to the
// resource), the side whose proxy counted it, and the resource.
type SMIEdge struct {
	Direction string      `json:"direction"`
	Side      string      `json:"side"`
	Resource  SMIResource `json:"resource"`
}

// SMIMetric is one named value: a Kubernetes quantity, latencies in
// seconds ("5m" is 5 ms). A figure meshperf could not know is left out.
type SMIMetric struct {
	Name  string             `json:"name"`
	Unit  string             `json:"unit,omitempty"`
	Value *resource.Quantity `json:"value"`
}

// SMI returns r in SMI's TrafficMetricsList shape; selected is the
// resource the list is about (kind and namespace; name for one workload).
func (r *Report) SMI(selected SMIResource) SMIList {
	l := SMIList{Kind: "TrafficMetricsList", APIVersion: SMIAPIVersion, Metadata: SMIMeta{CreationTimestamp: r.At}, Resource: selected,
		Items: []SMIMetrics{}}
	item := func(res Resource, edge *SMIEdge, f Figures) SMIMetrics {
		return SMIMetrics{Kind: "TrafficMetrics", APIVersion: SMIAPIVersion,
			Metadata:  SMIMeta{Name: res.Name, Namespace: res.Namespace, CreationTimestamp: r.At},
			Timestamp: r.At, Window: r.Window, Resource: smiRes(res), Edge: edge, Metrics: smiMetrics(f)}
	}
	for _, w := range r.Workloads {
		l.Items = append(l.Items, item(w.Resource, nil, w.Figures))
	}
	for _, e := range r.Edges {
		l.Items = append(l.Items, item(e.Destination, &SMIEdge{Direction: "from", Side: e.Side, Resource: smiRes(e.Source)}, e.Figures))
	}
	for _, s := range r.Services {
		l.Items = append(l.Items, item(s.Resource, nil, s.Figures))
	}
	return l
}

func smiRes(r Resource) SMIResource {
	return SMIResource{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
}

func smiMetrics(f Figures) []SMIMetric {
	out := []SMIMetric{}
	for _, l := range []struct {
		name string
		ms   *float64
	}{{"p99_response_latency", f.P99Ms}, {"p90_response_latency", f.P90Ms}, {"p50_response_latency", f.P50Ms}} {
		if l.ms != nil {
			// Microsecond precision, in seconds.
			out = append(out, SMIMetric{Name: l.name, Unit: "seconds", Value: resource.NewScaledQuantity(int64(math.Round(*l.ms*1000)), resource.Micro)})
		}
	}
	for _, c := range []struct {
		name string
		v    *float64
	}{{"success_count", f.Successes}, {"failure_count", f.Failures}} {
		if c.v != nil {
			out = append(out, SMIMetric{Name: c.name, Value: resource.NewQuantity(int64(math.Round(*c.v)), resource.DecimalSI)})
		}
	}
	return out
}
