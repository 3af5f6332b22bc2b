package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
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
	RequestedQPS            string
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
	RetCodes                map[string]int64
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
}

// fortioHistogram is fortio's stats.HistogramData.
type fortioHistogram struct {
	Count       int64
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
	Count   int64
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
		RequestedQPS:            "max",
		RequestedDuration:       "until stop",
		ActualQPS:               a.RPS,
		ActualDuration:          int64(a.Duration),
		NumThreads:              q.Connections,
		Version:                 r.Generator.Version,
		DurationHistogram:       fortioHistogramOf(x, r.Generator.Fidelity),
		ErrorsDurationHistogram: &fortioHistogram{Count: a.Errors},
		Exactly:                 q.Requests,
		ID:                      r.ID,
		RetCodes:                map[string]int64{},
		NumConnections:          1,
		HTTPReqTimeOut:          int64(q.Timeout),
		Resolution:              float64(hist.Lowest) / 1e6,
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
		out.RequestedQPS = strconv.FormatFloat(q.RPS, 'g', 9, 64)
	}
	switch {
	case q.Requests > 0:
		out.RequestedDuration = fmt.Sprintf("exactly %d calls", q.Requests)
	case q.Duration > 0:
		out.RequestedDuration = q.Duration.String()
	}
	for code, n := range r.StatusCodes {
		out.RetCodes[strconv.Itoa(code)] = n
	}
	var transport int64
	for _, e := range r.Errors {
		transport += e.Count
	}
	if transport > 0 {
		out.RetCodes["-1"] += transport // fortio's code for socket errors
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
		out.Sizes = &fortioHistogram{Count: a.Responses, Sum: float64(a.BytesReceived), Avg: float64(a.BytesReceived) / float64(a.Responses)}
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
	out := &fortioHistogram{Count: d.Count, StdDev: msToS(d.StdDevMs)}
	if x.h != nil {
		out.Count = x.h.Count()
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
		out.Data = fortioBuckets(x.h.Buckets(), out.Count, out.Min, out.Max)
	}
	for _, p := range fortioPercentiles {
		if v, ok := x.pctPreferList(p, fidelity); ok {
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
		out = append(out, fortioBucket{Start: lo, End: float64(bounds[i]) / 1e6, Percent: 100 * float64(cum) / float64(total), Count: counts[i]})
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

// ParseFortio reads fortio's result JSON. fortio measures from the actual
// send, so its histogram becomes the service time; a run at a set QPS is
// paced per connection, a closed loop. The histogram is rebuilt from
// fortio's buckets: each bucket's count is spread evenly over its range
// [Start, End] at up to 50 points (the assumption fortio itself makes when it
// interpolates percentiles), re-recorded into an HDR histogram encoded like
// meshperf's own. Percentiles fortio reported are kept as it computed them.
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
	h, err := fortioToHist(hd)
	if err != nil {
		return nil, err
	}
	enc, err := h.Encode()
	if err != nil {
		return nil, fmt.Errorf("fortio: %w", err)
	}

	gen := spec.GeneratorInfo{Name: "fortio", Version: fr.Version, Fidelity: "bucketed"}
	if name, v, ok := strings.Cut(fr.Version, " "); ok && !strings.ContainsAny(name, "0123456789.") {
		gen.Name, gen.Version = name, v // written by FortioJSON for another generator
	}
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
			Duration: spec.Duration(fr.ActualDuration),
			Requests: hd.Count,
			RPS:      fr.ActualQPS,
		},
		ServiceTime: &spec.Distribution{
			Count:         hd.Count,
			MinMs:         sToMs(hd.Min),
			MeanMs:        sToMs(hd.Avg),
			StdDevMs:      sToMs(hd.StdDev),
			MaxMs:         sToMs(hd.Max),
			Percentiles:   fortioPercentilesMs(h, hd),
			Histogram:     enc,
			HistogramUnit: hist.Unit,
			Saturated:     h.Saturated(),
		},
	}
	if !r.StartTime.IsZero() {
		r.EndTime = r.StartTime.Add(time.Duration(fr.ActualDuration))
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
	switch qps := strings.TrimSpace(fr.RequestedQPS); qps {
	case "", "max", "-1", "0":
	default:
		v, err := strconv.ParseFloat(qps, 64)
		if err != nil || v < 0 || math.IsInf(v, 0) {
			return nil, fmt.Errorf("fortio: RequestedQPS %q is not a rate", fr.RequestedQPS)
		}
		r.Requested.RPS = v
		r.Requested.Shape = "constant " + strconv.FormatFloat(v, 'f', -1, 64) + "/s"
	}
	if d, err := time.ParseDuration(fr.RequestedDuration); err == nil {
		r.Requested.Duration = spec.Duration(d)
	}
	if err := fortioCodes(r, &fr); err != nil {
		return nil, err
	}
	if fr.Sizes != nil && fr.Sizes.Sum > 0 && fr.Sizes.Sum < math.MaxInt64 {
		r.Achieved.BytesReceived = int64(fr.Sizes.Sum)
	}
	r.Notes = append(r.Notes, fmt.Sprintf("imported from %s %s: the histogram was rebuilt from fortio's %d buckets (each bucket's count spread evenly over its range), so percentiles are approximate, not HDR-exact",
		gen.Name, gen.Version, len(hd.Data)))
	r.Notes = append(r.Notes, "fortio measures from the actual send: service time only, not corrected for coordinated omission")
	return r, nil
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
		n := fr.RetCodes[k]
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
		a.Errors = fr.ErrorsDurationHistogram.Count
	}
	if a.Requests > 0 {
		a.ErrorRate = float64(a.Errors) / float64(a.Requests)
	}
	return nil
}

// fortioToHist re-records fortio's buckets into an HDR histogram.
func fortioToHist(hd *fortioHistogram) (*hist.Histogram, error) {
	if hd.Count < 0 {
		return nil, fmt.Errorf("fortio: DurationHistogram.Count is negative (%d)", hd.Count)
	}
	type point struct{ us, n int64 }
	var pts []point
	var sum int64
	for i, b := range hd.Data {
		switch {
		case b.Count < 0:
			return nil, fmt.Errorf("fortio: DurationHistogram.Data[%d].Count is negative (%d)", i, b.Count)
		case b.Start < 0 || b.End < 0:
			return nil, fmt.Errorf("fortio: DurationHistogram.Data[%d] has a negative bound (%g, %g)", i, b.Start, b.End)
		case b.End < b.Start:
			return nil, fmt.Errorf("fortio: DurationHistogram.Data[%d] ends (%g) before it starts (%g)", i, b.End, b.Start)
		case b.Count > math.MaxInt64-sum:
			return nil, fmt.Errorf("fortio: DurationHistogram.Data counts overflow")
		}
		sum += b.Count
		k := min(b.Count, spreadPoints)
		if b.End == b.Start {
			k = min(k, 1)
		}
		for j := range k {
			n := b.Count / k
			if j < b.Count%k {
				n++
			}
			pts = append(pts, point{us: secondsToMicros(b.Start + (b.End-b.Start)*(float64(j)+0.5)/float64(k)), n: n})
		}
	}
	if sum != hd.Count {
		return nil, fmt.Errorf("fortio: DurationHistogram.Data counts add up to %d but Count is %d", sum, hd.Count)
	}
	h := hist.New()
	for _, p := range pts {
		h.RecordMicrosN(p.us, p.n)
	}
	return h, nil
}

// secondsToMicros converts, rounding, and maps values past the histogram's
// range just above it (so they count as saturated).
func secondsToMicros(s float64) int64 {
	us := s * 1e6
	if us > float64(hist.Highest) {
		return hist.Highest + 1
	}
	return int64(math.Round(us))
}

// fortioPercentilesMs keeps fortio's percentiles as it computed them and adds
// meshperf's other ones from the rebuilt histogram, and the max.
func fortioPercentilesMs(h *hist.Histogram, hd *fortioHistogram) []spec.Percentile {
	if hd.Count == 0 {
		return nil
	}
	fixed := map[float64]float64{100: sToMs(hd.Max)}
	for _, p := range hd.Percentiles {
		if p.Percentile > 0 && p.Percentile < 100 {
			fixed[p.Percentile] = sToMs(p.Value)
		}
	}
	out := standardPercentiles(h, fixed)
	have := map[float64]bool{}
	for _, p := range out {
		have[p.P] = true
	}
	for p, v := range fixed {
		if !have[p] {
			out = append(out, spec.Percentile{P: p, Ms: v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].P < out[j].P })
	return out
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
