package native_test

import (
	"bytes"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/loadgen/native"
)

// fakeH2 is an h2c server built on the framer, so a test decides frame by
// frame what the client gets: GOAWAYs, resets, lowered limits, stalls.
type fakeH2 struct {
	ln       net.Listener
	settings []http2.Setting
	// request is called (on the connection's reader) once a request has
	// fully arrived, with its body length.
	request func(c *fakeConn, id uint32, body int)
	// data, if set, sees each DATA frame before it is counted.
	data  func(c *fakeConn, f *http2.DataFrame)
	conns atomic.Int64
	mu    sync.Mutex
	open  []*fakeConn
}

type fakeConn struct {
	srv    *fakeH2
	nc     net.Conn
	fr     *http2.Framer
	wmu    sync.Mutex
	enc    *hpack.Encoder
	encBuf bytes.Buffer
	n      int            // requests so far (reader only)
	bodies map[uint32]int // body bytes per stream (reader only)
	acked  atomic.Bool    // the client acknowledged our SETTINGS (after the first)
	pings  atomic.Int64   // PING acks with the data we sent
	resets sync.Map       // stream id -> RST_STREAM code from the client
	closed atomic.Bool
}

func startFakeH2(t *testing.T, f *fakeH2) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.ln = ln
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		for _, c := range f.open {
			c.nc.Close()
		}
		f.mu.Unlock()
	})
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			f.conns.Add(1)
			c := &fakeConn{srv: f, nc: nc, bodies: map[uint32]int{}}
			c.fr = http2.NewFramer(nc, nc)
			c.enc = hpack.NewEncoder(&c.encBuf)
			f.mu.Lock()
			f.open = append(f.open, c)
			f.mu.Unlock()
			go c.serve()
		}
	}()
	return "http://" + ln.Addr().String()
}

func (c *fakeConn) write(fn func(fr *http2.Framer) error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = fn(c.fr)
}

// respond sends a complete response: headers, ending the stream.
func (c *fakeConn) respond(id uint32, status int) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.encBuf.Reset()
	_ = c.enc.WriteField(hpack.HeaderField{Name: ":status", Value: itoa(status)})
	_ = c.enc.WriteField(hpack.HeaderField{Name: "server", Value: "fake"})
	_ = c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.encBuf.Bytes(), EndStream: true, EndHeaders: true})
}

func itoa(n int) string {
	b := []byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)}
	return string(b)
}

func (c *fakeConn) close() {
	c.closed.Store(true)
	c.nc.Close()
}

func (c *fakeConn) serve() {
	defer c.nc.Close()
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c.nc, preface); err != nil || string(preface) != http2.ClientPreface {
		return
	}
	c.write(func(fr *http2.Framer) error { return fr.WriteSettings(c.srv.settings...) })
	settingsSent := 1
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if f.IsAck() {
				settingsSent--
				if settingsSent == 0 {
					c.acked.Store(true)
				}
			} else {
				c.write(func(fr *http2.Framer) error { return fr.WriteSettingsAck() })
			}
		case *http2.HeadersFrame:
			if !f.HeadersEnded() {
				continue // this server's tests send small blocks only
			}
			if f.StreamEnded() {
				c.n++
				c.srv.request(c, f.StreamID, 0)
			} else {
				c.bodies[f.StreamID] = 0
			}
		case *http2.DataFrame:
			if c.srv.data != nil {
				c.srv.data(c, f)
			}
			c.bodies[f.StreamID] += len(f.Data())
			if f.StreamEnded() {
				n := c.bodies[f.StreamID]
				delete(c.bodies, f.StreamID)
				c.n++
				c.srv.request(c, f.StreamID, n)
			}
		case *http2.PingFrame:
			if f.IsAck() && f.Data == [8]byte{'m', 'e', 's', 'h'} {
				c.pings.Add(1)
			}
		case *http2.RSTStreamFrame:
			c.resets.Store(f.StreamID, f.ErrCode)
		}
	}
}

// lowerSettings sends new settings; acked turns true once the client
// acknowledges them.
func (c *fakeConn) lowerSettings(s ...http2.Setting) {
	c.acked.Store(false)
	c.write(func(fr *http2.Framer) error { return fr.WriteSettings(s...) })
}

func h2cPlan(url string, conns, streams int, n int64) *loadgen.Plan {
	return &loadgen.Plan{Targets: []string{url + "/"}, Connections: conns, Streams: streams, Requests: n, HTTPVersion: loadgen.H2C}
}

// A GOAWAY mid-run: the client finishes the streams up to the last one the
// server named, and sends the ones above it again on a new connection, so
// every request is answered exactly once.
func TestH2GoAwayGraceful(t *testing.T) {
	bothModes(t, func(t *testing.T, e *native.Engine) {
		var answered, ignored, goaways atomic.Int64
		type state struct {
			mu    sync.Mutex
			held  []uint32
			going bool
		}
		states := sync.Map{}
		srv := &fakeH2{}
		goaway := func(c *fakeConn, st *state) {
			st.mu.Lock()
			defer st.mu.Unlock()
			if st.going {
				return
			}
			st.going = true
			goaways.Add(1)
			last := st.held[0]
			c.write(func(fr *http2.Framer) error { return fr.WriteGoAway(last, http2.ErrCodeNo, nil) })
			answered.Add(1)
			c.respond(last, 200)
			ignored.Add(int64(len(st.held) - 1))
			time.AfterFunc(200*time.Millisecond, c.close)
		}
		srv.request = func(c *fakeConn, id uint32, _ int) {
			v, _ := states.LoadOrStore(c, &state{})
			st := v.(*state)
			st.mu.Lock()
			switch {
			case st.going:
				ignored.Add(1) // above the last stream: not processed
				st.mu.Unlock()
			case c.n < 50:
				st.mu.Unlock()
				answered.Add(1)
				c.respond(id, 200)
			default:
				// From the 50th request, hold until the 3 other streams have
				// sent theirs (or, at the end of the run, 300 ms), then
				// GOAWAY naming the 50th as the last.
				st.held = append(st.held, id)
				n := len(st.held)
				st.mu.Unlock()
				switch n {
				case 1:
					time.AfterFunc(300*time.Millisecond, func() { goaway(c, st) })
				case 4:
					goaway(c, st)
				}
			}
		}
		url := startFakeH2(t, srv)
		res := runWith(t, e, h2cPlan(url, 1, 4, 400))
		if len(res.Errors) > 0 || res.StatusCodes[200] != 400 {
			t.Fatalf("codes %v errors %+v, want 400 × 200", res.StatusCodes, res.Errors)
		}
		if answered.Load() != 400 {
			t.Errorf("the server answered %d requests, want 400: each once", answered.Load())
		}
		if goaways.Load() < 7 || ignored.Load() < goaways.Load() {
			t.Errorf("%d GOAWAYs, %d requests above them; want ≥ 7 and mostly 3 each", goaways.Load(), ignored.Load())
		}
		if got := srv.conns.Load(); got != goaways.Load() && got != goaways.Load()+1 {
			t.Errorf("%d connections, want one per GOAWAY (%d), plus the last one if it saw none", got, goaways.Load())
		}
	})
}

// A GOAWAY followed at once by the end of the connection: the streams at or
// below the last one may have been processed, so they are errors of their
// own class and are not sent again; the one above is sent again.
func TestH2GoAwayAbrupt(t *testing.T) {
	bothModes(t, func(t *testing.T, e *native.Engine) {
		var answered, cut, events atomic.Int64
		held := map[*fakeConn][]uint32{}
		srv := &fakeH2{}
		srv.request = func(c *fakeConn, id uint32, _ int) {
			if c.n < 30 {
				answered.Add(1)
				c.respond(id, 200)
				return
			}
			held[c] = append(held[c], id)
			if len(held[c]) == 4 {
				h := held[c]
				events.Add(1)
				cut.Add(3)
				c.write(func(fr *http2.Framer) error { return fr.WriteGoAway(h[2], http2.ErrCodeNo, nil) })
				c.close()
			}
		}
		url := startFakeH2(t, srv)
		res := runWith(t, e, h2cPlan(url, 1, 4, 200))
		goaway := errorCount(res, native.ClassGoAway)
		if goaway == 0 || goaway != cut.Load() {
			t.Errorf("goaway errors %d, want the %d streams cut at or below the last stream (errors %+v)", goaway, cut.Load(), res.Errors)
		}
		if int64(len(res.Errors)) != 1 {
			t.Errorf("errors %+v, want goaway only", res.Errors)
		}
		if res.StatusCodes[200] != answered.Load() || res.StatusCodes[200]+goaway != 200 {
			t.Errorf("codes %v, server answered %d, goaway %d: want 200 requests, each answered or counted", res.StatusCodes, answered.Load(), goaway)
		}
	})
}

// Streams the server resets are counted as stream_reset; those it refuses
// (REFUSED_STREAM, never processed) are sent again.
func TestH2ResetAndRefusedStreams(t *testing.T) {
	bothModes(t, func(t *testing.T, e *native.Engine) {
		var n, answered, resets, refused atomic.Int64
		srv := &fakeH2{}
		srv.request = func(c *fakeConn, id uint32, _ int) {
			k := n.Add(1)
			switch {
			case k%5 == 0:
				resets.Add(1)
				c.write(func(fr *http2.Framer) error { return fr.WriteRSTStream(id, http2.ErrCodeInternal) })
			case k%7 == 0:
				refused.Add(1)
				c.write(func(fr *http2.Framer) error { return fr.WriteRSTStream(id, http2.ErrCodeRefusedStream) })
			default:
				answered.Add(1)
				c.respond(id, 200)
			}
		}
		url := startFakeH2(t, srv)
		res := runWith(t, e, h2cPlan(url, 2, 2, 500))
		if got := errorCount(res, native.ClassStreamReset); got != resets.Load() || got == 0 {
			t.Errorf("stream_reset errors %d, want the server's %d resets", got, resets.Load())
		}
		if len(res.Errors) != 1 {
			t.Errorf("errors %+v, want stream_reset only (refused streams are sent again)", res.Errors)
		}
		if refused.Load() == 0 || res.StatusCodes[200] != answered.Load() || answered.Load()+resets.Load() != 500 {
			t.Errorf("codes %v: answered %d, reset %d, refused %d; want 500 = answered + reset", res.StatusCodes, answered.Load(), resets.Load(), refused.Load())
		}
	})
}

// The server lowers SETTINGS_MAX_CONCURRENT_STREAMS mid-run: once the client
// has acknowledged it, it never has more streams open than allowed.
func TestH2LoweredMaxConcurrentStreams(t *testing.T) {
	bothModes(t, func(t *testing.T, e *native.Engine) {
		var mu sync.Mutex
		active := map[*fakeConn]int{}
		var maxBefore, maxAfter, violations, answered atomic.Int64
		lowered := map[*fakeConn]bool{}
		srv := &fakeH2{settings: []http2.Setting{{ID: http2.SettingMaxConcurrentStreams, Val: 100}}}
		srv.request = func(c *fakeConn, id uint32, _ int) {
			mu.Lock()
			if c.n == 100 && !lowered[c] {
				lowered[c] = true
				c.lowerSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 2})
			}
			after := lowered[c] && c.acked.Load()
			if after && active[c] >= 2 {
				violations.Add(1)
				mu.Unlock()
				c.write(func(fr *http2.Framer) error { return fr.WriteRSTStream(id, http2.ErrCodeRefusedStream) })
				return
			}
			active[c]++
			m := &maxBefore
			if after {
				m = &maxAfter
			}
			if v := int64(active[c]); v > m.Load() {
				m.Store(v)
			}
			mu.Unlock()
			time.AfterFunc(2*time.Millisecond, func() {
				mu.Lock()
				active[c]--
				mu.Unlock()
				answered.Add(1)
				c.respond(id, 200)
			})
		}
		url := startFakeH2(t, srv)
		res := runWith(t, e, h2cPlan(url, 1, 8, 600))
		if len(res.Errors) > 0 || res.StatusCodes[200] != 600 {
			t.Fatalf("codes %v errors %+v, want 600 × 200", res.StatusCodes, res.Errors)
		}
		if violations.Load() != 0 || maxAfter.Load() > 2 {
			t.Errorf("after the lowered limit: %d streams over it, at most %d open; want 0 and ≤ 2", violations.Load(), maxAfter.Load())
		}
		if maxBefore.Load() <= 2 {
			t.Errorf("before: at most %d streams open, want more than 2 (the test would prove nothing)", maxBefore.Load())
		}
	})
}

// One stream the server never answers: it times out (and is reset with
// CANCEL) while the others on the connection go on; PINGs are answered.
func TestH2StalledStreamAndPing(t *testing.T) {
	bothModes(t, func(t *testing.T, e *native.Engine) {
		var stalled atomic.Uint32
		var pings atomic.Int64
		var conn atomic.Pointer[fakeConn]
		srv := &fakeH2{}
		srv.request = func(c *fakeConn, id uint32, _ int) {
			conn.Store(c)
			if c.n%20 == 0 {
				pings.Add(1)
				c.write(func(fr *http2.Framer) error { return fr.WritePing(false, [8]byte{'m', 'e', 's', 'h'}) })
			}
			if c.n == 10 {
				stalled.Store(id)
				return
			}
			c.respond(id, 200)
		}
		url := startFakeH2(t, srv)
		p := h2cPlan(url, 1, 4, 300)
		p.Timeout = 300 * time.Millisecond
		start := time.Now()
		res := runWith(t, e, p)
		if got := errorCount(res, loadgen.ClassTimeout); got != 1 || len(res.Errors) != 1 {
			t.Errorf("errors %+v, want exactly 1 timeout", res.Errors)
		}
		if res.StatusCodes[200] != 299 {
			t.Errorf("codes %v, want 299 × 200", res.StatusCodes)
		}
		if time.Since(start) > 5*time.Second {
			t.Errorf("the run took %v: the stall held the other streams", time.Since(start))
		}
		c := conn.Load()
		deadline := time.Now().Add(2 * time.Second)
		for {
			code, ok := c.resets.Load(stalled.Load())
			if ok && code == http2.ErrCodeCancel {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("the stalled stream %d was not reset with CANCEL (got %v, %v)", stalled.Load(), code, ok)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if c.pings.Load() != pings.Load() || pings.Load() == 0 {
			t.Errorf("%d PINGs acknowledged, want all %d sent", c.pings.Load(), pings.Load())
		}
	})
}

// A server with tiny windows that it opens as it reads: the client never
// sends beyond them and the whole body arrives.
func TestH2SendFlowControl(t *testing.T) {
	bothModes(t, func(t *testing.T, e *native.Engine) {
		const body = 50 << 10
		var mu sync.Mutex
		win := map[uint32]int{}
		connWin := map[*fakeConn]int{}
		var violations, ok atomic.Int64
		srv := &fakeH2{settings: []http2.Setting{{ID: http2.SettingInitialWindowSize, Val: 1000}}}
		srv.data = func(c *fakeConn, f *http2.DataFrame) {
			n := int(f.Header().Length)
			mu.Lock()
			if _, seen := win[f.StreamID]; !seen {
				win[f.StreamID] = 1000
			}
			if _, seen := connWin[c]; !seen {
				connWin[c] = 65535
			}
			win[f.StreamID] -= n
			connWin[c] -= n
			if win[f.StreamID] < 0 || connWin[c] < 0 {
				violations.Add(1)
			}
			win[f.StreamID] += n
			connWin[c] += n
			mu.Unlock()
			if n > 0 {
				c.write(func(fr *http2.Framer) error {
					if !f.StreamEnded() {
						_ = fr.WriteWindowUpdate(f.StreamID, uint32(n))
					}
					return fr.WriteWindowUpdate(0, uint32(n))
				})
			}
		}
		srv.request = func(c *fakeConn, id uint32, n int) {
			if n == body {
				ok.Add(1)
				c.respond(id, 200)
			} else {
				c.respond(id, 400)
			}
		}
		url := startFakeH2(t, srv)
		p := h2cPlan(url, 1, 4, 40)
		p.Body = bytes.Repeat([]byte("w"), body)
		res := runWith(t, e, p)
		if len(res.Errors) > 0 || res.StatusCodes[200] != 40 || ok.Load() != 40 {
			t.Fatalf("codes %v errors %+v (%d whole bodies), want 40 × 200", res.StatusCodes, res.Errors, ok.Load())
		}
		if violations.Load() != 0 {
			t.Errorf("%d DATA frames beyond the windows", violations.Load())
		}
	})
}

// A server that accepts the connection and then answers nothing (not even
// PING): every request times out, and the run still ends on time.
func TestH2SilentServer(t *testing.T) {
	bothModes(t, func(t *testing.T, e *native.Engine) {
		var got atomic.Int64
		srv := &fakeH2{request: func(c *fakeConn, id uint32, _ int) { got.Add(1) }}
		url := startFakeH2(t, srv)
		p := h2cPlan(url, 2, 3, 0)
		p.Duration = time.Second
		p.Timeout = 200 * time.Millisecond
		start := time.Now()
		res := runWith(t, e, p)
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("the run took %v, want about 1.2 s (duration + timeout)", took)
		}
		n := errorCount(res, loadgen.ClassTimeout)
		if n < 6 || len(res.Errors) != 1 || len(res.StatusCodes) != 0 {
			t.Errorf("errors %+v, codes %v: want only timeouts, at least one per stream", res.Errors, res.StatusCodes)
		}
		if n > got.Load() {
			t.Errorf("%d timeouts but the server received only %d requests", n, got.Load())
		}
	})
}
