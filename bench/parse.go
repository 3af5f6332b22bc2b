package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// toolResult is what one load generator says about one run, reduced to the
// figures the suite compares.
type toolResult struct {
	// RPS is the tool's own throughput figure (completed requests per second).
	RPS float64
	// Requests counts completed requests: every response received, whatever
	// its status. This is the denominator of CPU per million requests.
	Requests int64
	// Errors counts transport errors (connect, read, write, timeout) and,
	// for meshperf, requests it dropped.
	Errors int64
	// Non2xx counts responses with a status outside 200–399.
	Non2xx int64
	// Duration is the measured duration the tool reports, in seconds
	// (0 when it reports none).
	Duration float64
	// LatencyP50Ms and ServiceP50Ms are meshperf's median latency, in ms:
	// corrected (from each request's intended send time; open loop only)
	// and service time (from the actual send). 0 when not reported.
	LatencyP50Ms float64
	ServiceP50Ms float64
}

var (
	wrkTotalRe  = regexp.MustCompile(`(?m)^\s*(\d+) requests in ([0-9.]+)(us|ms|s|m|h),`)
	wrkRateRe   = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	wrkSocketRe = regexp.MustCompile(`(?m)Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon2xxRe = regexp.MustCompile(`(?m)Non-2xx or 3xx responses: (\d+)`)
)

// parseWrk reads wrk's text report.
func parseWrk(out string) (toolResult, error) {
	var r toolResult
	m := wrkTotalRe.FindStringSubmatch(out)
	if m == nil {
		return r, errors.New("wrk: no \"N requests in T\" line in output")
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return r, fmt.Errorf("wrk: request count %q: %v", m[1], err)
	}
	r.Requests = n
	v, err := strconv.ParseFloat(m[2], 64)
	if err != nil {
		return r, fmt.Errorf("wrk: duration %q: %v", m[2], err)
	}
	r.Duration = v * map[string]float64{"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[m[3]]

	m = wrkRateRe.FindStringSubmatch(out)
	if m == nil {
		return r, errors.New("wrk: no \"Requests/sec:\" line in output")
	}
	if r.RPS, err = strconv.ParseFloat(m[1], 64); err != nil {
		return r, fmt.Errorf("wrk: Requests/sec %q: %v", m[1], err)
	}
	if m = wrkSocketRe.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			k, _ := strconv.ParseInt(s, 10, 64)
			r.Errors += k
		}
	}
	if m = wrkNon2xxRe.FindStringSubmatch(out); m != nil {
		r.Non2xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	return r, nil
}

// fortioJSON is the part of fortio's -json output the suite reads.
type fortioJSON struct {
	ActualQPS         float64
	ActualDuration    int64 // nanoseconds
	DurationHistogram struct {
		Count int64
	}
	RetCodes map[string]int64
}

// parseFortio reads the JSON file written by `fortio load -json FILE`.
func parseFortio(b []byte) (toolResult, error) {
	var r toolResult
	var f fortioJSON
	if err := json.Unmarshal(b, &f); err != nil {
		return r, fmt.Errorf("fortio: json: %v", err)
	}
	if f.DurationHistogram.Count == 0 && f.ActualQPS == 0 {
		return r, errors.New("fortio: json has no DurationHistogram.Count and no ActualQPS")
	}
	r.RPS = f.ActualQPS
	r.Requests = f.DurationHistogram.Count
	r.Duration = float64(f.ActualDuration) / 1e9
	for code, n := range f.RetCodes {
		c, err := strconv.Atoi(code)
		switch {
		case err != nil || c < 0:
			// fortio files socket errors under -1.
			r.Errors += n
		case c < 200 || c > 399:
			r.Non2xx += n
		}
	}
	return r, nil
}

// meshperfJSON is the part of `meshperf run --output json` the suite reads.
type meshperfJSON struct {
	Achieved *struct {
		Requests  int64           `json:"requests"`
		Responses int64           `json:"responses"`
		RPS       float64         `json:"rps"`
		Errors    int64           `json:"errors"`
		Dropped   int64           `json:"dropped"`
		Duration  json.RawMessage `json:"duration"`
	} `json:"achieved"`
	Requested struct {
		Warmup json.RawMessage `json:"warmup"`
	} `json:"requested"`
	StatusCodes map[string]int64      `json:"status_codes"`
	Latency     *meshperfDistribution `json:"latency"`
	ServiceTime *meshperfDistribution `json:"service_time"`
}

// meshperfDistribution is the part of a meshperf latency distribution the
// suite reads.
type meshperfDistribution struct {
	Percentiles []struct {
		P  float64 `json:"p"`
		Ms float64 `json:"ms"`
	} `json:"percentiles"`
}

// at returns the value at percentile p, 0 when d does not list it.
func (d *meshperfDistribution) at(p float64) float64 {
	if d == nil {
		return 0
	}
	for _, x := range d.Percentiles {
		if x.P == p {
			return x.Ms
		}
	}
	return 0
}

// parseMeshperf reads meshperf's JSON result from its standard output. Any
// text before the first '{' is skipped; only the first JSON value is read.
func parseMeshperf(b []byte) (toolResult, error) {
	var r toolResult
	i := bytes.IndexByte(b, '{')
	if i < 0 {
		return r, errors.New("meshperf: no JSON object on stdout")
	}
	var m meshperfJSON
	if err := json.NewDecoder(bytes.NewReader(b[i:])).Decode(&m); err != nil {
		return r, fmt.Errorf("meshperf: json: %v", err)
	}
	if m.Achieved == nil {
		return r, errors.New("meshperf: json has no \"achieved\" object")
	}
	a := m.Achieved
	r.RPS = a.RPS
	r.Requests = a.Responses
	if r.Requests == 0 {
		r.Requests = a.Requests - a.Errors
	}
	r.Duration = jsonDurationSeconds(a.Duration)
	r.LatencyP50Ms = m.Latency.at(50)
	r.ServiceP50Ms = m.ServiceTime.at(50)
	for code, n := range m.StatusCodes {
		c, err := strconv.Atoi(code)
		if err == nil && (c < 200 || c > 399) {
			r.Non2xx += n
		}
	}
	// meshperf's errors count transport errors, drops and bad statuses;
	// keep the bad statuses in Non2xx only.
	r.Errors = a.Errors - r.Non2xx
	if r.Errors < 0 {
		r.Errors = 0
	}
	return r, nil
}

// jsonDurationSeconds reads a duration written either as a Go duration
// string ("10s"), as seconds (a number) or as nanoseconds (a large integer).
// It returns 0 for anything else.
func jsonDurationSeconds(raw json.RawMessage) float64 {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return 0
	}
	if strings.HasPrefix(s, `"`) {
		var str string
		if json.Unmarshal(raw, &str) != nil {
			return 0
		}
		if d, err := time.ParseDuration(str); err == nil {
			return d.Seconds()
		}
		if f, err := strconv.ParseFloat(str, 64); err == nil {
			return f
		}
		return 0
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	if f > 1e6 && f == math.Trunc(f) { // nanoseconds
		return f / 1e9
	}
	return f
}

// median returns the median of xs (the mean of the middle two for an even
// count) and NaN for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// procStatCPU returns utime+stime, in clock ticks, from the text of
// /proc/<pid>/stat.
func procStatCPU(stat string) (int64, error) {
	// The command name (field 2) is in parentheses and may hold spaces.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("proc stat: no ')'")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("proc stat: too few fields")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("proc stat: bad utime/stime")
	}
	return u + s, nil
}

// procStatPPID returns the parent pid from the text of /proc/<pid>/stat.
func procStatPPID(stat string) (int, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("proc stat: no ')'")
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 2 {
		return 0, errors.New("proc stat: too few fields")
	}
	return strconv.Atoi(f[1])
}

// procStatTotal returns utime+stime+cutime+cstime, in clock ticks, from
// the text of /proc/<pid>/stat: the process's own CPU time plus that of the
// children it has reaped.
func procStatTotal(stat string) (int64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("proc stat: no ')'")
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 15 {
		return 0, errors.New("proc stat: too few fields")
	}
	var t int64
	for _, s := range f[11:15] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, errors.New("proc stat: bad cpu times")
		}
		t += v
	}
	return t, nil
}

// cpuDelta is the CPU time, in ticks, that the processes of snapshot b
// spent since snapshot a, leaving out the pids skip says to. A process
// that is new in b counts whole; one that is gone from b is lost unless its
// parent reaped it (its time then shows in the parent's cutime/cstime).
func cpuDelta(a, b map[int]int64, skip func(pid int) bool) int64 {
	var d int64
	for pid, t := range b {
		if skip != nil && skip(pid) {
			continue
		}
		if t0, ok := a[pid]; ok && t >= t0 {
			d += t - t0
		} else if !ok {
			d += t
		}
	}
	return d
}

// vmRSSKiB returns the VmRSS value, in KiB, from the text of
// /proc/<pid>/status.
func vmRSSKiB(status string) (int64, bool) {
	for _, line := range strings.Split(status, "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				return 0, false
			}
			v, err := strconv.ParseInt(f[0], 10, 64)
			return v, err == nil
		}
	}
	return 0, false
}
