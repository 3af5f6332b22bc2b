package native

import (
	"context"
	"time"

	"golang.org/x/net/http2"

	"github.com/meshperf/meshperf/loadgen"
)

// The driven closed loop: with no pacing to keep, no body to meter out and
// one server, each connection needs no worker goroutines at all. Its one
// goroutine reads the frames, records each response, and sends the next
// request on the freed stream itself; the requests sent in answer to one
// read leave in one write. A small timer goroutine per connection expires
// streams past the timeout.

// drivable tells whether plan p runs driven.
func (p *h2Pool) drivable(plan *loadgen.Plan) bool {
	return plan.Rate == nil && len(p.origins) == 1 && len(p.body) == 0 && !p.grpc
}

// driveH2 runs the closed loop of connection slot ci until the plan is done
// and returns when its last request completed.
func (r *run) driveH2(ctx context.Context, pool *h2Pool, ci int) time.Duration {
	d := &h2Driver{ctx: ctx, r: r, pool: pool, ci: ci, shard: r.rec.Shard(ci)}
	for i := 0; i < r.plan.Streams; i++ {
		d.free = append(d.free, &h2Stream{})
	}
	streak := 0 // failed connects (or connection setups) in a row
	for ctx.Err() == nil {
		if d.stopped && len(d.retry) == 0 {
			return d.last
		}
		c, err := pool.conn(ctx, ci, 0)
		if err != nil {
			// A connection that cannot be opened costs one request, as
			// it does a worker, and backs off as a worker does.
			if ctx.Err() != nil {
				return d.last
			}
			if len(d.retry) > 0 {
				s := d.retry[len(d.retry)-1]
				d.retry = d.retry[:len(d.retry)-1]
				d.record(s, 0, err)
				d.free = append(d.free, s)
			} else {
				if _, ok := d.take(); !ok {
					return d.last
				}
				now := time.Since(r.start)
				o := loadgen.Outcome{Intended: -1, Sent: now, Done: now, Err: err}
				d.shard.Record(&o)
				d.last = now
			}
			if isConnectError(err) {
				streak++
				if !sleepCtx(ctx, r.gate.connectFailed(time.Since(r.start), streak, err)) {
					return d.last
				}
			}
			continue
		}
		streak = 0
		r.gate.ok(time.Since(r.start))
		d.runConn(ctx, c)
	}
	return d.last
}

type h2Driver struct {
	ctx     context.Context
	r       *run
	pool    *h2Pool
	ci      int
	shard   *loadgen.Shard
	free    []*h2Stream // streams not in flight
	retry   []*h2Stream // requests the server did not process, to send again
	stopped bool        // the plan is done: no new requests
	last    time.Duration
	queue   []*h2Stream // completions, swapped with the connection's
}

// take reserves the next request of the closed loop, as run.work does.
func (d *h2Driver) take() (int64, bool) {
	r, p := d.r, d.r.plan
	now := time.Since(r.start)
	if now >= r.end {
		d.stopped = true
		return 0, false
	}
	if now >= p.Warmup && p.Requests > 0 && r.measured.Add(1) > p.Requests {
		d.stopped = true
		return 0, false
	}
	return r.next.Add(1) - 1, true
}

func (d *h2Driver) record(s *h2Stream, status int, err error) {
	if err != nil && d.ctx.Err() != nil {
		return // our own cancellation, not the target's fault
	}
	o := loadgen.Outcome{Intended: -1, Sent: s.sent, Done: time.Since(d.r.start), Status: status, Err: err}
	if err != nil {
		o.Status = 0
	}
	d.shard.Record(&o)
	d.last = o.Done
}

// runConn drives connection c until it ends or the plan is done and no
// stream is in flight.
func (d *h2Driver) runConn(ctx context.Context, c *h2Conn) {
	stop := context.AfterFunc(ctx, c.close)
	defer stop()
	quit := make(chan struct{})
	defer close(quit)
	go c.expire(d.r.start, d.pool.timeout, quit)
	var err error
	for {
		if c.br.Buffered() == 0 {
			d.drain(c)
			d.fill(c)
			c.mu.Lock()
			idle := c.active == 0
			c.mu.Unlock()
			if idle && (d.stopped || !c.usable.Load()) {
				break
			}
			if idle && d.noRoom(c) {
				break
			}
			c.wmu.Lock()
			err = c.bw.Flush()
			c.wmu.Unlock()
			c.ctrlPending = false
			if err != nil {
				break
			}
		}
		var f http2.Frame
		if f, err = c.fr.ReadFrame(); err != nil {
			err = c.connError(err)
			break
		}
		if err = c.onFrame(f); err != nil {
			err = c.connError(err)
			break
		}
		if c.goaway {
			c.mu.Lock()
			idle := c.active == 0
			c.mu.Unlock()
			if idle {
				break
			}
		}
	}
	c.fail(err)
	d.drain(c)
}

// noRoom handles a server that allows no stream at all (its
// SETTINGS_MAX_CONCURRENT_STREAMS is 0) when none is open: one request is
// counted as failed and the connection is closed, to be opened again.
func (d *h2Driver) noRoom(c *h2Conn) bool {
	c.mu.Lock()
	zero := c.maxStreams == 0
	c.mu.Unlock()
	if !zero || d.stopped {
		return false
	}
	if _, ok := d.take(); ok {
		now := time.Since(d.r.start)
		o := loadgen.Outcome{Intended: -1, Sent: now, Done: now,
			Err: &loadgen.ProtocolError{Msg: "http2: the server allows no stream (SETTINGS_MAX_CONCURRENT_STREAMS 0)"}}
		d.shard.Record(&o)
		d.last = now
	}
	return true
}

// drain records the streams that ended and frees them, keeping the ones
// the server did not process for another attempt.
func (d *h2Driver) drain(c *h2Conn) {
	c.mu.Lock()
	d.queue, c.doneQ = c.doneQ, d.queue[:0]
	c.drains++
	c.mu.Unlock()
	for _, s := range d.queue {
		if _, ok := s.err.(*h2UnprocessedError); ok && s.attempts < h2Attempts {
			d.retry = append(d.retry, s)
			continue
		}
		d.record(s, s.status, s.err)
		d.free = append(d.free, s)
	}
}

// fill starts requests on the free streams, as many as the server allows:
// first those to send again, then new ones.
func (d *h2Driver) fill(c *h2Conn) {
	if !c.usable.Load() {
		return
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	ntargets := int64(len(d.pool.targets))
	for {
		c.mu.Lock()
		room := c.gone == nil && !c.goaway && uint32(c.active) < c.maxStreams && c.nextID <= 1<<31-1
		c.mu.Unlock()
		if !room {
			if c.nextID > 1<<31-1 {
				c.usable.Store(false)
			}
			return
		}
		var s *h2Stream
		switch {
		case len(d.retry) > 0:
			s = d.retry[len(d.retry)-1]
			d.retry = d.retry[:len(d.retry)-1]
			s.attempts++
		case len(d.free) > 0 && !d.stopped:
			n, ok := d.take()
			if !ok {
				continue // stopped: only retries are left
			}
			s = d.free[len(d.free)-1]
			d.free = d.free[:len(d.free)-1]
			s.ti = int(n % ntargets)
			s.attempts = 1
			s.sent = time.Since(d.r.start)
		default:
			return
		}
		s.reset()
		c.mu.Lock()
		s.id = c.nextID
		c.nextID += 2
		s.sendWindow = c.initWindow
		c.streams[s.id] = s
		c.active++
		c.mu.Unlock()
		if err := c.writeHeaders(s.id, d.pool.targets[s.ti].block, true); err != nil {
			return // the reader sees the connection fail
		}
	}
}

// expire ends the streams of a driven connection that outlive the
// timeout, resets them and PINGs the server so the driver wakes to record
// them; a server that answers nothing by the next round is given up on.
func (c *h2Conn) expire(start time.Time, timeout time.Duration, quit chan struct{}) {
	tick := min(max(timeout/4, 10*time.Millisecond), time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	var ids []uint32
	var pending bool // expired streams queued, the driver not yet woken
	var at uint64    // the driver's drain count when they were queued
	for {
		select {
		case <-quit:
			return
		case <-t.C:
		}
		now := time.Since(start)
		ids = ids[:0]
		c.mu.Lock()
		stale := pending && c.drains == at
		pending = pending && c.drains == at
		for id, s := range c.streams {
			if now-s.sent >= timeout {
				c.finishLocked(s)
				s.err = errH2Timeout
				c.doneQ = append(c.doneQ, s)
				ids = append(ids, id)
			}
		}
		if len(ids) > 0 && !pending {
			pending, at = true, c.drains
		}
		c.mu.Unlock()
		if stale {
			c.close() // the driver did not wake: the server is silent
			return
		}
		if len(ids) > 0 {
			c.wmu.Lock()
			for _, id := range ids {
				_ = c.fr.WriteRSTStream(id, http2.ErrCodeCancel)
			}
			_ = c.fr.WritePing(false, [8]byte{'t', 'i', 'm', 'e', 'o', 'u', 't'})
			_ = c.bw.Flush()
			c.wmu.Unlock()
		}
	}
}
