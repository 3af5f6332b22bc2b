//go:build linux

package native

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// HTTPS on the event loop. crypto/tls wants a net.Conn it can block on; the
// loop's sockets never block. evTLS is the net.Conn under a tls.Conn, over
// the loop's non-blocking socket, in two modes:
//
//   - During the handshake (a few round trips, once per connection) it is
//     blocking: the handshake runs on its own goroutine, which waits for
//     the socket with poll(2), while the socket is out of the loop's epoll
//     set. The loop goes on with its other connections and is woken through
//     an eventfd when the handshake ends.
//   - After it, the loop owns it again. Read reads the socket and, when
//     nothing is there, returns errWouldBlock: a temporary net.Error, which
//     crypto/tls passes back without failing the connection (the part of a
//     record already read stays in its buffer). Write appends the records
//     tls.Conn seals to out, which the loop writes out as it writes plain
//     requests. So a request costs what it costs in plain HTTP/1.1, one
//     write and one read, plus the sealing and opening of its records.

// errWouldBlock is evTLS's "nothing to read now".
var errWouldBlock net.Error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "event loop: read would block" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

// evTLS is one TLS connection of an event loop.
type evTLS struct {
	fd int
	tc *tls.Conn
	// out holds sealed records not yet written to the socket.
	out []byte
	// read and written count the bytes on the wire not yet added to the
	// loop's totals (takeBytes).
	read, written int64

	// The handshake's goroutine (blocking mode) only.
	blocking bool
	ctx      context.Context
	deadline time.Time
	stop     *atomic.Bool // the loop is closing
	hsTime   time.Duration
	hsErr    error
}

var _ net.Conn = (*evTLS)(nil)

// pollSlice bounds each wait of the handshake for the socket, so that a
// cancelled run or a closing loop is seen within it.
const pollSlice = 10 * time.Millisecond

func (c *evTLS) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(c.fd, p)
		switch {
		case err == nil && n == 0:
			return 0, io.EOF
		case err == nil:
			c.read += int64(n)
			return n, nil
		case errors.Is(err, unix.EINTR):
		case errors.Is(err, unix.EAGAIN):
			if !c.blocking {
				return 0, errWouldBlock
			}
			if err := c.wait(unix.POLLIN); err != nil {
				return 0, err
			}
		default:
			return 0, os.NewSyscallError("read", err)
		}
	}
}

func (c *evTLS) Write(p []byte) (int, error) {
	if !c.blocking {
		c.out = append(c.out, p...)
		return len(p), nil
	}
	wrote := 0
	for wrote < len(p) {
		n, err := unix.Write(c.fd, p[wrote:])
		if n > 0 {
			wrote += n
			c.written += int64(n)
		}
		switch {
		case err == nil, errors.Is(err, unix.EINTR):
		case errors.Is(err, unix.EAGAIN):
			if err := c.wait(unix.POLLOUT); err != nil {
				return wrote, err
			}
		default:
			return wrote, os.NewSyscallError("write", err)
		}
	}
	return wrote, nil
}

// wait waits (handshake only) until the socket is ready for events, the
// handshake's deadline passes, the run is cancelled or the loop closes.
func (c *evTLS) wait(events int16) error {
	for {
		if err := c.ctx.Err(); err != nil {
			return err
		}
		if c.stop.Load() {
			return net.ErrClosed
		}
		left := time.Until(c.deadline)
		if left <= 0 {
			return os.ErrDeadlineExceeded
		}
		fds := []unix.PollFd{{Fd: int32(c.fd), Events: events}}
		n, err := unix.Poll(fds, int(min(left, pollSlice)/time.Millisecond)+1)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return os.NewSyscallError("poll", err)
		}
		if n > 0 {
			return nil // ready, or an error the next read or write reports
		}
	}
}

// takeBytes returns the bytes moved since the last call.
func (c *evTLS) takeBytes() (read, written int64) {
	read, written = c.read, c.written
	c.read, c.written = 0, 0
	return read, written
}

// The rest of net.Conn: the loop owns the socket, its deadlines and its
// closing, so these do nothing.
func (c *evTLS) Close() error                     { return nil }
func (c *evTLS) LocalAddr() net.Addr              { return nil }
func (c *evTLS) RemoteAddr() net.Addr             { return nil }
func (c *evTLS) SetDeadline(time.Time) error      { return nil }
func (c *evTLS) SetReadDeadline(time.Time) error  { return nil }
func (c *evTLS) SetWriteDeadline(time.Time) error { return nil }

// startHandshake hands slot s's new connection to a goroutine for its TLS
// handshake; the loop takes it back in handshaken. The socket leaves the
// epoll set meanwhile (level-triggered, it would wake the loop for data
// the handshake reads).
func (l *evLoop) startHandshake(s *evSlot, registered bool) {
	fd, t := s.fds[s.ti], l.targets[s.ti]
	if registered {
		_ = unix.EpollCtl(l.ep, unix.EPOLL_CTL_DEL, fd, nil)
	}
	deadline := min(s.deadline, l.now()+l.r.plan.ConnectTimeout) // connecting and handshake, as net.Dialer's
	c := &evTLS{fd: fd, blocking: true, ctx: l.ctx, deadline: l.r.start.Add(deadline), stop: &l.stopping}
	c.tc = tls.Client(c, t.tls)
	s.tls[s.ti] = c
	s.state = slHandshaking
	l.handshakes.Add(1)
	go func() {
		defer l.handshakes.Done()
		began := time.Now()
		c.hsErr = c.tc.Handshake()
		c.hsTime = time.Since(began)
		l.hsMu.Lock()
		l.hsDone = append(l.hsDone, s)
		l.hsMu.Unlock()
		var one [8]byte
		one[0] = 1 // eventfd counts in host order; any non-zero count wakes
		_, _ = unix.Write(l.wakeFD, one[:])
	}()
}

// handshakesDone takes back the connections whose handshake ended.
func (l *evLoop) handshakesDone() {
	var buf [8]byte
	_, _ = unix.Read(l.wakeFD, buf[:])
	l.hsMu.Lock()
	done := l.hsDone
	l.hsDone = nil
	l.hsMu.Unlock()
	for _, s := range done {
		l.handshaken(s)
	}
}

// handshaken goes on with slot s's request once its handshake ended.
func (l *evLoop) handshaken(s *evSlot) {
	c := s.tls[s.ti]
	c.blocking = false
	r, w := c.takeBytes()
	l.read += r
	l.written += w
	cancelled := l.ctx.Err() != nil || l.stopping.Load()
	if !cancelled {
		l.targets[s.ti].stats.add(c.hsTime, c.tc.ConnectionState().DidResume, c.hsErr)
	}
	if c.hsErr != nil {
		l.closeFD(s)
		t := l.targets[s.ti]
		err := c.hsErr
		if errors.Is(err, os.ErrDeadlineExceeded) {
			err = &net.OpError{Op: "read", Net: "tcp", Addr: t.addr, Err: err}
		}
		if cancelled {
			l.fail(s, err)
			return
		}
		// A failed handshake backs the slot off as a failed connect does
		// (backoff.go): a server refusing handshakes is not hammered.
		l.connectFailed(s, setupFailed(err))
		return
	}
	l.connected(s, l.now())
	if l.ctl(unix.EPOLL_CTL_ADD, s.fds[s.ti], unix.EPOLLIN, s) {
		l.write(s)
	}
}

// readTLS reads what there is of slot s's response over TLS.
func (l *evLoop) readTLS(s *evSlot, c *evTLS) {
	for {
		n, err := c.tc.Read(l.rbuf)
		r, _ := c.takeBytes()
		l.read += r
		if n > 0 {
			s.gotByte = true
			done, perr := s.parser.feed(l.rbuf[:n])
			if perr != nil {
				l.closeFD(s)
				l.fail(s, perr)
				return
			}
			if done {
				l.complete(s, s.parser.keep)
				return
			}
		}
		switch {
		case err == nil:
			continue
		case errors.Is(err, errWouldBlock):
			l.flushTLS(s, c)
			return
		case errors.Is(err, io.EOF):
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
		default:
			l.ioErr(s, "read", err)
			return
		}
	}
}

// flushTLS writes what reading made tls.Conn send (a key update's answer)
// if the socket takes it at once; otherwise it leaves with the next request.
func (l *evLoop) flushTLS(s *evSlot, c *evTLS) {
	if len(c.out) == 0 || s.state != slReading {
		return
	}
	n, err := unix.Write(c.fd, c.out)
	if err == nil && n > 0 {
		l.written += int64(n)
		c.out = append(c.out[:0], c.out[n:]...)
	}
}

// idleTLS reads what a server sent on an idle TLS connection: records
// without data (a session ticket) keep it; data, an alert or the end of
// the connection close it. It reports whether the connection stays.
func (l *evLoop) idleTLS(c *evTLS) bool {
	n, err := c.tc.Read(l.rbuf)
	r, _ := c.takeBytes()
	l.read += r
	return n == 0 && errors.Is(err, errWouldBlock)
}
