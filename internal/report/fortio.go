package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/loadgen/fortio"
	"github.com/meshperf/meshperf/spec"
)

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
	out := fortio.Results{
		RunType:                 fortioRunType(q.Protocol),
		Labels:                  r.Name,
		StartTime:               r.StartTime,
		RequestedQPS:            fortio.FlexString("max"),
		RequestedDuration:       "until stop",
		ActualQPS:               a.RPS,
		ActualDuration:          int64(a.Duration),
		NumThreads:              q.Connections,
		Version:                 r.Generator.Version,
		DurationHistogram:       fortioHistogramOf(x, r.Generator.Fidelity),
		ErrorsDurationHistogram: &fortio.Histogram{Count: fortio.FlexInt(a.Errors)},
		Exactly:                 q.Requests,
		ID:                      r.ID,
		RetCodes:                map[string]fortio.FlexInt{},
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
		out.RequestedQPS = fortio.FlexString(strconv.FormatFloat(q.RPS, 'g', 9, 64))
	}
	switch {
	case q.Requests > 0:
		out.RequestedDuration = fmt.Sprintf("exactly %d calls", q.Requests)
	case q.Duration > 0:
		out.RequestedDuration = q.Duration.String()
	}
	for code, n := range r.StatusCodes {
		out.RetCodes[strconv.Itoa(code)] = fortio.FlexInt(n)
	}
	var transport int64
	for _, e := range r.Errors {
		transport += e.Count
	}
	if transport > 0 {
		out.RetCodes["-1"] += fortio.FlexInt(transport) // fortio's code for socket errors
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
		out.Sizes = &fortio.Histogram{Count: fortio.FlexInt(a.Responses), Sum: float64(a.BytesReceived), Avg: float64(a.BytesReceived) / float64(a.Responses)}
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
func fortioHistogramOf(x dist, fidelity string) *fortio.Histogram {
	d := x.d
	out := &fortio.Histogram{Count: fortio.FlexInt(d.Count), StdDev: fortio.MsToSeconds(d.StdDevMs)}
	if x.h != nil {
		out.Count = fortio.FlexInt(x.h.Count())
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
	out.Min, out.Max, out.Avg = fortio.MsToSeconds(minMs), fortio.MsToSeconds(maxMs), fortio.MsToSeconds(mean)
	out.Sum = out.Avg * float64(out.Count)
	if x.h != nil {
		out.Data = fortioBuckets(x.h.Buckets(), int64(out.Count), out.Min, out.Max)
	}
	for _, p := range fortioPercentiles {
		if v, ok := x.pct(p); ok {
			out.Percentiles = append(out.Percentiles, fortio.Percentile{Percentile: p, Value: fortio.MsToSeconds(v)})
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
func fortioBuckets(hb []hist.Bucket, total int64, minS, maxS float64) []fortio.Bucket {
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
	out := make([]fortio.Bucket, 0, len(idx))
	var cum int64
	for _, i := range idx {
		lo := 0.0
		if i > 0 {
			lo = float64(bounds[i-1]) / 1e6
		}
		cum += counts[i]
		out = append(out, fortio.Bucket{Start: lo, End: float64(bounds[i]) / 1e6, Percent: 100 * float64(cum) / float64(total), Count: fortio.FlexInt(counts[i])})
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
