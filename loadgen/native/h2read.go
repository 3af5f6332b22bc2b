package native

import (
	"errors"
	"fmt"
	"io"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/meshperf/meshperf/loadgen"
)

// The connection's reader: frames in, streams ended (h2conn.go).

func (c *h2Conn) readLoop() {
	c.fail(c.readFrames())
}

// readFrames reads until the connection ends; a nil error is a graceful
// end (after a GOAWAY, once the last stream is done).
func (c *h2Conn) readFrames() error {
	for {
		if c.ctrlPending && c.br.Buffered() == 0 {
			c.beginWrite()
			if err := c.endWrite(nil); err != nil {
				return err
			}
			c.ctrlPending = false
		}
		f, err := c.fr.ReadFrame()
		if err != nil {
			return c.connError(err)
		}
		if err := c.onFrame(f); err != nil {
			return c.connError(err)
		}
		if c.goaway {
			c.mu.Lock()
			idle := c.active == 0
			c.mu.Unlock()
			if idle {
				return nil
			}
		}
	}
}

// connError ends the connection for err, telling the server why when it
// is the server's fault.
func (c *h2Conn) connError(err error) error {
	code := http2.ErrCodeProtocol
	var ce http2.ConnectionError
	var pe *loadgen.ProtocolError
	switch {
	case errors.As(err, &ce):
		code = http2.ErrCode(ce)
	case errors.As(err, &pe):
	default:
		return h2ReadError(err) // a transport error: nobody to tell
	}
	c.beginWrite()
	_ = c.endWrite(c.fr.WriteGoAway(0, code, nil)) // we accept no server streams: last is 0
	return h2ReadError(err)
}

// h2ReadError turns the framer's errors into the engine's classes.
func h2ReadError(err error) error {
	var ce http2.ConnectionError
	var se http2.StreamError
	switch {
	case errors.As(err, &ce):
		return &loadgen.ProtocolError{Msg: "http2: " + ce.Error()}
	case errors.As(err, &se):
		return &loadgen.ProtocolError{Msg: "http2: " + se.Error()}
	case errors.Is(err, io.EOF):
		return io.ErrUnexpectedEOF
	}
	return err
}

// ctrl writes a control frame; the reader flushes before it blocks.
func (c *h2Conn) ctrl(write func() error) error {
	c.wmu.Lock()
	err := write()
	c.wmu.Unlock()
	c.ctrlPending = true
	return err
}

func (c *h2Conn) onFrame(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.DataFrame:
		return c.onData(f)
	case *http2.HeadersFrame:
		c.mu.Lock()
		c.hdr = hdrState{s: c.streams[f.StreamID], id: f.StreamID, endStream: f.StreamEnded()}
		c.mu.Unlock()
		c.dec.SetEmitEnabled(true)
		return c.onBlock(f.HeaderBlockFragment(), f.HeadersEnded())
	case *http2.ContinuationFrame:
		return c.onBlock(f.HeaderBlockFragment(), f.HeadersEnded())
	case *http2.RSTStreamFrame:
		c.mu.Lock()
		if s := c.streams[f.StreamID]; s != nil {
			if f.ErrCode == http2.ErrCodeRefusedStream {
				c.complete(s, errH2Refused)
			} else {
				c.complete(s, &h2ResetError{code: f.ErrCode})
			}
		}
		c.mu.Unlock()
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil
		}
		return c.onSettings(f)
	case *http2.PingFrame:
		if !f.IsAck() {
			data := f.Data
			return c.ctrl(func() error { return c.fr.WritePing(true, data) })
		}
	case *http2.WindowUpdateFrame:
		return c.onWindowUpdate(f)
	case *http2.GoAwayFrame:
		c.usable.Store(false)
		c.mu.Lock()
		c.goaway = true
		c.goawayCode = f.ErrCode
		c.lastStream = f.LastStreamID
		for id, s := range c.streams {
			if id > f.LastStreamID {
				c.complete(s, errH2GoAwayAbove) // not processed: sent again
			}
		}
		c.broadcast()
		c.mu.Unlock()
	case *http2.PushPromiseFrame:
		return &loadgen.ProtocolError{Msg: "http2: PUSH_PROMISE although push is disabled"}
	}
	// PRIORITY and unknown frame types are ignored.
	return nil
}

func (c *h2Conn) onSettings(f *http2.SettingsFrame) error {
	err := f.ForeachSetting(func(st http2.Setting) error {
		if err := st.Valid(); err != nil {
			return err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		switch st.ID {
		case http2.SettingMaxConcurrentStreams:
			c.maxStreams = st.Val
		case http2.SettingInitialWindowSize:
			delta := int64(st.Val) - c.initWindow
			c.initWindow = int64(st.Val)
			for _, s := range c.streams {
				s.sendWindow += delta
				if s.sendWindow > 1<<31-1 {
					return http2.ConnectionError(http2.ErrCodeFlowControl)
				}
			}
		case http2.SettingMaxFrameSize:
			c.maxFrame = int64(st.Val)
		}
		// HEADER_TABLE_SIZE needs nothing: our blocks never index.
		return nil
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.broadcast()
	c.mu.Unlock()
	return c.ctrl(c.fr.WriteSettingsAck)
}

func (c *h2Conn) onWindowUpdate(f *http2.WindowUpdateFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.StreamID == 0 {
		c.sendWindow += int64(f.Increment)
		if c.sendWindow > 1<<31-1 {
			return http2.ConnectionError(http2.ErrCodeFlowControl)
		}
	} else if s := c.streams[f.StreamID]; s != nil {
		s.sendWindow += int64(f.Increment)
		if s.sendWindow > 1<<31-1 {
			c.complete(s, &loadgen.ProtocolError{Msg: "http2: stream window above 2^31-1"})
			return nil
		}
	}
	c.broadcast()
	return nil
}

func (c *h2Conn) onData(f *http2.DataFrame) error {
	n := f.Header().Length // padding included, as flow control counts it
	c.recvWindow -= int64(n)
	if c.recvWindow < 0 {
		return http2.ConnectionError(http2.ErrCodeFlowControl)
	}
	c.recvUnack += n
	var streamInc uint32
	c.mu.Lock()
	s := c.streams[f.StreamID]
	if s != nil {
		if s.final && s.grpc.keep {
			s.grpc.keepData(f.Data())
		}
		switch {
		case !s.final:
			c.complete(s, &loadgen.ProtocolError{Msg: "http2: DATA before the response headers"})
			s = nil
		case f.StreamEnded():
			c.completeOK(s)
			s = nil
		default:
			s.recvUnack += n
			if s.recvUnack >= h2StreamWindow/2 {
				streamInc, s.recvUnack = s.recvUnack, 0
			}
		}
	}
	c.mu.Unlock()
	if c.recvUnack >= h2ConnWindow/2 || streamInc > 0 {
		connInc := uint32(0)
		if c.recvUnack >= h2ConnWindow/2 {
			connInc, c.recvUnack = c.recvUnack, 0
			c.recvWindow += int64(connInc)
		}
		return c.ctrl(func() error {
			var err error
			if connInc > 0 {
				err = c.fr.WriteWindowUpdate(0, connInc)
			}
			if err == nil && streamInc > 0 {
				err = c.fr.WriteWindowUpdate(f.StreamID, streamInc)
			}
			return err
		})
	}
	return nil
}

// onBlock decodes a piece of a header block (the decoder's state is the
// connection's, so blocks of abandoned streams are decoded too).
func (c *h2Conn) onBlock(frag []byte, end bool) error {
	c.hdr.raw += len(frag)
	if c.hdr.raw > h2MaxHeaderBlock {
		return &loadgen.ProtocolError{Msg: fmt.Sprintf("http2: a header block of more than %d bytes", h2MaxHeaderBlock)}
	}
	if _, err := c.dec.Write(frag); err != nil {
		return http2.ConnectionError(http2.ErrCodeCompression)
	}
	if !end {
		return nil
	}
	if err := c.dec.Close(); err != nil {
		return http2.ConnectionError(http2.ErrCodeCompression)
	}
	h := &c.hdr
	c.mu.Lock()
	defer c.mu.Unlock()
	s := h.s
	if s == nil || c.streams[h.id] != s {
		return nil // abandoned meanwhile
	}
	var bad string
	switch {
	case h.bad != "":
		bad = h.bad
	case s.final:
		if !h.endStream {
			bad = "trailers without END_STREAM"
		}
	case h.status == 0:
		bad = "response headers without :status"
	case h.status < 200:
		if h.endStream {
			bad = fmt.Sprintf("informational response %d ends the stream", h.status)
		}
		return nil
	default:
		s.final = true
		s.status = h.status
	}
	if bad != "" {
		c.complete(s, &loadgen.ProtocolError{Msg: "http2: " + bad})
		// The stream is broken but the connection is fine: reset it.
		id := s.id
		c.mu.Unlock()
		err := c.ctrl(func() error { return c.fr.WriteRSTStream(id, http2.ErrCodeProtocol) })
		c.mu.Lock()
		return err
	}
	if c.pool.grpc {
		s.grpc.take(&h.grpc, h.status != 0)
	}
	if h.endStream {
		c.completeOK(s)
	}
	return nil
}

// onHeader is the decoder's callback for each field.
func (c *h2Conn) onHeader(f hpack.HeaderField) {
	h := &c.hdr
	h.size += len(f.Name) + len(f.Value) + 32
	if h.size > h2MaxHeaderList && h.bad == "" {
		h.bad = fmt.Sprintf("response header list larger than %d bytes", h2MaxHeaderList)
	}
	if len(f.Name) == 0 || f.Name[0] != ':' {
		if c.pool.grpc {
			h.grpc.field(f)
		}
		return
	}
	if f.Name != ":status" || h.status != 0 {
		if h.bad == "" {
			h.bad = fmt.Sprintf("unexpected pseudo-header %q", truncate([]byte(f.Name)))
		}
		return
	}
	v := f.Value
	if len(v) != 3 || v[0] < '1' || v[0] > '9' || v[1] < '0' || v[1] > '9' || v[2] < '0' || v[2] > '9' {
		h.bad = fmt.Sprintf("malformed :status %q", truncate([]byte(v)))
		return
	}
	h.status = int(v[0]-'0')*100 + int(v[1]-'0')*10 + int(v[2]-'0')
	// The status is all we read of a response: the decoder goes on (its
	// table must follow the server's) without making strings of the rest.
	// The block's encoded size is still bounded (h2MaxHeaderBlock).
	// A gRPC call reads on: its status is in the fields.
	if !c.pool.grpc {
		c.dec.SetEmitEnabled(false)
	}
}
