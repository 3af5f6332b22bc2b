package report

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/loadgen/fortio"
	"github.com/meshperf/meshperf/spec"
)

const fortioFixture = "/work/shared/fixtures/loadgen/fortio-http-2000qps.json"

func readFortioFixture(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(fortioFixture)
	if err != nil {
		t.Skipf("fixture: %v", err)
	}
	return b
}

func TestParseFortioFixture(t *testing.T) {
	r, err := fortio.Parse(readFortioFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	q, a, d := r.Requested, r.Achieved, r.ServiceTime
	if r.Generator != (spec.GeneratorInfo{Name: "fortio", Version: "1.66.5", Fidelity: "bucketed", HistogramResolutionUs: 1000}) {
		t.Errorf("generator %+v", r.Generator)
	}
	if r.Latency != nil || d == nil {
		t.Fatal("fortio's histogram must be the service time, and the only distribution")
	}
	if d.Count != 6000 || a.Requests != 6000 || a.Responses != 6000 || a.Errors != 0 {
		t.Errorf("count %d requests %d responses %d errors %d, want 6000 6000 6000 0", d.Count, a.Requests, a.Responses, a.Errors)
	}
	if a.RPS != 1999.4367879818983 || a.Duration.D() != 3000845056 {
		t.Errorf("achieved rps %v over %v", a.RPS, a.Duration)
	}
	if q.RPS != 2000 || q.Duration.D() != 3*time.Second || q.Connections != 8 || !q.OpenLoop || q.Shape != "constant 2000/s" || q.Method != "GET" ||
		q.HTTPVersion != "1.1" || q.Timeout.D() != 3*time.Second || len(q.Targets) != 1 || q.Targets[0] != "http://127.0.0.1:8088/" {
		t.Errorf("requested %+v", q)
	}
	if len(r.StatusCodes) != 1 || r.StatusCodes[200] != 6000 {
		t.Errorf("status codes %v", r.StatusCodes)
	}
	if a.BytesReceived != 960000 {
		t.Errorf("bytes received %d", a.BytesReceived)
	}
	if r.ID != "2026-11-21-042313_127_0_0_1_8088_vm" || r.Name != "127.0.0.1:8088/ , vm" {
		t.Errorf("id %q name %q", r.ID, r.Name)
	}
	if want := time.Date(2026, 11, 21, 4, 23, 13, 658504363, time.UTC); !r.StartTime.Equal(want) || r.EndTime.Sub(r.StartTime) != 3000845056 {
		t.Errorf("times %v – %v", r.StartTime, r.EndTime)
	}
	if d.MinMs != 0.014742 || d.MaxMs != 1.967042 || math.Abs(d.MeanMs-0.06583993216666667) > 1e-15 {
		t.Errorf("min %v max %v mean %v", d.MinMs, d.MaxMs, d.MeanMs)
	}
	// fortio's own percentiles are kept as it computed them.
	for p, want := range map[float64]float64{50: 0.5083585623120615, 99: 0.992264095222185, 99.9: 1.5207149230769524, 100: 1.967042} {
		if got, _ := d.At(p); math.Abs(got-want) > 1e-12 {
			t.Errorf("listed p%v = %v, want %v", p, got, want)
		}
	}
	// The rebuilt histogram agrees with fortio within the width of the bucket
	// the percentile falls in ([14.7µs, 1ms] for p50 and p99).
	h, err := hist.Decode(d.Histogram)
	if err != nil {
		t.Fatal(err)
	}
	if h.Count() != 6000 {
		t.Errorf("histogram holds %d values, want 6000", h.Count())
	}
	width := 1.0 - 0.014742
	for p, want := range map[float64]float64{50: 0.5083585623120615, 99: 0.992264095222185} {
		got := durMs(h.Quantile(p / 100))
		if math.Abs(got-want) > width {
			t.Errorf("histogram p%v = %vms, fortio says %vms: further apart than the bucket (%vms)", p, got, want, width)
		}
	}
	if !strings.Contains(strings.Join(r.Notes, "\n"), "rebuilt from its 2 buckets") {
		t.Errorf("notes %q do not say where the histogram came from", r.Notes)
	}
}

func TestFortioRoundTrip(t *testing.T) {
	fixture := readFortioFixture(t)
	first, err := fortio.Parse(fixture)
	if err != nil {
		t.Fatal(err)
	}
	exported, err := FortioJSON(first)
	if err != nil {
		t.Fatal(err)
	}
	second, err := fortio.Parse(exported)
	if err != nil {
		t.Fatal(err)
	}
	var orig, back fortio.Results
	if err := json.Unmarshal(fixture, &orig); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(exported, &back); err != nil {
		t.Fatal(err)
	}
	if back.DurationHistogram.Count != orig.DurationHistogram.Count || back.ActualQPS != orig.ActualQPS ||
		back.ActualDuration != orig.ActualDuration || back.NumThreads != orig.NumThreads ||
		back.RequestedQPS != orig.RequestedQPS || back.RequestedDuration != orig.RequestedDuration ||
		back.URL != orig.URL || back.Version != orig.Version || back.Labels != orig.Labels || back.ID != orig.ID {
		t.Errorf("exported run differs:\n got %+v\nwant %+v", back, orig)
	}
	if len(back.RetCodes) != len(orig.RetCodes) || back.RetCodes["200"] != orig.RetCodes["200"] {
		t.Errorf("RetCodes %v, want %v", back.RetCodes, orig.RetCodes)
	}
	if len(back.DurationHistogram.Percentiles) != len(orig.DurationHistogram.Percentiles) {
		t.Fatalf("percentiles %v, want %v", back.DurationHistogram.Percentiles, orig.DurationHistogram.Percentiles)
	}
	for i, p := range orig.DurationHistogram.Percentiles {
		g := back.DurationHistogram.Percentiles[i]
		if g.Percentile != p.Percentile || !closeTo(g.Value, p.Value) {
			t.Errorf("percentile %v = %v, want %v", g.Percentile, g.Value, p.Value)
		}
	}
	for _, f := range []struct {
		name      string
		got, want float64
	}{
		{"Min", back.DurationHistogram.Min, orig.DurationHistogram.Min},
		{"Max", back.DurationHistogram.Max, orig.DurationHistogram.Max},
		{"Avg", back.DurationHistogram.Avg, orig.DurationHistogram.Avg},
		{"StdDev", back.DurationHistogram.StdDev, orig.DurationHistogram.StdDev},
	} {
		if !closeTo(f.got, f.want) {
			t.Errorf("%s = %v, want %v", f.name, f.got, f.want)
		}
	}
	if second.ServiceTime.Count != 6000 || second.Achieved.RPS != first.Achieved.RPS || second.StatusCodes[200] != 6000 ||
		second.Generator != first.Generator || second.Requested.RPS != 2000 {
		t.Errorf("second import differs: %+v", second)
	}
	for _, p := range fortioPercentiles {
		a, _ := first.ServiceTime.At(p)
		b, _ := second.ServiceTime.At(p)
		if !closeTo(a, b) {
			t.Errorf("p%v: %v then %v", p, a, b)
		}
	}
}

func TestFortioJSONGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    *spec.Result
	}{
		{"open", recorded(baseRun())},
		{"closed", recorded(closedRun())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FortioJSON(tc.r)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "fortio-"+tc.name+".json", got)
		})
	}
}

// TestFortioBuckets checks the exported buckets: exact counts, cumulative
// percent, fortio's boundaries, at most maxFortioBuckets however wide the
// distribution.
func TestFortioBuckets(t *testing.T) {
	wide := hist.New()
	for us := int64(1); us <= hist.Highest; us = us*11/10 + 1 {
		wide.RecordMicros(us)
	}
	wideRun := recorded(closedRun())
	wideRun.ServiceTime = distOf(wide)
	for _, tc := range []struct {
		name string
		r    *spec.Result
	}{
		{"open", recorded(baseRun())},
		{"1µs to 1h", wideRun},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := FortioJSON(tc.r)
			if err != nil {
				t.Fatal(err)
			}
			var fr fortio.Results
			if err := json.Unmarshal(b, &fr); err != nil {
				t.Fatal(err)
			}
			hd := fr.DurationHistogram
			d := tc.r.Latency
			if d == nil {
				d = tc.r.ServiceTime
			}
			if int64(hd.Count) != d.Count {
				t.Errorf("Count %d, want %d", hd.Count, d.Count)
			}
			if n := len(hd.Data); n == 0 || n > maxFortioBuckets {
				t.Fatalf("%d buckets, want 1–%d", n, maxFortioBuckets)
			}
			var sum int64
			prevEnd, prevPct := 0.0, 0.0
			for i, bk := range hd.Data {
				sum += int64(bk.Count)
				if bk.Count <= 0 || bk.End < bk.Start || bk.Start < prevEnd-1e-12 || bk.Percent < prevPct {
					t.Errorf("bucket %d %+v after end %v, percent %v", i, bk, prevEnd, prevPct)
				}
				if want := 100 * float64(sum) / float64(hd.Count); bk.Percent != want {
					t.Errorf("bucket %d percent %v, want cumulative %v", i, bk.Percent, want)
				}
				prevEnd, prevPct = bk.End, bk.Percent
			}
			if sum != int64(hd.Count) || prevPct != 100 {
				t.Errorf("buckets hold %d (%v%%), want %d (100%%)", sum, prevPct, hd.Count)
			}
			if hd.Data[0].Start != d.MinMs/1000 || hd.Data[len(hd.Data)-1].End != d.MaxMs/1000 {
				t.Errorf("buckets span %v–%v, want min %v to max %v", hd.Data[0].Start, hd.Data[len(hd.Data)-1].End, d.MinMs/1000, d.MaxMs/1000)
			}
			// The export imports back with the same count.
			r, err := fortio.Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			if r.ServiceTime.Count != d.Count {
				t.Errorf("re-import count %d, want %d", r.ServiceTime.Count, d.Count)
			}
		})
	}
}

func TestFortioJSONCodes(t *testing.T) {
	r := recorded(baseRun())
	b, err := FortioJSON(r)
	if err != nil {
		t.Fatal(err)
	}
	var fr fortio.Results
	if err := json.Unmarshal(b, &fr); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"200": 9990, "503": 5, "-1": 5}
	if len(fr.RetCodes) != len(want) {
		t.Errorf("RetCodes %v, want %v", fr.RetCodes, want)
	}
	for k, v := range want {
		if int64(fr.RetCodes[k]) != v {
			t.Errorf("RetCodes[%s] = %d, want %d", k, fr.RetCodes[k], v)
		}
	}
	if fr.ErrorsDurationHistogram.Count != 10 || fr.Version != "meshperf 1.2.3" || fr.RequestedQPS != "1000" || fr.RequestedDuration != "10s" {
		t.Errorf("errors %d version %q qps %q duration %q", fr.ErrorsDurationHistogram.Count, fr.Version, fr.RequestedQPS, fr.RequestedDuration)
	}
	back, err := fortio.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.Achieved.Errors != r.Achieved.Errors || back.Generator.Name != "meshperf" || back.Generator.Version != "1.2.3" {
		t.Errorf("re-import: errors %d generator %+v", back.Achieved.Errors, back.Generator)
	}
}

func TestParseFortioErrors(t *testing.T) {
	fixture := string(readFortioFixture(t))
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"empty", "", "truncated JSON"},
		{"truncated", fixture[:len(fixture)/2], "truncated JSON"},
		{"malformed", `{"DurationHistogram": {"Count": 1,,}}`, "malformed JSON at byte"},
		{"array", `[1, 2]`, "not a fortio result: want a JSON object, got array"},
		{"other tool", `{"latencies": {"mean": 1}}`, "not a fortio result: no DurationHistogram"},
		{"null histogram", `{"DurationHistogram": null}`, "no DurationHistogram"},
		{"wrong type", `{"ActualQPS": "fast", "DurationHistogram": {}}`, "field ActualQPS"},
		{"negative count", `{"DurationHistogram": {"Count": 1, "Data": [{"Start": 0, "End": 0.001, "Count": -1}]}}`, "Data[0].Count is negative"},
		{"counts disagree", `{"DurationHistogram": {"Count": 2, "Data": [{"Start": 0, "End": 0.001, "Count": 3}]}}`, "add up to 3 but Count is 2"},
		{"backwards bucket", `{"DurationHistogram": {"Count": 1, "Data": [{"Start": 0.002, "End": 0.001, "Count": 1}]}}`, "ends (0.001) before it starts (0.002)"},
		{"bad qps", `{"RequestedQPS": "lots", "DurationHistogram": {}}`, `RequestedQPS "lots"`},
		{"negative code", `{"RetCodes": {"200": -4}, "DurationHistogram": {}}`, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := fortio.Parse([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestParseFortioHugeCounts(t *testing.T) {
	// Counts far beyond any run are recorded in O(log n), not one by one.
	doc := `{"DurationHistogram": {"Count": 4000000000000000000, "Min": 0.001, "Max": 7200,
	"Data": [{"Start": 0.001, "End": 0.002, "Count": 2000000000000000000}, {"Start": 3000, "End": 7200, "Count": 2000000000000000000}]}}`
	start := time.Now()
	r, err := fortio.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
	h, err := hist.Decode(r.ServiceTime.Histogram)
	if err != nil {
		t.Fatal(err)
	}
	if h.Count() != 4e18 {
		t.Errorf("count %d", h.Count())
	}
	if r.ServiceTime.Saturated == 0 {
		t.Error("values past an hour are not counted as saturated")
	}
}

func FuzzParseFortio(f *testing.F) {
	if b, err := os.ReadFile(fortioFixture); err == nil {
		f.Add(b)
	}
	if b, err := FortioJSON(recorded(baseRun())); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"DurationHistogram": {"Count": 3, "Min": 0.001, "Max": 0.004, "Data": [{"Start": 0.001, "End": 0.002, "Count": 2}, {"Start": 0.002, "End": 0.004, "Count": 1}]}, "RetCodes": {"200": 2, "-1": 1, "SERVING": 0}}`))
	f.Add([]byte(`{"RequestedQPS": "max", "RequestedDuration": "exactly 10 calls", "DurationHistogram": {"Count": 0}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := fortio.Parse(data)
		if err != nil {
			return
		}
		out, err := FortioJSON(r)
		if err != nil {
			t.Fatalf("accepted but cannot export: %v", err)
		}
		back, err := fortio.Parse(out)
		if err != nil {
			t.Fatalf("export does not import: %v\n%s", err, out)
		}
		if back.ServiceTime.Count != r.ServiceTime.Count {
			t.Fatalf("count %d became %d", r.ServiceTime.Count, back.ServiceTime.Count)
		}
	})
}

// closeTo tells whether a and b differ by at most float rounding: seconds and
// milliseconds do not convert into each other exactly in binary.
func closeTo(a, b float64) bool { return math.Abs(a-b) <= 1e-15*math.Abs(b) }
