package native

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshperf/meshperf/loadgen"
)

// countingListener counts the connections a server accepted: each is one
// handshake attempt of the client.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

func listenCounting(t *testing.T) *countingListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &countingListener{Listener: ln}
}

// hangUpServer accepts connections, reads the client's first flight (its
// ClientHello) and closes: every handshake fails, at once.
func hangUpServer(t *testing.T) (url string, attempts *atomic.Int64) {
	t.Helper()
	ln := listenCounting(t)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				var buf [512]byte
				_, _ = io.ReadAtLeast(c, buf[:], 5) // a TLS record header at least
			}()
		}
	}()
	return "https://" + ln.Addr().String() + "/", &ln.n
}

// tlsServer is a real TLS server (the standard library's) on a counting
// listener; its certificate is httptest's, which the client does not trust
// unless told to skip verification; nextProtos, when set, are the only
// ALPN protocols it agrees to.
func tlsServer(t *testing.T, nextProtos []string) (url string, attempts *atomic.Int64) {
	t.Helper()
	ln := listenCounting(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if nextProtos != nil {
		srv.TLS = &tls.Config{NextProtos: nextProtos}
	}
	srv.StartTLS()
	if nextProtos != nil {
		srv.TLS.NextProtos = nextProtos // StartTLS adds http/1.1 (and h2 when EnableHTTP2)
	}
	t.Cleanup(srv.Close)
	return srv.URL + "/", &ln.n
}

// A server that fails every TLS handshake is not hammered: each connection
// backs off after a failed handshake as after a failed connect (10 ms
// doubling to 1 s), on the event loop, the goroutine clients and HTTP/2
// (driven closed loop and open-loop workers). Counted, not timed: over a
// run of D each connection (worker) may try at most 1 + log2(D/10ms)
// times, where without back-off it would try thousands of times; every
// attempt is still an error of its class, and a failed handshake in
// result.tls.
func TestFailedHandshakesBackOff(t *testing.T) {
	const (
		conns = 4
		dur   = 2 * time.Second
	)
	tests := []struct {
		name    string
		engine  *Engine
		server  func(t *testing.T) (string, *atomic.Int64)
		version string
		rate    float64
		skip    bool // skip certificate verification
		class   string
	}{
		{"event loop/hang-up", &Engine{Version: "test"}, hangUpServer, "", 0, true, loadgen.ClassReset},
		{"event loop/untrusted certificate", &Engine{Version: "test"}, func(t *testing.T) (string, *atomic.Int64) { return tlsServer(t, nil) }, "", 0, false, loadgen.ClassTLS},
		{"event loop/open loop", &Engine{Version: "test"}, hangUpServer, "", 500, true, loadgen.ClassReset},
		{"goroutines/hang-up", &Engine{Version: "test", Goroutines: true}, hangUpServer, "", 0, true, loadgen.ClassReset},
		{"goroutines/untrusted certificate", &Engine{Version: "test", Goroutines: true}, func(t *testing.T) (string, *atomic.Int64) { return tlsServer(t, nil) }, "", 0, false, loadgen.ClassTLS},
		{"h2 driven/wrong ALPN", &Engine{Version: "test"}, func(t *testing.T) (string, *atomic.Int64) { return tlsServer(t, []string{"http/1.1"}) }, loadgen.HTTP2, 0, true, loadgen.ClassTLS},
		{"h2 driven/hang-up", &Engine{Version: "test"}, hangUpServer, loadgen.HTTP2, 0, true, loadgen.ClassReset},
		{"h2 open loop/wrong ALPN", &Engine{Version: "test"}, func(t *testing.T) (string, *atomic.Int64) { return tlsServer(t, []string{"http/1.1"}) }, loadgen.HTTP2, 500, true, loadgen.ClassTLS},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url, attempts := tc.server(t)
			p := &loadgen.Plan{Targets: []string{url}, Connections: conns, Duration: dur, HTTPVersion: tc.version,
				TLS: loadgen.TLS{SkipVerify: tc.skip}}
			if tc.rate > 0 {
				p.Rate = loadgen.Constant(tc.rate)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			res, err := tc.engine.Run(ctx, p, nil)
			if err != nil {
				t.Fatal(err)
			}
			n := attempts.Load()
			// Over the time the engine ran (goroutine workers go on
			// sending what is due until the end + timeout), plus one per
			// connection for the attempt the run's end cut short.
			ran := max(dur, res.Achieved.Duration.D())
			limit := int64(conns*(1+math.Log2(float64(ran/backoffBase)))) + conns
			if n < conns || n > limit {
				t.Errorf("the server saw %d handshake attempts from %d connections over %s, want %d-%d (backing off from %s)",
					n, conns, ran, conns, limit, backoffBase)
			}
			var classes []string
			for _, e := range res.Errors {
				if e.Class != loadgen.ClassDropped {
					classes = append(classes, e.Class)
				}
			}
			sort.Strings(classes)
			if len(classes) != 1 || classes[0] != tc.class {
				t.Errorf("error classes %+v, want %s only", res.Errors, tc.class)
			}
			if res.Achieved.Responses != 0 || res.Achieved.Errors-res.Achieved.Dropped < n-conns {
				t.Errorf("%d responses, %d errors (%d dropped) for %d attempts: want every attempt an error", res.Achieved.Responses,
					res.Achieved.Errors, res.Achieved.Dropped, n)
			}
			if s := res.TLS; s == nil || s.Failed != s.Handshakes || s.Handshakes < n-conns || s.Handshakes > n {
				t.Errorf("tls %+v, want the %d attempts (less those the end cut short) all failed", s, n)
			}
		})
	}
}
