package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/meshperf/meshperf/spec"
)

// csvHeader names the columns of CSV. Latency columns (p50_ms … mean_ms)
// describe the latency of open-loop runs and the service time of closed-loop
// ones; service_* always the service time. Unknown values are left empty.
var csvHeader = []string{
	"id", "name", "start_time", "end_time", "generator", "generator_version", "fidelity",
	"target", "method", "connections", "requested_rps", "achieved_rps", "duration_s",
	"requests", "errors", "error_rate", "open_loop",
	"p50_ms", "p75_ms", "p90_ms", "p95_ms", "p99_ms", "p99_9_ms", "p99_99_ms", "max_ms", "mean_ms",
	"service_p50_ms", "service_p99_ms",
}

// CSV writes one row per result, with a header (RFC 4180).
func CSV(w io.Writer, rs []*spec.Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for i, r := range rs {
		if r == nil {
			return fmt.Errorf("csv: result %d is missing", i+1)
		}
		main := r.Latency
		if main == nil {
			main = r.ServiceTime
		}
		x, err := readDist(main)
		if err != nil {
			return fmt.Errorf("csv: result %d (%s): %w", i+1, label(r, i), err)
		}
		st, err := readDist(r.ServiceTime)
		if err != nil {
			return fmt.Errorf("csv: result %d (%s): service time: %w", i+1, label(r, i), err)
		}
		q, a := r.Requested, r.Achieved
		row := []string{
			r.ID, r.Name, csvTime(r.StartTime), csvTime(r.EndTime),
			r.Generator.Name, r.Generator.Version, r.Generator.Fidelity,
			strings.Join(q.Targets, " "), q.Method, strconv.Itoa(q.Connections),
			num(q.RPS), num(a.RPS), num(a.Duration.D().Seconds()),
			strconv.FormatInt(a.Requests, 10), strconv.FormatInt(a.Errors, 10), num(a.ErrorRate),
			strconv.FormatBool(q.OpenLoop),
		}
		for _, p := range comparePercentiles {
			row = append(row, optNum(x.pct(p)))
		}
		row = append(row, optNum(x.pct(100)), optNum(x.mean()), optNum(st.pct(50)), optNum(st.pct(99)))
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// TimelineCSV writes one row per second of r's timeline, with a header.
func TimelineCSV(w io.Writer, r *spec.Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"second", "warmup", "requests", "errors", "requested_rps", "achieved_rps", "p50_ms", "p90_ms", "p99_ms"}); err != nil {
		return err
	}
	for _, iv := range r.Timeline {
		row := []string{
			strconv.Itoa(iv.Second), strconv.FormatBool(iv.Warmup),
			strconv.FormatInt(iv.Requests, 10), strconv.FormatInt(iv.Errors, 10),
			num(iv.RequestedRPS), num(iv.AchievedRPS), num(iv.P50Ms), num(iv.P90Ms), num(iv.P99Ms),
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func optNum(f float64, ok bool) string {
	if !ok {
		return ""
	}
	return num(f)
}
