package spec

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/meshperf/meshperf/hist"
)

// Merge combines results of load that ran at the same time (the clients of
// one profile, later the agents of one test) into one result. Histograms
// are added, not averaged, so every percentile of the merged result is what
// one generator would have measured for all the requests together.
func Merge(rs []*Result) (*Result, error) {
	switch len(rs) {
	case 0:
		return nil, errors.New("merge: no results")
	case 1:
		return rs[0], nil
	}
	out := &Result{
		Schema:    ResultSchema,
		Name:      rs[0].Name,
		Labels:    rs[0].Labels,
		Generator: rs[0].Generator,
		Requested: rs[0].Requested,
		StartTime: rs[0].StartTime,
		EndTime:   rs[0].EndTime,
	}
	out.Requested.Targets = nil
	out.Requested.RPS = 0
	out.Requested.Connections = 0
	var lat, svc *hist.Histogram
	// A merged distribution exists only when every result has it: wrk2's
	// results have corrected latency but no service time, closed-loop
	// results the reverse. Half a histogram would be a different test.
	open, hasSvc := true, true
	seen := map[string]bool{}
	for i, r := range rs {
		if r == nil || (r.ServiceTime == nil && r.Latency == nil) {
			return nil, fmt.Errorf("merge: result %d has no measurements", i)
		}
		if r.StartTime.Before(out.StartTime) {
			out.StartTime = r.StartTime
		}
		if r.EndTime.After(out.EndTime) {
			out.EndTime = r.EndTime
		}
		for _, t := range r.Requested.Targets {
			if !seen[t] {
				seen[t] = true
				out.Requested.Targets = append(out.Requested.Targets, t)
			}
		}
		q := &out.Requested
		q.RPS += r.Requested.RPS
		q.Connections += r.Requested.Connections
		q.Requests += r.Requested.Requests
		if i > 0 && q.Shape != "several" {
			q.Shape = addShapes(q.Shape, r.Requested.Shape)
		}
		q.OpenLoop = q.OpenLoop && r.Requested.OpenLoop
		if r.Generator.Fidelity != out.Generator.Fidelity {
			out.Generator.Fidelity = "mixed"
		}
		a, ra := &out.Achieved, r.Achieved
		a.Duration = max(a.Duration, ra.Duration)
		a.Requests += ra.Requests
		a.Responses += ra.Responses
		a.Errors += ra.Errors
		a.Late += ra.Late
		a.Dropped += ra.Dropped
		a.BytesSent += ra.BytesSent
		a.BytesReceived += ra.BytesReceived
		a.LateThreshold = max(a.LateThreshold, ra.LateThreshold)
		if r.Latency == nil {
			open = false
		} else if open {
			h, err := hist.Decode(r.Latency.Histogram)
			if err != nil {
				return nil, fmt.Errorf("merge: result %d latency: %w", i, err)
			}
			if lat == nil {
				lat = h
			} else {
				lat.Merge(h)
			}
		}
		if r.ServiceTime == nil {
			hasSvc = false
		} else if hasSvc {
			h, err := hist.Decode(r.ServiceTime.Histogram)
			if err != nil {
				return nil, fmt.Errorf("merge: result %d service time: %w", i, err)
			}
			if svc == nil {
				svc = h
			} else {
				svc.Merge(h)
			}
		}
		for c, n := range r.StatusCodes {
			if out.StatusCodes == nil {
				out.StatusCodes = map[int]int64{}
			}
			out.StatusCodes[c] += n
		}
		out.Errors = mergeErrors(out.Errors, r.Errors)
		out.Timeline = mergeTimeline(out.Timeline, r.Timeline, r.StartTime.Sub(rs[0].StartTime))
		out.Interrupted = out.Interrupted || r.Interrupted
		if out.EndedEarly == "" {
			out.EndedEarly = r.EndedEarly
		}
		for _, n := range r.Notes {
			if !containsString(out.Notes, n) {
				out.Notes = append(out.Notes, n)
			}
		}
	}
	out.Requested.OpenLoop = open && out.Requested.OpenLoop
	if err := SetMergedTLS(out, rs, nil, "results"); err != nil {
		return nil, err
	}
	a := &out.Achieved
	if d := a.Duration.D(); d > 0 {
		a.RPS = float64(a.Responses) / d.Seconds()
	}
	if a.Requests > 0 {
		a.ErrorRate = float64(a.Errors) / float64(a.Requests)
	}
	if sent := a.Requests - a.Dropped; sent > 0 && out.Requested.OpenLoop {
		a.LateRatio = float64(a.Late) / float64(sent)
	}
	if open && lat != nil {
		out.Latency = Summarize(lat)
	}
	if hasSvc && svc != nil {
		out.ServiceTime = Summarize(svc)
	}
	if out.Latency == nil && out.ServiceTime == nil {
		return nil, errors.New("merge: the results have no distribution in common (some measured only corrected latency, others only service time)")
	}
	return out, nil
}

// SummaryPercentiles are the percentiles every Distribution lists.
var SummaryPercentiles = []float64{50, 75, 90, 95, 99, 99.9, 99.99, 100}

// Summarize describes a histogram as a Distribution, carrying it whole. Its
// percentiles follow the one rule (PercentilesOf); an empty histogram has
// none.
func Summarize(h *hist.Histogram) *Distribution {
	d := &Distribution{
		Count:         h.Count(),
		MinMs:         msOf(h.Min()),
		MeanMs:        msOf(h.Mean()),
		StdDevMs:      msOf(h.StdDev()),
		MaxMs:         msOf(h.Max()),
		Histogram:     h.MustEncode(),
		HistogramUnit: hist.Unit,
		Saturated:     h.Saturated(),
	}
	d.Percentiles = PercentilesOf(h, nil, 0)
	return d
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mergeErrors(into, from []ErrorClass) []ErrorClass {
	for _, e := range from {
		found := false
		for i := range into {
			if into[i].Class == e.Class {
				into[i].Count += e.Count
				for _, ex := range e.Examples {
					if len(into[i].Examples) < 3 && !containsString(into[i].Examples, ex) {
						into[i].Examples = append(into[i].Examples, ex)
					}
				}
				found = true
				break
			}
		}
		if !found {
			into = append(into, ErrorClass{Class: e.Class, Count: e.Count, Examples: append([]string(nil), e.Examples...)})
		}
	}
	sort.SliceStable(into, func(i, j int) bool { return into[i].Count > into[j].Count })
	return into
}

// mergeTimeline adds the seconds of from, which started offset after the
// first result, into into. Percentiles of a merged second come from its
// histograms when both sides kept them, else the larger of the two.
func mergeTimeline(into, from []Interval, offset time.Duration) []Interval {
	shift := int(offset.Round(time.Second) / time.Second)
	for _, iv := range from {
		sec := iv.Second + shift
		for len(into) <= sec {
			into = append(into, Interval{Second: len(into), Seconds: 1})
		}
		m := &into[sec]
		m.Warmup = m.Warmup || iv.Warmup
		m.Seconds = max(m.Seconds, iv.Seconds)
		m.Requests += iv.Requests
		m.Errors += iv.Errors
		m.RequestedRPS += iv.RequestedRPS
		m.AchievedRPS += iv.AchievedRPS
		m.P50Ms, m.P90Ms, m.P99Ms = mergeIntervalPercentiles(m, iv)
		for c, n := range iv.StatusCodes {
			if m.StatusCodes == nil {
				m.StatusCodes = map[int]int64{}
			}
			m.StatusCodes[c] += n
		}
		for c, n := range iv.ErrorClasses {
			if m.ErrorClasses == nil {
				m.ErrorClasses = map[string]int64{}
			}
			m.ErrorClasses[c] += n
		}
	}
	return into
}

func mergeIntervalPercentiles(m *Interval, iv Interval) (p50, p90, p99 float64) {
	if m.Latency != "" && iv.Latency != "" || m.ServiceTime != "" && iv.ServiceTime != "" {
		field := func(x *Interval) *string {
			if m.Latency != "" && iv.Latency != "" {
				return &x.Latency
			}
			return &x.ServiceTime
		}
		a, errA := hist.Decode(*field(m))
		b, errB := hist.Decode(*field(&iv))
		if errA == nil && errB == nil {
			a.Merge(b)
			*field(m) = a.MustEncode()
			return msOf(a.Quantile(0.5)), msOf(a.Quantile(0.9)), msOf(a.Quantile(0.99))
		}
	}
	if m.Requests == iv.Requests { // m was empty before this interval
		m.Latency, m.ServiceTime = iv.Latency, iv.ServiceTime
		return iv.P50Ms, iv.P90Ms, iv.P99Ms
	}
	m.Latency, m.ServiceTime = "", ""
	return max(m.P50Ms, iv.P50Ms), max(m.P90Ms, iv.P90Ms), max(m.P99Ms, iv.P99Ms)
}

// rateRE matches the rates in a shape's description ("constant 200/s",
// "ramp 100/s to 200/s over 10s").
var rateRE = regexp.MustCompile(`\d+(?:\.\d+)?(?:e[+-]?\d+)?/s`)

// addShapes describes two shapes run together: the same shape with each
// rate added ("constant 200/s" twice is "constant 400/s", the test's total
// rate), or "several" when they differ other than by their rates.
func addShapes(a, b string) string {
	if rateRE.ReplaceAllString(a, "#") != rateRE.ReplaceAllString(b, "#") {
		return "several"
	}
	ra, rb := rateRE.FindAllString(a, -1), rateRE.FindAllString(b, -1)
	i := 0
	return rateRE.ReplaceAllStringFunc(a, func(string) string {
		x, _ := strconv.ParseFloat(strings.TrimSuffix(ra[i], "/s"), 64)
		y, _ := strconv.ParseFloat(strings.TrimSuffix(rb[i], "/s"), 64)
		i++
		// Shares of a rate split three ways (66.666…/s) add back to the
		// rate, not to 200.00000000000003.
		return strconv.FormatFloat(math.Round((x+y)*1e6)/1e6, 'f', -1, 64) + "/s"
	})
}

func containsString(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// SetMergedTLS sets out's TLS figures to the sum of rs's (MergeTLS) and
// replaces the TLS notes that the merge of notes carried over with one for
// the sum, "added over N <what>". names[i] names rs[i] where resumption was
// on for some and off for others (nil: "result 1", "result 2"...).
func SetMergedTLS(out *Result, rs []*Result, names []string, what string) error {
	ts := make([]*TLSStats, len(rs))
	var on, off []string
	for i, r := range rs {
		ts[i] = r.TLS
		if r.TLS == nil {
			continue
		}
		name := "result " + strconv.Itoa(i+1)
		if names != nil {
			name = names[i]
		}
		if r.TLS.SessionResumption {
			on = append(on, name)
		} else {
			off = append(off, name)
		}
	}
	merged, mixed, err := MergeTLS(ts)
	if err != nil {
		return err
	}
	out.TLS = merged
	if merged == nil {
		return nil
	}
	notes := out.Notes[:0:0]
	for _, n := range out.Notes {
		if !strings.HasPrefix(n, TLSNotePrefix) {
			notes = append(notes, n)
		}
	}
	note := merged.Note() + fmt.Sprintf(", added over %d %s", len(on)+len(off), what)
	if mixed {
		note += fmt.Sprintf("; session resumption was on for %s and off for %s, so the merged session_resumption is false", strings.Join(on, ", "), strings.Join(off, ", "))
	}
	out.Notes = append(notes, note)
	return nil
}
