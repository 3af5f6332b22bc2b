// Package nighthawk runs Envoy's Nighthawk load generator (nighthawk_client)
// behind meshperf's loadgen.Generator and reads its JSON output
// (--output-format json) into a spec.Result.
package nighthawk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

// Name is the generator's name in results.
const Name = "nighthawk"

// LatencyStat is the statistic holding Nighthawk's request latencies: from
// the request's start on a connection to the end of its response.
const LatencyStat = "benchmark_http_client.request_to_response"

// output is nighthawk.client.Output in proto3 JSON form: 64-bit integers are
// strings, durations are strings such as "0.000055253s".
type output struct {
	Options   *options      `json:"options"`
	Results   []result      `json:"results"`
	Version   *buildVersion `json:"version"`
	Timestamp *time.Time    `json:"timestamp"`
}

type buildVersion struct {
	Version struct {
		Major int `json:"major_number"`
		Minor int `json:"minor_number"`
		Patch int `json:"patch"`
	} `json:"version"`
}

type options struct {
	RequestsPerSecond uint64       `json:"requests_per_second"`
	Connections       uint64       `json:"connections"`
	Duration          *protoDur    `json:"duration"`
	Timeout           *protoDur    `json:"timeout"`
	H2                bool         `json:"h2"`
	Concurrency       string       `json:"concurrency"`
	OpenLoop          bool         `json:"open_loop"`
	URI               string       `json:"uri"`
	RequestOptions    *requestOpts `json:"request_options"`
}

type requestOpts struct {
	Method string `json:"request_method"`
}

type result struct {
	Name              string      `json:"name"`
	Statistics        []statistic `json:"statistics"`
	Counters          []counter   `json:"counters"`
	ExecutionDuration *protoDur   `json:"execution_duration"`
	ExecutionStart    *time.Time  `json:"execution_start"`
}

type statistic struct {
	ID          string       `json:"id"`
	Count       flexInt      `json:"count"`
	Mean        *protoDur    `json:"mean"`
	PStdev      *protoDur    `json:"pstdev"`
	Min         *protoDur    `json:"min"`
	Max         *protoDur    `json:"max"`
	Percentiles []percentile `json:"percentiles"`
}

type percentile struct {
	Percentile float64   `json:"percentile"`
	Count      flexInt   `json:"count"`
	Duration   *protoDur `json:"duration"`
}

type counter struct {
	Name  string  `json:"name"`
	Value flexInt `json:"value"`
}

// flexInt is a proto3 JSON 64-bit integer: a string or a number.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		u, uerr := strconv.ParseUint(s, 10, 64)
		if uerr != nil {
			return fmt.Errorf("invalid integer %s", b)
		}
		v = int64(min(u, math.MaxInt64))
	}
	*n = flexInt(v)
	return nil
}

// protoDur is a google.protobuf.Duration in JSON: "1.5s", or an object
// {"seconds": "1", "nanos": 500000000} as some encoders write it.
type protoDur time.Duration

func (d *protoDur) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		if !strings.HasSuffix(s, "s") || strings.HasSuffix(s, "ms") || strings.HasSuffix(s, "us") || strings.HasSuffix(s, "ns") {
			return fmt.Errorf("invalid duration %q: want seconds such as \"0.001234s\"", s)
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("invalid duration %q", s)
		}
		*d = protoDur(v)
		return nil
	}
	var o struct {
		Seconds *flexInt `json:"seconds"`
		Nanos   int64    `json:"nanos"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return fmt.Errorf("invalid duration %s: want \"0.001234s\" or {\"seconds\":..,\"nanos\":..}", b)
	}
	var secs int64
	if o.Seconds != nil {
		secs = int64(*o.Seconds)
	}
	if secs > math.MaxInt64/int64(time.Second) || secs < math.MinInt64/int64(time.Second) || o.Nanos <= -1e9 || o.Nanos >= 1e9 {
		return fmt.Errorf("invalid duration %s: out of range", b)
	}
	v := time.Duration(secs) * time.Second
	if (o.Nanos > 0 && v > math.MaxInt64-time.Duration(o.Nanos)) || (o.Nanos < 0 && v < math.MinInt64-time.Duration(o.Nanos)) {
		return fmt.Errorf("invalid duration %s: out of range", b)
	}
	*d = protoDur(v + time.Duration(o.Nanos))
	return nil
}

func (d *protoDur) D() time.Duration {
	if d == nil {
		return 0
	}
	return time.Duration(*d)
}

// decodeError turns a json error into one that says what went wrong.
func decodeError(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn) && syn.Offset >= int64(len(bytes.TrimRight(data, " \t\r\n"))):
		return fmt.Errorf("nighthawk: truncated JSON: %w", err)
	case errors.As(err, &syn):
		return fmt.Errorf("nighthawk: malformed JSON at byte %d: %w", syn.Offset, err)
	case errors.As(err, &typ) && typ.Field == "":
		return fmt.Errorf("nighthawk: not Nighthawk output: want a JSON object, got %s", typ.Value)
	case errors.As(err, &typ):
		return fmt.Errorf("nighthawk: not Nighthawk output: field %s: want %s, got %s", typ.Field, typ.Type, typ.Value)
	default:
		return fmt.Errorf("nighthawk: not Nighthawk output: %w", err)
	}
}

// ParseOutput reads Nighthawk's JSON output (nighthawk_client
// --output-format json). The latency distribution is the "global" result's
// benchmark_http_client.request_to_response statistic: Nighthawk measures it
// from when a request starts on a connection, so it is service time, not
// latency from an intended send time. Its percentile list (the HdrHistogram
// ladder Nighthawk prints, with cumulative counts) is re-recorded into an HDR
// histogram by spreading each step's count over its range; the fidelity is
// "percentiles".
func ParseOutput(data []byte) (*spec.Result, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, decodeError(data, err)
	}
	if _, ok := top["results"]; !ok {
		if _, ok := top["DurationHistogram"]; ok {
			return nil, errors.New(`nighthawk: not Nighthawk JSON output: no "results"; this looks like fortio-format output (--output-format fortio), which the fortio importer reads`)
		}
		return nil, errors.New(`nighthawk: not Nighthawk JSON output (--output-format json): no "results"`)
	}
	var o output
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, decodeError(data, err)
	}
	if len(o.Results) == 0 {
		return nil, errors.New(`nighthawk: "results" is empty: the run produced no result`)
	}
	g, workers, err := globalResult(o.Results)
	if err != nil {
		return nil, err
	}
	st := findStat(g, LatencyStat)
	if st == nil {
		ids := make([]string, 0, len(g.Statistics))
		for _, s := range g.Statistics {
			ids = append(ids, strconv.Quote(s.ID))
		}
		return nil, fmt.Errorf("nighthawk: result %q has no %s statistic (it has %s)", g.Name, LatencyStat, strings.Join(ids, ", "))
	}
	dist, exact, err := distribution(st)
	if err != nil {
		return nil, err
	}

	r := &spec.Result{
		Schema:      spec.ResultSchema,
		Generator:   spec.GeneratorInfo{Name: Name, Version: o.version(), Fidelity: loadgen.FidelityPercentiles},
		ServiceTime: dist,
	}
	execDur := g.ExecutionDuration.D()
	if execDur < 0 {
		return nil, fmt.Errorf("nighthawk: result %q: execution_duration is negative (%s)", g.Name, execDur)
	}
	switch {
	case g.ExecutionStart != nil:
		r.StartTime = g.ExecutionStart.UTC()
		r.EndTime = r.StartTime.Add(execDur)
	case o.Timestamp != nil:
		r.EndTime = o.Timestamp.UTC()
		r.StartTime = r.EndTime.Add(-execDur)
	}
	if err := requested(r, o.Options, workers); err != nil {
		return nil, err
	}
	unanswered := achieved(r, g, execDur)

	r.Notes = append(r.Notes,
		fmt.Sprintf("imported from %s: the distribution is Nighthawk's %s statistic; the histogram was rebuilt through its %d-point percentile list (each step's count spread evenly over its range, ending at the step), and the figures Nighthawk reported itself win: %s; the other percentiles come from the rebuilt histogram, kept between those, so they are approximate, not HDR-exact",
			r.Generator, LatencyStat, len(st.Percentiles), exact),
		"Nighthawk measures from when a request starts on a connection (service time): time spent queued for a connection (benchmark_http_client.queue_to_connect) is not included, so, open loop or not, this is not corrected for coordinated omission the way meshperf's latency is")
	if r.Requested.OpenLoop && r.Achieved.Dropped > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("open loop: %d requests found no free connection or pending slot and were dropped (benchmark.pool_overflow); they count as errors", r.Achieved.Dropped))
	}
	if unanswered > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d requests were sent but had no response counted when the run ended (still in flight, reset or timed out); Nighthawk does not report them as errors", unanswered))
	}
	if workers > 1 {
		r.Notes = append(r.Notes, fmt.Sprintf("Nighthawk ran %d workers: its rate and connections are per worker, so the requested totals are %d times the flags", workers, workers))
	}
	return r, nil
}

func (o *output) version() string {
	if o.Version == nil {
		return ""
	}
	v := o.Version.Version
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// globalResult picks the result that sums all workers: "global", or the only
// one. workers counts the per-worker results (1 when there are none).
func globalResult(rs []result) (*result, int, error) {
	workers := 0
	var g *result
	for i := range rs {
		switch {
		case rs[i].Name == "global":
			g = &rs[i]
		case strings.HasPrefix(rs[i].Name, "worker_"):
			workers++
		}
	}
	if g == nil && len(rs) == 1 {
		g = &rs[0]
	}
	if g == nil {
		names := make([]string, 0, len(rs))
		for _, r := range rs {
			names = append(names, strconv.Quote(r.Name))
		}
		return nil, 0, fmt.Errorf("nighthawk: no \"global\" result among results [%s]", strings.Join(names, ", "))
	}
	return g, max(workers, 1), nil
}

func findStat(r *result, id string) *statistic {
	for i := range r.Statistics {
		if r.Statistics[i].ID == id {
			return &r.Statistics[i]
		}
	}
	return nil
}

func (r *result) counter(name string) int64 {
	for _, c := range r.Counters {
		if c.Name == name {
			return max(int64(c.Value), 0)
		}
	}
	return 0
}

func (r *result) has(name string) bool {
	return slices.ContainsFunc(r.Counters, func(c counter) bool { return c.Name == name })
}

// requested fills what the run asked for from Nighthawk's options.
func requested(r *spec.Result, o *options, workers int) error {
	q := &r.Requested
	q.Protocol = loadgen.ProtocolHTTP
	q.HTTPVersion = loadgen.HTTP1
	q.Method = "GET"
	q.Shape = "closed loop"
	if o == nil {
		return nil
	}
	if n, err := strconv.Atoi(o.Concurrency); err == nil && n > 1 {
		workers = max(workers, n)
	}
	if o.URI != "" {
		q.Targets = []string{o.URI}
	}
	if o.H2 {
		q.HTTPVersion = loadgen.HTTP2
	}
	if o.RequestOptions != nil && o.RequestOptions.Method != "" {
		q.Method = strings.ToUpper(o.RequestOptions.Method)
	}
	q.Connections = int(min(o.Connections, math.MaxInt32)) * workers
	q.Duration = spec.Duration(o.Duration.D())
	q.Timeout = spec.Duration(o.Timeout.D())
	if o.RequestsPerSecond > 0 {
		q.RPS = float64(o.RequestsPerSecond) * float64(workers)
		q.Shape = "constant " + strconv.FormatFloat(q.RPS, 'f', -1, 64) + "/s"
	}
	// Nighthawk always paces at a rate; open_loop says whether a request
	// due while every connection is busy is dropped (open) or waited for.
	q.OpenLoop = o.OpenLoop && q.RPS > 0
	if !o.OpenLoop && q.RPS > 0 {
		r.Notes = append(r.Notes, "closed loop: Nighthawk waited for a free connection before sending each due request (sequencer blocking), so its rate may have fallen behind the requested one")
	}
	return nil
}

// achieved fills counts from Nighthawk's counters and returns how many sent
// requests got no counted response.
func achieved(r *spec.Result, g *result, dur time.Duration) (unanswered int64) {
	a := &r.Achieved
	a.Duration = spec.Duration(dur)
	// Status classes: benchmark.http_Nxx, else upstream_rq_Nxx.
	prefix := "benchmark.http_"
	if !slices.ContainsFunc(g.Counters, func(c counter) bool { return strings.HasPrefix(c.Name, prefix) }) {
		prefix = "upstream_rq_"
	}
	for class := 1; class <= 5; class++ {
		n := g.counter(fmt.Sprintf("%s%dxx", prefix, class))
		if n == 0 {
			continue
		}
		if r.StatusCodes == nil {
			r.StatusCodes = map[int]int64{}
		}
		r.StatusCodes[class*100] += n
		a.Responses = satAdd(a.Responses, n)
		if class != 2 && class != 3 {
			a.Errors = satAdd(a.Errors, n)
		}
	}
	if n := g.counter("benchmark.http_xxx"); n > 0 {
		a.Responses = satAdd(a.Responses, n)
		a.Errors = satAdd(a.Errors, n)
		r.Errors = append(r.Errors, spec.ErrorClass{Class: "unknown status (benchmark.http_xxx)", Count: n})
	}
	if len(r.StatusCodes) > 0 {
		r.Notes = append(r.Notes, "Nighthawk counts status classes only: each class is recorded under its first code (2xx as 200, 3xx as 300...)")
	}
	a.Dropped = g.counter("benchmark.pool_overflow")
	var transport int64
	for _, e := range []struct{ counter, class string }{
		{"benchmark.pool_connection_failure", loadgen.ClassRefused},
		{"benchmark.stream_resets", loadgen.ClassReset},
	} {
		if n := g.counter(e.counter); n > 0 {
			transport = satAdd(transport, n)
			r.Errors = append(r.Errors, spec.ErrorClass{Class: e.class, Count: n, Examples: []string{e.counter}})
		}
	}
	if a.Dropped > 0 {
		r.Errors = append(r.Errors, spec.ErrorClass{Class: loadgen.ClassDropped, Count: a.Dropped, Examples: []string{"benchmark.pool_overflow"}})
	}
	a.Errors = satAdd(satAdd(a.Errors, transport), a.Dropped)
	sent := satAdd(a.Responses, transport)
	for _, name := range []string{"benchmark.total_req_sent", "upstream_rq_total"} {
		if g.has(name) {
			if n := g.counter(name); n > sent {
				unanswered = n - sent
				sent = n
			}
			break
		}
	}
	a.Requests = satAdd(sent, a.Dropped)
	if dur > 0 {
		a.RPS = float64(a.Responses) / dur.Seconds()
	}
	if a.Requests > 0 {
		a.ErrorRate = float64(a.Errors) / float64(a.Requests)
	}
	a.BytesSent = g.counter("upstream_cx_tx_bytes_total")
	a.BytesReceived = g.counter("upstream_cx_rx_bytes_total")
	return unanswered
}

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// standard are the percentiles meshperf reports.
var standard = []float64{50, 75, 90, 95, 99, 99.9, 99.99}

// distribution rebuilds a histogram from a statistic's percentile list,
// through every point of it (hist.FromSteps), and lists the percentiles by
// the one rule (spec.PercentilesOf): those Nighthawk reported, and its max,
// win. exact names the standard percentiles Nighthawk reported itself.
func distribution(st *statistic) (*spec.Distribution, string, error) {
	if st.Count < 0 || st.Count > maxCount {
		return nil, "", fmt.Errorf("nighthawk: %s: count %d is out of range (0 to %d)", st.ID, st.Count, int64(maxCount))
	}
	for name, v := range map[string]*protoDur{"mean": st.Mean, "pstdev": st.PStdev, "min": st.Min, "max": st.Max} {
		if v.D() < 0 {
			return nil, "", fmt.Errorf("nighthawk: %s: %s is negative (%s)", st.ID, name, v.D())
		}
	}
	h, err := rebuild(st)
	if err != nil {
		return nil, "", err
	}
	d := &spec.Distribution{
		Count:         int64(st.Count),
		MinMs:         ms(st.Min.D()),
		MeanMs:        ms(st.Mean.D()),
		StdDevMs:      ms(st.PStdev.D()),
		MaxMs:         ms(st.Max.D()),
		HistogramUnit: hist.Unit,
		Saturated:     h.Saturated(),
	}
	if d.Histogram, err = h.Encode(); err != nil {
		return nil, "", fmt.Errorf("nighthawk: %w", err)
	}
	reported := map[float64]time.Duration{}
	for _, p := range st.Percentiles {
		if p.Duration != nil {
			reported[math.Round(p.Percentile*1e6)/1e4] = p.Duration.D()
		}
	}
	var exact []string
	fixed := map[float64]float64{}
	for _, p := range standard {
		if v, ok := reported[p]; ok {
			exact = append(exact, "p"+strconv.FormatFloat(p, 'f', -1, 64))
			fixed[p] = ms(v)
		}
	}
	if d.Count > 0 {
		d.Percentiles = spec.PercentilesOf(h, fixed, d.MaxMs)
	}
	exact = append(exact, "max")
	return d, strings.Join(exact, ", "), nil
}

// maxCount bounds a statistic's count: 2^40, a trillion requests.
const maxCount = 1 << 40

// spreadPoints is how many values each step's count is spread over.
const spreadPoints = 50

// rebuild re-records a percentile ladder into an HDR histogram. Each entry
// gives the cumulative count of values up to its duration; the values
// between two entries are spread evenly over (previous, this], the last at
// this one, so the histogram passes through every entry.
func rebuild(st *statistic) (*hist.Histogram, error) {
	var steps []hist.Step
	var prevN int64
	var prevD time.Duration
	ps := slices.Clone(st.Percentiles)
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Percentile < ps[j].Percentile })
	for i, p := range ps {
		if p.Duration == nil {
			return nil, fmt.Errorf("nighthawk: %s: percentiles[%d] has no duration", st.ID, i)
		}
		c, d := int64(p.Count), p.Duration.D()
		switch {
		case c < prevN:
			return nil, fmt.Errorf("nighthawk: %s: percentiles[%d] count %d is below the previous %d (counts are cumulative)", st.ID, i, c, prevN)
		case d < prevD:
			return nil, fmt.Errorf("nighthawk: %s: percentiles[%d] duration %s is below the previous %s", st.ID, i, d, prevD)
		case c > int64(st.Count):
			return nil, fmt.Errorf("nighthawk: %s: percentiles[%d] count %d exceeds the statistic's count %d", st.ID, i, c, st.Count)
		}
		steps = append(steps, hist.Step{Micros: float64(d) / float64(time.Microsecond), Count: c})
		prevN, prevD = c, d
	}
	if prevN != int64(st.Count) && len(ps) > 0 {
		return nil, fmt.Errorf("nighthawk: %s: percentile counts reach %d but count is %d", st.ID, prevN, st.Count)
	}
	if len(ps) == 0 && st.Count > 0 {
		return nil, fmt.Errorf("nighthawk: %s: count is %d but there are no percentiles", st.ID, st.Count)
	}
	return hist.FromSteps(steps, spreadPoints), nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
