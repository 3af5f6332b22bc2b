// Package vegeta runs the vegeta load generator (github.com/tsenart/vegeta)
// behind meshperf's loadgen.Generator and reads its outputs into a
// spec.Result: the summary of `vegeta report -type=json` (a few
// percentiles) or, exactly, the per-request results of `vegeta encode`.
package vegeta

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

// Name is the generator's name in results.
const Name = "vegeta"

// report is vegeta's Metrics as `vegeta report -type=json` writes it.
// Durations are in nanoseconds.
type report struct {
	Latencies *struct {
		Total int64 `json:"total"`
		Mean  int64 `json:"mean"`
		P50   int64 `json:"50th"`
		P90   int64 `json:"90th"`
		P95   int64 `json:"95th"`
		P99   int64 `json:"99th"`
		Max   int64 `json:"max"`
		Min   int64 `json:"min"`
	} `json:"latencies"`
	BytesIn     bytesMetric      `json:"bytes_in"`
	BytesOut    bytesMetric      `json:"bytes_out"`
	Earliest    time.Time        `json:"earliest"`
	Latest      time.Time        `json:"latest"`
	End         time.Time        `json:"end"`
	Duration    int64            `json:"duration"`
	Wait        int64            `json:"wait"`
	Requests    *int64           `json:"requests"`
	Rate        float64          `json:"rate"`
	Throughput  float64          `json:"throughput"`
	Success     float64          `json:"success"`
	StatusCodes map[string]int64 `json:"status_codes"`
	Errors      []string         `json:"errors"`
}

type bytesMetric struct {
	Total int64   `json:"total"`
	Mean  float64 `json:"mean"`
}

// maxTimeline bounds the timeline (seconds), so a stray timestamp cannot
// make it huge.
const maxTimeline = 1 << 16

// maxExamples bounds the error messages kept per class.
const maxExamples = 3

// ParseReport reads `vegeta report -type=json`. vegeta measures each
// request from when it was sent, so the distribution is service time. The
// report carries only min, mean, p50, p90, p95, p99 and max: the fidelity is
// "percentiles" and there is no histogram. It records neither the requested
// rate nor the connections (its "rate" is the achieved send rate).
func ParseReport(data []byte) (*spec.Result, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) && bytes.Contains(data, []byte(`"latency":`)) && bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
			return nil, errors.New("vegeta: not a vegeta JSON report (vegeta report -type=json): this looks like vegeta encode output (JSON lines), which ParseResults reads")
		}
		return nil, decodeError("report", data, err)
	}
	switch {
	case top["latencies"] == nil && top["latency"] != nil:
		return nil, errors.New(`vegeta: not a vegeta JSON report (vegeta report -type=json): no "latencies"; this looks like one result of vegeta encode, which ParseResults reads`)
	case top["latencies"] == nil:
		return nil, errors.New(`vegeta: not a vegeta JSON report (vegeta report -type=json): no "latencies"`)
	}
	var rep report
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, decodeError("report", data, err)
	}
	switch {
	case rep.Latencies == nil:
		return nil, errors.New(`vegeta: not a vegeta JSON report: "latencies" is null`)
	case rep.Requests == nil:
		return nil, errors.New(`vegeta: not a vegeta JSON report: no "requests"`)
	case *rep.Requests < 0:
		return nil, fmt.Errorf("vegeta: report: requests is negative (%d)", *rep.Requests)
	case rep.Duration < 0 || rep.Wait < 0:
		return nil, fmt.Errorf("vegeta: report: duration (%d) and wait (%d) must not be negative", rep.Duration, rep.Wait)
	}
	l := rep.Latencies
	for name, v := range map[string]int64{"mean": l.Mean, "50th": l.P50, "90th": l.P90, "95th": l.P95, "99th": l.P99, "max": l.Max, "min": l.Min} {
		if v < 0 {
			return nil, fmt.Errorf("vegeta: report: latencies.%s is negative (%d)", name, v)
		}
	}
	r := newResult(loadgen.FidelityPercentiles)
	if !rep.Earliest.IsZero() {
		r.StartTime = rep.Earliest.UTC()
	}
	if !rep.End.IsZero() {
		r.EndTime = rep.End.UTC()
	}
	a := &r.Achieved
	a.Requests = *rep.Requests
	a.Duration = spec.Duration(satAdd(rep.Duration, rep.Wait))
	a.BytesSent, a.BytesReceived = rep.BytesOut.Total, rep.BytesIn.Total
	var transport int64
	for k, n := range rep.StatusCodes {
		code, err := strconv.Atoi(k)
		if err != nil || code < 0 || n < 0 {
			return nil, fmt.Errorf("vegeta: report: status_codes[%q] = %d is not a status count", k, n)
		}
		addCode(r, code, n)
		if code == 0 {
			transport = satAdd(transport, n)
		}
	}
	if rep.StatusCodes == nil && rep.Success >= 0 && rep.Success <= 1 {
		a.Errors = int64(math.Round(float64(a.Requests) * (1 - rep.Success)))
	}
	if transport > 0 {
		var ex []string
		for _, e := range rep.Errors {
			if !isStatusText(e) && len(ex) < maxExamples {
				ex = append(ex, e)
			}
		}
		r.Errors = append(r.Errors, spec.ErrorClass{Class: "transport", Count: transport, Examples: ex})
	}
	finish(r)
	r.ServiceTime = &spec.Distribution{
		Count:  a.Requests,
		MinMs:  nsMs(l.Min),
		MeanMs: nsMs(l.Mean),
		MaxMs:  nsMs(l.Max),
		Percentiles: []spec.Percentile{
			{P: 50, Ms: nsMs(l.P50)}, {P: 90, Ms: nsMs(l.P90)}, {P: 95, Ms: nsMs(l.P95)},
			{P: 99, Ms: nsMs(l.P99)}, {P: 100, Ms: nsMs(l.Max)},
		},
	}
	r.Notes = append(r.Notes,
		"imported from a vegeta JSON report: only min, mean, p50, p90, p95, p99 and max are known (fidelity percentiles, no histogram); vegeta encode output read with ParseResults gives an exact HDR histogram",
		notCorrected,
		fmt.Sprintf("the report does not record the requested rate or connections; vegeta's own send rate was %s/s", strconv.FormatFloat(rep.Rate, 'f', 2, 64)))
	return r, nil
}

const notCorrected = "vegeta measures each request from when it was actually sent (service time), not from its intended send time: not corrected for coordinated omission the way meshperf's latency is (vegeta adds workers to keep its schedule, up to -max-workers)"

// hit is one result of `vegeta encode` (JSON lines).
type hit struct {
	Attack    string     `json:"attack"`
	Seq       uint64     `json:"seq"`
	Code      *int       `json:"code"`
	Timestamp *time.Time `json:"timestamp"`
	Latency   *int64     `json:"latency"`
	BytesOut  int64      `json:"bytes_out"`
	BytesIn   int64      `json:"bytes_in"`
	Error     string     `json:"error"`
	Method    string     `json:"method"`
	URL       string     `json:"url"`
}

// ParseResults reads vegeta's per-request results as `vegeta encode` writes
// them (one JSON object a line). Every latency goes into an HDR histogram,
// so the fidelity is "hdr"; codes, errors, bytes and a per-second timeline
// come from the records. Requested holds the targets and method seen; the
// rate is not in the records.
func ParseResults(data []byte) (*spec.Result, error) {
	r := newResult(loadgen.FidelityHDR)
	r.Generator.HistogramResolutionUs = hist.Lowest // vegeta records nanoseconds; meshperf's histogram keeps µs
	h := hist.New()
	a := &r.Achieved
	var first, last time.Time
	classes := map[string]*spec.ErrorClass{}
	targets := map[string]bool{}
	type second struct {
		h                *hist.Histogram
		requests, errors int64
		responses        int64
		codes            map[int]int64
	}
	var hits []hit
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if bytes.Contains(line, []byte(`"latencies"`)) {
			return nil, fmt.Errorf("vegeta: results line %d: not a vegeta result (vegeta encode): this looks like a vegeta JSON report, which ParseReport reads", i+1)
		}
		var x hit
		if err := json.Unmarshal(line, &x); err != nil {
			return nil, decodeError(fmt.Sprintf("results line %d", i+1), line, err)
		}
		var missing []string
		if x.Timestamp == nil {
			missing = append(missing, `"timestamp"`)
		}
		if x.Latency == nil {
			missing = append(missing, `"latency"`)
		}
		if x.Code == nil {
			missing = append(missing, `"code"`)
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("vegeta: results line %d: not a vegeta result (vegeta encode): no %s", i+1, strings.Join(missing, ", "))
		}
		if *x.Latency < 0 || *x.Code < 0 {
			return nil, fmt.Errorf("vegeta: results line %d: negative latency (%d) or code (%d)", i+1, *x.Latency, *x.Code)
		}
		hits = append(hits, x)
	}
	if len(hits) == 0 {
		return nil, errors.New("vegeta: no results: want vegeta encode output, one JSON object a line")
	}
	for i, x := range hits {
		ts := x.Timestamp.UTC()
		end := ts.Add(time.Duration(*x.Latency))
		if i == 0 || ts.Before(first) {
			first = ts
		}
		if i == 0 || end.After(last) {
			last = end
		}
	}
	var secs []second
	for _, x := range hits {
		lat := time.Duration(*x.Latency)
		h.Record(lat)
		a.Requests++
		a.BytesSent = satAdd(a.BytesSent, max(x.BytesOut, 0))
		a.BytesReceived = satAdd(a.BytesReceived, max(x.BytesIn, 0))
		if x.URL != "" && !targets[x.URL] {
			targets[x.URL] = true
			r.Requested.Targets = append(r.Requested.Targets, x.URL)
		}
		if r.Requested.Method == "" && x.Method != "" {
			r.Requested.Method = x.Method
		}
		addCode(r, *x.Code, 1)
		if *x.Code == 0 {
			class := classify(x.Error)
			c := classes[class]
			if c == nil {
				c = &spec.ErrorClass{Class: class}
				classes[class] = c
			}
			c.Count++
			if x.Error != "" && len(c.Examples) < maxExamples && !contains(c.Examples, x.Error) {
				c.Examples = append(c.Examples, x.Error)
			}
		}
		// Timeline by completion second, as meshperf counts.
		sec := int(x.Timestamp.UTC().Add(lat).Sub(first) / time.Second)
		if sec < 0 || sec >= maxTimeline {
			continue // a stray timestamp must not allocate without bound
		}
		for len(secs) <= sec {
			secs = append(secs, second{})
		}
		s := &secs[sec]
		if s.h == nil {
			s.h, s.codes = hist.New(), map[int]int64{}
		}
		s.requests++
		s.h.Record(lat)
		if *x.Code == 0 || *x.Code < 200 || *x.Code > 399 {
			s.errors++
		}
		if *x.Code != 0 {
			s.responses++
			s.codes[*x.Code]++
		}
	}
	names := make([]string, 0, len(classes))
	for k := range classes {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		r.Errors = append(r.Errors, *classes[k])
	}
	r.StartTime, r.EndTime = first, last
	a.Duration = spec.Duration(last.Sub(first))
	finish(r)
	for i, s := range secs {
		length := time.Second
		if rest := last.Sub(first) - time.Duration(i)*time.Second; rest < length {
			length = max(rest, time.Nanosecond)
		}
		iv := spec.Interval{
			Second: i, Seconds: length.Seconds(), Requests: s.requests, Errors: s.errors,
			AchievedRPS: float64(s.responses) / length.Seconds(),
		}
		if s.h != nil {
			iv.P50Ms, iv.P90Ms, iv.P99Ms = durMs(s.h.Quantile(0.5)), durMs(s.h.Quantile(0.9)), durMs(s.h.Quantile(0.99))
		}
		if len(s.codes) > 0 {
			iv.StatusCodes = s.codes
		}
		r.Timeline = append(r.Timeline, iv)
	}
	d := &spec.Distribution{
		Count: h.Count(), MinMs: durMs(h.Min()), MeanMs: durMs(h.Mean()), StdDevMs: durMs(h.StdDev()),
		MaxMs: durMs(h.Max()), HistogramUnit: hist.Unit, Saturated: h.Saturated(),
	}
	for _, p := range []float64{50, 75, 90, 95, 99, 99.9, 99.99} {
		d.Percentiles = append(d.Percentiles, spec.Percentile{P: p, Ms: durMs(h.Quantile(p / 100))})
	}
	d.Percentiles = append(d.Percentiles, spec.Percentile{P: 100, Ms: d.MaxMs})
	var err error
	if d.Histogram, err = h.Encode(); err != nil {
		return nil, fmt.Errorf("vegeta: %w", err)
	}
	r.ServiceTime = d
	r.Notes = append(r.Notes,
		fmt.Sprintf("imported from %d vegeta results (vegeta encode): every latency recorded in an HDR histogram (fidelity hdr, 1 µs resolution, 3 significant digits)", a.Requests),
		notCorrected)
	return r, nil
}

func newResult(fidelity string) *spec.Result {
	return &spec.Result{
		Schema:    spec.ResultSchema,
		Generator: spec.GeneratorInfo{Name: Name, Fidelity: fidelity},
		Requested: spec.Requested{Protocol: loadgen.ProtocolHTTP, OpenLoop: true},
	}
}

// addCode counts n results with status code (0: no response).
func addCode(r *spec.Result, code int, n int64) {
	a := &r.Achieved
	if code == 0 {
		a.Errors = satAdd(a.Errors, n)
		return
	}
	if r.StatusCodes == nil {
		r.StatusCodes = map[int]int64{}
	}
	r.StatusCodes[code] = satAdd(r.StatusCodes[code], n)
	a.Responses = satAdd(a.Responses, n)
	if code < 200 || code > 399 {
		a.Errors = satAdd(a.Errors, n)
	}
}

// finish derives the rates.
func finish(r *spec.Result) {
	a := &r.Achieved
	if a.Duration > 0 {
		a.RPS = float64(a.Responses) / a.Duration.D().Seconds()
	}
	if a.Requests > 0 {
		a.ErrorRate = float64(a.Errors) / float64(a.Requests)
	}
}

// isStatusText tells vegeta's error for a non-2xx/3xx response ("500
// Internal Server Error") from a transport error.
func isStatusText(s string) bool {
	code, _, ok := strings.Cut(s, " ")
	n, err := strconv.Atoi(code)
	return ok && err == nil && n >= 100 && n <= 999
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func decodeError(what string, data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn) && syn.Offset >= int64(len(bytes.TrimRight(data, " \t\r\n"))):
		return fmt.Errorf("vegeta: %s: truncated JSON: %w", what, err)
	case errors.As(err, &syn) && looksLikeHDRPlot(data):
		return fmt.Errorf("vegeta: %s: not JSON: this looks like vegeta report -type=hdrplot text (use -type=json)", what)
	case errors.As(err, &syn):
		return fmt.Errorf("vegeta: %s: malformed JSON at byte %d: %w", what, syn.Offset, err)
	case errors.As(err, &typ) && typ.Field == "":
		return fmt.Errorf("vegeta: %s: want a JSON object, got %s", what, typ.Value)
	case errors.As(err, &typ):
		return fmt.Errorf("vegeta: %s: field %s: want %s, got %s", what, typ.Field, typ.Type, typ.Value)
	default:
		return fmt.Errorf("vegeta: %s: %w", what, err)
	}
}

func looksLikeHDRPlot(data []byte) bool {
	return bytes.HasPrefix(bytes.TrimSpace(data), []byte("Value(ms)"))
}

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func nsMs(ns int64) float64 { return float64(ns) / 1e6 }

func durMs(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// classify names the class of a transport error from vegeta's message.
func classify(msg string) string {
	switch {
	case strings.Contains(msg, "connection refused"):
		return loadgen.ClassRefused
	case strings.Contains(msg, "no such host"), strings.Contains(msg, "server misbehaving"):
		return loadgen.ClassDNS
	case strings.Contains(msg, "Client.Timeout"), strings.Contains(msg, "i/o timeout"), strings.Contains(msg, "deadline exceeded"):
		return loadgen.ClassTimeout
	case strings.Contains(msg, "no route to host"), strings.Contains(msg, "network is unreachable"):
		return loadgen.ClassUnreachable
	}
	return loadgen.Classify(errors.New(msg))
}
