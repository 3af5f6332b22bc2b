package native

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"time"

	"github.com/meshperf/meshperf/loadgen"
)

// tcpTarget is one tcp://host:port target.
type tcpTarget struct{ addr string }

func newTCPTargets(p *loadgen.Plan) ([]tcpTarget, error) {
	var out []tcpTarget
	for _, raw := range p.Targets {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("target %q: %w", raw, err)
		}
		if u.Port() == "" {
			return nil, fmt.Errorf("target %q: a TCP target needs a port", raw)
		}
		out = append(out, tcpTarget{addr: net.JoinHostPort(u.Hostname(), u.Port())})
	}
	return out, nil
}

// tcpClient is one worker's connections, one per target, each kept open
// from request to request. A request writes the plan's payload and reads
// the response: a number of bytes, or up to a delimiter. A connection
// that fails or times out is closed, since what is left unread on it would
// be taken for the next response; the next request opens a new one.
type tcpClient struct {
	targets        []tcpTarget
	conns          []*tcpConn
	dialer         net.Dialer
	connectTimeout time.Duration
	timeout        time.Duration
	payload        []byte
	expect         int
	delim          []byte
	tail           []byte // the end of what was read, to find a delimiter split across reads
	read, written  int64
}

type tcpConn struct {
	nc   net.Conn
	br   *bufio.Reader
	stop func() bool
}

func (c *tcpConn) close() {
	if c.stop != nil {
		c.stop()
	}
	_ = c.nc.Close()
}

func newTCPClient(targets []tcpTarget, p *loadgen.Plan) *tcpClient {
	c := &tcpClient{
		targets:        targets,
		conns:          make([]*tcpConn, len(targets)),
		dialer:         newDialer(p),
		connectTimeout: p.ConnectTimeout,
		timeout:        p.Timeout,
		payload:        p.Body,
		expect:         p.TCP.ExpectBytes,
		delim:          p.TCP.Delimiter,
	}
	if c.expect == 0 && len(c.delim) == 0 {
		c.expect = len(p.Body) // an echo: as much back as was sent
	}
	return c
}

func (c *tcpClient) closeAll() {
	for i, cn := range c.conns {
		if cn != nil {
			cn.close()
			c.conns[i] = nil
		}
	}
}

func (c *tcpClient) bytes() (sent, recv int64) { return c.written, c.read }

func (c *tcpClient) dial(ctx context.Context, t tcpTarget) (*tcpConn, error) {
	dctx, cancel := context.WithTimeout(ctx, c.connectTimeout)
	defer cancel()
	nc, err := c.dialer.DialContext(dctx, "tcp", t.addr)
	if err != nil {
		return nil, err
	}
	nc = &countingConn{Conn: nc, read: &c.read, written: &c.written}
	cn := &tcpConn{nc: nc, br: bufio.NewReaderSize(nc, 16<<10)}
	// Cancelling the run closes the connection, which ends any blocked I/O.
	cn.stop = context.AfterFunc(ctx, func() { _ = nc.Close() })
	return cn, nil
}

// do sends the payload to target ti and reads one response.
func (c *tcpClient) do(ctx context.Context, ti int) (int, error) {
	cn := c.conns[ti]
	if cn == nil {
		var err error
		if cn, err = c.dial(ctx, c.targets[ti]); err != nil {
			return 0, err
		}
		c.conns[ti] = cn
	}
	if err := c.roundTrip(cn); err != nil {
		cn.close()
		c.conns[ti] = nil
		return 0, err
	}
	return 0, nil
}

func (c *tcpClient) roundTrip(cn *tcpConn) error {
	if c.timeout > 0 {
		_ = cn.nc.SetDeadline(time.Now().Add(c.timeout))
	}
	if len(c.payload) > 0 {
		if _, err := cn.nc.Write(c.payload); err != nil {
			return err
		}
	}
	if len(c.delim) > 0 {
		return c.readDelimited(cn.br)
	}
	n, err := cn.br.Discard(c.expect)
	if err != nil {
		return closedEarly(err, fmt.Sprintf("got %d of the %d bytes expected", n, c.expect))
	}
	return nil
}

// readDelimited reads up to and including the delimiter.
func (c *tcpClient) readDelimited(br *bufio.Reader) error {
	last := c.delim[len(c.delim)-1]
	c.tail = c.tail[:0]
	var total int
	for {
		chunk, err := br.ReadSlice(last)
		total += len(chunk)
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return closedEarly(err, fmt.Sprintf("the delimiter %q had not come after %d bytes", c.delim, total))
		}
		c.keepTail(chunk)
		if err == nil && bytes.HasSuffix(c.tail, c.delim) {
			return nil
		}
	}
}

// keepTail keeps the last len(delim) bytes read, so that a delimiter split
// across reads is found.
func (c *tcpClient) keepTail(chunk []byte) {
	keep := len(c.delim)
	if len(chunk) >= keep {
		c.tail = append(c.tail[:0], chunk[len(chunk)-keep:]...)
		return
	}
	c.tail = append(c.tail, chunk...)
	if len(c.tail) > keep {
		c.tail = append(c.tail[:0], c.tail[len(c.tail)-keep:]...)
	}
}

// closedEarly says how much of the response had come when the connection
// ended; the cause stays in the chain for classification.
func closedEarly(err error, what string) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("tcp: connection closed: %s: %w", what, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("tcp: %s: %w", what, err)
}
