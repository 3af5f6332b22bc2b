package nighthawk

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/spec"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

func TestParseOutputOpenLoop(t *testing.T) {
	r, err := ParseOutput(readFixture(t, "nighthawk-output-open-loop.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Generator, (spec.GeneratorInfo{Name: "nighthawk", Version: "0.3.0", Fidelity: "percentiles"}); got != want {
		t.Errorf("generator = %+v, want %+v", got, want)
	}
	q := r.Requested
	if q.RPS != 2000 || q.Connections != 100 || q.Duration.D() != 5*time.Second || !q.OpenLoop ||
		q.Timeout.D() != 30*time.Second || q.Method != "GET" || q.HTTPVersion != "1.1" || q.Shape != "constant 2000/s" ||
		len(q.Targets) != 1 || q.Targets[0] != "www.we-amp.com" {
		t.Errorf("requested = %+v", q)
	}
	a := r.Achieved
	if got, want := a.Duration.D(), 5000010451*time.Nanosecond; got != want {
		t.Errorf("duration = %s, want %s", got, want)
	}
	// 1368 sent (upstream_rq_total) + 8631 dropped (benchmark.pool_overflow).
	if a.Requests != 9999 || a.Responses != 1317 || a.Dropped != 8631 || a.Errors != 8631 {
		t.Errorf("requests/responses/dropped/errors = %d/%d/%d/%d, want 9999/1317/8631/8631", a.Requests, a.Responses, a.Dropped, a.Errors)
	}
	if !near(a.RPS, 1317/5.000010451, 1e-9) {
		t.Errorf("rps = %v, want %v", a.RPS, 1317/5.000010451)
	}
	if a.BytesSent != 84816 || a.BytesReceived != 449097 {
		t.Errorf("bytes = %d/%d", a.BytesSent, a.BytesReceived)
	}
	if len(r.StatusCodes) != 1 || r.StatusCodes[300] != 1317 {
		t.Errorf("codes = %v, want 300: 1317 (benchmark.http_3xx)", r.StatusCodes)
	}
	if len(r.Errors) != 1 || r.Errors[0].Class != "dropped" || r.Errors[0].Count != 8631 {
		t.Errorf("errors = %+v", r.Errors)
	}
	if r.Latency != nil {
		t.Error("latency set: Nighthawk's times are service times")
	}
	if got, want := r.StartTime, time.Date(2020, 6, 10, 9, 47, 1, 915912166, time.UTC); !got.Equal(want) {
		t.Errorf("start = %s, want %s", got, want)
	}
	d := r.ServiceTime
	if d.Count != 1317 || d.MinMs != 85.323775 || d.MaxMs != 112.316415 || d.MeanMs != 93.536335 || d.StdDevMs != 4.224355 {
		t.Errorf("distribution = %+v", d)
	}
	for _, c := range []struct{ p, lo, hi float64 }{
		{50, 92.962815, 92.962815}, // reported by Nighthawk
		{90, 98.242559, 98.242559},
		{99, 108.445695, 109.101055}, // between its 98.90625% and 99.0625% points
		{100, 112.316415, 112.316415},
	} {
		got, ok := d.At(c.p)
		if !ok || got < c.lo || got > c.hi {
			t.Errorf("p%v = %v (%v), want in [%v, %v]", c.p, got, ok, c.lo, c.hi)
		}
	}
	h, err := hist.Decode(d.Histogram)
	if err != nil {
		t.Fatal(err)
	}
	if h.Count() != 1317 {
		t.Errorf("histogram count = %d, want 1317", h.Count())
	}
	if got := h.Quantile(0.5); got < 92*time.Millisecond || got > 93*time.Millisecond {
		t.Errorf("histogram p50 = %s", got)
	}
	notes := strings.Join(r.Notes, "\n")
	for _, want := range []string{"not corrected for coordinated omission", "55-point percentile list", "51 requests were sent but had no response", "status classes only"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
}

func TestParseOutputErrors(t *testing.T) {
	open := string(readFixture(t, "nighthawk-output-open-loop.json"))
	tests := []struct {
		name, data, want string
	}{
		{"formatter fixture has no request_to_response", string(readFixture(t, "nighthawk-output-formatter.json")),
			`result "global" has no benchmark_http_client.request_to_response statistic (it has "stat_id", "", "foo_size", "foo_latency")`},
		{"fortio format", string(readFixture(t, "nighthawk-fortio-format.json")), "looks like fortio-format output"},
		{"fortio's own", string(readFixture(t, "fortio-http-2000qps.json")), "looks like fortio-format output"},
		{"truncated", open[:len(open)/2], "truncated JSON"},
		{"empty", "", "truncated JSON"},
		{"garbage", "hello", "malformed JSON at byte 1"},
		{"array", "[1]", "want a JSON object, got array"},
		{"no results", `{"options":{}}`, `no "results"`},
		{"empty results", `{"results":[]}`, `"results" is empty`},
		{"no global", `{"results":[{"name":"worker_0"},{"name":"worker_1"}]}`, `no "global" result among results ["worker_0", "worker_1"]`},
		{"bad duration", `{"results":[{"name":"global","execution_duration":"5ms"}]}`, `invalid duration "5ms"`},
		{"wrong type", `{"results":[{"name":"global","counters":[{"name":"x","value":"abc"}]}]}`, `invalid integer "abc"`},
		{"counts not cumulative", `{"results":[{"name":"global","statistics":[{"id":"benchmark_http_client.request_to_response","count":"3",
			"percentiles":[{"percentile":0,"count":"2","duration":"0.001s"},{"percentile":1,"count":"1","duration":"0.002s"}]}]}]}`,
			"count 1 is below the previous 2"},
		{"counts short", `{"results":[{"name":"global","statistics":[{"id":"benchmark_http_client.request_to_response","count":"3",
			"percentiles":[{"percentile":1,"count":"2","duration":"0.001s"}]}]}]}`,
			"percentile counts reach 2 but count is 3"},
		{"no percentiles", `{"results":[{"name":"global","statistics":[{"id":"benchmark_http_client.request_to_response","count":"3"}]}]}`,
			"count is 3 but there are no percentiles"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseOutput([]byte(tt.data))
			if err == nil {
				t.Fatalf("no error; got %+v", r)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "nighthawk: ") {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestParseOutputShapes covers what the fixtures lack: durations as
// {seconds, nanos} objects, 2xx/5xx counters, workers, h2 and closed loop.
func TestParseOutputShapes(t *testing.T) {
	data := `{"options":{"requests_per_second":100,"connections":4,"concurrency":"2","h2":true,"uri":"https://x/",
	  "request_options":{"request_method":"post"},"duration":{"seconds":"10"}},
	 "version":{"version":{"major_number":0,"minor_number":5,"patch":1}},
	 "results":[{"name":"worker_0"},{"name":"worker_1"},{"name":"global","execution_duration":{"seconds":10,"nanos":500000000},
	  "statistics":[{"id":"benchmark_http_client.request_to_response","count":"4","min":{"nanos":1000000},"max":"0.004s",
	   "percentiles":[{"percentile":0,"count":"1","duration":{"nanos":1000000}},{"percentile":0.5,"count":"2","duration":"0.002s"},
	                  {"percentile":1,"count":"4","duration":{"seconds":"0","nanos":4000000}}]}],
	  "counters":[{"name":"upstream_rq_2xx","value":"3"},{"name":"upstream_rq_5xx","value":"1"},{"name":"benchmark.stream_resets","value":2},
	              {"name":"upstream_rq_total","value":"6"}]}]}`
	r, err := ParseOutput([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	q, a := r.Requested, r.Achieved
	if q.RPS != 200 || q.Connections != 8 || q.OpenLoop || q.HTTPVersion != "2" || q.Method != "POST" || q.Duration.D() != 10*time.Second {
		t.Errorf("requested = %+v", q)
	}
	if r.Generator.Version != "0.5.1" || a.Duration.D() != 10500*time.Millisecond {
		t.Errorf("version %q, duration %s", r.Generator.Version, a.Duration)
	}
	if a.Requests != 6 || a.Responses != 4 || a.Errors != 3 || r.StatusCodes[200] != 3 || r.StatusCodes[500] != 1 {
		t.Errorf("achieved = %+v, codes %v", a, r.StatusCodes)
	}
	if got, _ := r.ServiceTime.At(50); got != 2 {
		t.Errorf("p50 = %v, want 2", got)
	}
	if r.ServiceTime.MinMs != 1 || r.ServiceTime.MaxMs != 4 {
		t.Errorf("min/max = %v/%v", r.ServiceTime.MinMs, r.ServiceTime.MaxMs)
	}
}

func FuzzParseOutput(f *testing.F) {
	// Small seeds: the fuzzer minimizes every new input, which is slow on
	// the 29 KB fixture. This one is the fixture with its other statistics
	// and most percentiles left out.
	f.Add(readFixture(f, "fuzz-seed-open-loop.json"))
	f.Add([]byte(`{"DurationHistogram":{},"RetCodes":{"200":1}}`))
	f.Add([]byte(`{"results":[{"name":"global","statistics":[{"id":"x","count":"1","min":{"seconds":"1","nanos":5}}]}]}`))
	f.Add([]byte(`{"results":[{"name":"global","statistics":[{"id":"benchmark_http_client.request_to_response","count":"1099511627776",
		"percentiles":[{"percentile":1,"count":"1099511627776","duration":{"seconds":"9223372036","nanos":999999999}}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseOutput(data)
		if err == nil && r.ServiceTime == nil {
			t.Fatal("nil service time without error")
		}
	})
}
