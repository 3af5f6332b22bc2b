package report

import "github.com/meshperf/meshperf/spec"

// Metrics with these names fill SMP's ServiceMeshConfig in the SMP export
// (their averages over the measured window). Name the profile's or the
// experiment's queries after them.
const (
	MetricProxyCPU        = "proxy_cpu_mcores"         // sidecar.cpu_mcores
	MetricProxyMem        = "proxy_mem_mb"             // sidecar.mem_mb
	MetricProxyCount      = "proxy_count"              // sidecar.count
	MetricIngressCPU      = "ingress_cpu_mcores"       // ingress_gateway.cpu_mcores
	MetricIngressMem      = "ingress_mem_mb"           // ingress_gateway.mem_mb
	MetricControlPlaneCPU = "control_plane_cpu_mcores" // mesh_control_plane.cpu_mcores
	MetricControlPlaneMem = "control_plane_mem_mb"     // mesh_control_plane.mem_mb
)

// smpMeshConfig is the part of SMP's ServiceMeshConfig meshperf can fill.
type smpMeshConfig struct {
	Sidecar          *smpResources `json:"sidecar,omitempty"`
	IngressGateway   *smpResources `json:"ingress_gateway,omitempty"`
	MeshControlPlane *smpResources `json:"mesh_control_plane,omitempty"`
}

// smpResources is SMP's per-component figures.
type smpResources struct {
	Count     *float64 `json:"count,omitempty"`
	CPUMcores *float64 `json:"cpu_mcores,omitempty"`
	MemMB     *float64 `json:"mem_mb,omitempty"`
}

// meshConfig fills ServiceMeshConfig figures from the metrics with
// well-known names that have a value; nil when none has.
func meshConfig(ms []spec.Metric) *smpMeshConfig {
	avg := func(name string) *float64 {
		for _, m := range ms {
			if m.Name == name && m.Missing == "" {
				v := m.Average
				return &v
			}
		}
		return nil
	}
	res := func(count, cpu, mem string) *smpResources {
		r := &smpResources{CPUMcores: avg(cpu), MemMB: avg(mem)}
		if count != "" {
			r.Count = avg(count)
		}
		if r.Count == nil && r.CPUMcores == nil && r.MemMB == nil {
			return nil
		}
		return r
	}
	c := &smpMeshConfig{
		Sidecar:          res(MetricProxyCount, MetricProxyCPU, MetricProxyMem),
		IngressGateway:   res("", MetricIngressCPU, MetricIngressMem),
		MeshControlPlane: res("", MetricControlPlaneCPU, MetricControlPlaneMem),
	}
	if c.Sidecar == nil && c.IngressGateway == nil && c.MeshControlPlane == nil {
		return nil
	}
	return c
}
