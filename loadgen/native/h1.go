package native

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/meshperf/meshperf/loadgen"
)

// h1Target is one target URL prepared for the HTTP/1.1 client: its address
// and the request bytes, built once.
type h1Target struct {
	addr string
	tls  *tls.Config
	req  []byte
	head bool
	// stats gathers the handshakes of every client's connections.
	stats *tlsStats
}

func newH1Targets(p *loadgen.Plan, version string, stats *tlsStats) ([]*h1Target, error) {
	var out []*h1Target
	for _, raw := range p.Targets {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("target %q: %w", raw, err)
		}
		t := &h1Target{addr: hostPort(u), head: p.Method == "HEAD", stats: stats}
		if u.Scheme == "https" {
			if t.tls, err = tlsConfig(p.TLS, u.Hostname(), []string{"http/1.1"}); err != nil {
				return nil, err
			}
		}
		t.req = buildRequest(p, u, version)
		out = append(out, t)
	}
	return out, nil
}

func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// buildRequest serialises the request once; every send writes these bytes.
func buildRequest(p *loadgen.Plan, u *url.URL, version string) []byte {
	var b strings.Builder
	path := u.RequestURI()
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", p.Method, path)
	host := u.Host
	hasUA, hasCT := false, false
	for _, h := range p.Headers {
		switch strings.ToLower(h.Name) {
		case "host":
			host = h.Value
		case "user-agent":
			hasUA = true
		case "content-type":
			hasCT = true
		}
	}
	fmt.Fprintf(&b, "Host: %s\r\n", host)
	if !hasUA {
		fmt.Fprintf(&b, "User-Agent: meshperf/%s\r\n", version)
	}
	for _, h := range p.Headers {
		if strings.EqualFold(h.Name, "host") {
			continue
		}
		fmt.Fprintf(&b, "%s: %s\r\n", h.Name, h.Value)
	}
	if len(p.Cookies) > 0 {
		b.WriteString("Cookie: ")
		for i, c := range p.Cookies {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(c.Name + "=" + c.Value)
		}
		b.WriteString("\r\n")
	}
	if p.ContentType != "" && !hasCT {
		fmt.Fprintf(&b, "Content-Type: %s\r\n", p.ContentType)
	}
	switch {
	case len(p.Body) > 0:
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(p.Body))
	case p.Method == "POST" || p.Method == "PUT" || p.Method == "PATCH":
		b.WriteString("Content-Length: 0\r\n")
	}
	b.WriteString("\r\n")
	b.Write(p.Body)
	return []byte(b.String())
}

// newDialer makes the dialer of a plan, with its DNS server if it names one.
func newDialer(p *loadgen.Plan) net.Dialer {
	d := net.Dialer{Timeout: p.ConnectTimeout}
	if p.Resolver != "" {
		addr := p.Resolver
		d.Resolver = &net.Resolver{
			PreferGo: true,
			Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var dd net.Dialer
				return dd.DialContext(ctx, network, addr)
			},
		}
	}
	return d
}

// countingConn counts the bytes a connection moves.
type countingConn struct {
	net.Conn
	read, written *int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	*c.read += int64(n)
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	*c.written += int64(n)
	return n, err
}

// h1Conn is one keep-alive connection to one target.
type h1Conn struct {
	nc     net.Conn
	br     *bufio.Reader
	reused bool
	stop   func() bool
	// got counts the response bytes read (after TLS: a close_notify
	// alert is bytes on the wire, but no byte of a response).
	got, sent int64
}

func (c *h1Conn) close() {
	if c.stop != nil {
		c.stop()
	}
	_ = c.nc.Close()
}

// h1Client sends requests over HTTP/1.1 with keep-alive: one connection per
// target, owned by one worker, so nothing is shared and nothing is locked.
// It parses only what it needs of the response (status, framing, Connection)
// and discards the body.
type h1Client struct {
	targets        []*h1Target
	conns          []*h1Conn
	dialer         net.Dialer
	connectTimeout time.Duration
	timeout        time.Duration
	read, written  int64
	bufSize        int
}

func newH1Client(targets []*h1Target, p *loadgen.Plan) *h1Client {
	return &h1Client{
		targets:        targets,
		dialer:         newDialer(p),
		conns:          make([]*h1Conn, len(targets)),
		connectTimeout: p.ConnectTimeout,
		timeout:        p.Timeout,
		bufSize:        16 << 10,
	}
}

func (c *h1Client) closeAll() {
	for i, cn := range c.conns {
		if cn != nil {
			cn.close()
			c.conns[i] = nil
		}
	}
}

func (c *h1Client) bytes() (sent, recv int64) { return c.written, c.read }

func (c *h1Client) dial(ctx context.Context, t *h1Target) (*h1Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, c.connectTimeout)
	defer cancel()
	nc, err := c.dialer.DialContext(dctx, "tcp", t.addr)
	if err != nil {
		return nil, err
	}
	nc = &countingConn{Conn: nc, read: &c.read, written: &c.written}
	if t.tls != nil {
		tc := tls.Client(nc, t.tls)
		began := time.Now()
		err := tc.HandshakeContext(dctx)
		if ctx.Err() == nil { // not our own cancellation
			t.stats.add(time.Since(began), tc.ConnectionState().DidResume, err)
		}
		if err != nil {
			_ = nc.Close()
			return nil, setupFailed(err)
		}
		nc = tc
	}
	cn := &h1Conn{nc: nc}
	cn.br = bufio.NewReaderSize(&countingConn{Conn: nc, read: &cn.got, written: &cn.sent}, c.bufSize)
	// Cancelling the run closes the connection, which ends any blocked I/O.
	cn.stop = context.AfterFunc(ctx, func() { _ = nc.Close() })
	return cn, nil
}

// do sends one request to target ti and reads the whole response.
func (c *h1Client) do(ctx context.Context, ti int) (int, error) {
	for attempt := 0; ; attempt++ {
		cn := c.conns[ti]
		if cn == nil {
			var err error
			if cn, err = c.dial(ctx, c.targets[ti]); err != nil {
				return 0, err
			}
			c.conns[ti] = cn
		}
		before := cn.got
		status, keep, err := c.roundTrip(cn, c.targets[ti])
		if err != nil || !keep {
			cn.close()
			c.conns[ti] = nil
		} else {
			cn.reused = true
		}
		// A kept-alive connection the server closed while idle fails
		// before any byte comes back: send again once on a new one.
		if err != nil && cn.reused && cn.got == before && attempt == 0 && ctx.Err() == nil && isClosedConn(err) {
			continue
		}
		return status, err
	}
}

func isClosedConn(err error) bool {
	c := loadgen.Classify(err)
	return c == loadgen.ClassReset
}

func (c *h1Client) roundTrip(cn *h1Conn, t *h1Target) (status int, keep bool, err error) {
	if c.timeout > 0 {
		_ = cn.nc.SetDeadline(time.Now().Add(c.timeout))
	}
	if _, err := cn.nc.Write(t.req); err != nil {
		return 0, false, err
	}
	return c.readResponse(cn.br, t.head)
}

// readResponse reads one response (after any 1xx) and discards its body.
func (c *h1Client) readResponse(br *bufio.Reader, head bool) (status int, keep bool, err error) {
	for {
		line, err := readLine(br)
		if err != nil {
			return 0, false, err
		}
		status, err = parseStatusLine(line)
		if err != nil {
			return 0, false, err
		}
		f, err := readHeaders(br)
		if err != nil {
			return status, false, err
		}
		keep = f.keep(line[7] == '1') // HTTP/1.1 keeps alive by default, 1.0 does not
		if status >= 100 && status < 200 && status != 101 {
			continue // 100 Continue and friends: the real response follows
		}
		switch {
		case head || status == 204 || status == 304 || status == 101:
		case f.chunked:
			if err := discardChunked(br); err != nil {
				return status, false, err
			}
		case f.length >= 0:
			if _, err := br.Discard(int(f.length)); err != nil {
				if errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return status, false, err
			}
		default:
			// No framing: the body runs to the end of the connection.
			if _, err := io.Copy(io.Discard, br); err != nil {
				return status, false, err
			}
			keep = false
		}
		return status, keep, nil
	}
}

// readLine returns one line without its line ending. Lines longer than the
// buffer are cut to the buffer's size; the rest is skipped.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		// Keep the head (all we look at), skip the rest.
		head := append([]byte(nil), line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = br.ReadSlice('\n')
		}
		line = head
	}
	if err != nil {
		if errors.Is(err, io.EOF) && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	n := len(line)
	for n > 0 && (line[n-1] == '\n' || line[n-1] == '\r') {
		n--
	}
	return line[:n], nil
}

func parseStatusLine(line []byte) (int, error) {
	// HTTP/1.x SSS reason
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' {
		return 0, &loadgen.ProtocolError{Msg: fmt.Sprintf("malformed status line %q", truncate(line))}
	}
	code := 0
	for _, ch := range line[9:12] {
		if ch < '0' || ch > '9' {
			return 0, &loadgen.ProtocolError{Msg: fmt.Sprintf("malformed status code in %q", truncate(line))}
		}
		code = code*10 + int(ch-'0')
	}
	if code < 100 || (len(line) > 12 && line[12] != ' ') {
		return 0, &loadgen.ProtocolError{Msg: fmt.Sprintf("malformed status code in %q", truncate(line))}
	}
	return code, nil
}

func truncate(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}

// framing is what a response's headers say about its body and connection.
type framing struct {
	length           int64 // -1: not given
	chunked          bool
	close, keepAlive bool
}

// header reads one header line into f. Both response readers (the blocking
// one here and the event loop's incremental one) use it, so they agree.
func (f *framing) header(line []byte) error {
	colon := indexByte(line, ':')
	if colon <= 0 {
		return &loadgen.ProtocolError{Msg: fmt.Sprintf("malformed header line %q", truncate(line))}
	}
	name, value := line[:colon], trim(line[colon+1:])
	switch {
	case equalFold(name, "content-length"):
		v, err := strconv.ParseInt(string(value), 10, 64)
		if err != nil || v < 0 {
			return &loadgen.ProtocolError{Msg: fmt.Sprintf("bad Content-Length %q", truncate(value))}
		}
		f.length = v
	case equalFold(name, "transfer-encoding"):
		f.chunked = containsFold(value, "chunked")
	case equalFold(name, "connection"):
		if containsFold(value, "close") {
			f.close = true
		} else if containsFold(value, "keep-alive") {
			f.keepAlive = true
		}
	}
	return nil
}

// keep tells whether the connection stays open after the response, given
// the protocol's default (HTTP/1.1 keeps alive, 1.0 does not).
func (f *framing) keep(byDefault bool) bool {
	switch {
	case f.close:
		return false
	case f.keepAlive:
		return true
	}
	return byDefault
}

// readHeaders reads the header block and returns what framing needs.
func readHeaders(br *bufio.Reader) (framing, error) {
	f := framing{length: -1}
	for n := 0; ; n++ {
		if n > 1000 {
			return f, &loadgen.ProtocolError{Msg: "more than 1000 header lines"}
		}
		line, err := readLine(br)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return f, err
		}
		if len(line) == 0 {
			return f, nil
		}
		if err := f.header(line); err != nil {
			return f, err
		}
	}
}

// discardChunked reads and drops a chunked body and its trailers.
func discardChunked(br *bufio.Reader) error {
	for {
		line, err := readLine(br)
		if err != nil {
			return err
		}
		if i := indexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		size, perr := strconv.ParseInt(string(trim(line)), 16, 64)
		if perr != nil || size < 0 {
			return &loadgen.ProtocolError{Msg: fmt.Sprintf("bad chunk size %q", truncate(line))}
		}
		if size == 0 {
			for {
				l, err := readLine(br)
				if err != nil {
					return err
				}
				if len(l) == 0 {
					return nil
				}
			}
		}
		if _, err := br.Discard(int(size)); err != nil {
			return io.ErrUnexpectedEOF
		}
		l, err := readLine(br)
		if err != nil {
			return err
		}
		if len(l) != 0 {
			return &loadgen.ProtocolError{Msg: "chunk not followed by CRLF"}
		}
	}
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func trim(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

func containsFold(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if equalFold(b[i:i+len(s)], s) {
			return true
		}
	}
	return false
}
