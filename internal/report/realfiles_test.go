package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/spec"
)

func readReal(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "real", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// monotonic fails t when d's percentile list goes backwards anywhere, as
// written (not through Summary's running maximum).
func monotonic(t *testing.T, what string, d *spec.Distribution) {
	t.Helper()
	prev, prevP := -1.0, -1.0
	for _, p := range d.Percentiles {
		if p.P <= prevP || p.Ms < prev {
			t.Errorf("%s: p%v = %v after p%v = %v: the list goes backwards", what, p.P, p.Ms, prevP, prev)
		}
		prev, prevP = p.Ms, p.P
	}
}

// TestNighthawkFortioFormat: Nighthawk's fortio-format output (the form
// Meshery stores) and its noquirks form import the same: named Nighthawk,
// bytes kept, open loop at the requested rate, its own percentiles winning,
// the list monotonic and the rebuilt histogram passing through them.
func TestNighthawkFortioFormat(t *testing.T) {
	var results []*spec.Result
	for _, name := range []string{"nighthawk-medium.fortio.gold.json", "nighthawk-medium.fortio-noquirks.gold.json"} {
		r, err := ParseOtherResult(readReal(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		results = append(results, r)
		if r.Generator.Name != "nighthawk" || r.Generator.Version != "0.0.0" {
			t.Errorf("%s: generator %+v, want nighthawk 0.0.0", name, r.Generator)
		}
		if a := r.Achieved; a.BytesSent != 3528 || a.BytesReceived != 2702142 {
			t.Errorf("%s: bytes sent %d received %d, want 3528 and 2702142", name, a.BytesSent, a.BytesReceived)
		}
		if q := r.Requested; !q.OpenLoop || q.RPS != 30 || q.Shape != "constant 30/s" {
			t.Errorf("%s: requested %+v, want open loop at 30/s", name, q)
		}
		d := r.ServiceTime
		monotonic(t, name, d)
		h, err := hist.Decode(d.Histogram)
		if err != nil {
			t.Fatal(err)
		}
		// Nighthawk's own figures (seconds in the file) win, and the
		// rebuilt histogram passes through them to its precision (0.1%).
		for p, want := range map[float64]float64{50: 65.077247, 75: 74.465279, 90: 85.045247, 95: 247.513087, 100: 310.886399} {
			if got, ok := d.Value(p); !ok || got != want {
				t.Errorf("%s: p%v = %v, want Nighthawk's %v", name, p, got, want)
			}
			hv := durMs(h.Quantile(p / 100))
			if p == 100 {
				hv = durMs(h.Max())
			}
			if rel := (hv - want) / want; rel > 0.002 || rel < -0.002 {
				t.Errorf("%s: histogram p%v = %v, Nighthawk's %v: further apart than the histogram's precision", name, p, hv, want)
			}
		}
		text := strings.Join(r.Notes, "\n")
		if !strings.Contains(text, "imported from nighthawk 0.0.0:") || !strings.Contains(text, "p50, p75, p80, p90, p95, max") {
			t.Errorf("%s: notes do not say whose figures win: %q", name, r.Notes)
		}
	}
	a, b := results[0], results[1]
	if a.Achieved != b.Achieved || len(a.ServiceTime.Percentiles) != len(b.ServiceTime.Percentiles) {
		t.Errorf("quirks and noquirks differ:\n%+v\n%+v", a.Achieved, b.Achieved)
	}
}

// TestNighthawkSamples: Nighthawk's sample fortio files (no Labels naming
// Nighthawk, no percentiles) import, monotonic.
func TestNighthawkSamples(t *testing.T) {
	for _, name := range []string{"nighthawk-sample-small.fortio.json", "nighthawk-sample-large.fortio.json"} {
		r, err := ParseOtherResult(readReal(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.ServiceTime.Count == 0 {
			t.Errorf("%s: no values", name)
		}
		monotonic(t, name, r.ServiceTime)
		if !r.Requested.OpenLoop || r.Requested.RPS <= 0 {
			t.Errorf("%s: requested %+v: a requested QPS is open loop", name, r.Requested)
		}
	}
}

// TestFortioRunAt200QPS: a real fortio run at -qps 200 is open loop at
// 200/s; fortio's percentiles win and the list is monotonic; its resolution
// (1 µs, as it was run) is kept.
func TestFortioRunAt200QPS(t *testing.T) {
	r, err := ParseOtherResult(readReal(t, "fortio-1.66.5-qps200.json"))
	if err != nil {
		t.Fatal(err)
	}
	if q := r.Requested; !q.OpenLoop || q.RPS != 200 || q.Shape != "constant 200/s" {
		t.Errorf("requested %+v, want open loop at 200/s", q)
	}
	if r.Generator.String() != "fortio 1.66.5" || r.Generator.HistogramResolutionUs != 1 {
		t.Errorf("generator %+v", r.Generator)
	}
	monotonic(t, "fortio", r.ServiceTime)
	if r.ServiceTime.Count != 600 {
		t.Errorf("count %d, want 600", r.ServiceTime.Count)
	}
}

// TestMesheryStoredResult: a result Meshery stored (from the SMP project's
// published results) imports with its name and Meshery id, and exports.
func TestMesheryStoredResult(t *testing.T) {
	r, err := ParseOtherResult(readReal(t, "meshery-stored-result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "No mesh_1650983199033" || r.SMP == nil || r.SMP.ID != "f9ccd668-9d26-4f70-8a51-47de5af3c502" {
		t.Errorf("name %q ids %+v", r.Name, r.SMP)
	}
	if r.ServiceTime.Count != 78 || r.Requested.OpenLoop {
		t.Errorf("count %d open loop %v, want 78 and closed loop (RequestedQPS max)", r.ServiceTime.Count, r.Requested.OpenLoop)
	}
	monotonic(t, "meshery", r.ServiceTime)
	b, err := SMPResultStrict(r, SMPMeta{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"id": "f9ccd668-9d26-4f70-8a51-47de5af3c502"`) {
		t.Errorf("strict export loses the Meshery id:\n%s", b)
	}
}

// TestPercentileRuleOneSource: for every real file, each export and report
// shows the same p50, p90, p99 and max: the distribution's one list.
func TestPercentileRuleOneSource(t *testing.T) {
	for _, name := range []string{"nighthawk-medium.fortio.gold.json", "fortio-1.66.5-qps200.json", "meshery-stored-result.json"} {
		r, err := ParseOtherResult(readReal(t, name))
		if err != nil {
			t.Fatal(err)
		}
		figs, err := AllFigures(r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for p, byWhere := range figs {
			want, _ := r.ServiceTime.Value(p)
			for where, got := range byWhere {
				if where == "text" && TextClose(got, want) {
					continue
				}
				if !closeTo(got, want) {
					t.Errorf("%s: p%v in %s = %v, the list says %v", name, p, where, got, want)
				}
			}
		}
	}
}
