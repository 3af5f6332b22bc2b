package report

import (
	"bytes"
	"maps"
	"strings"
	"testing"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/spec/smp"
)

func closedRun() run {
	o := baseRun()
	o.id, o.name, o.open, o.rps = "run-closed", "closed", false, 0
	return o
}

func TestSMPResultGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    *spec.Result
		meta SMPMeta
	}{
		{"open", recorded(baseRun()), SMPMeta{ProfileID: "5f2c1e0a-profile", MeshConfigID: "istio-1.24-mtls", EnvID: "kind-3-nodes", DetailsURI: "https://perf.example/runs/run-a"}},
		{"closed", recorded(closedRun()), SMPMeta{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SMPResult(tc.r, tc.meta)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "smp-"+tc.name+".yaml", got)
		})
	}
}

func TestSMPResultLeavesUnknownIDsOut(t *testing.T) {
	got, err := SMPResult(recorded(closedRun()), SMPMeta{})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"test_id", "mesh_config_id", "env_id", "details_uri"} {
		if bytes.Contains(got, []byte(key+":")) {
			t.Errorf("unknown %s written:\n%s", key, got)
		}
	}
	if !bytes.Contains(got, []byte("smp_version: v0.0.1")) {
		t.Errorf("no smp_version:\n%s", got)
	}
}

func TestSMPRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    *spec.Result
		main func(*spec.Result) *spec.Distribution
	}{
		{"open", recorded(baseRun()), func(r *spec.Result) *spec.Distribution { return r.Latency }},
		{"closed", recorded(closedRun()), func(r *spec.Result) *spec.Distribution { return r.ServiceTime }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := SMPResult(tc.r, SMPMeta{ProfileID: "p1"})
			if err != nil {
				t.Fatal(err)
			}
			got, err := smp.ParseResult(data)
			if err != nil {
				t.Fatal(err)
			}
			in, out := tc.main(tc.r), tc.main(got)
			if out == nil {
				t.Fatal("main distribution lost")
			}
			for _, p := range []float64{50, 90, 99, 99.9, 100} {
				want, _ := in.At(p)
				if g, ok := out.At(p); !ok || g != want {
					t.Errorf("p%v = %v (%v), want %v", p, g, ok, want)
				}
			}
			if out.MinMs != in.MinMs || out.MeanMs != in.MeanMs || out.MaxMs != in.MaxMs || out.Count != in.Count || out.StdDevMs != in.StdDevMs {
				t.Errorf("summary changed:\n got %+v\nwant %+v", out, in)
			}
			if out.Histogram != in.Histogram {
				t.Error("histogram changed")
			}
			if !got.StartTime.Equal(tc.r.StartTime) || !got.EndTime.Equal(tc.r.EndTime) {
				t.Errorf("times %v–%v, want %v–%v", got.StartTime, got.EndTime, tc.r.StartTime, tc.r.EndTime)
			}
			if got.Achieved != tc.r.Achieved {
				t.Errorf("achieved changed:\n got %+v\nwant %+v", got.Achieved, tc.r.Achieved)
			}
			if !maps.Equal(got.Labels, tc.r.Labels) || !maps.Equal(got.StatusCodes, tc.r.StatusCodes) {
				t.Errorf("labels or status codes changed: %v %v", got.Labels, got.StatusCodes)
			}
			if got.Generator != tc.r.Generator || got.ID != tc.r.ID || got.Name != tc.r.Name {
				t.Errorf("identity changed: %+v %q %q", got.Generator, got.ID, got.Name)
			}
			if got.Requested.Connections != tc.r.Requested.Connections || got.Requested.RPS != tc.r.Requested.RPS ||
				got.Requested.Duration != tc.r.Requested.Duration || got.Requested.OpenLoop != tc.r.Requested.OpenLoop {
				t.Errorf("requested changed:\n got %+v\nwant %+v", got.Requested, tc.r.Requested)
			}
			if (got.Latency == nil) != (tc.r.Latency == nil) || got.ServiceTime == nil || got.ServiceTime.Histogram != tc.r.ServiceTime.Histogram {
				t.Error("latency/service time not restored as they were")
			}
			// The import is a whole result: the text report and a comparison work.
			var b bytes.Buffer
			if err := Text(&b, got, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := Compare([]*spec.Result{tc.r, got}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestParsePlainSMPResult(t *testing.T) {
	yamlDoc := `smp_version: v0.0.1
id: 7b1a
test_id: t-1
labels: {team: shop}
start_time: "2024-05-01T10:00:00Z"
end_time: "2024-05-01T10:01:00Z"
latencies_ms: {min: 0.4, average: 1.9, p50: 1.5, p90: 3.2, p99: 8.75, max: 40}
actual_qps: 998.5
`
	camel := `{"smpVersion": "v0.0.1", "id": "7b1a", "testId": "t-1", "labels": {"team": "shop"},
"startTime": "2024-05-01T10:00:00Z", "endTime": "2024-05-01T10:01:00Z",
"latenciesMs": {"min": 0.4, "average": 1.9, "p50": 1.5, "p90": 3.2, "p99": 8.75, "max": 40}, "actualQps": 998.5}`
	for name, doc := range map[string]string{"yaml": yamlDoc, "camelCase json": camel} {
		t.Run(name, func(t *testing.T) {
			r, err := smp.ParseResult([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			if r.Generator.Fidelity != "percentiles" || r.Latency != nil || r.ServiceTime == nil {
				t.Fatalf("got generator %+v latency %v service time %v", r.Generator, r.Latency, r.ServiceTime)
			}
			d := r.ServiceTime
			want := map[float64]float64{50: 1.5, 90: 3.2, 99: 8.75, 100: 40}
			for p, v := range want {
				if g, ok := d.At(p); !ok || g != v {
					t.Errorf("p%v = %v, want %v", p, g, v)
				}
			}
			if d.MinMs != 0.4 || d.MeanMs != 1.9 || d.Histogram != "" {
				t.Errorf("distribution %+v", d)
			}
			if r.Achieved.RPS != 998.5 || r.Achieved.Duration.D().Seconds() != 60 || r.Labels["team"] != "shop" || r.ID != "7b1a" {
				t.Errorf("result %+v", r)
			}
			if r.SMP == nil || r.SMP.TestID != "t-1" || r.SMP.ID != "7b1a" {
				t.Errorf("SMP ids %+v lose the test id or the id", r.SMP)
			}
			// A percentile-only import can be compared and exported again.
			if _, err := Compare([]*spec.Result{r, recorded(closedRun())}); err != nil {
				t.Error(err)
			}
			if _, err := SMPResult(r, SMPMeta{}); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestParseSMPResultErrors(t *testing.T) {
	good, err := SMPResult(recorded(closedRun()), SMPMeta{})
	if err != nil {
		t.Fatal(err)
	}
	badHist := bytes.Replace(good, []byte("histogram: "), []byte("histogram: x"), 1)
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"malformed", "latencies_ms: [", "smp: malformed result"},
		{"list", "- 1\n- 2\n", "want a mapping at the top level, got a list"},
		{"empty", "", "want a mapping at the top level, got nothing"},
		{"no latencies", "smp_version: v0.0.1\nactual_qps: 3\n", "no latencies_ms"},
		{"wrong type", "latencies_ms: {p50: fast}\n", "not an SMP result"},
		{"bad time", "latencies_ms: {p50: 1}\nstart_time: yesterday\n", "start_time"},
		{"bad histogram", string(badHist), "meshperf.histogram"},
		{"bad histogram_of", "latencies_ms: {p50: 1}\nmeshperf: {histogram_of: queue}\n", "histogram_of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := smp.ParseResult([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func FuzzParseSMPResult(f *testing.F) {
	for _, r := range []*spec.Result{recorded(baseRun()), recorded(closedRun())} {
		b, err := SMPResult(r, SMPMeta{ProfileID: "p"})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("latencies_ms: {min: 0.4, average: 1.9, p50: 1.5, p90: 3.2, p99: 8.75, max: 40}\nactual_qps: 10\n"))
	f.Add([]byte(`{"latenciesMs": {"p50": 1}, "meshperf": {"histogram": "HISTFAAAAB54nJNpmSzMwMDAzAABMJoRTM6ZBGF/sIcIAFJIAzc="}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := smp.ParseResult(data)
		if err != nil {
			return
		}
		// Whatever was accepted can be written again.
		if r.ServiceTime == nil && r.Latency == nil {
			t.Fatal("accepted a result without a distribution")
		}
		if _, err := SMPResult(r, SMPMeta{}); err != nil {
			var h bool
			for _, d := range []*spec.Distribution{r.Latency, r.ServiceTime} {
				if d != nil && d.Histogram != "" {
					_, e := hist.Decode(d.Histogram)
					h = h || e != nil
				}
			}
			if !h {
				t.Fatalf("accepted but cannot write back: %v", err)
			}
		}
	})
}
