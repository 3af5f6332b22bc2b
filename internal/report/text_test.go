package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func sample(open bool) *spec.Result {
	pcts := func(scale float64) []spec.Percentile {
		var out []spec.Percentile
		for i, p := range []float64{50, 75, 90, 95, 99, 99.9, 99.99, 100} {
			out = append(out, spec.Percentile{P: p, Ms: scale * float64(i+1) * 0.9})
		}
		return out
	}
	r := &spec.Result{
		Schema:    spec.ResultSchema,
		Generator: spec.GeneratorInfo{Name: "meshperf", Version: "1.2.3", Fidelity: "hdr"},
		Requested: spec.Requested{Targets: []string{"http://127.0.0.1:8080/"}, Method: "GET", Protocol: "http", HTTPVersion: "1.1",
			Connections: 16, Duration: spec.Duration(10 * time.Second), Shape: "closed loop"},
		Achieved: spec.Achieved{Duration: spec.Duration(10*time.Second + 3*time.Millisecond), Requests: 10010, Responses: 10000,
			RPS: 999.7, Errors: 12, ErrorRate: 12.0 / 10010, BytesSent: 712_900, BytesReceived: 1_150_000},
		ServiceTime: &spec.Distribution{Count: 10000, Percentiles: pcts(1), MeanMs: 2.1},
		StatusCodes: map[int]int64{200: 9998, 503: 2},
		Errors:      []spec.ErrorClass{{Class: "reset", Count: 10, Examples: []string{"read tcp 127.0.0.1:5->127.0.0.1:8080: connection reset by peer"}}},
	}
	if open {
		r.Requested.OpenLoop, r.Requested.RPS, r.Requested.Shape = true, 1000, "constant 1000/s"
		r.Achieved.Late, r.Achieved.LateRatio, r.Achieved.LateThreshold = 50, 0.005, spec.Duration(time.Millisecond)
		r.Latency = &spec.Distribution{Count: 10000, Percentiles: pcts(1.5), MeanMs: 3.3}
	}
	return r
}

func TestTextGolden(t *testing.T) {
	for name, r := range map[string]*spec.Result{"open": sample(true), "closed": sample(false)} {
		t.Run(name, func(t *testing.T) {
			objs, _ := spec.ParseObjectives("p99<=5ms,error_rate<0.1%")
			var b bytes.Buffer
			if err := Text(&b, r, spec.Check(r, objs)); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", name+".golden")
			if *update {
				os.WriteFile(path, b.Bytes(), 0o644)
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got := b.String(); got != string(want) {
				t.Errorf("report differs from %s (go test -update rewrites it):\n%s", path, got)
			}
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	var b bytes.Buffer
	in := sample(true)
	if err := JSON(&b, in); err != nil {
		t.Fatal(err)
	}
	var out spec.Result
	if err := json.Unmarshal(b.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if out.Achieved != in.Achieved || out.Requested.Duration != in.Requested.Duration || out.StatusCodes[503] != 2 {
		t.Errorf("round trip changed the result:\n got %+v\nwant %+v", out.Achieved, in.Achieved)
	}
	if !strings.Contains(b.String(), `"duration": "10s"`) {
		t.Errorf("durations are not written as Go duration strings:\n%s", b.String())
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

func TestTextReportsWriteErrors(t *testing.T) {
	if err := Text(failWriter{}, sample(true), nil); err == nil {
		t.Error("a failing writer gave no error")
	}
}

func TestProgressLine(t *testing.T) {
	got := ProgressLine(3*time.Second+400*time.Millisecond, 10*time.Second, false, 999.5, 3000, 2, 12500*time.Microsecond)
	want := "   3s/10s     999.5 req/s  3000 requests  2 errors  p99 12.5ms"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestTextNoData: a run where nothing answered shows no figure as 0: every
// percentile is "–", under a FAILED line.
func TestTextNoData(t *testing.T) {
	r := &spec.Result{
		Schema:      spec.ResultSchema,
		Generator:   spec.GeneratorInfo{Name: "meshperf", Version: "1.0", Fidelity: "hdr"},
		Requested:   spec.Requested{Targets: []string{"http://127.0.0.1:1/"}, Method: "GET", Protocol: "http", Connections: 2, Shape: "closed loop"},
		Achieved:    spec.Achieved{Requests: 10, Errors: 10, ErrorRate: 1},
		ServiceTime: spec.Summarize(hist.New()),
		Errors:      []spec.ErrorClass{{Class: "refused", Count: 10}},
	}
	var b strings.Builder
	if err := Text(&b, r, nil); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "FAILED: nothing answered") {
		t.Errorf("no failed banner:\n%s", out)
	}
	for _, row := range []string{"p50", "p99", "max", "mean"} {
		found := false
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == row {
				found = true
				if f[1] != NoData {
					t.Errorf("%s shows %q, want %q", row, f[1], NoData)
				}
			}
		}
		if !found {
			t.Errorf("no %s row:\n%s", row, out)
		}
	}
	// The header is the line after the loop line (report.LoopLine).
	header := func(out string) string { return strings.SplitN(out+"\n\n", "\n", 3)[1] }
	if strings.Contains(out, "vegeta :") || !strings.HasPrefix(header(out), "meshperf 1.0: http") {
		t.Errorf("header: %q", header(out))
	}
	r.Generator = spec.GeneratorInfo{Name: "vegeta"}
	b.Reset()
	_ = Text(&b, r, nil)
	if !strings.HasPrefix(header(b.String()), "vegeta: http://127.0.0.1:1/") {
		t.Errorf("an unknown version leaves a gap: %q", header(b.String()))
	}
}
