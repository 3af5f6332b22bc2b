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
	if got := meshConfig(nil); got != nil {
		t.Errorf("meshConfig(nil) = %+v, want nil", got)
	}
}
