package runs

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

// Nothing measured is lost: a running test's result is saved every
// SaveEvery (the merged histograms so far, marked interrupted), so that a
// crash keeps it; the final save is retried; and runs belong to this
// server instance, whose heartbeat in the store tells a second server
// (or this one restarted) which runs are live.

// Defaults of the durability options.
const (
	DefaultSaveEvery       = 10 * time.Second
	DefaultInstanceTimeout = 30 * time.Second
	DefaultSaveRetries     = 5
	DefaultSaveBackoff     = time.Second
	maxSaveBackoff         = 30 * time.Second
)

// retry calls f until it succeeds, at most 1+retries times, waiting
// backoff (doubled each time, at most maxSaveBackoff) between tries; it
// returns the last error and how many tries it took.
func retry(ctx context.Context, retries int, backoff time.Duration, f func() error) (tries int, err error) {
	wait := backoff
	for tries = 1; ; tries++ {
		if err = f(); err == nil || tries > retries {
			return tries, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return tries, errors.Join(err, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, maxSaveBackoff)
	}
}

// heartbeat keeps this instance's heartbeat fresh and interrupts the runs
// of instances that stopped beating (a server that was killed): at start,
// then every instanceTimeout/3 until ctx ends.
func (m *Service) heartbeat(ctx context.Context) {
	every := max(m.instanceTimeout/3, 10*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		m.beat(ctx)
	}
}

// beat records the heartbeat, then interrupts orphaned runs.
func (m *Service) beat(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := m.st.Heartbeat(ctx, m.instance); err != nil {
		m.log.Warn("heartbeat not saved", logKeyErr, err)
		return
	}
	n, err := m.st.InterruptOrphanedRuns(ctx, m.instance,
		"interrupted: the server running it stopped (no heartbeat); the result keeps what was saved while it ran",
		time.Now().Add(-m.instanceTimeout))
	if err != nil {
		m.log.Error("interrupting runs of stopped servers", logKeyErr, err)
	} else if n > 0 {
		m.log.Warn("runs of a stopped server marked interrupted", logKeyCount, n)
	}
}

// checkpoint adds up a running test's seconds as they close, histograms
// included, so that its result so far can be saved.
type checkpoint struct {
	mu       sync.Mutex
	start    time.Time
	plans    []*loadgen.Plan
	lat, svc *hist.Histogram
	requests int64
	errors   int64
	dropped  int64
	seconds  float64
	last     int
	codes    map[int]int64
	classes  map[string]int64
	timeline map[int]*spec.Interval // per second, without histograms
	changed  bool
}

func newCheckpoint(start time.Time, plans []*loadgen.Plan) *checkpoint {
	return &checkpoint{start: start, plans: plans, lat: hist.New(), svc: hist.New(),
		codes: map[int]int64{}, classes: map[string]int64{}, timeline: map[int]*spec.Interval{}}
}

// add takes one closed second (of one client, or merged over agents).
// Its histograms, when absent or not of meshperf's layout, add nothing.
func (c *checkpoint) add(iv spec.Interval) {
	lat, _ := decodeStrict(iv.Latency)
	svc, _ := decodeStrict(iv.ServiceTime)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.changed = true
	t := c.timeline[iv.Second]
	if t == nil {
		if len(c.timeline) >= maxEvents {
			return
		}
		t = &spec.Interval{Second: iv.Second}
		c.timeline[iv.Second] = t
	}
	t.Warmup = t.Warmup || iv.Warmup
	t.Seconds = max(t.Seconds, iv.Seconds)
	t.Requests += iv.Requests
	t.Errors += iv.Errors
	t.RequestedRPS += iv.RequestedRPS
	t.AchievedRPS += iv.AchievedRPS
	t.P50Ms, t.P90Ms, t.P99Ms = max(t.P50Ms, iv.P50Ms), max(t.P90Ms, iv.P90Ms), max(t.P99Ms, iv.P99Ms)
	if iv.Warmup {
		return
	}
	c.lat.Merge(lat)
	c.svc.Merge(svc)
	c.requests += iv.Requests
	c.errors += iv.Errors
	c.dropped += iv.ErrorClasses[loadgen.ClassDropped]
	if iv.Second >= c.last {
		c.seconds += iv.Seconds
		c.last = iv.Second + 1
	}
	for k, n := range iv.StatusCodes {
		c.codes[k] += n
	}
	for k, n := range iv.ErrorClasses {
		c.classes[k] += n
	}
}

// sink is a client's Sink that also feeds the checkpoint, histograms
// included.
func (c *checkpoint) sink(next loadgen.Sink) loadgen.Sink {
	return checkpointSink{c: c, next: next}
}

type checkpointSink struct {
	c    *checkpoint
	next loadgen.Sink
}

var _ loadgen.HistogramSink = checkpointSink{}

func (s checkpointSink) WantsHistograms() bool { return true }

func (s checkpointSink) Progress(p loadgen.Progress) {
	s.c.add(p.Interval)
	s.next.Progress(p)
}

// result is the run so far, marked interrupted (it is, if this is what
// survives), or nil when nothing new was measured since the last call.
func (c *checkpoint) result(now time.Time) *spec.Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.changed || len(c.timeline) == 0 {
		return nil
	}
	c.changed = false
	r := &spec.Result{
		Schema:      spec.ResultSchema,
		Generator:   spec.GeneratorInfo{Name: "meshperf", Fidelity: "hdr"},
		StartTime:   c.start.UTC(),
		EndTime:     now.UTC(),
		Interrupted: true,
		Notes: []string{fmt.Sprintf("partial: saved while the test ran, at %s; the test did not end here unless its server stopped",
			now.UTC().Format(time.RFC3339))},
	}
	for i, p := range c.plans {
		q := p.Requested()
		if i == 0 {
			r.Requested = q
			continue
		}
		r.Requested.RPS += q.RPS
		r.Requested.Connections += q.Connections
		r.Requested.Targets = append(r.Requested.Targets, q.Targets...)
	}
	a := &r.Achieved
	a.Duration = spec.Duration(time.Duration(c.seconds * float64(time.Second)))
	a.Requests, a.Errors, a.Dropped, a.Responses = c.requests, c.errors, c.dropped, c.svc.Count()
	if c.seconds > 0 {
		a.RPS = float64(a.Responses) / c.seconds
	}
	if a.Requests > 0 {
		a.ErrorRate = float64(a.Errors) / float64(a.Requests)
	}
	if r.Requested.OpenLoop {
		r.Latency = spec.Summarize(c.lat)
	}
	r.ServiceTime = spec.Summarize(c.svc)
	if len(c.codes) > 0 {
		r.StatusCodes = make(map[int]int64, len(c.codes))
		for k, n := range c.codes {
			r.StatusCodes[k] = n
		}
	}
	for k, n := range c.classes {
		r.Errors = append(r.Errors, spec.ErrorClass{Class: k, Count: n})
	}
	sort.Slice(r.Errors, func(i, j int) bool { return r.Errors[i].Count > r.Errors[j].Count })
	secs := make([]int, 0, len(c.timeline))
	for s := range c.timeline {
		secs = append(secs, s)
	}
	sort.Ints(secs)
	for _, s := range secs {
		r.Timeline = append(r.Timeline, *c.timeline[s])
	}
	return r
}

// saver saves a run's result: the partial ones every SaveEvery while it
// runs, then the final one over them, retried.
type saver struct {
	m      *Service
	run    *store.Run
	cp     *checkpoint
	mu     sync.Mutex
	id     string // the saved result's, once there is one
	stop   context.CancelFunc
	done   chan struct{}
	failed error // the last partial save's failure
}

// startSaver saves cp's result every SaveEvery until stopped.
func (m *Service) startSaver(run *store.Run, cp *checkpoint) *saver {
	ctx, stop := context.WithCancel(context.Background())
	sv := &saver{m: m, run: run, cp: cp, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(sv.done)
		if m.saveEvery <= 0 {
			return
		}
		t := time.NewTicker(m.saveEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				if res := cp.result(now); res != nil {
					sv.savePartial(ctx, res)
				}
			}
		}
	}()
	return sv
}

func (sv *saver) ref() store.ResultRef {
	r := sv.run
	return store.ResultRef{ProfileID: r.ProfileID, ProfileRevision: r.ProfileRevision, OwnerID: r.OwnerID, Private: r.Private}
}

// savePartial saves res as the run's result so far; a failure is logged
// and tried again at the next tick.
func (sv *saver) savePartial(ctx context.Context, res *spec.Result) {
	r := sv.run
	res.Name, res.Labels, res.ProfileID, res.ProfileRevision = r.Name, r.Labels, r.ProfileID, r.ProfileRevision
	sv.mu.Lock()
	defer sv.mu.Unlock()
	var err error
	if sv.id == "" {
		var id string
		if id, err = sv.m.st.SaveResult(ctx, res, sv.ref()); err == nil {
			sv.id = id
			err = sv.m.st.SetRunResult(ctx, r.ID, id)
		}
	} else {
		res.ID = sv.id
		err = sv.m.st.ReplaceResult(ctx, res)
	}
	sv.failed = err
	if err != nil {
		sv.m.log.Warn("partial result not saved; trying again at the next save", logKeyRun, r.ID, logKeyErr, err)
	}
}

// final stops the partial saves and saves res over them, retried with
// backoff; it returns the result's id, or why it could not be saved.
func (sv *saver) final(ctx context.Context, res *spec.Result) (string, error) {
	sv.stop()
	<-sv.done
	sv.mu.Lock()
	defer sv.mu.Unlock()
	tries, err := retry(ctx, sv.m.saveRetries, sv.m.saveBackoff, func() error {
		if sv.id != "" {
			res.ID = sv.id
			return sv.m.st.ReplaceResult(ctx, res)
		}
		id, err := sv.m.st.SaveResult(ctx, res, sv.ref())
		if err == nil {
			sv.id = id
		}
		return err
	})
	if err != nil {
		return sv.id, fmt.Errorf("the result could not be saved (%d tries): %w", tries, err)
	}
	if tries > 1 {
		sv.m.log.Warn("result saved after retries", logKeyRun, sv.run.ID, "tries", tries)
	}
	return sv.id, nil
}

// decodeStrict decodes a histogram of meshperf's layout; nil for "".
// A nil *hist.Histogram counts 0.
func decodeStrict(s string) (*hist.Histogram, error) {
	if s == "" {
		return nil, nil
	}
	return hist.DecodeStrict(s)
}
