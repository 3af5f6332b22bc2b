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
	// Goroutines turns the event loops off: plain HTTP/1.1 then runs on a
	// goroutine per connection, like TLS does, and the HTTP/2 closed loop
	// on a goroutine per stream. For comparisons and tests.
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

// Run implements loadgen.Generator.
func (e *Engine) Run(ctx context.Context, p *loadgen.Plan, sink loadgen.Sink) (*spec.Result, error) {
	p.Normalize()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	workers := p.Connections
	var (
		h1targets []*h1Target
		h2        *h2Pool
		gp        *grpcPool
		tcps      []tcpTarget
		evts      []*evTarget
		err       error
	)
	useLoop := false
	if !e.Goroutines {
		evts, useLoop = evTargets(ctx, p, e.version())
	}
	if useLoop {
		// the event loop needs nothing more
	} else if p.Protocol == loadgen.ProtocolGRPC && !e.GRPCChannels {
		if h2, err = newGRPCH2Pool(ctx, p, e.version()); err != nil {
			return nil, err
		}
		defer h2.close()
		workers = p.Connections * p.Streams
	} else if p.Protocol == loadgen.ProtocolGRPC {
		if gp, err = newGRPCPool(ctx, p, e.version()); err != nil {
			return nil, err
		}
		defer gp.close()
		workers = p.Connections * p.Streams
	} else if p.Protocol == loadgen.ProtocolTCP {
		if tcps, err = newTCPTargets(p); err != nil {
			return nil, err
		}
	} else if p.HTTPVersion == loadgen.HTTP1 {
		if h1targets, err = newH1Targets(p, e.version()); err != nil {
			return nil, err
		}
	} else {
		if h2, err = newH2Pool(p, e.version(), !e.Goroutines); err != nil {
			return nil, err
		}
		defer h2.close()
		workers = p.Connections * p.Streams
	}

	var batch time.Duration // the widest batching window of the run
	if useLoop && p.Rate != nil {
		// The widest window of the run, sampled each second.
		for t := time.Duration(0); t <= min(lastIntended(p), time.Hour); t += time.Second {
			batch = max(batch, p.ResolutionAt(t))
		}
		// Lateness within the window is by design, not a sign of
		// busy connections: late means late beyond it.
		p.LateThreshold += batch
	}

	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	start := time.Now()
	rec := loadgen.NewRecorder(p, start, sink)
	recCtx, stopRec := context.WithCancel(context.Background())
	recDone := make(chan struct{})
	go func() { rec.Run(recCtx); close(recDone) }()

	r := &run{plan: p, start: start, rec: rec, end: p.Warmup + p.Duration, gate: newConnGate(cancelRun)}
	if p.Duration == 0 {
		r.end = 1<<63 - 1
	}
	if p.OpenLoop() {
		r.firstMeasured = p.Rate.Count(p.Warmup - 1)
		if p.Warmup == 0 {
			r.firstMeasured = 0
		}
	}

	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		sent, got int64
		lastDone  atomic.Int64
	)
	noteLast := func(last time.Duration) {
		for {
			cur := lastDone.Load()
			if int64(last) <= cur || lastDone.CompareAndSwap(cur, int64(last)) {
				return
			}
		}
	}
	if useLoop {
		loops, err := r.startLoops(runCtx, evts, &wg)
		if err != nil {
			cancelRun()
			stopRec()
			<-recDone
			return nil, err
		}
		wg.Wait()
		for _, l := range loops {
			noteLast(l.last)
			sent += l.written
			got += l.read
		}
	}
	driven := h2 != nil && h2.driven
	for ci := 0; driven && ci < p.Connections; ci++ {
		wg.Add(1)
		go func() { defer wg.Done(); noteLast(r.driveH2(runCtx, h2, ci)) }()
	}
	for w := 0; w < workers && !useLoop && !driven; w++ {
		var d doer
		switch {
		case h2 != nil && h2.grpc:
			d = newGRPCH2Doer(h2, w%p.Connections)
		case h2 != nil:
			d = newH2Doer(h2, w%p.Connections)
		case gp != nil:
			d = grpcDoer{pool: gp, ci: w % p.Connections}
		case tcps != nil:
			d = newTCPClient(tcps, p)
		default:
			d = newH1Client(h1targets, p)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer d.closeAll()
			noteLast(r.work(runCtx, w, d))
			if bc, ok := d.(interface{ bytes() (int64, int64) }); ok {
				s, g := bc.bytes()
				mu.Lock()
				sent += s
				got += g
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	endedEarly := r.gate.endedEarly()
	if endedEarly != "" && p.Rate != nil {
		r.dropDue(rec.Shard(0), time.Since(start), "not sent: nothing could connect")
	}
	stopRec()
	<-recDone
	// The load is over: collect its garbage now, so the summary, the
	// report and the store start from the live heap alone and the end of a
	// run costs the same memory whatever the run's length (otherwise a long
	// run, whose collector goal grew mid-run, peaks higher than a short one).
	runtime.GC()

	end := time.Duration(lastDone.Load())
	if end == 0 {
		end = time.Since(start)
	}
	if h2 != nil {
		sent, got = h2.bytes()
	}
	if gp != nil {
		sent, got = gp.bytes()
	}
	res := &spec.Result{
		Schema:    spec.ResultSchema,
		Name:      p.Name,
		Generator: spec.GeneratorInfo{Name: Name, Version: e.version(), Fidelity: "hdr", HistogramResolutionUs: hist.Lowest},
		Requested: p.Requested(),
		StartTime: start.UTC(),
		EndTime:   start.Add(end).UTC(),
	}
	rec.Finish(end, res)
	if useLoop && p.Rate != nil {
		res.Requested.Resolution = spec.Duration(p.ResolutionAt(p.Warmup))
		if res.Requested.Resolution > 0 {
			res.Notes = append(res.Notes, fmt.Sprintf("requests due within %s were sent together (--resolution), each at most that late; the lateness is in their latency", res.Requested.Resolution))
		}
	}
	res.Achieved.BytesSent, res.Achieved.BytesReceived = sent, got
	res.Achieved.LateThreshold = spec.Duration(p.LateThreshold)
	if !p.OpenLoop() {
		res.Notes = append(res.Notes, "closed loop: requests were sent as fast as the connections allowed, so there are no intended send times and only service time is reported")
	}
	if p.Warmup > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("the first %s were warm-up: in the timeline, not in the summary", p.Warmup))
	}
	if h2 != nil || gp != nil {
		res.Notes = append(res.Notes, "bytes are counted on the wire for the whole run, warm-up included")
	}
	if gp != nil || (h2 != nil && h2.grpc) {
		res.Notes = append(res.Notes, "status codes are gRPC's (0 OK, 4 DEADLINE_EXCEEDED, 14 UNAVAILABLE...); calls that did not end OK are errors")
	}
	if endedEarly != "" {
		res.EndedEarly = endedEarly
		res.Notes = append(res.Notes, endedEarly)
	}
	if ctx.Err() != nil {
		res.Interrupted = true
		res.Notes = append(res.Notes, "interrupted: the figures cover the run up to the interruption")
	}
	return res, nil
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
			} else if now > r.end+p.Timeout {
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
