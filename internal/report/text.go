// Package report renders results for people and programs.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

// shownPercentiles are the rows of the text report.
var shownPercentiles = []float64{50, 75, 90, 95, 99, 99.9, 99.99, 100}

// shown picks the report's rows from d's one percentile list: the standard
// percentiles it has, or all it has when it has none of them (a few
// percentiles from another tool). With no data at all, the standard rows,
// each shown as NoData.
func shown(d *spec.Distribution) []float64 {
	list := d.Summary()
	var out []float64
	for _, p := range shownPercentiles {
		if _, ok := d.Value(p); ok {
			out = append(out, p)
		}
	}
	if len(out) == 0 && len(list) > 0 {
		for _, x := range list {
			out = append(out, x.P)
		}
	}
	if len(out) == 0 {
		return shownPercentiles
	}
	return out
}

// NoData is how a figure that was not measured is shown: never as 0.
const NoData = "–"

// Failed reports whether nothing answered during r: no response at all
// (every request failed, or none was sent).
func Failed(r *spec.Result) bool { return r.Achieved.Responses == 0 }

// JSON writes r as indented JSON.
func JSON(w io.Writer, r *spec.Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// LoopLine is the first line of a report: which loop ran, and what that
// means for the figures below it.
func LoopLine(q spec.Requested) string {
	if q.OpenLoop {
		return "Open loop, " + q.Shape + ": latency counts from when each request was due, so a target that stalls shows in the tail as its users would feel it."
	}
	return "Closed loop (as fast as " + plural(q.Connections, "connection") + " allow): a stalling target slows the senders instead, so only service time is measured and the tail looks better than users feel it (--rps N for open loop)."
}

// Text writes a report of r for a terminal, and the verdicts of objectives.
func Text(w io.Writer, r *spec.Result, verdicts []spec.Verdict) error {
	ew := &errWriter{w: w}
	q, a := r.Requested, r.Achieved
	mode := "closed loop (as fast as " + plural(q.Connections, "connection") + " allow)"
	if q.OpenLoop {
		mode = "open loop, " + q.Shape
	}
	ew.printf("%s\n", LoopLine(q))
	ew.printf("%s: %s\n", r.Generator, strings.Join(q.Targets, ", "))
	proto := q.Protocol
	if q.HTTPVersion != "" {
		proto = "HTTP/" + q.HTTPVersion
		if q.HTTPVersion == "h2c" {
			proto = "h2c"
		}
	}
	ew.printf("  %s %s, %s, %s", q.Method, proto, mode, plural(q.Connections, "connection"))
	if q.Duration > 0 {
		ew.printf(", %s", q.Duration)
	}
	if q.Requests > 0 {
		ew.printf(", %d requests", q.Requests)
	}
	if q.Warmup > 0 {
		ew.printf(" after %s warm-up", q.Warmup)
	}
	if q.Resolution > 0 {
		ew.printf(", sends batched within %s", q.Resolution)
	}
	ew.printf("\n")
	if Failed(r) {
		ew.printf("  FAILED: nothing answered (no response in %d requests): there are no latency figures\n", a.Requests)
	}
	if r.Interrupted {
		ew.printf("  INTERRUPTED: figures cover the run up to the interruption\n")
	}
	if r.EndedEarly != "" {
		ew.printf("  ENDED EARLY: %s\n", r.EndedEarly)
	}
	ew.printf("\n")

	ew.printf("Requests  %d in %s: %.1f/s achieved", a.Requests, round(a.Duration.D()), a.RPS)
	if q.OpenLoop {
		ew.printf(" of %s/s requested", strconv.FormatFloat(q.RPS, 'f', -1, 64))
	}
	ew.printf("\n")
	ew.printf("Errors    %d (%s)", a.Errors, pct(a.ErrorRate))
	if q.OpenLoop {
		ew.printf("   late sends %s (>%s)   dropped %d", pct(a.LateRatio), a.LateThreshold, a.Dropped)
	}
	ew.printf("\n")
	ew.printf("Bytes     sent %s, received %s\n", bytesStr(a.BytesSent), bytesStr(a.BytesReceived))
	clientLine(ew, r.Process)
	ew.printf("\n")

	tw := tabwriter.NewWriter(ew, 0, 0, 3, ' ', tabwriter.AlignRight)
	switch {
	case r.Latency != nil && r.ServiceTime != nil:
		fmt.Fprintf(tw, "\tlatency\tservice time\t\n")
	case r.Latency != nil:
		fmt.Fprintf(tw, "\tlatency\t\n")
	default:
		fmt.Fprintf(tw, "\tservice time\t\n")
	}
	main := r.ServiceTime
	if main == nil {
		main = r.Latency
	}
	cell := func(d *spec.Distribution, p float64) string {
		if v, ok := d.Value(p); ok {
			return msStr(v)
		}
		return NoData
	}
	mean := func(d *spec.Distribution) string {
		if d.Empty() || (d.Count == 0 && d.MeanMs == 0) {
			return NoData
		}
		return msStr(d.MeanMs)
	}
	for _, p := range shown(main) {
		label := "p" + strconv.FormatFloat(p, 'f', -1, 64)
		if p == 100 {
			label = "max"
		}
		if r.Latency != nil && r.ServiceTime != nil {
			fmt.Fprintf(tw, "%s\t%s\t%s\t\n", label, cell(r.Latency, p), cell(r.ServiceTime, p))
		} else {
			fmt.Fprintf(tw, "%s\t%s\t\n", label, cell(main, p))
		}
	}
	if r.Latency != nil && r.ServiceTime != nil {
		fmt.Fprintf(tw, "mean\t%s\t%s\t\n", mean(r.Latency), mean(r.ServiceTime))
	} else {
		fmt.Fprintf(tw, "mean\t%s\t\n", mean(main))
	}
	_ = tw.Flush()
	if r.Latency != nil {
		ew.printf("latency: from each request's intended send time (corrected for coordinated omission); service time: from the actual send\n")
	} else {
		ew.printf("closed loop: service time only (no intended send times to correct from)\n")
	}

	if len(r.StatusCodes) > 0 {
		codes := make([]int, 0, len(r.StatusCodes))
		for c := range r.StatusCodes {
			codes = append(codes, c)
		}
		sort.Ints(codes)
		ew.printf("\nStatus codes\n")
		grpc := r.Requested.Protocol == "grpc"
		for _, c := range codes {
			if name := loadgen.GRPCCodeName(c); name != "" && grpc {
				ew.printf("  %d %s  %d\n", c, name, r.StatusCodes[c])
				continue
			}
			ew.printf("  %d  %d\n", c, r.StatusCodes[c])
		}
	}
	if len(r.Errors) > 0 {
		ew.printf("\nErrors by class\n")
		for _, e := range r.Errors {
			ew.printf("  %-20s %d\n", e.Class, e.Count)
			for _, ex := range e.Examples {
				ew.printf("      e.g. %s\n", ex)
			}
		}
	}
	if len(verdicts) > 0 {
		ew.printf("\nObjectives\n")
		for _, v := range verdicts {
			ew.printf("  %s\n", v)
		}
	}
	return ew.err
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, a ...any) { fmt.Fprintf(e, format, a...) }

func plural(n int, s string) string {
	if n == 1 {
		return "1 " + s
	}
	return strconv.Itoa(n) + " " + s + "s"
}

func pct(f float64) string { return strconv.FormatFloat(f*100, 'f', 2, 64) + "%" }

func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

// Ms prints a latency in milliseconds as people write it ("96µs", "2.35ms",
// "1062ms", "12.3s"), NoData when it was not measured (ok false): the one
// formatter of the text report and the result list.
func Ms(ms float64, ok bool) string {
	if !ok {
		return NoData
	}
	return msStr(ms)
}

// msStr prints milliseconds with three significant digits, like HDR keeps.
func msStr(ms float64) string {
	switch {
	case ms == 0:
		return "0"
	case ms < 1:
		return strconv.FormatFloat(ms*1000, 'f', 0, 64) + "µs"
	case ms < 10:
		return strconv.FormatFloat(ms, 'f', 2, 64) + "ms"
	case ms < 100:
		return strconv.FormatFloat(ms, 'f', 1, 64) + "ms"
	case ms < 10000:
		return strconv.FormatFloat(ms, 'f', 0, 64) + "ms"
	default:
		return strconv.FormatFloat(ms/1000, 'f', 1, 64) + "s"
	}
}

func bytesStr(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// ProgressLine is the one-line live view of a running test.
func ProgressLine(elapsed time.Duration, total time.Duration, warm bool, rps float64, requests, errors int64, p99 time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%5s", elapsed.Truncate(time.Second))
	if total > 0 {
		fmt.Fprintf(&b, "/%s", total)
	}
	if warm {
		b.WriteString(" warm-up")
	}
	fmt.Fprintf(&b, "  %8.1f req/s  %d requests  %d errors  p99 %s", rps, requests, errors, msStr(float64(p99)/float64(time.Millisecond)))
	return b.String()
}
