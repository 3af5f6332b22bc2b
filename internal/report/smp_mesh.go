package report

import (
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/spec/smp"
)

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

// meshConfig fills ServiceMeshConfig figures from the metrics with
// well-known names that have a value; nil when none has.
func meshConfig(ms []spec.Metric) *smp.MeshConfig {
	avg := func(name string) *float64 {
		for _, m := range ms {
			if m.Name == name && m.Missing == "" {
				v := m.Average
				return &v
			}
		}
		return nil
	}
	res := func(count, cpu, mem string) *smp.Resources {
		r := &smp.Resources{CPUMcores: avg(cpu), MemMB: avg(mem)}
		if count != "" {
			r.Count = avg(count)
		}
		if r.Count == nil && r.CPUMcores == nil && r.MemMB == nil {
			return nil
		}
		return r
	}
	c := &smp.MeshConfig{
		Sidecar:          res(MetricProxyCount, MetricProxyCPU, MetricProxyMem),
		IngressGateway:   res("", MetricIngressCPU, MetricIngressMem),
		MeshControlPlane: res("", MetricControlPlaneCPU, MetricControlPlaneMem),
	}
	if c.Sidecar == nil && c.IngressGateway == nil && c.MeshControlPlane == nil {
		return nil
	}
	return c
}
