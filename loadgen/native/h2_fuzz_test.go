package native

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// bytesConn is a connection whose peer sent b and reads nothing back.
type bytesConn struct {
	net.Conn
	r *bytes.Reader
}

func (c *bytesConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *bytesConn) Write(p []byte) (int, error) { return len(p), nil }
func (c *bytesConn) Close() error                { return nil }

// h2Seed is a server's side of a connection with streams 1, 3 and 5 open.
func h2Seed(f func(fr *http2.Framer, block func(status string, extra ...string) []byte)) []byte {
	var buf bytes.Buffer
	fr := http2.NewFramer(&buf, nil)
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	block := func(status string, extra ...string) []byte {
		hb.Reset()
		if status != "" {
			_ = enc.WriteField(hpack.HeaderField{Name: ":status", Value: status})
		}
		for i := 0; i+1 < len(extra); i += 2 {
			_ = enc.WriteField(hpack.HeaderField{Name: extra[i], Value: extra[i+1]})
		}
		return bytes.Clone(hb.Bytes())
	}
	_ = fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 2})
	f(fr, block)
	return buf.Bytes()
}

// FuzzH2Frames feeds arbitrary server bytes to a connection's reader with
// three streams open: it must end every stream exactly once, with a status
// or an error, and never panic or hang.
func FuzzH2Frames(f *testing.F) {
	f.Add(h2Seed(func(fr *http2.Framer, block func(string, ...string) []byte) {
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block("200", "server", "x"), EndHeaders: true, EndStream: true})
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: block("100"), EndHeaders: true})
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: block("404", "content-type", "text/plain"), EndHeaders: true})
		_ = fr.WriteData(3, false, []byte("hello"))
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: block("", "grpc-status", "0"), EndHeaders: true, EndStream: true})
		b := block("204", "x-long", string(bytes.Repeat([]byte("v"), 100)))
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 5, BlockFragment: b[:10]})
		_ = fr.WriteContinuation(5, false, b[10:50])
		_ = fr.WriteContinuation(5, true, b[50:])
		_ = fr.WriteData(5, true, nil)
	}))
	f.Add(h2Seed(func(fr *http2.Framer, block func(string, ...string) []byte) {
		_ = fr.WritePing(false, [8]byte{1})
		_ = fr.WriteWindowUpdate(0, 1000)
		_ = fr.WriteWindowUpdate(3, 1<<31-1)
		_ = fr.WriteRSTStream(1, http2.ErrCodeRefusedStream)
		_ = fr.WriteRSTStream(3, http2.ErrCodeInternal)
		_ = fr.WriteGoAway(3, http2.ErrCodeNo, []byte("bye"))
	}))
	f.Add(h2Seed(func(fr *http2.Framer, block func(string, ...string) []byte) {
		_ = fr.WriteData(1, true, []byte("data first"))
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: block("2000"), EndHeaders: true, EndStream: true})
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 5, BlockFragment: block("200", ":path", "/"), EndHeaders: true, EndStream: true})
		_ = fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 31})
	}))
	f.Add([]byte("HTTP/1.1 200 OK\r\n\r\n"))
	f.Add(h2Seed(func(fr *http2.Framer, block func(string, ...string) []byte) {
		// gRPC: headers, a message, trailers; a trailers-only answer.
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block("200", "content-type", "application/grpc"), EndHeaders: true})
		_ = fr.WriteData(1, false, []byte{0, 0, 0, 0, 2, 8, 1})
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block("", "grpc-status", "0"), EndHeaders: true, EndStream: true})
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: block("200", "content-type", "application/grpc", "grpc-status", "14", "grpc-message", "down%20x"), EndHeaders: true, EndStream: true})
	}))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, grpcMode := range []bool{false, true} {
			fuzzH2Reader(t, data, grpcMode)
		}
	})
}

// fuzzH2Reader reads data as a server's frames on a connection with three
// streams open; in gRPC mode each stream is a call (the first one's answer
// kept, as a health check's).
func fuzzH2Reader(t *testing.T, data []byte, grpcMode bool) {
	pool := &h2Pool{all: map[*h2Conn]struct{}{}, grpc: grpcMode}
	c := newH2Conn(pool, &bytesConn{r: bytes.NewReader(data)})
	c.usable.Store(true)
	var streams []*h2Stream
	for _, id := range []uint32{1, 3, 5} {
		s := &h2Stream{id: id, done: make(chan struct{}, 1), sendWindow: 65535}
		s.grpc.on, s.grpc.keep = grpcMode, grpcMode && id == 1
		c.streams[id] = s
		c.active++
		streams = append(streams, s)
	}
	c.nextID = 7
	finished := make(chan struct{})
	go func() { c.readLoop(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
		t.Fatal("the reader did not end on a finite input")
	}
	for _, s := range streams {
		select {
		case <-s.done:
		default:
			t.Fatalf("stream %d never ended", s.id)
		}
		if s.err == nil && (s.status < 200 || s.status > 999) {
			t.Fatalf("stream %d: status %d without an error", s.id, s.status)
		}
		if grpcMode {
			code, err := grpcOutcome(context.Background(), &h2Target{health: s.grpc.keep}, &s.grpc, s.status, s.err, time.Second, 0)
			ok := code == 0 && s.err == nil && s.status == 200 && s.grpc.set && s.grpc.code == 0
			// Only a health check may fail with code 0 (its answer was read).
			if (err == nil && !ok) || (err != nil && ok && !s.grpc.keep) {
				t.Fatalf("stream %d: code %d, err %v (status %d, state %+v)", s.id, code, err, s.status, s.grpc)
			}
			if len(s.grpc.data) > grpcMaxKept {
				t.Fatalf("stream %d kept %d bytes", s.id, len(s.grpc.data))
			}
		}
	}
	if len(c.streams) != 0 || c.active != 0 {
		t.Fatalf("%d streams left, active %d", len(c.streams), c.active)
	}
	if c.usable.Load() {
		t.Fatal("a finished connection is still usable")
	}
}
