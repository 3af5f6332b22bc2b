package report

import (
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/spec/smp"
)

func TestSMPMeshConfigFromMetrics(t *testing.T) {
	h := hist.New()
	h.Record(2 * time.Millisecond)
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := &spec.Result{
		Schema: spec.ResultSchema, ID: "r1", StartTime: start, EndTime: start.Add(10 * time.Second),
		Generator:   spec.GeneratorInfo{Name: "meshperf", Fidelity: "hdr"},
		ServiceTime: spec.Summarize(h),
		Process:     &spec.ProcessStats{CPUSeconds: 1.5, CPUCores: 0.15, MaxRSSBytes: 1 << 20, MaxGoroutines: 9},
		Metrics: []spec.Metric{
			{Name: MetricProxyCPU, Query: "q1", Unit: "mcores", Start: start, End: start.Add(8 * time.Second), Average: 123.5,
				Series: []spec.MetricSeries{{Labels: map[string]string{"job": "proxy"}, Samples: []spec.Sample{{T: start, V: 123.5}}}}},
			{Name: MetricProxyMem, Query: "q2", Missing: "prometheus at http://x unreachable"},
			{Name: MetricControlPlaneMem, Query: "q3", Average: 64},
			{Name: "server_rps", Query: "q4", Average: 1000},
		},
	}
	out, err := SMPResult(r, SMPMeta{})
	if err != nil {
		t.Fatal(err)
	}
	doc := string(out)
	for _, want := range []string{"mesh_config:\n  mesh_control_plane:\n    mem_mb: 64\n  sidecar:\n    cpu_mcores: 123.5\n"} {
		if !strings.Contains(doc, want) {
			t.Errorf("SMP export lacks %q:\n%s", want, doc)
		}
	}
	if strings.Contains(doc, "mem_mb: 0") || strings.Contains(doc, "ingress_gateway") {
		t.Errorf("a missing metric filled a figure:\n%s", doc)
	}
	back, err := smp.ParseResult(out)
	if err != nil {
		t.Fatal(err)
	}
	if back.Process == nil || *back.Process != *r.Process {
		t.Errorf("process after the round trip = %+v, want %+v", back.Process, r.Process)
	}
	if len(back.Metrics) != 4 || back.Metrics[0].Average != 123.5 || back.Metrics[1].Missing == "" ||
		len(back.Metrics[0].Series) != 1 || !back.Metrics[0].Series[0].Samples[0].T.Equal(start) {
		t.Errorf("metrics after the round trip = %+v", back.Metrics)
	}
	if got := meshConfig(nil, nil); got != nil {
		t.Errorf("meshConfig(nil, nil) = %+v, want nil", got)
	}
}

// TestSMPMeshConfigFromContext: the mesh context recorded at a run's start
// fills mesh_config's mesh_type and mtls_enabled and Meshery's mesh
// wrapper, and comes back whole from the SMP file.
func TestSMPMeshConfigFromContext(t *testing.T) {
	h := hist.New()
	h.Record(2 * time.Millisecond)
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	base := func() *spec.Result {
		mc := meshCtx()
		mc.Time = start
		mc.Meshes[0].SMPType, mc.Meshes[1].SMPType = 3, 5
		mc.Meshes[0].MTLS = "STRICT (PeerAuthentication istio-system/default)"
		mc.Meshes[1].MTLS = "always on (default)"
		return &spec.Result{
			Schema: spec.ResultSchema, ID: "r1", StartTime: start, EndTime: start.Add(10 * time.Second),
			Generator:   spec.GeneratorInfo{Name: "meshperf", Fidelity: "hdr"},
			ServiceTime: spec.Summarize(h),
			Mesh:        mc,
		}
	}
	for _, tc := range []struct {
		name   string
		change func(r *spec.Result)
		want   []string
		absent []string
	}{
		{"target on istio, strict", func(*spec.Result) {}, []string{"mesh_config:\n  mesh_type: 3\n  mtls_enabled: true\n", "mesh:\n  type: 3\n"}, nil},
		{"permissive: mTLS unknown", func(r *spec.Result) { r.Mesh.Meshes[0].MTLS = "PERMISSIVE (default)" },
			[]string{"mesh_config:\n  mesh_type: 3\n"}, []string{"mtls_enabled"}},
		{"target outside the mesh, two meshes: none named", func(r *spec.Result) { r.Mesh.Targets[0].Mesh = "" },
			nil, []string{"mesh_config", "mesh_type", "\nmesh:\n  type"}},
		{"target outside, the only mesh", func(r *spec.Result) {
			r.Mesh.Targets[0].Mesh = ""
			r.Mesh.Meshes = r.Mesh.Meshes[1:]
		}, []string{"mesh_config:\n  mesh_type: 5\n  mtls_enabled: true\n"}, nil},
		{"the profile's mesh type wins the wrapper", func(r *spec.Result) { r.SMP = &spec.SMPRefs{MeshType: 4} },
			[]string{"mesh_config:\n  mesh_type: 3\n", "mesh:\n  type: 4\n"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := base()
			tc.change(r)
			out, err := SMPResult(r, SMPMeta{})
			if err != nil {
				t.Fatal(err)
			}
			doc := string(out)
			for _, w := range tc.want {
				if !strings.Contains(doc, w) {
					t.Errorf("SMP export lacks %q:\n%s", w, doc)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(doc, a) {
					t.Errorf("SMP export has %q:\n%s", a, doc)
				}
			}
			back, err := smp.ParseResult(out)
			if err != nil {
				t.Fatal(err)
			}
			if back.Mesh == nil || !back.Mesh.Time.Equal(start) || len(back.Mesh.Targets) != 2 ||
				back.Mesh.Targets[0].Proxy == nil || back.Mesh.Targets[0].Proxy.Version != "1.23.2" || back.Mesh.Targets[0].MeshVersion != "1.23.2" {
				t.Errorf("mesh context after the round trip: %+v", back.Mesh)
			}
		})
	}
}
