package agents

import (
	"fmt"
	"maps"
	"sort"
	"time"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/internal/agentpb"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

// lateAfter is how long after a second ends its merged progress waits for
// snapshots of agents that have not reported it.
const lateAfter = 3 * time.Second

// shareAcc adds up what one share's snapshots said, so that a share whose
// agent is lost keeps everything it sent.
type shareAcc struct {
	lat, svc    *hist.Histogram // measured part (warm-up excluded)
	requests    int64
	responses   int64
	errors      int64
	dropped     int64
	seconds     float64
	codes       map[int]int64
	classes     map[string]int64
	snapshots   int
	lastSecond  int
	hasSnapshot bool
	seen        map[int]bool // seconds reported
	// The snapshots as they came, to merge the timeline again without a
	// share refused later; dropped (unretained) once the run's kept
	// snapshots pass maxRetained bytes.
	retained   []*agentpb.Snapshot
	unretained bool
}

// secAcc is one second of a distributed run, merged over its shares.
type secAcc struct {
	iv        spec.Interval
	responses int64
	lat, svc  *hist.Histogram // nil once published (then iv holds them encoded)
	published bool
}

// merger adds the shares' snapshots up, second by second and in total.
type merger struct {
	start    time.Time
	open     bool
	secs     map[int]*secAcc
	next     int // next second to publish
	lat, svc *hist.Histogram
	total    struct {
		requests, errors, responses int64
		seconds                     float64
	}
}

func newMerger(start time.Time, open bool) *merger {
	return &merger{start: start, open: open, secs: map[int]*secAcc{}, lat: hist.New(), svc: hist.New()}
}

// addShare adds one checked snapshot (its histograms decoded) to the
// share's own totals and keeps it for a rebuild of the timeline; the
// caller holds the run's lock.
func (a *shareAcc) add(sn *agentpb.Snapshot, lat, svc *hist.Histogram) {
	sec := int(sn.GetSecond())
	if a.svc == nil {
		a.lat, a.svc = hist.New(), hist.New()
		a.codes, a.classes = map[int]int64{}, map[string]int64{}
		a.seen = map[int]bool{}
	}
	a.seen[sec] = true
	a.snapshots++
	a.lastSecond = max(a.lastSecond, sec)
	a.hasSnapshot = true
	if !a.unretained {
		a.retained = append(a.retained, sn)
	}
	if sn.GetWarmup() {
		return
	}
	a.lat.Merge(lat)
	a.svc.Merge(svc)
	a.requests += sn.GetRequests()
	a.responses += sn.GetResponses()
	a.errors += sn.GetErrors()
	a.dropped += sn.GetErrorClasses()[loadgen.ClassDropped]
	a.seconds += sn.GetSeconds()
	for c, n := range sn.GetStatusCodes() {
		if n > 0 {
			a.codes[int(c)] += n
		}
	}
	for c, n := range sn.GetErrorClasses() {
		if n > 0 {
			a.classes[c] += n
		}
	}
}

// add merges one checked snapshot, its histograms decoded, into the run's
// totals and its second; the caller holds the run's lock.
func (m *merger) add(sn *agentpb.Snapshot, lat, svc *hist.Histogram) {
	sec := int(sn.GetSecond())
	if !sn.GetWarmup() {
		m.lat.Merge(lat)
		m.svc.Merge(svc)
		m.total.requests += sn.GetRequests()
		m.total.errors += sn.GetErrors()
		m.total.responses += sn.GetResponses()
	}

	// The second's merge.
	s := m.secs[sec]
	if s == nil {
		s = &secAcc{iv: spec.Interval{Second: sec}}
		m.secs[sec] = s
	}
	iv := &s.iv
	iv.Warmup = iv.Warmup || sn.GetWarmup()
	iv.Seconds = max(iv.Seconds, sn.GetSeconds())
	iv.Requests += sn.GetRequests()
	iv.Errors += sn.GetErrors()
	iv.RequestedRPS += sn.GetRequestedRps()
	s.responses += sn.GetResponses()
	for c, n := range sn.GetStatusCodes() {
		if iv.StatusCodes == nil {
			iv.StatusCodes = map[int]int64{}
		}
		iv.StatusCodes[int(c)] += n
	}
	for c, n := range sn.GetErrorClasses() {
		if iv.ErrorClasses == nil {
			iv.ErrorClasses = map[string]int64{}
		}
		iv.ErrorClasses[c] += n
	}
	if s.published {
		// A late snapshot: fold it into the encoded second (ours, so the
		// strict decoder takes it).
		s.lat, _ = decodeStrict(iv.Latency)
		s.svc, _ = decodeStrict(iv.ServiceTime)
	}
	if s.lat == nil {
		s.lat = hist.New()
	}
	if s.svc == nil {
		s.svc = hist.New()
	}
	s.lat.Merge(lat)
	s.svc.Merge(svc)
	if s.published {
		m.seal(s)
	}
}

// rebuild merges again the kept snapshots of the shares for which keep
// is true; false when a share to keep has not kept them all.
func rebuild(start time.Time, open bool, shares []*share, keep func(*share) bool) (*merger, bool) {
	m := newMerger(start, open)
	for _, sh := range shares {
		if !keep(sh) {
			continue
		}
		if sh.acc.unretained {
			return nil, false
		}
		for _, sn := range sh.acc.retained {
			lat, err1 := decodeStrict(sn.GetLatency())
			svc, err2 := decodeStrict(sn.GetServiceTime())
			if err1 != nil || err2 != nil { // checked when it came
				return nil, false
			}
			m.add(sn, lat, svc)
		}
	}
	return m, true
}

// ready publishes the seconds every running share has reported (or, with
// force, those past their wait) and returns their progress.
func (m *merger) ready(shares []*share, now time.Time, force bool) []loadgen.Progress {
	last := -1
	for sec := range m.secs {
		last = max(last, sec)
	}
	var out []loadgen.Progress
	for ; m.next <= last; m.next++ {
		n := m.next
		complete := true
		for _, sh := range shares {
			if !sh.finished && (!sh.acc.hasSnapshot || sh.acc.lastSecond < n) {
				complete = false
				break
			}
		}
		late := force && now.After(m.start.Add(time.Duration(n+1)*time.Second+lateAfter))
		if !complete && !late {
			break
		}
		s := m.secs[n]
		if s == nil {
			continue
		}
		m.seal(s)
		s.published = true
		if !s.iv.Warmup {
			m.total.seconds += s.iv.Seconds
		}
		// With its histograms (the run's checkpoint adds them up), and
		// its maps copied: a late snapshot changes the second's own.
		iv := s.iv
		iv.StatusCodes, iv.ErrorClasses = maps.Clone(iv.StatusCodes), maps.Clone(iv.ErrorClasses)
		out = append(out, loadgen.Progress{Elapsed: now.Sub(m.start), Interval: iv, SoFar: m.soFar()})
	}
	return out
}

// seal computes a second's figures from its histograms and keeps them
// encoded, freeing the histograms.
func (m *merger) seal(s *secAcc) {
	main := s.svc
	if m.open {
		main = s.lat
	}
	iv := &s.iv
	iv.P50Ms, iv.P90Ms, iv.P99Ms = ms(main.Quantile(0.5)), ms(main.Quantile(0.9)), ms(main.Quantile(0.99))
	if iv.Seconds > 0 {
		iv.AchievedRPS = float64(s.responses) / iv.Seconds
	}
	iv.Latency, iv.ServiceTime = "", ""
	if s.lat.Count() > 0 {
		iv.Latency = s.lat.MustEncode()
	}
	if s.svc.Count() > 0 {
		iv.ServiceTime = s.svc.MustEncode()
	}
	s.lat, s.svc = nil, nil
}

func (m *merger) soFar() loadgen.Totals {
	main := m.svc
	if m.open {
		main = m.lat
	}
	t := loadgen.Totals{Requests: m.total.requests, Errors: m.total.errors,
		P50: main.Quantile(0.5), P90: main.Quantile(0.9), P99: main.Quantile(0.99)}
	if m.total.seconds > 0 {
		t.RPS = float64(m.total.responses) / m.total.seconds
	}
	return t
}

// timeline is the merged timeline, without the per-second histograms
// unless a share's plan keeps them.
func (m *merger) timeline(shares []*share) []spec.Interval {
	keep := false
	for _, sh := range shares {
		keep = keep || sh.plan != nil && sh.plan.IntervalHistograms
	}
	secs := make([]int, 0, len(m.secs))
	for sec := range m.secs {
		secs = append(secs, sec)
	}
	sort.Ints(secs)
	out := make([]spec.Interval, 0, len(secs))
	for _, sec := range secs {
		s := m.secs[sec]
		if !s.published {
			m.seal(s)
			s.published = true
		}
		iv := s.iv
		if !keep {
			iv.Latency, iv.ServiceTime = "", ""
		}
		out = append(out, iv)
	}
	return out
}

// result is what a share's snapshots add up to, for a share lost before
// its final result; nil when it sent none.
func (a *shareAcc) result(sh *share, start time.Time) *spec.Result {
	if !a.hasSnapshot {
		return nil
	}
	r := &spec.Result{
		Schema:    spec.ResultSchema,
		Generator: spec.GeneratorInfo{Name: "meshperf", Fidelity: "hdr", HistogramResolutionUs: hist.Lowest},
		StartTime: start.UTC(),
		EndTime:   start.Add(time.Duration(a.lastSecond+1) * time.Second).UTC(),
		Notes:     []string{fmt.Sprintf("agent %s was lost before its final result: its figures are the sum of the %d snapshots it sent (bytes, late sends and TLS handshakes unknown)", sh.name, a.snapshots)},
	}
	if sh.plan != nil {
		r.Requested = sh.plan.Requested()
	}
	ac := &r.Achieved
	ac.Duration = spec.Duration(time.Duration(a.seconds * float64(time.Second)))
	ac.Requests, ac.Responses, ac.Errors, ac.Dropped = a.requests, a.responses, a.errors, a.dropped
	if a.seconds > 0 {
		ac.RPS = float64(a.responses) / a.seconds
	}
	if a.requests > 0 {
		ac.ErrorRate = float64(a.errors) / float64(a.requests)
	}
	if sh.plan != nil && sh.plan.OpenLoop() {
		r.Latency = spec.Summarize(a.lat)
	}
	r.ServiceTime = spec.Summarize(a.svc)
	if len(a.codes) > 0 {
		r.StatusCodes = make(map[int]int64, len(a.codes))
		for c, n := range a.codes {
			r.StatusCodes[c] = n
		}
	}
	for c, n := range a.classes {
		r.Errors = append(r.Errors, spec.ErrorClass{Class: c, Count: n})
	}
	sort.Slice(r.Errors, func(i, j int) bool { return r.Errors[i].Count > r.Errors[j].Count })
	return r
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// mergeTLS sets res.TLS to the sum of the agents' TLS figures (results[i]
// is names[i]'s share; counts summed, handshake-time histograms added) and
// replaces the agents' own TLS notes, which the merge of notes carried
// over, with one for the sum. When the shares disagree on session
// resumption (clients with different tls_no_resumption) the merged flag
// is off and a note says which share ran how. Shares lost before their
// final result sent no TLS figures: the sum leaves them out (their own
// note says their TLS handshakes are unknown).
func mergeTLS(res *spec.Result, results []*spec.Result, names []string) error {
	return spec.SetMergedTLS(res, results, names, "agent shares")
}
