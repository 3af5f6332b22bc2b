package report

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/meshperf/meshperf/loadgen/fortio"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/spec/smp"
)

func TestCSVGolden(t *testing.T) {
	fortioRes, err := fortio.Parse(readFortioFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := smp.ParseResult([]byte("id: smp-1\nlatencies_ms: {min: 0.4, average: 1.9, p50: 1.5, p90: 3.2, p99: 8.75, max: 40}\nactual_qps: 998.5\n"))
	if err != nil {
		t.Fatal(err)
	}
	open := recorded(baseRun())
	open.Name = `baseline, "quoted"` // RFC 4180 quoting
	rs := []*spec.Result{open, recorded(closedRun()), fortioRes, plain}
	var b bytes.Buffer
	if err := CSV(&b, rs); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "results.csv", b.Bytes())

	rows, err := csv.NewReader(bytes.NewReader(b.Bytes())).ReadAll()
	if err != nil {
		t.Fatalf("not RFC 4180: %v", err)
	}
	if len(rows) != len(rs)+1 || len(rows[0]) != len(csvHeader) {
		t.Fatalf("%d rows of %d columns", len(rows), len(rows[0]))
	}
	col := func(row int, name string) string {
		for i, h := range rows[0] {
			if h == name {
				return rows[row][i]
			}
		}
		t.Fatalf("no column %s", name)
		return ""
	}
	for _, tc := range []struct {
		row        int
		name, want string
	}{
		{1, "name", `baseline, "quoted"`},
		{1, "open_loop", "true"},
		{1, "p50_ms", num(open.Latency.Percentiles[0].Ms)},
		{1, "service_p50_ms", num(open.ServiceTime.Percentiles[0].Ms)},
		{2, "open_loop", "false"},
		{2, "requested_rps", "0"},
		{3, "generator", "fortio"},
		{3, "fidelity", "bucketed"},
		{3, "requests", "6000"},
		{3, "achieved_rps", "1999.4367879818983"},
		{4, "p50_ms", "1.5"},
		{4, "p75_ms", ""}, // unknown, not zero
		{4, "max_ms", "40"},
	} {
		if got := col(tc.row, tc.name); got != tc.want {
			t.Errorf("row %d %s = %q, want %q", tc.row, tc.name, got, tc.want)
		}
	}
}

func TestCSVErrors(t *testing.T) {
	bad := recorded(baseRun())
	bad.Latency.Histogram = "junk"
	for _, tc := range []struct {
		name string
		rs   []*spec.Result
		want string
	}{
		{"nil", []*spec.Result{nil}, "result 1 is missing"},
		{"bad histogram", []*spec.Result{bad}, "result 1 (baseline)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CSV(&bytes.Buffer{}, tc.rs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if err := CSV(failWriter{}, []*spec.Result{recorded(baseRun())}); err == nil {
		t.Error("a failing writer gave no error")
	}
}

func TestTimelineCSVGolden(t *testing.T) {
	r := recorded(baseRun())
	var b bytes.Buffer
	if err := TimelineCSV(&b, r); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "timeline.csv", b.Bytes())
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(r.Timeline)+1 || rows[1][1] != "true" || rows[2][1] != "false" {
		t.Errorf("rows %q", rows)
	}
	if err := TimelineCSV(failWriter{}, r); err == nil {
		t.Error("a failing writer gave no error")
	}
}
