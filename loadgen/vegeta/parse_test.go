package vegeta

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/hist"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseReport(t *testing.T) {
	r, err := ParseReport(readFixture(t, "vegeta-report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Generator.Name != "vegeta" || r.Generator.Fidelity != "percentiles" {
		t.Errorf("generator = %+v", r.Generator)
	}
	a := r.Achieved
	if a.Requests != 5999 || a.Responses != 5999 || a.Errors != 0 || a.BytesReceived != 71988 || a.BytesSent != 0 {
		t.Errorf("achieved = %+v", a)
	}
	// duration 2999233967 ns + wait 94692 ns: first send to last response.
	if got, want := a.Duration.D(), 2999328659*time.Nanosecond; got != want {
		t.Errorf("duration = %s, want %s", got, want)
	}
	// vegeta's throughput is successes/(duration+wait): the same here.
	if got, want := a.RPS, 2000.1142529008855; got-want > 1e-9 || want-got > 1e-9 {
		t.Errorf("rps = %v, want %v", got, want)
	}
	if len(r.StatusCodes) != 1 || r.StatusCodes[200] != 5999 {
		t.Errorf("codes = %v", r.StatusCodes)
	}
	d := r.ServiceTime
	if d.Count != 5999 || d.MinMs != 0.022163 || d.MeanMs != 0.074396 || d.MaxMs != 3.283468 || d.Histogram != "" {
		t.Errorf("distribution = %+v", d)
	}
	for p, want := range map[float64]float64{50: 0.062829, 90: 0.10791, 95: 0.120423, 99: 0.274828, 100: 3.283468} {
		if got, ok := d.At(p); !ok || got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if r.Latency != nil {
		t.Error("latency set: vegeta measures from the actual send")
	}
	if want := time.Date(2026, 11, 21, 4, 23, 22, 796638420, time.UTC); !r.StartTime.Equal(want) {
		t.Errorf("start = %s", r.StartTime)
	}
	notes := strings.Join(r.Notes, "\n")
	for _, want := range []string{"fidelity percentiles", "not corrected for coordinated omission", "2000.18/s"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
}

// TestReportMatchesHDRPlot checks the report's percentiles against the
// hdrplot of the same run.
func TestReportMatchesHDRPlot(t *testing.T) {
	r, err := ParseReport(readFixture(t, "vegeta-report.json"))
	if err != nil {
		t.Fatal(err)
	}
	plot := string(readFixture(t, "vegeta-hdrplot.txt"))
	for _, c := range []struct {
		p   float64
		row string
	}{{50, "0.062829   0.500000"}, {90, "0.107910   0.900000"}, {95, "0.120423   0.950000"}} {
		if !strings.Contains(plot, c.row) {
			t.Errorf("hdrplot lacks %q", c.row)
		}
		if got, _ := r.ServiceTime.At(c.p); !strings.HasPrefix(c.row, strings.TrimRight(strings.TrimRight(strings.Split(c.row, " ")[0], "0"), ".")) || got == 0 {
			t.Errorf("p%v = %v", c.p, got)
		}
	}
}

func TestParseReportErrorsAndCodes(t *testing.T) {
	data := `{"latencies":{"total":10,"mean":1,"50th":1,"90th":1,"95th":1,"99th":1,"max":2,"min":1},"duration":1000000000,"wait":0,
	 "requests":10,"success":0.6,"status_codes":{"0":2,"200":6,"503":2},"errors":["503 Service Unavailable","Get \"http://x/\": dial tcp: connection refused"]}`
	r, err := ParseReport([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	a := r.Achieved
	if a.Requests != 10 || a.Responses != 8 || a.Errors != 4 || a.ErrorRate != 0.4 || a.RPS != 8 {
		t.Errorf("achieved = %+v", a)
	}
	if len(r.Errors) != 1 || r.Errors[0].Count != 2 || len(r.Errors[0].Examples) != 1 || !strings.Contains(r.Errors[0].Examples[0], "refused") {
		t.Errorf("errors = %+v", r.Errors)
	}
}

func TestParseResults(t *testing.T) {
	r, err := ParseResults(readFixture(t, "vegeta-results-head200.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Generator.Fidelity != "hdr" {
		t.Errorf("fidelity = %q", r.Generator.Fidelity)
	}
	a := r.Achieved
	if a.Requests != 200 || a.Responses != 200 || a.Errors != 0 || a.BytesReceived != 2400 || r.StatusCodes[200] != 200 {
		t.Errorf("achieved = %+v, codes %v", a, r.StatusCodes)
	}
	if got, want := r.Requested.Targets, []string{"http://127.0.0.1:8088/"}; len(got) != 1 || got[0] != want[0] || r.Requested.Method != "GET" {
		t.Errorf("targets = %v, method %q", got, r.Requested.Method)
	}
	// First send 04:23:22.79663842 (seq 0), last response 04:23:22.895689792.
	if got, want := a.Duration.D(), 99051372*time.Nanosecond; got != want {
		t.Errorf("duration = %s, want %s", got, want)
	}
	d := r.ServiceTime
	h, err := hist.Decode(d.Histogram)
	if err != nil {
		t.Fatal(err)
	}
	if h.Count() != 200 || d.Count != 200 {
		t.Errorf("count = %d/%d", h.Count(), d.Count)
	}
	// Exact values (nearest rank) 65097 ns, 373931 ns, 28643 ns, 922013 ns;
	// HDR keeps 3 significant digits of microseconds.
	for p, want := range map[float64]float64{50: 0.065, 99: 0.373, 100: 0.922} {
		if got, _ := d.At(p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if d.MinMs != 0.028 {
		t.Errorf("min = %v, want 0.028", d.MinMs)
	}
	if len(r.Timeline) != 1 || r.Timeline[0].Requests != 200 {
		t.Errorf("timeline = %+v", r.Timeline)
	}
}

func TestParseResultsErrors(t *testing.T) {
	data := `{"code":0,"timestamp":"2026-01-01T00:00:00Z","latency":1000000,"error":"Get \"http://x/\": dial tcp 1.2.3.4:80: connect: connection refused","url":"http://x/","method":"GET"}
{"code":500,"timestamp":"2026-01-01T00:00:01Z","latency":2000000,"error":"500 Internal Server Error","url":"http://y/","method":"GET"}

{"code":200,"timestamp":"2026-01-01T00:00:01.5Z","latency":500000000,"error":"","url":"http://x/","method":"GET"}
`
	r, err := ParseResults([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	a := r.Achieved
	if a.Requests != 3 || a.Responses != 2 || a.Errors != 2 || r.StatusCodes[500] != 1 || r.StatusCodes[200] != 1 {
		t.Errorf("achieved = %+v, codes %v", a, r.StatusCodes)
	}
	if len(r.Errors) != 1 || r.Errors[0].Class != "connection_refused" || r.Errors[0].Count != 1 {
		t.Errorf("errors = %+v", r.Errors)
	}
	if a.Duration.D() != 2*time.Second || len(r.Timeline) != 3 || len(r.Requested.Targets) != 2 {
		t.Errorf("duration %s, timeline %+v, targets %v", a.Duration, r.Timeline, r.Requested.Targets)
	}
}

func TestParseFailures(t *testing.T) {
	report := string(readFixture(t, "vegeta-report.json"))
	results := string(readFixture(t, "vegeta-results-head200.jsonl"))
	tests := []struct {
		name  string
		parse func([]byte) (any, error)
		data  string
		want  string
	}{
		{"report truncated", parseReport, report[:len(report)/2], "truncated JSON"},
		{"report empty", parseReport, "", "truncated JSON"},
		{"report given results", parseReport, results, "looks like vegeta encode output"},
		{"report given one result", parseReport, strings.Split(results, "\n")[0], `no "latencies"; this looks like one result of vegeta encode`},
		{"report given hdrplot", parseReport, string(readFixture(t, "vegeta-hdrplot.txt")), "looks like vegeta report -type=hdrplot"},
		{"report wrong shape", parseReport, `{"latencies":{}}`, `no "requests"`},
		{"report wrong type", parseReport, `{"latencies":{"mean":"1ms"},"requests":1}`, "field latencies.mean: want int64, got string"},
		{"report negative", parseReport, `{"latencies":{"min":-1},"requests":1}`, "latencies.min is negative"},
		{"report array", parseReport, `[]`, "want a JSON object, got array"},
		{"results given report", parseResults, report, "line 1: not a vegeta result (vegeta encode): this looks like a vegeta JSON report"},
		{"results truncated", parseResults, results[:len(results)/2], "truncated JSON"},
		{"results empty", parseResults, "\n\n", "no results"},
		{"results missing fields", parseResults, `{"code":200}`, `line 1: not a vegeta result (vegeta encode): no "timestamp", "latency"`},
		{"results garbage line", parseResults, strings.Join(strings.Split(results, "\n")[:6], "\n") + "\nnope\n", "results line 7: malformed JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.parse([]byte(tt.data))
			if err == nil {
				t.Fatalf("no error; got %+v", r)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "vegeta: ") {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func parseReport(b []byte) (any, error)  { return ParseReport(b) }
func parseResults(b []byte) (any, error) { return ParseResults(b) }

func FuzzParseReport(f *testing.F) {
	f.Add(readFixture(f, "vegeta-report.json"))
	f.Add(readFixture(f, "vegeta-hdrplot.txt"))
	f.Add([]byte(`{"latencies":{"max":9223372036854775807},"requests":9223372036854775807,"duration":9223372036854775807,"wait":9223372036854775807,"status_codes":{"0":9223372036854775807,"200":9223372036854775807}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseReport(data)
		if err == nil && r.ServiceTime == nil {
			t.Fatal("nil distribution without error")
		}
	})
}

func FuzzParseResults(f *testing.F) {
	b := readFixture(f, "vegeta-results-head200.jsonl")
	f.Add(b[:3000])
	f.Add([]byte(`{"code":0,"timestamp":"0001-01-01T00:00:00Z","latency":9223372036854775807}` + "\n" + `{"code":65535,"timestamp":"9999-12-31T23:59:59Z","latency":0}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseResults(data)
		if err == nil && (r.ServiceTime == nil || r.ServiceTime.Count != r.Achieved.Requests) {
			t.Fatal("inconsistent result without error")
		}
	})
}
