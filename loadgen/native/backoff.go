package native

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshperf/meshperf/loadgen"
)

// Connect failures (a failed TLS handshake or HTTP/2 setup included: see
// setupError). A target that refuses connections answers a connect at
// once, so a connection that simply tried again would hammer it tens of
// thousands of times a second and measure nothing. Instead each connection
// backs off after a failed connect, exponentially from backoffBase up to
// backoffMax (each attempt is still recorded as an error), and the run ends
// early when nothing has connected or answered for giveUpAfter while
// connects kept failing: the result says so (Result.EndedEarly) and the CLI
// exits with status 3.
const (
	backoffBase = 10 * time.Millisecond
	backoffMax  = time.Second
	// giveUpAfter is how long a run goes on with connects failing and
	// nothing connecting or answering. Failures are checked as they come,
	// at most backoffMax apart, so the run ends within a second after.
	giveUpAfter = 3 * time.Second
	// giveUpFailures is the fewest failed connects that may end a run.
	giveUpFailures = 3
)

// connGate is the connect-failure state shared by every connection of a
// run: when something last connected or answered, how many connects failed
// since, and whether the run was ended for it.
type connGate struct {
	giveUp time.Duration
	cancel func()

	lastOK     atomic.Int64 // time.Duration from the start of the run
	failsSince atomic.Int64 // connects failed since lastOK
	failed     atomic.Int64 // connects failed in the whole run
	ended      atomic.Bool
	once       sync.Once
	endedAt    time.Duration
	lastErr    error
}

func newConnGate(cancel func()) *connGate {
	return &connGate{giveUp: giveUpAfter, cancel: cancel}
}

// ok notes that a connection was made or a response came back at now.
// It is on the hot path: the shared word is written at most every 10 ms.
func (g *connGate) ok(now time.Duration) {
	if now-time.Duration(g.lastOK.Load()) < 10*time.Millisecond && g.failsSince.Load() == 0 {
		return
	}
	g.lastOK.Store(int64(now))
	g.failsSince.Store(0)
}

// connectFailed notes a failed connect at now and returns how long the
// connection should wait before its next one, given its streak of failed
// connects (1 for the first). It ends the run when nothing connected or
// answered for the gate's giveUp time.
func (g *connGate) connectFailed(now time.Duration, streak int, err error) time.Duration {
	g.failed.Add(1)
	fails := g.failsSince.Add(1)
	if fails >= giveUpFailures && now-time.Duration(g.lastOK.Load()) >= g.giveUp {
		g.once.Do(func() {
			g.endedAt, g.lastErr = now, err
			g.ended.Store(true)
			g.cancel()
		})
	}
	return backoffFor(streak)
}

// backoffFor is the wait after the streak-th failed connect in a row:
// 10 ms, 20 ms, 40 ms... capped at one second.
func backoffFor(streak int) time.Duration {
	if streak < 1 {
		return 0
	}
	d := backoffBase
	for i := 1; i < streak && d < backoffMax; i++ {
		d *= 2
	}
	return min(d, backoffMax)
}

// endedEarly says why the run ended early, or "" when it did not.
func (g *connGate) endedEarly() string {
	if !g.ended.Load() {
		return ""
	}
	msg := fmt.Sprintf("nothing connected for %s, so the run ended after %s (%d connection attempts failed", g.giveUp, g.endedAt.Round(100*time.Millisecond), g.failed.Load())
	if g.lastErr != nil {
		msg += "; the last: " + g.lastErr.Error()
	}
	return msg + ")"
}

// setupError is a connection made whose setup failed: its TLS handshake
// (an untrusted certificate, a server that closes or alerts during it, an
// ALPN the client did not offer) or HTTP/2's preface and settings. It
// backs off as a failed connect does: a server that refuses handshakes
// answers at once too, and would otherwise be hammered in a tight loop.
// Its class is the wrapped error's (tls, protocol, reset, timeout...).
type setupError struct{ err error }

func (e *setupError) Error() string { return e.err.Error() }
func (e *setupError) Unwrap() error { return e.err }

// setupFailed wraps err, a failure of a new connection's setup.
func setupFailed(err error) error {
	if err == nil {
		return nil
	}
	return &setupError{err: err}
}

// isConnectError reports whether err is a failure to connect (refused,
// unreachable, timed out while connecting, a name that does not resolve,
// a connection whose TLS or HTTP/2 setup failed) rather than a failure of
// a request on a connection.
func isConnectError(err error) bool {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	var se *setupError
	if errors.As(err, &se) {
		return true
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return true
	}
	// gRPC keeps the transport's error only as text; its class says.
	var ce loadgen.ClassedError
	if errors.As(err, &ce) {
		switch ce.ErrorClass() {
		case loadgen.ClassRefused, loadgen.ClassDNS, loadgen.ClassUnreachable:
			return true
		}
	}
	return false
}
