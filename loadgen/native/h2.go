package native

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"

	"github.com/meshperf/meshperf/loadgen"
)

// h2Pool holds the HTTP/2 connections of a run: one http.Transport per
// connection, each allowed a single TCP connection, shared by the workers
// that multiplex their streams over it.
type h2Pool struct {
	transports    []*http.Transport
	reqs          []*http.Request // one template per target
	body          []byte
	read, written atomic.Int64
	bufs          sync.Pool
}

func newH2Pool(p *loadgen.Plan, version string) (*h2Pool, error) {
	pool := &h2Pool{body: p.Body}
	pool.bufs.New = func() any { b := make([]byte, 32<<10); return &b }
	for _, raw := range p.Targets {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("target %q: %w", raw, err)
		}
		req, err := http.NewRequest(p.Method, u.String(), nil)
		if err != nil {
			return nil, fmt.Errorf("target %q: %w", raw, err)
		}
		for _, h := range p.Headers {
			if http.CanonicalHeaderKey(h.Name) == "Host" {
				req.Host = h.Value
				continue
			}
			req.Header.Add(h.Name, h.Value)
		}
		if req.Header.Get("User-Agent") == "" {
			req.Header.Set("User-Agent", "meshperf/"+version)
		}
		if p.ContentType != "" && req.Header.Get("Content-Type") == "" {
			req.Header.Set("Content-Type", p.ContentType)
		}
		for _, c := range p.Cookies {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
		req.ContentLength = int64(len(p.Body))
		pool.reqs = append(pool.reqs, req)
	}
	var tlsCfg *tls.Config
	if u, _ := url.Parse(p.Targets[0]); u != nil && u.Scheme == "https" {
		var err error
		if tlsCfg, err = tlsConfig(p.TLS, u.Hostname(), []string{"h2"}); err != nil {
			return nil, err
		}
	}
	protocols := new(http.Protocols)
	if p.HTTPVersion == loadgen.H2C {
		protocols.SetUnencryptedHTTP2(true)
	} else {
		protocols.SetHTTP2(true)
		protocols.SetUnencryptedHTTP2(true) // http:// targets with --http 2
	}
	dialer := newDialer(p)
	for i := 0; i < p.Connections; i++ {
		tr := &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := dialer.DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return &atomicCountingConn{Conn: c, pool: pool}, nil
			},
			TLSClientConfig:     tlsCfg,
			Protocols:           protocols,
			MaxConnsPerHost:     1,
			MaxIdleConnsPerHost: 1,
			DisableCompression:  true,
			TLSHandshakeTimeout: p.ConnectTimeout,
		}
		if tlsCfg != nil {
			tr.TLSClientConfig = tlsCfg.Clone()
		}
		pool.transports = append(pool.transports, tr)
	}
	return pool, nil
}

// do sends one request to target ti over connection ci.
func (p *h2Pool) do(ctx context.Context, ci, ti int) (int, error) {
	req := p.reqs[ti].Clone(ctx)
	if len(p.body) > 0 {
		req.Body = io.NopCloser(bytes.NewReader(p.body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(p.body)), nil }
	}
	resp, err := p.transports[ci].RoundTrip(req)
	if err != nil {
		return 0, err
	}
	if resp.ProtoMajor != 2 {
		_ = resp.Body.Close()
		return 0, &loadgen.ProtocolError{Msg: fmt.Sprintf("server answered with %s, not HTTP/2", resp.Proto)}
	}
	buf := p.bufs.Get().(*[]byte)
	_, err = io.CopyBuffer(io.Discard, resp.Body, *buf)
	p.bufs.Put(buf)
	_ = resp.Body.Close()
	if err != nil {
		return resp.StatusCode, err
	}
	return resp.StatusCode, nil
}

func (p *h2Pool) close() {
	for _, tr := range p.transports {
		tr.CloseIdleConnections()
	}
}

func (p *h2Pool) bytes() (sent, recv int64) { return p.written.Load(), p.read.Load() }

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
