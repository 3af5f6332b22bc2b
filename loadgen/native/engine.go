// Package native is meshperf's own load engine: HTTP/1.1 with keep-alive,
// HTTP/2 over TLS (ALPN) and h2c (prior knowledge), gRPC unary calls (the
// health check, or any method given a descriptor set or through server
// reflection) and TCP request/response, open loop with coordinated-omission
// correction or closed loop.
//
// In an open-loop run the plan's Shape gives request n its intended send
// time. Workers (one per connection, or per stream for HTTP/2) take the next
// request number from a shared counter, wait for its time if it is still
// ahead, and send. When every worker is busy, due requests wait: that is the
// queue, kept as nothing more than the counter, and the wait counts in their
// latency (completion minus intended time), as wrk2 does. If more than
// QueueSize requests are due and unsent, the oldest are dropped and counted.
package native

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/loadgen/hrtime"
	"github.com/meshperf/meshperf/spec"
)

// Name is the generator's name in results.
const Name = "meshperf"

// Engine is the native Generator.
type Engine struct {
	// Version is recorded in results and sent as the User-Agent.
	Version string
	// Goroutines turns the event loops off: HTTP/1.1 (plain and TLS) then
	// runs on a goroutine per connection, and the HTTP/2 closed loop on a
	// goroutine per stream. For comparisons and tests.
	Goroutines bool
	// GRPCChannels sends gRPC calls through grpc-go's channels instead of
	// the engine's HTTP/2 client. For comparisons and tests.
	GRPCChannels bool
}

var _ loadgen.Generator = (*Engine)(nil)

// Info implements loadgen.Generator.
func (e *Engine) Info() loadgen.Info { return loadgen.Info{Name: Name, Version: e.version()} }

func (e *Engine) version() string {
	if e.Version == "" {
		return "dev"
	}
	return e.Version
}

// doer sends one request to target ti and returns its status.
type doer interface {
	do(ctx context.Context, ti int) (int, error)
	closeAll()
}

// Run implements loadgen.Generator. It works on its own copy of p: the
// caller's plan is neither normalized nor widened (its LateThreshold) by
// the run.
func (e *Engine) Run(ctx context.Context, p *loadgen.Plan, sink loadgen.Sink) (*spec.Result, error) {
	plan := *p // Normalize and the run set fields only, so a copy of the struct keeps p as it was
	plan.Normalize()
	if err := plan.Validate(); err != nil {
		return nil, err
	}
	t, err := e.buildTransport(ctx, &plan)
	if err != nil {
		return nil, err
	}
	defer t.close()
	if t.loop && plan.Rate != nil {
		// Lateness within the batching window is by design, not a sign of
		// busy connections: late means late beyond it.
		plan.LateThreshold += widestBatch(&plan)
	}
	out, err := runWorkers(ctx, &plan, t, sink)
	if err != nil {
		return nil, err
	}
	return e.finishResult(ctx, &plan, t, out), nil
}

// transport is what a run's requests go over: the event loops' targets, or
// the clients of the goroutine workers (at most one of h1targets, h2, gp,
// tcps is set).
type transport struct {
	loop      bool // the event loops run the whole test on evts
	evts      []*evTarget
	h1targets []*h1Target
	h2        *h2Pool
	gp        *grpcPool
	tcps      []tcpTarget
	// tls gathers the TLS handshakes of every connection.
	tls *tlsStats
	// workers is the number of goroutine workers: one per connection, or
	// per stream for HTTP/2 and gRPC.
	workers int
}

// buildTransport resolves p's targets and opens what its requests go over:
// the event loops for plain HTTP/1.1 when they can run it, else the
// protocol's client.
func (e *Engine) buildTransport(ctx context.Context, p *loadgen.Plan) (*transport, error) {
	t := &transport{workers: p.Connections, tls: newTLSStats(p)}
	if !e.Goroutines {
		t.evts, t.loop = evTargets(ctx, p, e.version(), t.tls)
	}
	var err error
	switch {
	case t.loop:
		// the event loop needs nothing more
	case p.Protocol == loadgen.ProtocolGRPC && !e.GRPCChannels:
		t.h2, err = newGRPCH2Pool(ctx, p, e.version())
		t.workers = p.Connections * p.Streams
	case p.Protocol == loadgen.ProtocolGRPC:
		t.gp, err = newGRPCPool(ctx, p, e.version())
		t.workers = p.Connections * p.Streams
	case p.Protocol == loadgen.ProtocolTCP:
		t.tcps, err = newTCPTargets(p)
	case p.HTTPVersion == loadgen.HTTP1:
		t.h1targets, err = newH1Targets(p, e.version(), t.tls)
	default:
		t.h2, err = newH2Pool(p, e.version(), !e.Goroutines)
		t.workers = p.Connections * p.Streams
	}
	if err != nil {
		return nil, err
	}
	if t.h2 != nil {
		t.h2.tlsStats = t.tls
	}
	return t, nil
}

// close closes the pools the transport holds.
func (t *transport) close() {
	if t.h2 != nil {
		t.h2.close()
	}
	if t.gp != nil {
		t.gp.close()
	}
}

// driven tells whether HTTP/2 connections drive their own streams (no
// goroutine per stream: h2drive.go).
func (t *transport) driven() bool { return t.h2 != nil && t.h2.driven }

// doer returns worker w's client.
func (t *transport) doer(p *loadgen.Plan, w int) doer {
	switch {
	case t.h2 != nil && t.h2.grpc:
		return newGRPCH2Doer(t.h2, w%p.Connections)
	case t.h2 != nil:
		return newH2Doer(t.h2, w%p.Connections)
	case t.gp != nil:
		return grpcDoer{pool: t.gp, ci: w % p.Connections}
	case t.tcps != nil:
		return newTCPClient(t.tcps, p)
	default:
		return newH1Client(t.h1targets, p)
	}
}

// widestBatch is the widest batching window of an open-loop run on the
// event loops, sampled each second.
func widestBatch(p *loadgen.Plan) time.Duration {
	var batch time.Duration
	for t := time.Duration(0); t <= min(lastIntended(p), time.Hour); t += time.Second {
		batch = max(batch, p.ResolutionAt(t))
	}
	return batch
}

// outcome is what the workers of a run measured, for finishResult.
type outcome struct {
	rec        *loadgen.Recorder
	start      time.Time
	end        time.Duration // when the last request completed, from start
	sent, got  int64         // bytes on the wire
	endedEarly string        // why the connect gate ended the run, or ""
}

// byteCounter is a doer that counts the bytes it sent and received.
type byteCounter interface{ bytes() (sent, got int64) }

// tally gathers what the workers report as they end: when their last
// request completed, and the bytes they counted.
type tally struct {
	lastDone  atomic.Int64
	mu        sync.Mutex
	sent, got int64
}

func (tl *tally) noteLast(last time.Duration) {
	for {
		cur := tl.lastDone.Load()
		if int64(last) <= cur || tl.lastDone.CompareAndSwap(cur, int64(last)) {
			return
		}
	}
}

func (tl *tally) addBytes(sent, got int64) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.sent += sent
	tl.got += got
}

// runWorkers runs the test: the recorder, and the workers until the plan
// is done or ctx ends; then it says what they measured.
func runWorkers(ctx context.Context, p *loadgen.Plan, t *transport, sink loadgen.Sink) (*outcome, error) {
	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	start := time.Now()
	rec := loadgen.NewRecorder(p, start, sink)
	recCtx, stopRec := context.WithCancel(context.Background())
	recDone := make(chan struct{})
	go func() { rec.Run(recCtx); close(recDone) }()
	stopRecorder := func() { stopRec(); <-recDone }

	r := newRun(p, start, rec, newConnGate(cancelRun))
	var tl tally
	if err := r.drive(runCtx, t, &tl); err != nil {
		cancelRun()
		stopRecorder()
		return nil, err
	}
	out := &outcome{rec: rec, start: start, endedEarly: r.gate.endedEarly()}
	if out.endedEarly != "" && p.Rate != nil {
		r.dropDue(rec.Shard(0), time.Since(start), "not sent: nothing could connect")
	}
	stopRecorder()
	// The load is over: collect its garbage now, so the summary, the
	// report and the store start from the live heap alone and the end of a
	// run costs the same memory whatever the run's length (otherwise a long
	// run, whose collector goal grew mid-run, peaks higher than a short one).
	runtime.GC()

	out.end = time.Duration(tl.lastDone.Load())
	if out.end == 0 {
		out.end = time.Since(start)
	}
	out.sent, out.got = tl.sent, tl.got
	switch {
	case t.h2 != nil:
		out.sent, out.got = t.h2.bytes()
	case t.gp != nil:
		out.sent, out.got = t.gp.bytes()
	}
	return out, nil
}

// drive runs the test's workers, the event loops, the driven HTTP/2
// connections or one goroutine per connection (or stream), and waits for
// them all.
func (r *run) drive(ctx context.Context, t *transport, tl *tally) error {
	var wg sync.WaitGroup
	switch {
	case t.loop:
		loops, err := r.startLoops(ctx, t.evts, &wg)
		if err != nil {
			return err
		}
		wg.Wait()
		for _, l := range loops {
			tl.noteLast(l.last)
			tl.addBytes(l.written, l.read)
		}
	case t.driven():
		for ci := range r.plan.Connections {
			wg.Go(func() { tl.noteLast(r.driveH2(ctx, t.h2, ci)) })
		}
	default:
		for w := range t.workers {
			d := t.doer(r.plan, w)
			wg.Go(func() {
				defer d.closeAll()
				tl.noteLast(r.work(ctx, w, d))
				if bc, ok := d.(byteCounter); ok {
					tl.addBytes(bc.bytes())
				}
			})
		}
	}
	wg.Wait()
	return nil
}

// newRun is the shared state of the workers of a test starting at start.
func newRun(p *loadgen.Plan, start time.Time, rec *loadgen.Recorder, gate *connGate) *run {
	r := &run{plan: p, start: start, rec: rec, end: p.Warmup + p.Duration, gate: gate}
	r.abandon = r.end + p.Timeout
	if p.Duration == 0 {
		r.end = 1<<63 - 1
		r.abandon = r.end
	}
	if p.OpenLoop() && p.Warmup > 0 {
		r.firstMeasured = p.Rate.Count(p.Warmup - 1)
	}
	return r
}

// finishResult makes the run's result: the recorder's figures, what was
// asked next to what was done, and the notes a reader needs.
func (e *Engine) finishResult(ctx context.Context, p *loadgen.Plan, t *transport, o *outcome) *spec.Result {
	res := &spec.Result{
		Schema:    spec.ResultSchema,
		Name:      p.Name,
		Generator: spec.GeneratorInfo{Name: Name, Version: e.version(), Fidelity: "hdr", HistogramResolutionUs: hist.Lowest},
		Requested: p.Requested(),
		StartTime: o.start.UTC(),
		EndTime:   o.start.Add(o.end).UTC(),
	}
	o.rec.Finish(o.end, res)
	if t.loop && p.Rate != nil {
		res.Requested.Resolution = spec.Duration(p.ResolutionAt(p.Warmup))
		if res.Requested.Resolution > 0 {
			res.Notes = append(res.Notes, fmt.Sprintf("requests due within %s were sent together (--resolution), each at most that late; the lateness is in their latency", res.Requested.Resolution))
		}
	}
	res.Achieved.BytesSent, res.Achieved.BytesReceived = o.sent, o.got
	if res.TLS = t.tls.result(); res.TLS != nil {
		res.Notes = append(res.Notes, res.TLS.Note())
	}
	res.Achieved.LateThreshold = spec.Duration(p.LateThreshold)
	if !p.OpenLoop() {
		res.Notes = append(res.Notes, "closed loop: requests were sent as fast as the connections allowed, so there are no intended send times and only service time is reported")
	}
	if p.Warmup > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("the first %s were warm-up: in the timeline, not in the summary", p.Warmup))
	}
	if t.h2 != nil || t.gp != nil {
		res.Notes = append(res.Notes, "bytes are counted on the wire for the whole run, warm-up included")
	}
	if t.gp != nil || (t.h2 != nil && t.h2.grpc) {
		res.Notes = append(res.Notes, "status codes are gRPC's (0 OK, 4 DEADLINE_EXCEEDED, 14 UNAVAILABLE...); calls that did not end OK are errors")
	}
	if o.endedEarly != "" {
		res.EndedEarly = o.endedEarly
		res.Notes = append(res.Notes, o.endedEarly)
	}
	if ctx.Err() != nil {
		res.Interrupted = true
		res.Notes = append(res.Notes, "interrupted: the figures cover the run up to the interruption")
	}
	return res
}

// startLoops starts the event loops, each with its share of the
// connections, and adds them to wg.
func (r *run) startLoops(ctx context.Context, targets []*evTarget, wg *sync.WaitGroup) ([]*evLoop, error) {
	p := r.plan
	n := p.Threads
	if n <= 0 {
		// One thread drives about 150k requests/s; more only pay off
		// with many connections and spare cores.
		n = min(runtime.GOMAXPROCS(0), max(1, p.Connections/128))
	}
	n = min(n, p.Connections)
	ids := make([][]int, n)
	for c := 0; c < p.Connections; c++ {
		ids[c%n] = append(ids[c%n], c)
	}
	loops := make([]*evLoop, n)
	for i := range loops {
		l, err := newEvLoop(r, targets, ids[i])
		if err != nil {
			for _, l := range loops[:i] {
				l.close()
			}
			return nil, err
		}
		loops[i] = l
	}
	for _, l := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.loop(ctx)
		}()
	}
	return loops, nil
}

// run is the shared state of the workers of one test.
type run struct {
	plan  *loadgen.Plan
	start time.Time
	rec   *loadgen.Recorder
	// end is when the last request may be intended (open loop) or started
	// (closed loop), from the start.
	end time.Duration
	// abandon is when requests still unsent are given up as dropped:
	// end plus the plan's timeout, never past the largest Duration (an
	// unbounded run's end plus anything would wrap round to the past).
	abandon time.Duration
	// next is the number of the next request to send.
	next atomic.Int64
	// firstMeasured is the number of the first request after warm-up
	// (open loop); measured counts requests after warm-up (closed loop).
	firstMeasured int64
	measured      atomic.Int64
	// gate backs connections off on failed connects and ends the run
	// when nothing connects (backoff.go).
	gate *connGate
}

// work runs one worker until the plan is done and returns the time its last
// request completed.
func (r *run) work(ctx context.Context, id int, d doer) time.Duration {
	shard := r.rec.Shard(id)
	p := r.plan
	ntargets := int64(len(p.Targets))
	var last time.Duration
	var sleeper *hrtime.Sleeper
	streak := 0 // failed connects in a row
	if p.Rate != nil {
		sleeper = hrtime.New()
		defer sleeper.Close()
	}
	for ctx.Err() == nil {
		var o loadgen.Outcome
		var n int64
		if p.Rate != nil {
			// Before taking a number, drop the oldest due requests past
			// the queue's bound, so what is sent never waited longer
			// than the queue allows.
			if now := time.Since(r.start); now > p.Rate.Time(r.next.Load()) {
				if due := p.Rate.Count(min(now, r.end-1)); due-r.next.Load() > int64(p.QueueSize) {
					r.dropOldest(shard, due-int64(p.QueueSize), now)
				}
			}
			n = r.next.Add(1) - 1
			if p.Requests > 0 && n >= r.firstMeasured+p.Requests {
				return last
			}
			at := p.Rate.Time(n)
			if at >= r.end {
				return last
			}
			now := time.Since(r.start)
			if at > now {
				if !sleeper.Until(ctx, r.start.Add(at)) {
					return last
				}
			} else if now > r.abandon {
				// The run is over and this request is still unsent: the
				// target never caught up. Count what is left as dropped.
				shard.Drop(1, now, errNotSent) // n, taken above
				r.dropRest(shard, now)
				return last
			}
			o.Intended = at
		} else {
			now := time.Since(r.start)
			if now >= r.end {
				return last
			}
			if now >= p.Warmup && p.Requests > 0 && r.measured.Add(1) > p.Requests {
				return last
			}
			n = r.next.Add(1) - 1
			o.Intended = -1
		}
		o.Sent = time.Since(r.start)
		o.Status, o.Err = d.do(ctx, int(n%ntargets))
		o.Done = time.Since(r.start)
		if o.Err != nil && ctx.Err() != nil {
			return last // our own cancellation, not the target's fault
		}
		shard.Record(&o)
		last = o.Done
		if o.Err != nil && isConnectError(o.Err) {
			streak++
			if !sleepCtx(ctx, r.gate.connectFailed(o.Done, streak, o.Err)) {
				return last
			}
		} else {
			streak = 0
			r.gate.ok(o.Done)
		}
	}
	return last
}

// sleepCtx waits d unless ctx ends first; it reports whether ctx is alive.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// dropDue counts the requests due by now and not yet taken as dropped,
// when a run ends early.
func (r *run) dropDue(shard *loadgen.Shard, now time.Duration, why string) {
	p := r.plan
	due := p.Rate.Count(min(now, r.end-1))
	if p.Requests > 0 {
		due = min(due, r.firstMeasured+p.Requests)
	}
	for {
		cur := r.next.Load()
		if cur >= due {
			return
		}
		if r.next.CompareAndSwap(cur, due) {
			shard.Drop(due-cur, now, why)
			return
		}
	}
}

// dropOldest skips requests up to (not including) number to, so that no
// more than the queue's size wait; whoever moves the counter counts them.
func (r *run) dropOldest(shard *loadgen.Shard, to int64, now time.Duration) {
	for {
		cur := r.next.Load()
		if cur >= to {
			return
		}
		if r.next.CompareAndSwap(cur, to) {
			shard.Drop(to-cur, now, fmt.Sprintf("queue full: more than %d requests were waiting for a free connection", r.plan.QueueSize))
			return
		}
	}
}

// dropRest counts every request still due at the end of the run, and not
// yet taken, as dropped.
func (r *run) dropRest(shard *loadgen.Shard, now time.Duration) {
	p := r.plan
	last := p.Rate.Count(r.end - 1) // requests intended before the end
	if p.Requests > 0 {
		last = min(last, r.firstMeasured+p.Requests)
	}
	for {
		cur := r.next.Load()
		if cur >= last {
			return
		}
		if r.next.CompareAndSwap(cur, last) {
			shard.Drop(last-cur, now, errNotSent)
			return
		}
	}
}

const errNotSent = "not sent: the run ended before a connection was free"

// lastIntended is when the last request of p may be intended.
func lastIntended(p *loadgen.Plan) time.Duration {
	if p.Duration == 0 {
		return time.Hour
	}
	return p.Warmup + p.Duration
}

var _ loadgen.Describer = (*Engine)(nil)

// Capabilities implements loadgen.Describer.
func (e *Engine) Capabilities() loadgen.Capabilities {
	return loadgen.Capabilities{
		Protocols:    []string{loadgen.ProtocolHTTP, loadgen.ProtocolGRPC, loadgen.ProtocolTCP},
		HTTPVersions: []string{loadgen.HTTP1, loadgen.HTTP2, loadgen.H2C},
		OpenLoop:     true, ClosedLoop: true,
		Shapes:  []string{"constant", "ramp", "steps"},
		Headers: true, Cookies: true, Body: true,
		SkipVerify: true, CAFile: true, ClientCert: true, SNI: true,
		Warmup: true, RequestCount: true, MultipleTargets: true,
		CorrectsCoordinatedOmission: true,
		Fidelity:                    loadgen.FidelityHDR,
	}
}
