package report

import (
	"strings"

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
// well-known names that have a value, and the mesh type and mTLS flag
// from the mesh context; nil when none is known.
func meshConfig(ms []spec.Metric, mc *spec.MeshContext) *smp.MeshConfig {
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
	if m := contextMesh(mc); m != nil {
		c.MeshType = m.SMPType
		c.MTLSEnabled = mtlsEnabled(m.MTLS)
	}
	if c.Sidecar == nil && c.IngressGateway == nil && c.MeshControlPlane == nil && c.MeshType == 0 && c.MTLSEnabled == nil {
		return nil
	}
	return c
}

// contextMesh is the mesh a run went through: the first target Service's,
// else the cluster's only mesh; nil when neither is known.
func contextMesh(mc *spec.MeshContext) *spec.MeshInstall {
	if mc == nil {
		return nil
	}
	for _, t := range mc.Targets {
		if t.Mesh == "" {
			continue
		}
		for i := range mc.Meshes {
			if mc.Meshes[i].Mesh == t.Mesh {
				return &mc.Meshes[i]
			}
		}
	}
	if len(mc.Meshes) == 1 {
		return &mc.Meshes[0]
	}
	return nil
}

// mtlsEnabled reads the mesh-wide mTLS mode the cluster rules state:
// required (STRICT, always on, on) is true, off (DISABLE, off) false;
// anything else, such as PERMISSIVE, unknown.
func mtlsEnabled(mode string) *bool {
	yes, no := true, false
	switch m := strings.ToLower(mode); {
	case strings.HasPrefix(m, "strict"), strings.HasPrefix(m, "always on"), strings.HasPrefix(m, "on"):
		return &yes
	case strings.HasPrefix(m, "off"), strings.HasPrefix(m, "disable"):
		return &no
	}
	return nil
}
