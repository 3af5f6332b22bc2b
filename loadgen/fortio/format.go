package fortio

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

// This file is fortio's result format: the JSON fortio writes (Results),
// read into a spec.Result by Parse. internal/report writes it (FortioJSON)
// and imports it through Parse.

// Results is fortio's HTTP runner result JSON (fhttp.HTTPRunnerResults),
// field for field in fortio's order. Durations are in seconds except
// ActualDuration and HTTPReqTimeOut (nanoseconds).
type Results struct {
	RunType                 string
	Labels                  string
	StartTime               time.Time
	RequestedQPS            FlexString
	RequestedDuration       string
	ActualQPS               float64
	ActualDuration          int64
	NumThreads              int
	Version                 string
	DurationHistogram       *Histogram
	ErrorsDurationHistogram *Histogram
	Exactly                 int64
	Jitter                  bool
	Uniform                 bool
	NoCatchUp               bool
	RunID                   int64
	AccessLoggerInfo        string
	ID                      string
	RetCodes                map[string]FlexInt
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
	Sizes                   *Histogram `json:",omitempty"`
	HeaderSizes             *Histogram `json:",omitempty"`
	Sockets                 []int      `json:",omitempty"`
	SocketCount             int        `json:",omitempty"`
	ConnectionStats         *Histogram `json:",omitempty"`
	AbortOn                 int
	// BytesSent and BytesReceived are Nighthawk's (its fortio-format
	// output); fortio itself has no such fields.
	BytesSent     FlexInt `json:",omitempty"`
	BytesReceived FlexInt `json:",omitempty"`
}

// FlexInt is an integer written as a number or, as Nighthawk's fortio-format
// output writes its 64-bit counts (protobuf JSON), as a string.
type FlexInt int64

func (n *FlexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" {
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %s", b)
	}
	*n = FlexInt(v)
	return nil
}

// FlexString is a string that may be written as a number (Nighthawk writes
// RequestedQPS as one).
type FlexString string

func (f *FlexString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = FlexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or a number, got %s", b)
	}
	*f = FlexString(n.String())
	return nil
}

// Histogram is fortio's stats.HistogramData.
type Histogram struct {
	Count       FlexInt
	Min         float64
	Max         float64
	Sum         float64
	Avg         float64
	StdDev      float64
	Data        []Bucket
	Percentiles []Percentile `json:",omitempty"`
}

// Bucket holds Count values in ]Start, End] (the first bucket starts at
// the minimum, the last ends at the maximum); Percent is cumulative.
type Bucket struct {
	Start   float64
	End     float64
	Percent float64
	Count   FlexInt
}

type Percentile struct {
	Percentile float64
	Value      float64
}

// spreadPoints is how many values each imported bucket's count is spread over.
const spreadPoints = 50

// Parse reads fortio's result JSON, and the fortio-format output of
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
func Parse(data []byte) (*spec.Result, error) {
	var fr Results
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
			MinMs:         SecondsToMs(hd.Min),
			MeanMs:        SecondsToMs(hd.Avg),
			StdDevMs:      SecondsToMs(hd.StdDev),
			MaxMs:         SecondsToMs(hd.Max),
			Percentiles:   spec.PercentilesOf(h, exact, SecondsToMs(hd.Max)),
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
func fortioExact(hd *Histogram) (map[float64]float64, []string) {
	exact := map[float64]float64{}
	var labels []string
	for _, p := range hd.Percentiles {
		if p.Percentile > 0 && p.Percentile < 100 && p.Value >= 0 && !math.IsInf(p.Value, 0) {
			exact[p.Percentile] = SecondsToMs(p.Value)
			labels = append(labels, "p"+strconv.FormatFloat(p.Percentile, 'f', -1, 64))
		}
	}
	return exact, labels
}

// fortioSteps turns fortio's buckets and reported percentiles into the
// steps of a cumulative distribution (µs): the minimum, each bucket's end
// with the count up to it, and each reported percentile at its count. A
// bucket end that disagrees with a reported percentile gives way to it.
func fortioSteps(hd *Histogram) ([]hist.Step, error) {
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
func fortioCodes(r *spec.Result, fr *Results) error {
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

// MsToSeconds and SecondsToMs convert between milliseconds and seconds by moving the
// decimal point of the shortest decimal form, so 32.831ms is 0.032831s (not
// 0.032831000000000006) and conversions back and forth give the same number.
func MsToSeconds(ms float64) float64 { return shift10(ms, -3) }

func SecondsToMs(s float64) float64 { return shift10(s, 3) }

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
