package native

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/meshperf/meshperf/loadgen"
)

// The HTTP/2 client is made for load: the engine's workers (one per
// stream: connections × streams) each own one reusable h2Stream and drive
// it over a shared connection; one reader goroutine per connection reads
// the frames and hands each response to its stream. Request header blocks
// are HPACK-encoded once per target (without the dynamic table, so the
// same bytes are valid on every connection), and writes go through one
// bufio.Writer per connection, flushed once per burst of writers.

const (
	// h2StreamWindow is the receive window we grant each stream, and
	// h2ConnWindow the connection's; both are replenished when half used.
	h2StreamWindow = 16 << 20
	h2ConnWindow   = 1 << 30
	// h2MaxHeaderList bounds a response's header list (decoded, with
	// HPACK's 32 bytes per field), h2MaxHeaderBlock its encoded size.
	h2MaxHeaderList  = 256 << 10
	h2MaxHeaderBlock = 4 * h2MaxHeaderList
	// h2Attempts bounds how often a request the server did not process
	// (refused stream, above a GOAWAY's last stream) is sent again.
	h2Attempts = 3
	// h2DefaultMaxStreams applies until the server names its own limit.
	h2DefaultMaxStreams = 1 << 20
)

// h2Origin is one distinct server among the targets.
type h2Origin struct {
	addr string
	tls  *tls.Config // nil: h2c with prior knowledge
}

// h2Target is one target prepared for sending.
type h2Target struct {
	origin int
	block  []byte // the request's header block, HPACK-encoded once
	body   []byte // the request's body (a gRPC call's message, framed)
	health bool   // a gRPC health check: its answer is read (grpch2.go)
}

// h2Pool holds the HTTP/2 connections of a run: for each of the plan's
// connections, one connection to each origin, opened on first use and
// opened again after a GOAWAY or a failure.
type h2Pool struct {
	origins        []h2Origin
	targets        []h2Target
	body           []byte
	slots          [][]h2Slot // [connection][origin]
	dialer         net.Dialer
	connectTimeout time.Duration
	timeout        time.Duration
	read, written  atomic.Int64
	credits        bool // closed loop: see h2Stream.credit
	driven         bool // the driven closed loop (h2drive.go)
	grpc           bool // the streams are gRPC calls (grpch2.go)
	// tlsStats gathers the handshakes (set by buildTransport; nil: none).
	tlsStats *tlsStats

	mu  sync.Mutex
	all map[*h2Conn]struct{} // open connections, to close at the end
}

type h2Slot struct {
	cur atomic.Pointer[h2Conn]
	mu  sync.Mutex // held while dialing
}

func newH2Pool(p *loadgen.Plan, version string, drive bool) (*h2Pool, error) {
	pool := &h2Pool{
		body:           p.Body,
		dialer:         newDialer(p),
		connectTimeout: p.ConnectTimeout,
		timeout:        p.Timeout,
		all:            map[*h2Conn]struct{}{},
	}
	byKey := map[string]int{}
	for _, raw := range p.Targets {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("target %q: %w", raw, err)
		}
		key := u.Scheme + "://" + hostPort(u)
		oi, ok := byKey[key]
		if !ok {
			o := h2Origin{addr: hostPort(u)}
			if u.Scheme == "https" {
				if o.tls, err = tlsConfig(p.TLS, u.Hostname(), []string{"h2"}); err != nil {
					return nil, err
				}
			}
			oi = len(pool.origins)
			byKey[key] = oi
			pool.origins = append(pool.origins, o)
		}
		pool.targets = append(pool.targets, h2Target{origin: oi, block: h2RequestBlock(p, u, version), body: p.Body})
	}
	pool.driven = drive && pool.drivable(p)
	pool.credits = p.Rate == nil && !pool.driven
	pool.slots = make([][]h2Slot, p.Connections)
	for i := range pool.slots {
		pool.slots[i] = make([]h2Slot, len(pool.origins))
	}
	return pool, nil
}

// h2RequestBlock encodes a target's request headers. The encoder's
// dynamic table is off, so the block never refers to state of a
// connection and can be sent as is on any of them, again and again.
func h2RequestBlock(p *loadgen.Plan, u *url.URL, version string) []byte {
	var buf strings.Builder
	enc := hpack.NewEncoder(&buf)
	enc.SetMaxDynamicTableSizeLimit(0)
	// The first block carries the table size update; it is thrown away
	// and the decoder's table stays empty since nothing is ever indexed.
	_ = enc.WriteField(hpack.HeaderField{Name: "x", Value: "x"})
	buf.Reset()
	path := u.RequestURI()
	authority := u.Host
	hasUA, hasCT := false, false
	for _, h := range p.Headers {
		switch strings.ToLower(h.Name) {
		case "host":
			authority = h.Value
		case "user-agent":
			hasUA = true
		case "content-type":
			hasCT = true
		}
	}
	field := func(name, value string) { _ = enc.WriteField(hpack.HeaderField{Name: name, Value: value}) }
	field(":method", p.Method)
	field(":scheme", u.Scheme)
	field(":authority", authority)
	field(":path", path)
	if !hasUA {
		field("user-agent", "meshperf/"+version)
	}
	for _, h := range p.Headers {
		switch name := strings.ToLower(h.Name); name {
		case "host", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
			// HTTP/2 has no connection-specific headers (RFC 9113 8.2.2).
		default:
			field(name, h.Value)
		}
	}
	if len(p.Cookies) > 0 {
		var c strings.Builder
		for i, ck := range p.Cookies {
			if i > 0 {
				c.WriteString("; ")
			}
			c.WriteString(ck.Name + "=" + ck.Value)
		}
		field("cookie", c.String())
	}
	if p.ContentType != "" && !hasCT {
		field("content-type", p.ContentType)
	}
	switch {
	case len(p.Body) > 0:
		field("content-length", strconv.Itoa(len(p.Body)))
	case p.Method == "POST" || p.Method == "PUT" || p.Method == "PATCH":
		field("content-length", "0")
	}
	return []byte(buf.String())
}

// conn returns the open connection of slot (ci, oi), opening one if there
// is none or the last one is closing.
func (p *h2Pool) conn(ctx context.Context, ci, oi int) (*h2Conn, error) {
	s := &p.slots[ci][oi]
	if c := s.cur.Load(); c != nil && c.usable.Load() {
		return c, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.cur.Load(); c != nil && c.usable.Load() {
		return c, nil
	}
	c, err := p.dial(ctx, p.origins[oi])
	if err != nil {
		return nil, err
	}
	s.cur.Store(c)
	return c, nil
}

func (p *h2Pool) dial(ctx context.Context, o h2Origin) (*h2Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, p.connectTimeout)
	defer cancel()
	nc, err := p.dialer.DialContext(dctx, "tcp", o.addr)
	if err != nil {
		return nil, err
	}
	nc = &atomicCountingConn{Conn: nc, pool: p}
	if o.tls != nil {
		tc := tls.Client(nc, o.tls)
		began := time.Now()
		err := tc.HandshakeContext(dctx)
		if ctx.Err() == nil {
			p.tlsStats.add(time.Since(began), tc.ConnectionState().DidResume, err)
		}
		if err != nil {
			_ = nc.Close()
			return nil, setupFailed(err)
		}
		if proto := tc.ConnectionState().NegotiatedProtocol; proto != "h2" {
			_ = nc.Close()
			return nil, setupFailed(&loadgen.ProtocolError{Msg: fmt.Sprintf("the server did not agree to HTTP/2 (ALPN %q)", proto)})
		}
		nc = tc
	}
	c := newH2Conn(p, nc)
	c.driven = p.driven
	if err := c.handshake(dctx); err != nil {
		_ = nc.Close()
		return nil, setupFailed(err)
	}
	p.mu.Lock()
	if p.all == nil { // the pool is closed: the run is over
		p.mu.Unlock()
		_ = nc.Close()
		return nil, net.ErrClosed
	}
	p.all[c] = struct{}{}
	p.mu.Unlock()
	if !p.driven {
		go c.readLoop()
	}
	return c, nil
}

func (p *h2Pool) forget(c *h2Conn) {
	p.mu.Lock()
	delete(p.all, c)
	p.mu.Unlock()
}

func (p *h2Pool) close() {
	p.mu.Lock()
	all := p.all
	p.all = nil
	p.mu.Unlock()
	for c := range all {
		c.close()
	}
}

func (p *h2Pool) bytes() (sent, recv int64) { return p.written.Load(), p.read.Load() }

// h2Doer is one worker: one stream at a time over connection ci.
type h2Doer struct {
	pool *h2Pool
	ci   int
	s    *h2Stream
}

func newH2Doer(pool *h2Pool, ci int) *h2Doer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &h2Doer{pool: pool, ci: ci, s: &h2Stream{done: make(chan struct{}, 1), timer: t}}
}

func (d *h2Doer) closeAll() { d.s.timer.Stop(); releaseCredit(d.s) }

// do sends one request to target ti and waits for the whole response.
// Requests the server certainly did not process are sent again, on a new
// connection if need be, at most h2Attempts times.
func (d *h2Doer) do(ctx context.Context, ti int) (int, error) {
	t := &d.pool.targets[ti]
	if d.pool.timeout > 0 {
		d.s.timer.Reset(d.pool.timeout)
		defer d.s.timer.Stop()
	}
	for attempt := 1; ; attempt++ {
		c, err := d.pool.conn(ctx, d.ci, t.origin)
		if err != nil {
			return 0, err
		}
		status, err := c.roundTrip(ctx, d.s, t.block, t.body, d.pool.timeout > 0)
		if _, ok := err.(*h2UnprocessedError); ok && attempt < h2Attempts && ctx.Err() == nil {
			continue
		}
		return status, err
	}
}

// atomicCountingConn counts the bytes of a connection shared by goroutines.
type atomicCountingConn struct {
	net.Conn
	pool *h2Pool
}

func (c *atomicCountingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.pool.read.Add(int64(n))
	return n, err
}

func (c *atomicCountingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.pool.written.Add(int64(n))
	return n, err
}

// ---- errors -------------------------------------------------------------

// Error classes of HTTP/2 failures that are neither transport nor
// protocol errors.
const (
	ClassStreamReset   = "stream_reset"
	ClassGoAway        = "goaway"
	ClassStreamRefused = "stream_refused"
)

// h2ResetError is a stream the server reset.
type h2ResetError struct{ code http2.ErrCode }

func (e *h2ResetError) Error() string {
	return "http2: the server reset the stream (RST_STREAM " + e.code.String() + ")"
}
func (e *h2ResetError) ErrorClass() string { return ClassStreamReset }

// h2GoAwayError is a stream cut off by a connection the server was
// closing with GOAWAY: it was at or below the last stream the server
// said it would process, so it may have been processed and is not sent
// again.
type h2GoAwayError struct {
	code http2.ErrCode
	last uint32
	err  error
}

func (e *h2GoAwayError) Error() string {
	return fmt.Sprintf("http2: the server sent GOAWAY (%s, last stream %d) and the connection ended before the response did: %v", e.code, e.last, e.err)
}
func (e *h2GoAwayError) ErrorClass() string { return ClassGoAway }
func (e *h2GoAwayError) Unwrap() error      { return e.err }

// h2UnprocessedError is a request the server did not process (a refused
// stream, a stream above a GOAWAY's last one, a connection already
// closing): it is sent again, and counted only once the attempts are
// spent.
type h2UnprocessedError struct{ why string }

func (e *h2UnprocessedError) Error() string {
	return fmt.Sprintf("http2: not processed by the server after %d attempts (%s)", h2Attempts, e.why)
}
func (e *h2UnprocessedError) ErrorClass() string { return ClassStreamRefused }

var (
	errH2Refused      = &h2UnprocessedError{why: "stream refused"}
	errH2GoAwayAbove  = &h2UnprocessedError{why: "above the last stream of a GOAWAY"}
	errH2ConnClosing  = &h2UnprocessedError{why: "connection closing"}
	errH2ConnFinished = &loadgen.ProtocolError{Msg: "http2: the connection closed"}
)

var _ loadgen.ClassedError = (*h2ResetError)(nil)
var _ loadgen.ClassedError = (*h2GoAwayError)(nil)
var _ loadgen.ClassedError = (*h2UnprocessedError)(nil)

// errH2Timeout is a request that outlived the plan's timeout.
var errH2Timeout = fmt.Errorf("http2: no complete response within the timeout: %w", os.ErrDeadlineExceeded)
