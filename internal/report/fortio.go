package report

import (
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
	"github.com/meshperf/meshperf/spec"
)

// fortioResult is fortio's HTTP runner result JSON (fhttp.HTTPRunnerResults),
// field for field in fortio's order. Durations are in seconds except
// ActualDuration and HTTPReqTimeOut (nanoseconds).
type fortioResult struct {
	RunType                 string
	Labels                  string
	StartTime               time.Time
	RequestedQPS            flexString
	RequestedDuration       string
	ActualQPS               float64
	ActualDuration          int64
	NumThreads              int
	Version                 string
	DurationHistogram       *fortioHistogram
	ErrorsDurationHistogram *fortioHistogram
	Exactly                 int64
	Jitter                  bool
	Uniform                 bool
	NoCatchUp               bool
	RunID                   int64
	AccessLoggerInfo        string
	ID                      string
	RetCodes                map[string]flexInt
	IPCountMap              map[string]int `json:",omitempty"`
	Destination             string         `json:",omitempty"` // grpc runs
	Insecure                bool
	MTLS                    bool
	CACert                  string
	Cert                    string
	Key                     string
	UnixDomainSocket        string
	URL                     string
	NumConnections          int
	Compression             bool
	DisableFastClient       bool
	HTTP10                  bool
	H2                      bool
	DisableKeepAlive        bool
	AllowHalfClose          bool
	FollowRedirects         bool
	Resolve                 string
	HTTPReqTimeOut          int64
	UserCredentials         string
	ContentType             string
	Payload                 string // base64 in fortio's files
	MethodOverride          string
	LogErrors               bool
	SequentialWarmup        bool
	ConnReuseRange          [2]int
	NoResolveEachConn       bool
	Offset                  float64
	Resolution              float64
	Sizes                   *fortioHistogram `json:",omitempty"`
	HeaderSizes             *fortioHistogram `json:",omitempty"`
	Sockets                 []int            `json:",omitempty"`
	SocketCount             int              `json:",omitempty"`
	ConnectionStats         *fortioHistogram `json:",omitempty"`
	AbortOn                 int
	// BytesSent and BytesReceived are Nighthawk's (its fortio-format
	// output); fortio itself has no such fields.
	BytesSent     flexInt `json:",omitempty"`
	BytesReceived flexInt `json:",omitempty"`
}

// flexInt is an integer written as a number or, as Nighthawk's fortio-format
// output writes its 64-bit counts (protobuf JSON), as a string.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" {
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %s", b)
	}
	*n = flexInt(v)
	return nil
}

// flexString is a string that may be written as a number (Nighthawk writes
// RequestedQPS as one).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or a number, got %s", b)
	}
	*f = flexString(n.String())
	return nil
}

// fortioHistogram is fortio's stats.HistogramData.
type fortioHistogram struct {
	Count       flexInt
	Min         float64
	Max         float64
	Sum         float64
	Avg         float64
	StdDev      float64
	Data        []fortioBucket
	Percentiles []fortioPercentile `json:",omitempty"`
}

// fortioBucket holds Count values in ]Start, End] (the first bucket starts at
// the minimum, the last ends at the maximum); Percent is cumulative.
type fortioBucket struct {
	Start   float64
	End     float64
	Percent float64
	Count   flexInt
}

type fortioPercentile struct {
	Percentile float64
	Value      float64
}

// fortioPercentiles are the percentiles written into fortio results.
var fortioPercentiles = []float64{50, 75, 90, 99, 99.9}

// maxFortioBuckets bounds the number of buckets written, so files stay small.
const maxFortioBuckets = 100

// FortioJSON writes r as fortio's result JSON, for fortio's UI and Meshery.
// The duration histogram is r.Latency when present, else r.ServiceTime. Its
// buckets merge the HDR histogram's into fortio-style ones: boundaries
// 1, 1.2, 1.4, 1.6, 1.8, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9 × 10ⁿ µs
// (fortio's steps, repeated each decade), or 1, 2, 5 × 10ⁿ µs should that
// give more than 100 non-empty buckets; each HDR bucket goes to the fortio
// bucket holding its upper end. Counts stay exact and Percent cumulative.
// Fields meshperf does not measure (socket counts, header sizes, connection
// times) are left out rather than invented; ErrorsDurationHistogram carries
// the error count only.
func FortioJSON(r *spec.Result) ([]byte, error) {
	d := r.Latency
	if d == nil {
		d = r.ServiceTime
	}
	if d == nil {
		return nil, errors.New("fortio: result has no latency distribution")
	}
	x, err := readDist(d)
	if err != nil {
		return nil, fmt.Errorf("fortio: %w", err)
	}
	q, a := r.Requested, r.Achieved
	out := fortioResult{
		RunType:                 fortioRunType(q.Protocol),
		Labels:                  r.Name,
		StartTime:               r.StartTime,
		RequestedQPS:            flexString("max"),
		RequestedDuration:       "until stop",
		ActualQPS:               a.RPS,
		ActualDuration:          int64(a.Duration),
		NumThreads:              q.Connections,
		Version:                 r.Generator.Version,
		DurationHistogram:       fortioHistogramOf(x, r.Generator.Fidelity),
		ErrorsDurationHistogram: &fortioHistogram{Count: flexInt(a.Errors)},
		Exactly:                 q.Requests,
		ID:                      r.ID,
		RetCodes:                map[string]flexInt{},
		NumConnections:          1,
		HTTPReqTimeOut:          int64(q.Timeout),
		Resolution:              float64(hist.Lowest) / 1e6,
	}
	if res := r.Generator.HistogramResolutionUs; res > 0 {
		out.Resolution = res / 1e6
	}
	if out.Labels == "" {
		keys := make([]string, 0, len(r.Labels))
		for k := range r.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			keys[i] = k + "=" + r.Labels[k]
		}
		out.Labels = strings.Join(keys, ", ")
	}
	if r.Generator.Name != "fortio" {
		out.Version = strings.TrimSpace(r.Generator.Name + " " + r.Generator.Version)
	}
	if q.RPS > 0 {
		out.RequestedQPS = flexString(strconv.FormatFloat(q.RPS, 'g', 9, 64))
	}
	switch {
	case q.Requests > 0:
		out.RequestedDuration = fmt.Sprintf("exactly %d calls", q.Requests)
	case q.Duration > 0:
		out.RequestedDuration = q.Duration.String()
	}
	for code, n := range r.StatusCodes {
		out.RetCodes[strconv.Itoa(code)] = flexInt(n)
	}
	var transport int64
	for _, e := range r.Errors {
		transport += e.Count
	}
	if transport > 0 {
		out.RetCodes["-1"] += flexInt(transport) // fortio's code for socket errors
	}
	if len(q.Targets) > 0 {
		if out.RunType == "HTTP" {
			out.URL = q.Targets[0]
		} else {
			out.Destination = q.Targets[0]
		}
	}
	switch q.HTTPVersion {
	case "1.0":
		out.HTTP10 = true
	case "2", "2.0", "h2", "h2c":
		out.H2 = true
	}
	if q.Method != "" && q.Method != "GET" {
		out.MethodOverride = q.Method
	}
	if a.BytesReceived > 0 && a.Responses > 0 {
		out.Sizes = &fortioHistogram{Count: flexInt(a.Responses), Sum: float64(a.BytesReceived), Avg: float64(a.BytesReceived) / float64(a.Responses)}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("fortio: %w", err)
	}
	return append(b, '\n'), nil
}

func fortioRunType(protocol string) string {
	switch strings.ToLower(protocol) {
	case "", "http", "https":
		return "HTTP"
	case "grpc":
		return "GRPC"
	default:
		return strings.ToUpper(protocol)
	}
}

// fortioHistogramOf converts a distribution into fortio's form, in seconds.
func fortioHistogramOf(x dist, fidelity string) *fortioHistogram {
	d := x.d
	out := &fortioHistogram{Count: flexInt(d.Count), StdDev: msToS(d.StdDevMs)}
	if x.h != nil {
		out.Count = flexInt(x.h.Count())
	}
	if out.Count == 0 {
		return out
	}
	mean, _ := x.mean()
	maxMs, _ := x.pct(100)
	minMs := d.MinMs
	if minMs == 0 && x.h != nil {
		minMs = durMs(x.h.Min())
	}
	out.Min, out.Max, out.Avg = msToS(minMs), msToS(maxMs), msToS(mean)
	out.Sum = out.Avg * float64(out.Count)
	if x.h != nil {
		out.Data = fortioBuckets(x.h.Buckets(), int64(out.Count), out.Min, out.Max)
	}
	for _, p := range fortioPercentiles {
		if v, ok := x.pct(p); ok {
			out.Percentiles = append(out.Percentiles, fortioPercentile{Percentile: p, Value: msToS(v)})
		}
	}
	return out
}

var (
	fineBounds   = bucketBounds([]int64{10, 12, 14, 16, 18, 20, 25, 30, 35, 40, 45, 50, 60, 70, 80, 90})
	coarseBounds = bucketBounds([]int64{10, 20, 50})
)

// bucketBounds lists bucket upper ends in µs: 1…9 µs, then steps (given for
// 10–99 µs) repeated each decade until past the histogram's range.
func bucketBounds(steps []int64) []int64 {
	out := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9}
	if len(steps) == 3 {
		out = []int64{1, 2, 5}
	}
	for scale := int64(1); out[len(out)-1] <= hist.Highest; scale *= 10 {
		for _, s := range steps {
			out = append(out, s*scale)
		}
	}
	return out
}

// fortioBuckets merges HDR buckets into fortio-style ones.
func fortioBuckets(hb []hist.Bucket, total int64, minS, maxS float64) []fortioBucket {
	bounds := fineBounds
	counts := bucketCounts(hb, bounds)
	if len(counts) > maxFortioBuckets {
		bounds = coarseBounds
		counts = bucketCounts(hb, bounds)
	}
	idx := make([]int, 0, len(counts))
	for i := range counts {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	out := make([]fortioBucket, 0, len(idx))
	var cum int64
	for _, i := range idx {
		lo := 0.0
		if i > 0 {
			lo = float64(bounds[i-1]) / 1e6
		}
		cum += counts[i]
		out = append(out, fortioBucket{Start: lo, End: float64(bounds[i]) / 1e6, Percent: 100 * float64(cum) / float64(total), Count: flexInt(counts[i])})
	}
	if len(out) > 0 {
		if first := &out[0]; minS <= first.End {
			first.Start = minS
		}
		if last := &out[len(out)-1]; maxS >= last.Start {
			last.End = maxS
		}
	}
	return out
}

// bucketCounts adds each HDR bucket's count to the bound index holding its
// upper end.
func bucketCounts(hb []hist.Bucket, bounds []int64) map[int]int64 {
	counts := map[int]int64{}
	for _, b := range hb {
		us := int64(b.To / time.Microsecond)
		i := sort.Search(len(bounds), func(i int) bool { return bounds[i] >= us })
		if i == len(bounds) {
			i--
		}
		counts[i] += b.Count
	}
	return counts
}

// spreadPoints is how many values each imported bucket's count is spread over.
const spreadPoints = 50

// ParseFortio reads fortio's result JSON, and the fortio-format output of
// Nighthawk (nighthawk_client --output-format fortio, the form Meshery
// stores: RequestedQPS a number, 64-bit counts as strings, BytesSent and
// BytesReceived; and its "fortio-noquirks" form with plain numbers). Such a
// file is named Nighthawk (its labels say "Nighthawk").
//
// fortio and Nighthawk measure from the actual send, so the histogram
// becomes the service time. A run at a requested rate is open loop (its
// sends followed a rate, not the responses), a run at "max" closed loop.
//
// The histogram is rebuilt from the buckets through the tool's own figures
// (hist.FromSteps): each bucket's count is spread evenly over its range
// with the last value at its end, and the percentiles the tool reported are
// points the histogram passes through. The percentile list follows the one
// rule (spec.PercentilesOf): the tool's percentiles and max win, the others
// come from the rebuilt histogram, kept between them.
func ParseFortio(data []byte) (*spec.Result, error) {
	var fr fortioResult
	if err := json.Unmarshal(data, &fr); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn) && syn.Offset >= int64(len(data)):
			return nil, fmt.Errorf("fortio: truncated JSON: %w", err)
		case errors.As(err, &syn):
			return nil, fmt.Errorf("fortio: malformed JSON at byte %d: %w", syn.Offset, err)
		case errors.As(err, &typ) && typ.Field == "":
			return nil, fmt.Errorf("fortio: not a fortio result: want a JSON object, got %s", typ.Value)
		case errors.As(err, &typ):
			return nil, fmt.Errorf("fortio: not a fortio result: field %s: want %s, got %s", typ.Field, typ.Type, typ.Value)
		default:
			return nil, fmt.Errorf("fortio: not a fortio result: %w", err)
		}
	}
	hd := fr.DurationHistogram
	if hd == nil {
		return nil, errors.New("fortio: not a fortio result: no DurationHistogram")
	}
	steps, err := fortioSteps(hd)
	if err != nil {
		return nil, err
	}
	h := hist.FromSteps(steps, spreadPoints)
	enc, err := h.Encode()
	if err != nil {
		return nil, fmt.Errorf("fortio: %w", err)
	}

	gen := spec.GeneratorInfo{Name: "fortio", Version: fr.Version, Fidelity: "bucketed"}
	if fr.Resolution > 0 && fr.Resolution < 3600 {
		gen.HistogramResolutionUs = fr.Resolution * 1e6
	}
	nighthawk := slices.Contains(strings.Fields(fr.Labels), "Nighthawk")
	switch {
	case nighthawk:
		// Nighthawk's buckets are the steps of its own HDR percentile
		// ladder, not fortio's fixed buckets.
		gen = spec.GeneratorInfo{Name: "nighthawk", Version: fr.Version, Fidelity: "percentiles"}
	default:
		if name, v, ok := strings.Cut(fr.Version, " "); ok && !strings.ContainsAny(name, "0123456789.") {
			gen.Name, gen.Version = name, v // written by FortioJSON for another generator
		}
	}
	count := h.Count()
	r := &spec.Result{
		Schema:    spec.ResultSchema,
		ID:        fr.ID,
		Name:      fr.Labels,
		Generator: gen,
		StartTime: fr.StartTime.UTC(),
		Requested: spec.Requested{
			Method:      "GET",
			Protocol:    strings.ToLower(strings.Fields(fr.RunType + " http")[0]),
			Connections: fr.NumThreads,
			Timeout:     spec.Duration(fr.HTTPReqTimeOut),
			Requests:    fr.Exactly,
			Shape:       "closed loop",
		},
		Achieved: spec.Achieved{
			Duration:      spec.Duration(fr.ActualDuration),
			Requests:      count,
			RPS:           fr.ActualQPS,
			BytesSent:     max(int64(fr.BytesSent), 0),
			BytesReceived: max(int64(fr.BytesReceived), 0),
		},
	}
	if count > 0 {
		exact, tool := fortioExact(hd)
		r.ServiceTime = &spec.Distribution{
			Count:         count,
			MinMs:         sToMs(hd.Min),
			MeanMs:        sToMs(hd.Avg),
			StdDevMs:      sToMs(hd.StdDev),
			MaxMs:         sToMs(hd.Max),
			Percentiles:   spec.PercentilesOf(h, exact, sToMs(hd.Max)),
			Histogram:     enc,
			HistogramUnit: hist.Unit,
			Saturated:     h.Saturated(),
		}
		r.Notes = append(r.Notes, fmt.Sprintf("imported from %s: the histogram was rebuilt from its %d buckets (each bucket's count spread evenly over its range) through the figures %s reported itself, which win: %s; the other percentiles come from the rebuilt histogram, kept between those, so they are approximate, not HDR-exact",
			gen, len(hd.Data), gen.Name, strings.Join(append(tool, "max"), ", ")))
	} else {
		r.ServiceTime = &spec.Distribution{HistogramUnit: hist.Unit, Histogram: enc}
	}
	if !r.StartTime.IsZero() {
		r.EndTime = r.StartTime.Add(time.Duration(fr.ActualDuration))
	}
	if count != int64(hd.Count) {
		r.Notes = append(r.Notes, fmt.Sprintf("DurationHistogram.Count says %d but its buckets hold %d (Nighthawk's sample files leave out their first value): the figures are the buckets'", hd.Count, count))
	}
	if t := firstNonEmpty(fr.URL, fr.Destination); t != "" {
		r.Requested.Targets = []string{t}
	}
	switch {
	case fr.H2:
		r.Requested.HTTPVersion = "2"
	case fr.HTTP10:
		r.Requested.HTTPVersion = "1.0"
	case r.Requested.Protocol == "http":
		r.Requested.HTTPVersion = "1.1"
	}
	switch {
	case fr.MethodOverride != "":
		r.Requested.Method = fr.MethodOverride
	case fr.Payload != "":
		r.Requested.Method = "POST"
	}
	if r.Requested.Protocol != "http" {
		r.Requested.Method = ""
	}
	switch qps := strings.TrimSpace(string(fr.RequestedQPS)); qps {
	case "", "max", "-1", "0":
	default:
		v, err := strconv.ParseFloat(qps, 64)
		if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Errorf("fortio: RequestedQPS %q is not a rate", fr.RequestedQPS)
		}
		// Sends followed a rate, whatever the responses did: open loop.
		r.Requested.RPS = v
		r.Requested.OpenLoop = true
		r.Requested.Shape = "constant " + strconv.FormatFloat(v, 'f', -1, 64) + "/s"
	}
	if d, err := time.ParseDuration(fr.RequestedDuration); err == nil {
		r.Requested.Duration = spec.Duration(d)
	}
	if err := fortioCodes(r, &fr); err != nil {
		return nil, err
	}
	if r.Achieved.BytesReceived == 0 && fr.Sizes != nil && fr.Sizes.Sum > 0 && fr.Sizes.Sum < math.MaxInt64 {
		r.Achieved.BytesReceived = int64(fr.Sizes.Sum)
	}
	r.Notes = append(r.Notes, gen.Name+" measures from the actual send: service time only, not corrected for coordinated omission")
	return r, nil
}

// fortioExact returns the percentiles (ms) the tool reported itself and
// their labels.
func fortioExact(hd *fortioHistogram) (map[float64]float64, []string) {
	exact := map[float64]float64{}
	var labels []string
	for _, p := range hd.Percentiles {
		if p.Percentile > 0 && p.Percentile < 100 && p.Value >= 0 && !math.IsInf(p.Value, 0) {
			exact[p.Percentile] = sToMs(p.Value)
			labels = append(labels, "p"+strconv.FormatFloat(p.Percentile, 'f', -1, 64))
		}
	}
	return exact, labels
}

// fortioSteps turns fortio's buckets and reported percentiles into the
// steps of a cumulative distribution (µs): the minimum, each bucket's end
// with the count up to it, and each reported percentile at its count. A
// bucket end that disagrees with a reported percentile gives way to it.
func fortioSteps(hd *fortioHistogram) ([]hist.Step, error) {
	if hd.Count < 0 {
		return nil, fmt.Errorf("fortio: DurationHistogram.Count is negative (%d)", hd.Count)
	}
	var sum int64
	type pt struct {
		step  hist.Step
		exact bool
	}
	var pts []pt
	for i, b := range hd.Data {
		switch {
		case b.Count < 0:
			return nil, fmt.Errorf("fortio: DurationHistogram.Data[%d].Count is negative (%d)", i, b.Count)
		case b.Start < 0 || b.End < 0 || math.IsNaN(b.Start) || math.IsNaN(b.End):
			return nil, fmt.Errorf("fortio: DurationHistogram.Data[%d] has a negative bound (%g, %g)", i, b.Start, b.End)
		case b.End < b.Start:
			return nil, fmt.Errorf("fortio: DurationHistogram.Data[%d] ends (%g) before it starts (%g)", i, b.End, b.Start)
		case int64(b.Count) > math.MaxInt64-sum:
			return nil, fmt.Errorf("fortio: DurationHistogram.Data counts overflow")
		}
		if i == 0 && b.Count > 0 {
			pts = append(pts, pt{step: hist.Step{Micros: secondsToMicrosF(b.Start), Count: 1}})
		}
		sum += int64(b.Count)
		pts = append(pts, pt{step: hist.Step{Micros: secondsToMicrosF(b.End), Count: sum}})
	}
	if sum > int64(hd.Count) {
		return nil, fmt.Errorf("fortio: DurationHistogram.Data counts add up to %d but Count is %d", sum, hd.Count)
	}
	for _, p := range hd.Percentiles {
		if p.Percentile > 0 && p.Percentile < 100 && p.Value >= 0 && !math.IsInf(p.Value, 0) {
			n := int64(p.Percentile/100*float64(sum) + 0.5) // as HdrHistogram counts a quantile
			pts = append(pts, pt{step: hist.Step{Micros: secondsToMicrosF(p.Value), Count: max(n, 1)}, exact: true})
		}
	}
	slices.SortStableFunc(pts, func(a, b pt) int {
		switch {
		case a.step.Micros < b.step.Micros:
			return -1
		case a.step.Micros > b.step.Micros:
			return 1
		case a.exact != b.exact && a.exact:
			return -1
		case a.exact != b.exact:
			return 1
		}
		return 0
	})
	// A bucket end below a reported percentile must hold fewer values than
	// the percentile's count (else the histogram's quantile would stop at
	// the bucket end), and one above it at least as many.
	out := make([]hist.Step, 0, len(pts))
	for i, p := range pts {
		if !p.exact {
			ok := true
			for j, q := range pts {
				below := j > i && q.step.Micros > p.step.Micros
				if q.exact && ((j < i && q.step.Count > p.step.Count) || (below && q.step.Count <= p.step.Count)) {
					ok = false
					break
				}
			}
			if !ok {
				continue
			}
		}
		out = append(out, p.step)
	}
	return out, nil
}

// secondsToMicrosF converts, mapping values past the histogram's range just
// above it (so they count as saturated).
func secondsToMicrosF(s float64) float64 {
	return min(s*1e6, float64(hist.Highest+1))
}

// fortioCodes fills status codes, responses and errors from RetCodes.
func fortioCodes(r *spec.Result, fr *fortioResult) error {
	a := &r.Achieved
	keys := make([]string, 0, len(fr.RetCodes))
	for k := range fr.RetCodes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		n := int64(fr.RetCodes[k])
		if n < 0 {
			return fmt.Errorf("fortio: RetCodes[%q] is negative (%d)", k, n)
		}
		code, err := strconv.Atoi(k)
		switch {
		case err != nil: // grpc status names
			a.Responses += n
			if k != "SERVING" && k != "OK" {
				a.Errors += n
				r.Errors = append(r.Errors, spec.ErrorClass{Class: "grpc " + k, Count: n})
			}
		case code <= 0:
			a.Errors += n
			r.Errors = append(r.Errors, spec.ErrorClass{Class: "socket error (fortio " + k + ")", Count: n})
		default:
			if r.StatusCodes == nil {
				r.StatusCodes = map[int]int64{}
			}
			r.StatusCodes[code] += n
			a.Responses += n
			if code < 200 || code > 399 {
				a.Errors += n
			}
		}
	}
	if len(keys) == 0 && fr.ErrorsDurationHistogram != nil && fr.ErrorsDurationHistogram.Count > 0 {
		a.Errors = int64(fr.ErrorsDurationHistogram.Count)
	}
	if a.Requests > 0 {
		a.ErrorRate = float64(a.Errors) / float64(a.Requests)
	}
	return nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// msToS and sToMs convert between milliseconds and seconds by moving the
// decimal point of the shortest decimal form, so 32.831ms is 0.032831s (not
// 0.032831000000000006) and conversions back and forth give the same number.
func msToS(ms float64) float64 { return shift10(ms, -3) }

func sToMs(s float64) float64 { return shift10(s, 3) }

func shift10(v float64, exp int) float64 {
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return v
	}
	mant, e, ok := strings.Cut(strconv.FormatFloat(v, 'e', -1, 64), "e")
	if !ok {
		return v * math.Pow10(exp)
	}
	n, err := strconv.Atoi(e)
	if err != nil {
		return v * math.Pow10(exp)
	}
	out, err := strconv.ParseFloat(mant+"e"+strconv.Itoa(n+exp), 64)
	if err != nil { // out of range
		return v * math.Pow10(exp)
	}
	return out
}
