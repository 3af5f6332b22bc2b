package spec

import (
	"strings"
	"time"
)

// MeshContext is what the Kubernetes cluster said about a run's targets at
// the run's start: the meshes installed there, at which versions, and for
// each target URL naming a Service, the mesh carrying its pods and their
// injection. A result without one was not run against a cluster meshperf
// could read.
type MeshContext struct {
	// Cluster is the API server read.
	Cluster string        `json:"cluster,omitempty"`
	Time    time.Time     `json:"time"`
	Meshes  []MeshInstall `json:"meshes,omitempty"`
	Targets []MeshTarget  `json:"targets,omitempty"`
	// Error says why the context is missing or incomplete (cluster
	// unreachable, a list refused by RBAC, too slow to read). It never
	// failed the run.
	Error string `json:"error,omitempty"`
}

// MeshInstall is one mesh found in the cluster.
type MeshInstall struct {
	// Mesh is the detection rule's key (istio, linkerd, kuma...); Name is
	// its display name.
	Mesh    string   `json:"mesh"`
	Name    string   `json:"name,omitempty"`
	Version string   `json:"version,omitempty"`
	Modes   []string `json:"modes,omitempty"`
	MTLS    string   `json:"mtls,omitempty"`
	Healthy bool     `json:"healthy"`
	// SMPType is SMP's ServiceMesh.Type enum value (3 is ISTIO), 0 when
	// SMP has none for it.
	SMPType int `json:"smp_type,omitempty"`
}

// MeshTarget is one target URL and the Service it reached.
type MeshTarget struct {
	URL string `json:"url"`
	// Namespace and Service are the Service the URL's host names (by
	// in-cluster DNS name or ClusterIP); empty when none matched, Note
	// then says why.
	Namespace string `json:"namespace,omitempty"`
	Service   string `json:"service,omitempty"`
	// Via says how the URL's host reached it: "service-name" (an
	// in-cluster DNS name of the Service), "cluster-ip" (the Service's
	// ClusterIP) or "pod-ip" (one pod's own address: Pod names it, and
	// the figures below are that pod's; Service stays empty).
	Via string `json:"via,omitempty"`
	Pod string `json:"pod,omitempty"`
	// Mesh and MeshVersion carry the Service's pods; Mode is sidecar,
	// ambient or none.
	Mesh        string `json:"mesh,omitempty"`
	MeshVersion string `json:"mesh_version,omitempty"`
	Mode        string `json:"mode,omitempty"`
	// Injection lists the namespace's markers turning a mesh on.
	Injection []string `json:"injection,omitempty"`
	// Pods the Service selects, and how many of them are meshed.
	Pods   int        `json:"pods"`
	Meshed int        `json:"meshed"`
	Proxy  *MeshProxy `json:"proxy,omitempty"`
	// MTLS is the mTLS mode that applies to its pods, with the resource
	// stating it: "PERMISSIVE (PeerAuthentication shop/reviews)".
	MTLS string `json:"mtls,omitempty"`
	Note string `json:"note,omitempty"`
	// Workloads are the workloads owning the Service's pods, Kind/name.
	Workloads []string `json:"workloads,omitempty"`
	// Traffic is what the mesh itself reported about each workload over
	// the run's measured window, beside meshperf's own figures.
	Traffic []MeshTraffic `json:"traffic,omitempty"`
}

// MeshProxy is the proxy container of a target's first meshed pod.
type MeshProxy struct {
	Container string            `json:"container"`
	Image     string            `json:"image"`
	Version   string            `json:"version,omitempty"`
	Native    bool              `json:"native,omitempty"`
	Requests  map[string]string `json:"requests,omitempty"`
	Limits    map[string]string `json:"limits,omitempty"`
}

// MeshTypeOf returns SMP's ServiceMesh.Type for a name such as "ISTIO",
// "Linkerd" or "Open Service Mesh"; 0 when SMP has none.
func MeshTypeOf(name string) int {
	name = strings.ReplaceAll(name, " ", "")
	for i, n := range meshTypes {
		if i > 0 && (normName(name) == normName(n) || normName(name+"_mesh") == normName(n)) {
			return i
		}
	}
	return 0
}

// MeshTraffic is one workload's traffic as the mesh reported it (its
// proxies' metrics in Prometheus) over a window. A figure it did not
// report is nil, with the reason in Missing.
type MeshTraffic struct {
	Workload    string    `json:"workload"` // Kind/name
	Source      string    `json:"source"`   // "prometheus http://..."
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	RequestRate *float64  `json:"request_rate"`
	SuccessRate *float64  `json:"success_rate"`
	P50Ms       *float64  `json:"p50_ms"`
	P90Ms       *float64  `json:"p90_ms"`
	P99Ms       *float64  `json:"p99_ms"`
	Missing     []string  `json:"missing,omitempty"`
}
