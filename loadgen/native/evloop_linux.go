//go:build linux

package native

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/meshperf/meshperf/loadgen"
)

// The event loop sends plain HTTP/1.1 the way wrk does: each loop is one OS
// thread that owns its connections, non-blocking sockets under one epoll
// instance, a write and a read per request, and epoll_pwait2 with a
// nanosecond timeout for the schedule. Nothing goes through the Go
// scheduler per request, so there are no goroutine wake-ups, no thread
// hand-offs and no timers: at a fixed rate it spends a fraction of the CPU
// of a goroutine per connection, and closed loop it keeps up with wrk.
// HTTPS runs on the loop too (evtls_linux.go); HTTP/2 stays with the
// goroutine engine.

// evMaxWait caps a wait in epoll, so cancellation and request deadlines
// are seen within this time.
const evMaxWait = 10 * time.Millisecond

type evTarget struct {
	sa     unix.Sockaddr
	family int
	addr   *net.TCPAddr
	req    []byte
	head   bool
	tls    *tls.Config // nil: plain HTTP
	stats  *tlsStats   // the run's handshakes
}

// evTargets resolves the plan's targets once, for the event loop. It returns
// false when the loop cannot serve the plan (HTTP/2, a name that does not
// resolve, a TLS setting in error: the goroutine engine then handles it and
// reports the error).
func evTargets(ctx context.Context, p *loadgen.Plan, version string, stats *tlsStats) ([]*evTarget, bool) {
	if p.HTTPVersion != loadgen.HTTP1 || p.Protocol != loadgen.ProtocolHTTP {
		return nil, false
	}
	d := newDialer(p)
	res := d.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	var out []*evTarget
	for _, raw := range p.Targets {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, false
		}
		ip, err := netip.ParseAddr(u.Hostname())
		if err != nil {
			rctx, cancel := context.WithTimeout(ctx, p.ConnectTimeout)
			ips, lerr := res.LookupNetIP(rctx, "ip", u.Hostname())
			cancel()
			if lerr != nil || len(ips) == 0 {
				return nil, false
			}
			ip = ips[0]
			for _, a := range ips {
				if a.Is4() {
					ip = a
					break
				}
			}
		}
		ip = ip.Unmap()
		port := 80
		if u.Scheme == "https" {
			port = 443
		}
		if ps := u.Port(); ps != "" {
			if _, err := fmtSscan(ps, &port); err != nil {
				return nil, false
			}
		}
		t := &evTarget{addr: &net.TCPAddr{IP: ip.AsSlice(), Port: port, Zone: ip.Zone()}, head: p.Method == "HEAD", stats: stats}
		if u.Scheme == "https" {
			if t.tls, err = tlsConfig(p.TLS, u.Hostname(), []string{"http/1.1"}); err != nil {
				return nil, false
			}
		}
		if ip.Is4() {
			t.family, t.sa = unix.AF_INET, &unix.SockaddrInet4{Port: port, Addr: ip.As4()}
		} else {
			t.family, t.sa = unix.AF_INET6, &unix.SockaddrInet6{Port: port, Addr: ip.As16()}
		}
		t.req = buildRequest(p, u, version)
		out = append(out, t)
	}
	return out, true
}

// Slot states.
const (
	slIdle = iota
	slConnecting
	slWriting
	slReading
	slHandshaking // TLS: the handshake's goroutine has the socket
)

// evSlot is one connection's worth of a loop: at most one request in flight,
// with a socket per target.
type evSlot struct {
	id       int
	shard    *loadgen.Shard
	fds      []int
	tls      []*evTLS // per target, when it is HTTPS and connected
	reused   []bool
	state    int
	ti       int
	wrote    int
	o        loadgen.Outcome
	parser   respParser
	deadline time.Duration
	retried  bool
	gotByte  bool
	outReg   bool // registered for EPOLLOUT
	// streak counts failed connects in a row; after one the slot rests
	// until restUntil (backoff.go).
	streak    int
	restUntil time.Duration
}

type evLoop struct {
	r       *run
	ep      int
	slots   []*evSlot
	idle    []*evSlot
	resting []*evSlot // backing off after a failed connect
	byFD    []*evSlot
	targets []*evTarget
	events  []unix.EpollEvent
	rbuf    []byte
	busy    int
	noMore  bool
	last    time.Duration
	scanned time.Duration

	read, written int64

	// TLS handshakes run on goroutines (evtls_linux.go) and hand their
	// slot back through hsDone, waking the loop through wakeFD.
	ctx        context.Context
	wakeFD     int
	stopping   atomic.Bool
	handshakes sync.WaitGroup
	hsMu       sync.Mutex
	hsDone     []*evSlot
}

func newEvLoop(r *run, targets []*evTarget, ids []int) (*evLoop, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	l := &evLoop{r: r, ep: ep, targets: targets, events: make([]unix.EpollEvent, 256), rbuf: make([]byte, 64<<10), wakeFD: -1, ctx: context.Background()}
	for _, t := range targets {
		if t.tls != nil && l.wakeFD < 0 {
			if l.wakeFD, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
				_ = unix.Close(ep)
				return nil, os.NewSyscallError("eventfd", err)
			}
			ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(l.wakeFD)}
			if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, l.wakeFD, &ev); err != nil {
				_ = unix.Close(l.wakeFD)
				_ = unix.Close(ep)
				return nil, os.NewSyscallError("epoll_ctl", err)
			}
		}
	}
	for _, id := range ids {
		s := &evSlot{id: id, shard: r.rec.Shard(id), fds: make([]int, len(targets)), tls: make([]*evTLS, len(targets)), reused: make([]bool, len(targets))}
		for i := range s.fds {
			s.fds[i] = -1
		}
		l.slots = append(l.slots, s)
	}
	for i := len(l.slots) - 1; i >= 0; i-- {
		l.idle = append(l.idle, l.slots[i])
	}
	return l, nil
}

func (l *evLoop) now() time.Duration { return time.Since(l.r.start) }

// loop runs until the plan is done or ctx ends; it returns the time of the
// last completion.
func (l *evLoop) loop(ctx context.Context) time.Duration {
	runtime.LockOSThread()
	// The thread is not unlocked: it ends with this goroutine, and takes
	// its timer slack (1 µs instead of 50 µs, for the schedule) with it.
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1000, 0, 0, 0)
	l.ctx = ctx
	defer l.close()
	for {
		if ctx.Err() != nil {
			return l.last
		}
		now := l.now()
		l.wake(now)
		l.issue(now)
		if l.busy == 0 && len(l.idle) == 0 && len(l.resting) > 0 && !l.noMore && l.r.plan.Rate != nil && now >= l.r.end {
			// The run's time is up and every connection is backing off
			// from failed connects: what is still due is not sent (sent
			// together once they woke, it would hammer the target).
			l.r.dropRest(l.resting[0].shard, now)
			l.noMore = true
		}
		if l.busy == 0 && l.noMore {
			return l.last
		}
		n, err := epollWait(l.ep, l.events, l.waitTime(now))
		if err != nil && !errors.Is(err, unix.EINTR) {
			return l.last
		}
		for i := 0; i < n; i++ {
			ev := l.events[i]
			fd := int(ev.Fd)
			if fd == l.wakeFD {
				l.handshakesDone()
				continue
			}
			if fd < len(l.byFD) && l.byFD[fd] != nil {
				l.handle(l.byFD[fd], fd, ev.Events)
			}
		}
		if now := l.now(); now-l.scanned >= time.Millisecond {
			l.scanned = now
			l.checkDeadlines(now)
		}
	}
}

// wake returns the slots whose backoff is over to the idle ones (all of
// them once there is nothing more to send, or the closed loop's time is
// up, so that the loop can end).
func (l *evLoop) wake(now time.Duration) {
	kept := l.resting[:0]
	for _, s := range l.resting {
		if now >= s.restUntil || l.noMore || now >= l.r.end && l.r.plan.Rate == nil {
			l.idle = append(l.idle, s)
		} else {
			kept = append(kept, s)
		}
	}
	l.resting = kept
}

// waitTime is how long epoll may wait: until the next request is due when a
// slot is free for it, else until something happens (capped).
func (l *evLoop) waitTime(now time.Duration) time.Duration {
	p := l.r.plan
	if p.Rate != nil && len(l.idle) > 0 && !l.noMore {
		// Sleep past the next due time by the plan's resolution, so the
		// requests due within it go out together, in one wake-up.
		at := p.Rate.Time(l.r.next.Load())
		at += p.ResolutionAt(at)
		return min(max(at-now, 0), evMaxWait)
	}
	return evMaxWait
}

// issue starts requests on free slots while requests are due.
func (l *evLoop) issue(now time.Duration) {
	r, p := l.r, l.r.plan
	batching := false
	res := p.ResolutionAt(now)
	for len(l.idle) > 0 && !l.noMore {
		var n int64
		intended := time.Duration(-1)
		if p.Rate != nil {
			next := r.next.Load()
			at := p.Rate.Time(next)
			switch {
			case at >= r.end, p.Requests > 0 && next >= r.firstMeasured+p.Requests:
				l.noMore = true
				return
			case at > now, at+res > now && !batching:
				// Not due, or due but the batch window not yet over.
				return
			case now > r.abandon:
				r.dropRest(l.idle[len(l.idle)-1].shard, now)
				l.noMore = true
				return
			}
			if due := p.Rate.Count(min(now, r.end-1)); due-next > int64(p.QueueSize) {
				r.dropOldest(l.idle[len(l.idle)-1].shard, due-int64(p.QueueSize), now)
				continue
			}
			if !r.next.CompareAndSwap(next, next+1) {
				continue // another loop took it
			}
			n, intended = next, at
			batching = true
		} else {
			if now >= r.end || (now >= p.Warmup && p.Requests > 0 && r.measured.Add(1) > p.Requests) {
				l.noMore = true
				return
			}
			n = r.next.Add(1) - 1
		}
		s := l.idle[len(l.idle)-1]
		l.idle = l.idle[:len(l.idle)-1]
		l.busy++
		s.ti = int(n % int64(len(l.targets)))
		s.o = loadgen.Outcome{Intended: intended}
		s.retried = false
		l.begin(s)
	}
}

// begin sends the slot's request, connecting first if needed.
func (l *evLoop) begin(s *evSlot) {
	t := l.targets[s.ti]
	s.parser.reset(t.head)
	s.gotByte, s.wrote = false, 0
	now := l.now()
	if s.o.Sent == 0 {
		s.o.Sent = now
	}
	s.deadline = s.o.Sent + l.r.plan.Timeout
	if s.fds[s.ti] < 0 {
		l.connect(s, now)
		return
	}
	l.write(s)
}

func (l *evLoop) connect(s *evSlot, now time.Duration) {
	t := l.targets[s.ti]
	fd, err := unix.Socket(t.family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		l.connectFailed(s, dialErr(t, os.NewSyscallError("socket", err)))
		return
	}
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	err = unix.Connect(fd, t.sa)
	if err != nil && !errors.Is(err, unix.EINPROGRESS) {
		_ = unix.Close(fd)
		l.connectFailed(s, dialErr(t, os.NewSyscallError("connect", err)))
		return
	}
	s.fds[s.ti], s.reused[s.ti] = fd, false
	l.track(fd, s)
	if err == nil {
		if t.tls != nil {
			l.startHandshake(s, false) // connected once it is done
			return
		}
		l.connected(s, now)
		if l.ctl(unix.EPOLL_CTL_ADD, fd, unix.EPOLLIN, s) {
			l.write(s)
		}
		return
	}
	s.state = slConnecting
	s.deadline = min(s.deadline, now+l.r.plan.ConnectTimeout)
	l.ctl(unix.EPOLL_CTL_ADD, fd, unix.EPOLLOUT, s)
}

func (l *evLoop) track(fd int, s *evSlot) {
	for fd >= len(l.byFD) {
		l.byFD = append(l.byFD, nil)
	}
	l.byFD[fd] = s
}

func (l *evLoop) ctl(op, fd int, events uint32, s *evSlot) bool {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd)}
	if err := unix.EpollCtl(l.ep, op, fd, &ev); err != nil {
		l.closeFD(s)
		l.fail(s, os.NewSyscallError("epoll_ctl", err))
		return false
	}
	return true
}

func (l *evLoop) write(s *evSlot) {
	fd, req := s.fds[s.ti], l.targets[s.ti].req
	if c := s.tls[s.ti]; c != nil {
		// Seal the request once; then write its records as plain
		// requests are written.
		if s.state != slWriting {
			if _, err := c.tc.Write(req); err != nil {
				l.closeFD(s)
				l.fail(s, err)
				return
			}
		}
		req = c.out
	}
	s.state = slWriting
	for s.wrote < len(req) {
		n, err := unix.Write(fd, req[s.wrote:])
		if n > 0 {
			s.wrote += n
			l.written += int64(n)
		}
		switch {
		case err == nil:
		case errors.Is(err, unix.EINTR):
		case errors.Is(err, unix.EAGAIN):
			if !s.outReg {
				s.outReg = l.ctl(unix.EPOLL_CTL_MOD, fd, unix.EPOLLIN|unix.EPOLLOUT, s)
			}
			return
		default:
			l.ioErr(s, "write", err)
			return
		}
	}
	s.state = slReading
	if c := s.tls[s.ti]; c != nil {
		c.out = c.out[:0]
	}
	if s.outReg {
		s.outReg = false
		l.ctl(unix.EPOLL_CTL_MOD, fd, unix.EPOLLIN, s)
	}
}

func (l *evLoop) handle(s *evSlot, fd int, events uint32) {
	if s.state == slHandshaking && fd == s.fds[s.ti] {
		return // not in the epoll set; an event from before it left
	}
	if s.state == slIdle || fd != s.fds[s.ti] {
		// An idle connection the server closed (or wrote to): drop it.
		l.dropIdle(s, fd)
		return
	}
	switch s.state {
	case slConnecting:
		errno, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err == nil && errno != 0 {
			err = unix.Errno(errno)
		}
		if err != nil {
			l.closeFD(s)
			l.connectFailed(s, dialErr(l.targets[s.ti], os.NewSyscallError("connect", err)))
			return
		}
		if l.targets[s.ti].tls != nil {
			l.startHandshake(s, true) // connected once it is done
			return
		}
		l.connected(s, l.now())
		if l.ctl(unix.EPOLL_CTL_MOD, fd, unix.EPOLLIN, s) {
			l.write(s)
		}
	case slWriting:
		l.write(s)
	case slReading:
		l.readResponse(s, fd)
	}
}

func (l *evLoop) readResponse(s *evSlot, fd int) {
	if c := s.tls[s.ti]; c != nil {
		l.readTLS(s, c)
		return
	}
	n, err := unix.Read(fd, l.rbuf)
	switch {
	case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
		return
	case err != nil:
		l.ioErr(s, "read", err)
		return
	case n == 0:
		done, perr := s.parser.eof()
		if done {
			l.complete(s, false)
			return
		}
		if !s.gotByte {
			perr = io.EOF
		}
		l.ioErr(s, "read", perr)
		return
	}
	l.read += int64(n)
	s.gotByte = true
	done, perr := s.parser.feed(l.rbuf[:n])
	if perr != nil {
		l.closeFD(s)
		l.fail(s, perr)
		return
	}
	if done {
		l.complete(s, s.parser.keep)
	}
}

// ioErr handles a failed read or write. A kept-alive connection the server
// closed while idle fails before any byte comes back: the request is sent
// again, once, on a new connection, as net/http does.
func (l *evLoop) ioErr(s *evSlot, op string, err error) {
	reused := s.reused[s.ti]
	l.closeFD(s)
	if reused && !s.gotByte && !s.retried && (errors.Is(err, io.EOF) || errors.Is(err, unix.ECONNRESET) || errors.Is(err, unix.EPIPE)) {
		s.retried = true
		l.begin(s)
		return
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	t := l.targets[s.ti]
	var sys error = err
	if errno, ok := err.(unix.Errno); ok {
		sys = os.NewSyscallError(op, errno)
	}
	l.fail(s, &net.OpError{Op: op, Net: "tcp", Addr: t.addr, Err: sys})
}

// connected notes a connection made (over TLS: its handshake done), which
// ends the slot's streak of failed connects.
func (l *evLoop) connected(s *evSlot, now time.Duration) {
	s.streak = 0
	l.r.gate.ok(now)
}

// connectFailed records a failed connect and rests the slot for its
// backoff before it may connect again.
func (l *evLoop) connectFailed(s *evSlot, err error) {
	now := l.now()
	s.streak++
	s.restUntil = now + l.r.gate.connectFailed(now, s.streak, err)
	l.fail(s, err)
}

func (l *evLoop) complete(s *evSlot, keep bool) {
	s.o.Done = l.now()
	l.r.gate.ok(s.o.Done)
	s.o.Status = s.parser.status
	if keep {
		s.reused[s.ti] = true
	} else {
		l.closeFD(s)
	}
	l.finish(s)
}

func (l *evLoop) fail(s *evSlot, err error) {
	s.o.Done = l.now()
	s.o.Err = err
	l.finish(s)
}

func (l *evLoop) finish(s *evSlot) {
	s.shard.Record(&s.o)
	l.last = max(l.last, s.o.Done)
	s.state = slIdle
	s.o.Sent = 0
	l.busy--
	if s.restUntil > s.o.Done {
		l.resting = append(l.resting, s)
		return
	}
	l.idle = append(l.idle, s)
}

func (l *evLoop) closeFD(s *evSlot) {
	if fd := s.fds[s.ti]; fd >= 0 {
		l.byFD[fd] = nil
		_ = unix.Close(fd)
		s.fds[s.ti] = -1
		s.tls[s.ti] = nil
		s.outReg = false
	}
}

func (l *evLoop) dropIdle(s *evSlot, fd int) {
	for i, f := range s.fds {
		if f == fd && (s.state == slIdle || i != s.ti) {
			if c := s.tls[i]; c != nil && l.idleTLS(c) {
				return // a session ticket, say: the connection stays
			}
			s.tls[i] = nil
			l.byFD[fd] = nil
			_ = unix.Close(fd)
			s.fds[i] = -1
			return
		}
	}
}

func (l *evLoop) checkDeadlines(now time.Duration) {
	for _, s := range l.slots {
		if s.state == slIdle || s.state == slHandshaking || now < s.deadline {
			continue // a handshake keeps its own deadline
		}
		op := "read"
		if s.state == slConnecting {
			op = "dial"
		}
		t := l.targets[s.ti]
		l.closeFD(s)
		err := &net.OpError{Op: op, Net: "tcp", Addr: t.addr, Err: os.ErrDeadlineExceeded}
		if op == "dial" {
			l.connectFailed(s, err)
		} else {
			l.fail(s, err)
		}
	}
}

func (l *evLoop) close() {
	// Handshakes still running give their sockets back within pollSlice.
	l.stopping.Store(true)
	l.handshakes.Wait()
	if l.wakeFD >= 0 {
		_ = unix.Close(l.wakeFD)
	}
	for _, s := range l.slots {
		for i, fd := range s.fds {
			if fd >= 0 {
				_ = unix.Close(fd)
				s.fds[i] = -1
			}
		}
	}
	_ = unix.Close(l.ep)
}

func dialErr(t *evTarget, err error) error {
	return &net.OpError{Op: "dial", Net: "tcp", Addr: t.addr, Err: err}
}
