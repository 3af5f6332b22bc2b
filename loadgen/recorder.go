package loadgen

import (
	"context"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/spec"
)

// maxExamples is how many distinct messages are kept per error class.
const maxExamples = 3

// collectGrace is how long after a second ends the recorder waits before
// closing it, so that requests completed just before the boundary are in.
const collectGrace = 20 * time.Millisecond

// Outcome is one finished request, with times measured from the start of
// the run.
type Outcome struct {
	// Intended is when the request should have been sent (open loop);
	// negative in closed loop.
	Intended time.Duration
	Sent     time.Duration
	Done     time.Duration
	// Status is the response status, 0 when Err is set; for gRPC, the
	// call's status code (0 OK), also when Err is set.
	Status int
	Err    error
}

// acc accumulates one second of one shard.
type acc struct {
	lat, svc        *hist.Histogram
	responses       int64
	transportErrors int64
	badStatus       int64
	late, dropped   int64
	lastDone        time.Duration
	codes           map[int]int64
	classes         map[string]int64
	hasData         bool
}

func newAcc() *acc {
	return &acc{lat: hist.New(), svc: hist.New(), codes: map[int]int64{}, classes: map[string]int64{}}
}

func (a *acc) reset() {
	if !a.hasData {
		return
	}
	a.lat.Reset()
	a.svc.Reset()
	a.responses, a.transportErrors, a.badStatus, a.late, a.dropped, a.lastDone = 0, 0, 0, 0, 0, 0
	clear(a.codes)
	clear(a.classes)
	a.hasData = false
}

func (a *acc) merge(o *acc) {
	if !o.hasData {
		return
	}
	a.lat.Merge(o.lat)
	a.svc.Merge(o.svc)
	a.responses += o.responses
	a.transportErrors += o.transportErrors
	a.badStatus += o.badStatus
	a.late += o.late
	a.dropped += o.dropped
	a.lastDone = max(a.lastDone, o.lastDone)
	for k, v := range o.codes {
		a.codes[k] += v
	}
	for k, v := range o.classes {
		a.classes[k] += v
	}
	a.hasData = true
}

func (a *acc) requests() int64 { return a.responses + a.transportErrors + a.dropped }
func (a *acc) errors() int64   { return a.transportErrors + a.badStatus + a.dropped }

// Shard is one lock's worth of the Recorder; each worker records into the
// shard it was given, so workers seldom contend.
type Shard struct {
	mu       sync.Mutex
	cur      int  // the second acc a holds
	a, b     *acc // a: second cur and earlier late arrivals; b: later seconds
	spare    *acc
	examples map[string][]string
	late     time.Duration
	protocol string // the plan's: how to read Outcome.Status
}

// Record adds one finished request.
func (s *Shard) Record(o *Outcome) {
	sec := int(o.Done / time.Second)
	s.mu.Lock()
	a := s.a
	if sec > s.cur {
		a = s.b
	}
	a.hasData = true
	if o.Done > a.lastDone {
		a.lastDone = o.Done
	}
	if o.Err != nil {
		class := Classify(o.Err)
		a.transportErrors++
		a.classes[class]++
		s.example(class, o.Err.Error())
		if s.protocol == ProtocolGRPC {
			a.codes[o.Status]++ // every call ends with a status
		}
	} else {
		a.responses++
		switch s.protocol {
		case ProtocolGRPC:
			a.codes[o.Status]++ // OK: failed calls come with Err
		case ProtocolTCP: // no status
		default:
			a.codes[o.Status]++
			if o.Status < 200 || o.Status >= 400 {
				a.badStatus++
			}
		}
		a.svc.Record(o.Done - o.Sent)
		if o.Intended >= 0 {
			a.lat.Record(o.Done - o.Intended)
		}
	}
	if o.Intended >= 0 && o.Sent-o.Intended > s.late {
		a.late++
	}
	s.mu.Unlock()
}

// Drop counts n requests that were never sent, at time at.
func (s *Shard) Drop(n int64, at time.Duration, why string) {
	if n <= 0 {
		return
	}
	sec := int(at / time.Second)
	s.mu.Lock()
	a := s.a
	if sec > s.cur {
		a = s.b
	}
	a.hasData = true
	a.dropped += n
	a.classes[ClassDropped] += n
	s.example(ClassDropped, why)
	s.mu.Unlock()
}

func (s *Shard) example(class, msg string) {
	ex := s.examples[class]
	if len(ex) >= maxExamples {
		return
	}
	for _, e := range ex {
		if e == msg {
			return
		}
	}
	s.examples[class] = append(ex, msg)
}

// Recorder aggregates outcomes into per-second intervals and the run's
// totals. Intervals are closed a little after each second ends and sent to
// the Sink; the run's histograms are the sum of its non-warm-up intervals.
type Recorder struct {
	open     bool
	keepHist bool
	sinkHist bool
	warmup   int // seconds
	shape    Shape
	shards   []*Shard
	sink     Sink
	start    time.Time
	mu       sync.Mutex // guards the fields below, for Finish after Run
	next     int        // next second to close
	total    *acc       // measured part
	warm     *acc       // warm-up part
	iv       *acc       // scratch for the interval being closed
	tl       []spec.Interval
	lastEnd  time.Duration
}

// NewRecorder makes a recorder for a run starting at start. Shards are
// sized to the machine.
func NewRecorder(p *Plan, start time.Time, sink Sink) *Recorder {
	n := 2 * runtime.GOMAXPROCS(0)
	if n > p.Connections*p.Streams {
		n = max(1, p.Connections*p.Streams)
	}
	r := &Recorder{
		open:     p.OpenLoop(),
		keepHist: p.IntervalHistograms,
		sinkHist: wantsHistograms(sink),
		warmup:   int(p.Warmup / time.Second),
		shape:    p.Rate,
		sink:     sink,
		start:    start,
		total:    newAcc(),
		warm:     newAcc(),
		iv:       newAcc(),
	}
	for i := 0; i < n; i++ {
		r.shards = append(r.shards, &Shard{
			a: newAcc(), b: newAcc(), spare: newAcc(), cur: 0,
			examples: map[string][]string{}, late: p.LateThreshold,
			protocol: p.Protocol,
		})
	}
	return r
}

// Shard returns the shard for worker i.
func (r *Recorder) Shard(i int) *Shard { return r.shards[i%len(r.shards)] }

// Run closes one interval a second until ctx ends.
func (r *Recorder) Run(ctx context.Context) {
	t := time.NewTimer(time.Until(r.start.Add(time.Second + collectGrace)))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		elapsed := time.Since(r.start)
		r.mu.Lock()
		for time.Duration(r.next+1)*time.Second+collectGrace <= elapsed {
			r.closeSecond(time.Second, elapsed)
		}
		next := r.next
		r.mu.Unlock()
		t.Reset(time.Until(r.start.Add(time.Duration(next+1)*time.Second + collectGrace)))
	}
}

// closeSecond closes second r.next, whose length is length. Caller holds r.mu.
func (r *Recorder) closeSecond(length, elapsed time.Duration) {
	iv := r.iv
	iv.reset()
	for _, s := range r.shards {
		s.mu.Lock()
		taken := s.a
		s.a, s.b, s.spare = s.b, s.spare, taken
		s.cur = r.next + 1
		s.mu.Unlock()
		iv.merge(taken)
		taken.reset()
	}
	r.emit(iv, length, elapsed)
	r.next++
}

func (r *Recorder) emit(iv *acc, length, elapsed time.Duration) {
	sec := r.next
	warm := sec < r.warmup
	main := iv.lat
	if !r.open {
		main = iv.svc
	}
	out := spec.Interval{
		Second:      sec,
		Warmup:      warm,
		Seconds:     length.Seconds(),
		Requests:    iv.requests(),
		Errors:      iv.errors(),
		AchievedRPS: float64(iv.responses) / length.Seconds(),
		P50Ms:       ms(main.Quantile(0.50)),
		P90Ms:       ms(main.Quantile(0.90)),
		P99Ms:       ms(main.Quantile(0.99)),
	}
	if r.shape != nil {
		out.RequestedRPS = r.shape.RateAt(time.Duration(sec)*time.Second + length/2)
	}
	if len(iv.codes) > 0 {
		out.StatusCodes = make(map[int]int64, len(iv.codes))
		for k, v := range iv.codes {
			out.StatusCodes[k] = v
		}
	}
	if len(iv.classes) > 0 {
		out.ErrorClasses = make(map[string]int64, len(iv.classes))
		for k, v := range iv.classes {
			out.ErrorClasses[k] = v
		}
	}
	// Encoding costs a compressor's worth of garbage a second: only for
	// whoever keeps the histograms.
	if r.keepHist || r.sinkHist {
		if r.open && iv.lat.Count() > 0 {
			out.Latency = iv.lat.MustEncode()
		}
		if iv.svc.Count() > 0 {
			out.ServiceTime = iv.svc.MustEncode()
		}
	}
	into := r.total
	if warm {
		into = r.warm
	}
	into.merge(iv)
	if iv.lastDone > r.lastEnd {
		r.lastEnd = iv.lastDone
	}
	kept := out
	if !r.keepHist {
		kept.Latency, kept.ServiceTime = "", ""
	}
	r.tl = append(r.tl, kept)
	if r.sink != nil {
		r.sink.Progress(Progress{Elapsed: elapsed, Interval: out, SoFar: r.totals(into, warm)})
	}
}

func (r *Recorder) totals(a *acc, warm bool) Totals {
	main := a.lat
	if !r.open {
		main = a.svc
	}
	span := r.lastEnd - time.Duration(r.warmup)*time.Second
	if warm {
		span = r.lastEnd
	}
	t := Totals{
		Requests: a.requests(),
		Errors:   a.errors(),
		P50:      main.Quantile(0.5),
		P90:      main.Quantile(0.9),
		P99:      main.Quantile(0.99),
	}
	if span > 0 {
		t.RPS = float64(a.responses) / span.Seconds()
	}
	return t
}

// Finish closes the remaining intervals once every request has finished
// (end is the time of the last completion) and fills res with the totals.
func (r *Recorder) Finish(end time.Duration, res *spec.Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	lastSec := int(end / time.Second)
	for r.next <= lastSec {
		length := time.Second
		if r.next == lastSec {
			length = end - time.Duration(lastSec)*time.Second
			if length <= 0 {
				// Nothing can be in a zero-length second except what a
				// shard holds for it; fold it into the previous one.
				length = time.Millisecond
			}
		}
		r.closeSecond(length, end)
	}
	// Anything recorded after end (should not happen) lands in one more interval.
	r.iv.reset()
	for _, s := range r.shards {
		r.iv.merge(s.a)
		r.iv.merge(s.b)
	}
	if r.iv.hasData {
		r.closeExtra(end)
	}
	r.fill(end, res)
}

func (r *Recorder) closeExtra(end time.Duration) {
	r.emit(r.iv, time.Millisecond, end)
	r.next++
}

func (r *Recorder) fill(end time.Duration, res *spec.Result) {
	t := r.total
	warmEnd := time.Duration(r.warmup) * time.Second
	measured := max(r.lastEnd, end) - warmEnd
	if measured < 0 {
		measured = 0
	}
	a := &res.Achieved
	a.Duration = spec.Duration(measured)
	a.Requests = t.requests()
	a.Responses = t.responses
	a.Errors = t.errors()
	a.Dropped = t.dropped
	a.Late = t.late
	if measured > 0 {
		a.RPS = float64(t.responses) / measured.Seconds()
	}
	if a.Requests > 0 {
		a.ErrorRate = float64(a.Errors) / float64(a.Requests)
	}
	if r.open {
		if sent := t.responses + t.transportErrors; sent > 0 {
			a.LateRatio = float64(t.late) / float64(sent)
		}
		res.Latency = spec.Summarize(t.lat)
	}
	res.ServiceTime = spec.Summarize(t.svc)
	if len(t.codes) > 0 {
		res.StatusCodes = make(map[int]int64, len(t.codes))
		for k, v := range t.codes {
			res.StatusCodes[k] = v
		}
	}
	res.Errors = r.errorClasses(t)
	res.Timeline = r.tl
}

func (r *Recorder) errorClasses(t *acc) []spec.ErrorClass {
	var out []spec.ErrorClass
	for class, n := range t.classes {
		ec := spec.ErrorClass{Class: class, Count: n}
		for _, s := range r.shards {
			s.mu.Lock()
			for _, e := range s.examples[class] {
				if len(ec.Examples) < maxExamples && !contains(ec.Examples, e) {
					ec.Examples = append(ec.Examples, e)
				}
			}
			s.mu.Unlock()
		}
		out = append(out, ec)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Class < out[j].Class
	})
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func wantsHistograms(s Sink) bool {
	h, ok := s.(HistogramSink)
	return ok && h.WantsHistograms()
}
