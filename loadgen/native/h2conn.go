package native

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/meshperf/meshperf/loadgen"
)

// h2Stream is a worker's stream, reused from request to request. The
// reader fills status and err and signals done, under the connection's mu.
type h2Stream struct {
	id         uint32
	done       chan struct{} // buffered 1
	timer      *time.Timer
	status     int
	err        error
	final      bool  // the final (non-1xx) response headers have come
	sendWindow int64 // what the server lets this stream send
	recvUnack  uint32
	// credit is the connection on whose writers count this stream's
	// worker holds a place (closed loop): given with a response, it is
	// used by the worker's next write, so requests sent in answer to the
	// responses of one read leave in one flush.
	credit *h2Conn
	// The driven closed loop's request (h2drive.go).
	ti       int
	attempts int
	sent     time.Duration // from the run's start, as recorded
	// A gRPC call's outcome (grpch2.go), filled by the reader.
	grpc grpcH2State
}

// reset readies s for its next request.
func (s *h2Stream) reset() {
	s.status, s.err, s.final, s.recvUnack = 0, nil, false, 0
	if s.grpc.on {
		s.grpc.reset()
	}
}

// h2Conn is one HTTP/2 connection. Lock order: wmu, then mu.
type h2Conn struct {
	pool *h2Pool
	nc   net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	fr   *http2.Framer
	dec  *hpack.Decoder

	usable    atomic.Bool // new streams may start here
	closeOnce sync.Once

	// Writing: wmu guards bw, fr's write side and nextID. writers counts
	// the goroutines writing or waiting to write; the last one flushes.
	wmu     sync.Mutex
	writers atomic.Int32
	nextID  uint32

	mu         sync.Mutex
	streams    map[uint32]*h2Stream
	active     int
	maxStreams uint32 // the server's SETTINGS_MAX_CONCURRENT_STREAMS
	initWindow int64  // the server's SETTINGS_INITIAL_WINDOW_SIZE
	maxFrame   int64  // the server's SETTINGS_MAX_FRAME_SIZE
	sendWindow int64  // the connection's send window
	waiters    int    // goroutines waiting on wake
	wake       chan struct{}
	gone       error // set once the connection is finished
	driven     bool  // streams end into doneQ for the driver, not on done
	doneQ      []*h2Stream
	drains     uint64 // how often the driver took doneQ
	goaway     bool
	goawayCode http2.ErrCode
	lastStream uint32

	// The reader's own state.
	recvWindow  int64  // what the server may still send on the connection
	recvUnack   uint32 // received and not yet given back
	ctrlPending bool   // control frames written and not flushed
	hdr         hdrState
}

// hdrState is the header block being decoded.
type hdrState struct {
	s         *h2Stream // nil: a stream we no longer wait for
	id        uint32
	endStream bool
	status    int
	size      int // decoded header list size, RFC 9113 6.5.2
	raw       int // encoded bytes
	bad       string
	grpc      grpcHdr // gRPC's fields of the block (grpch2.go)
}

func newH2Conn(p *h2Pool, nc net.Conn) *h2Conn {
	c := &h2Conn{
		pool:       p,
		nc:         nc,
		br:         bufio.NewReaderSize(nc, 64<<10),
		bw:         bufio.NewWriterSize(nc, 32<<10),
		nextID:     1,
		streams:    make(map[uint32]*h2Stream),
		maxStreams: h2DefaultMaxStreams,
		initWindow: 65535,
		maxFrame:   16384,
		sendWindow: 65535,
		recvWindow: h2ConnWindow,
		wake:       make(chan struct{}),
	}
	c.fr = http2.NewFramer(c.bw, c.br)
	c.fr.SetReuseFrames()
	c.fr.SetMaxReadFrameSize(16384)
	c.dec = hpack.NewDecoder(4096, c.onHeader)
	c.dec.SetMaxStringLength(h2MaxHeaderList)
	return c
}

// handshake sends the preface and our settings and waits for the server's
// settings, so the first streams already respect its limits.
func (c *h2Conn) handshake(ctx context.Context) error {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.nc.SetDeadline(dl)
		defer c.nc.SetDeadline(time.Time{})
	}
	if _, err := c.bw.WriteString(http2.ClientPreface); err != nil {
		return err
	}
	err := c.fr.WriteSettings(
		http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: h2StreamWindow},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: h2MaxHeaderList},
	)
	if err == nil {
		err = c.fr.WriteWindowUpdate(0, h2ConnWindow-65535)
	}
	if err == nil {
		err = c.bw.Flush()
	}
	if err != nil {
		return err
	}
	f, err := c.fr.ReadFrame()
	if err != nil {
		return h2ReadError(err)
	}
	sf, ok := f.(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		return &loadgen.ProtocolError{Msg: fmt.Sprintf("http2: the server's first frame is %s, not SETTINGS", f.Header().Type)}
	}
	if err := c.onSettings(sf); err != nil {
		return err
	}
	if err := c.bw.Flush(); err != nil {
		return err
	}
	c.ctrlPending = false
	c.usable.Store(true)
	return nil
}

// beginWrite and endWrite bracket a write: the last writer of a burst
// flushes, so requests sent together leave in one system call.
func (c *h2Conn) beginWrite() {
	c.writers.Add(1)
	c.wmu.Lock()
}

// beginWriteFor begins a write for stream s's worker, using the place it
// holds if it holds one here.
func (c *h2Conn) beginWriteFor(s *h2Stream) {
	if s.credit == c {
		s.credit = nil
		c.wmu.Lock()
		return
	}
	releaseCredit(s)
	c.beginWrite()
}

// releaseCredit gives up the place s's worker holds, flushing if it was
// the last one owed.
func releaseCredit(s *h2Stream) {
	if c := s.credit; c != nil {
		s.credit = nil
		c.wmu.Lock()
		_ = c.endWrite(nil)
	}
}

func (c *h2Conn) endWrite(err error) error {
	if c.writers.Add(-1) == 0 && err == nil {
		err = c.bw.Flush()
	}
	c.wmu.Unlock()
	return err
}

// waitCh registers a waiter and returns the channel closed at the next
// change (a stream ending, a window opening, new settings). Under mu.
func (c *h2Conn) waitCh() chan struct{} {
	c.waiters++
	return c.wake
}

// broadcast wakes the waiters. Under mu.
func (c *h2Conn) broadcast() {
	if c.waiters > 0 {
		close(c.wake)
		c.wake = make(chan struct{})
		c.waiters = 0
	}
}

// wait blocks until ch closes, the run ends or the request times out.
func (c *h2Conn) wait(ctx context.Context, ch chan struct{}, s *h2Stream, timed bool) error {
	var tc <-chan time.Time
	if timed {
		tc = s.timer.C
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-tc:
		return errH2Timeout
	}
}

// roundTrip sends one request on stream s and waits for its response.
func (c *h2Conn) roundTrip(ctx context.Context, s *h2Stream, block, body []byte, timed bool) (int, error) {
	// A stream of the server's allowance.
	c.mu.Lock()
	for c.gone == nil && !c.goaway && uint32(c.active) >= c.maxStreams {
		ch := c.waitCh()
		c.mu.Unlock()
		releaseCredit(s) // never wait with a flush owed
		if err := c.wait(ctx, ch, s, timed); err != nil {
			return 0, err
		}
		c.mu.Lock()
	}
	if c.gone != nil || c.goaway {
		c.mu.Unlock()
		releaseCredit(s)
		return 0, errH2ConnClosing
	}
	c.active++
	c.mu.Unlock()

	s.reset()
	select { // a signal left by a stream that timed out as it completed
	case <-s.done:
	default:
	}

	c.beginWriteFor(s)
	c.mu.Lock()
	if c.gone != nil || c.goaway || c.nextID > 1<<31-1 {
		c.active--
		c.broadcast()
		if c.nextID > 1<<31-1 {
			c.usable.Store(false) // stream IDs spent: the next request opens a new connection
		}
		c.mu.Unlock()
		_ = c.endWrite(nil)
		return 0, errH2ConnClosing
	}
	s.id = c.nextID
	c.nextID += 2
	s.sendWindow = c.initWindow
	c.streams[s.id] = s
	c.mu.Unlock()
	err := c.writeHeaders(s.id, block, len(body) == 0)
	rest := body
	if err == nil && len(body) > 0 {
		rest, err = c.writeData(s, rest)
	}
	if err = c.endWrite(err); err != nil {
		c.fail(err)
	}
	for err == nil && len(rest) > 0 {
		// The windows are shut: wait for the server to open them.
		c.mu.Lock()
		if c.streams[s.id] != s {
			c.mu.Unlock()
			break // the response (or an error) came before the whole body went
		}
		if c.sendWindow > 0 && s.sendWindow > 0 {
			c.mu.Unlock()
		} else {
			ch := c.waitCh()
			c.mu.Unlock()
			if werr := c.wait(ctx, ch, s, timed); werr != nil {
				return c.abandon(s, werr)
			}
			continue
		}
		c.beginWrite()
		rest, err = c.writeData(s, rest)
		if err = c.endWrite(err); err != nil {
			c.fail(err)
		}
	}

	var tc <-chan time.Time
	if timed {
		tc = s.timer.C
	}
	select {
	case <-s.done:
	case <-ctx.Done():
		return c.abandon(s, ctx.Err())
	case <-tc:
		return c.abandon(s, errH2Timeout)
	}
	if len(rest) > 0 && s.err == nil {
		// The server answered before reading the whole body: our half
		// of the stream is still open, close it.
		c.beginWrite()
		_ = c.endWrite(c.fr.WriteRSTStream(s.id, http2.ErrCodeNo))
	}
	return s.status, s.err
}

// abandon gives up on stream s (timed out or the run ended) and resets it,
// unless its response came in the meantime.
func (c *h2Conn) abandon(s *h2Stream, why error) (int, error) {
	c.mu.Lock()
	if c.streams[s.id] != s {
		c.mu.Unlock()
		<-s.done // completed as we gave up: its result stands
		return s.status, s.err
	}
	c.finishLocked(s)
	c.mu.Unlock()
	c.beginWrite()
	_ = c.endWrite(c.fr.WriteRSTStream(s.id, http2.ErrCodeCancel))
	return s.status, why
}

// writeHeaders writes a header block, in CONTINUATION frames if it is
// larger than the server's frame size. Under wmu.
func (c *h2Conn) writeHeaders(id uint32, block []byte, endStream bool) error {
	maxFrame := int(c.maxFrameSize())
	first := block
	if len(first) > maxFrame {
		first = first[:maxFrame]
	}
	err := c.fr.WriteHeaders(http2.HeadersFrameParam{
		StreamID: id, BlockFragment: first, EndStream: endStream, EndHeaders: len(first) == len(block),
	})
	for rest := block[len(first):]; err == nil && len(rest) > 0; {
		n := min(len(rest), maxFrame)
		err = c.fr.WriteContinuation(id, n == len(rest), rest[:n])
		rest = rest[n:]
	}
	return err
}

func (c *h2Conn) maxFrameSize() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.maxFrame
}

// writeData writes as much of body as the windows allow and returns the
// rest. Under wmu.
func (c *h2Conn) writeData(s *h2Stream, body []byte) ([]byte, error) {
	for len(body) > 0 {
		c.mu.Lock()
		if c.streams[s.id] != s {
			c.mu.Unlock()
			return body, nil
		}
		n := min(int64(len(body)), c.sendWindow, s.sendWindow, c.maxFrame)
		if n <= 0 {
			c.mu.Unlock()
			return body, nil
		}
		c.sendWindow -= n
		s.sendWindow -= n
		c.mu.Unlock()
		if err := c.fr.WriteData(s.id, n == int64(len(body)), body[:n]); err != nil {
			return body, err
		}
		body = body[n:]
	}
	return nil, nil
}

// finishLocked removes stream s. Under mu.
func (c *h2Conn) finishLocked(s *h2Stream) {
	delete(c.streams, s.id)
	c.active--
	c.broadcast()
}

// complete ends stream s with its response (err nil) or an error. Under mu.
func (c *h2Conn) complete(s *h2Stream, err error) {
	c.finishLocked(s)
	s.err = err
	if c.driven {
		c.doneQ = append(c.doneQ, s)
		return
	}
	select {
	case s.done <- struct{}{}:
	default:
	}
}

// completeOK ends stream s with its response; in a closed loop its worker
// is given a place among the writers (see h2Stream.credit). Under mu.
func (c *h2Conn) completeOK(s *h2Stream) {
	if c.pool.credits && s.credit == nil {
		c.writers.Add(1)
		s.credit = c
	}
	c.complete(s, nil)
}

// fail finishes the connection: every stream still open ends with err
// (or, after a GOAWAY, with what the GOAWAY tells of it).
func (c *h2Conn) fail(err error) {
	if err == nil {
		err = errH2ConnFinished
	}
	c.usable.Store(false)
	c.mu.Lock()
	if c.gone == nil {
		c.gone = err
		for _, s := range c.streams {
			serr := err
			if c.goaway {
				serr = &h2GoAwayError{code: c.goawayCode, last: c.lastStream, err: err}
			}
			c.complete(s, serr)
		}
		c.broadcast()
	}
	c.mu.Unlock()
	c.close()
}

func (c *h2Conn) close() {
	c.closeOnce.Do(func() {
		c.usable.Store(false)
		_ = c.nc.Close()
		c.pool.forget(c)
	})
}
