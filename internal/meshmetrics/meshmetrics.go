// Package meshmetrics reads what a service mesh itself reports about its
// traffic: per workload and per edge (source → destination) request rate,
// success rate and latency percentiles over a window, in meshperf's shape
// and in SMI's TrafficMetrics shape (smi.go). Source is the interface a mesh
// implements; Prometheus (prometheus.go) implements it for the meshes whose
// proxies export standard metrics, one QuerySet each (queries.go).
package meshmetrics

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Source gives a mesh's traffic metrics.
type Source interface {
	Traffic(ctx context.Context, q Query) (*Report, error)
}

// Bounds of a query.
const (
	MinWindow     = 10 * time.Second
	MaxWindow     = 24 * time.Hour
	DefaultWindow = time.Minute
)

// ErrNoMesh: meshperf has no query set for the mesh named.
var ErrNoMesh = errors.New("no traffic metrics for this mesh")

// Query asks for the traffic of the workloads of a mesh.
type Query struct {
	Mesh string
	// Namespace and Workload narrow the workloads ("" for all).
	Namespace string
	Workload  string
	// Window is the span the rates and percentiles cover, whole seconds
	// from MinWindow to MaxWindow (DefaultWindow when 0); At is its end
	// (now when zero).
	Window time.Duration
	At     time.Time
	// Edges also asks for the traffic between each pair of workloads.
	Edges bool
	// Services also asks for the traffic to each destination Service;
	// Service narrows it to one (in Namespace), and implies Services.
	Services bool
	Service  string
}

// Validate checks q's fields, all of which may come from outside.
func (q *Query) Validate() error {
	var errs []error
	if q.Window == 0 {
		q.Window = DefaultWindow
	}
	if q.Window < MinWindow || q.Window > MaxWindow || q.Window%time.Second != 0 {
		errs = append(errs, fmt.Errorf("window %s: want whole seconds from %s to %s", q.Window, MinWindow, MaxWindow))
	}
	if q.Workload != "" && q.Namespace == "" {
		errs = append(errs, errors.New("workload: give its namespace too"))
	}
	if q.Service != "" && q.Namespace == "" {
		errs = append(errs, errors.New("service: give its namespace too"))
	}
	for _, f := range []struct{ name, v string }{{"namespace", q.Namespace}, {"workload", q.Workload}, {"service", q.Service}, {"mesh", q.Mesh}} {
		if !dnsName(f.v) {
			errs = append(errs, fmt.Errorf("%s %q: want a Kubernetes name (lowercase letters, digits, '-' and '.', at most 253)", f.name, clip(f.v)))
		}
	}
	if q.Mesh == "" {
		errs = append(errs, errors.New("mesh: name one (istio, linkerd, osm)"))
	}
	return errors.Join(errs...)
}

// dnsName accepts "" and Kubernetes object names.
func dnsName(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// Report is a mesh's traffic over a window.
type Report struct {
	Mesh   string    `json:"mesh"`
	Source string    `json:"source"` // where the figures come from: "prometheus http://..."
	Window string    `json:"window"` // "60s"
	At     time.Time `json:"at"`
	// Workloads are those with requests counted in the window (or the one
	// asked for); Edges their traffic by source, when asked.
	Workloads []WorkloadTraffic `json:"workloads"`
	Edges     []EdgeTraffic     `json:"edges,omitempty"`
	// Services are the destination Services' traffic, when asked.
	Services []ServiceTraffic `json:"services,omitempty"`
	// Missing says why there are no figures at all (the mesh's metrics
	// absent from Prometheus): never reported as zero traffic.
	Missing string `json:"missing,omitempty"`
}

// Resource names a workload.
type Resource struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

func (r Resource) String() string { return r.Namespace + "/" + r.Name }

// Figures are the golden metrics of some traffic. A figure that cannot be
// known is nil, with the reason in Missing.
type Figures struct {
	// RequestRate is requests per second over the window.
	RequestRate *float64 `json:"requestRate"`
	// SuccessRate is the share of responses that succeeded (0 to 1);
	// Successes and Failures are their counts over the window.
	SuccessRate *float64 `json:"successRate"`
	Successes   *float64 `json:"successes"`
	Failures    *float64 `json:"failures"`
	// Latency percentiles in milliseconds, from the mesh's histogram.
	P50Ms *float64 `json:"p50Ms"`
	P90Ms *float64 `json:"p90Ms"`
	P99Ms *float64 `json:"p99Ms"`
	// Missing lists why figures are nil.
	Missing []string `json:"missing,omitempty"`
}

// WorkloadTraffic is the traffic a workload received.
type WorkloadTraffic struct {
	Resource
	Figures
}

// EdgeTraffic is the traffic from one workload to another.
type EdgeTraffic struct {
	Source      Resource `json:"source"`
	Destination Resource `json:"destination"`
	// Side is the proxy that counted it: server (the destination's) or
	// client (the source's).
	Side string `json:"side"`
	Figures
}

// ServiceTraffic is the traffic sent to a Service (Kind "Service"), from
// every client, as the Side's proxies counted it.
type ServiceTraffic struct {
	Resource
	Side string `json:"side"`
	Figures
}

// Summary is one line of f: "998.0 rps, 99.90% ok, p50 1.2 ms, p99 4.1 ms".
func (f Figures) Summary() string {
	var parts []string
	num := func(v *float64, format string) {
		if v != nil {
			parts = append(parts, fmt.Sprintf(format, *v))
		}
	}
	num(f.RequestRate, "%.1f rps")
	if f.SuccessRate != nil {
		parts = append(parts, fmt.Sprintf("%.2f%% ok", *f.SuccessRate*100))
	}
	num(f.P50Ms, "p50 %.3g ms")
	num(f.P90Ms, "p90 %.3g ms")
	num(f.P99Ms, "p99 %.3g ms")
	if len(f.Missing) > 0 {
		parts = append(parts, "missing: "+strings.Join(f.Missing, "; "))
	}
	return strings.Join(parts, ", ")
}

// ResolveKinds names the kind of workloads the mesh's labels leave
// unnamed ("Workload"), with kindOf (from the cluster's inventory; "" when
// it does not know the workload).
func (r *Report) ResolveKinds(kindOf func(namespace, name string) string) {
	fix := func(res *Resource) {
		if res.Kind == "Workload" {
			if k := kindOf(res.Namespace, res.Name); k != "" {
				res.Kind = k
			}
		}
	}
	for i := range r.Workloads {
		fix(&r.Workloads[i].Resource)
	}
	for i := range r.Edges {
		fix(&r.Edges[i].Source)
		fix(&r.Edges[i].Destination)
	}
}
