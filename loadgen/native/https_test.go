package native_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

// HTTPS HTTP/1.1 on both engines (the event loop's TLS, evtls_linux.go, and
// a goroutine per connection), against the standard library's TLS server
// and nginx.

// connKey is the context key of a connection's request counter.
type connKey struct{}

// closingServer is a TLS server that ends connections mid-run: after
// closeAfter requests a connection's answer says Connection: close; every
// abruptEvery-th connection is closed without an answer to its
// abruptAt-th request (a kept-alive connection the server dropped: the
// client sends the request again); every partialEvery-th connection sends
// half a response to its second request and closes (an error the client
// must count).
type closingServer struct {
	*httptest.Server
	conns, handled, abrupt, partial atomic.Int64
}

const (
	closeAfter   = 6
	abruptEvery  = 4
	abruptAt     = 3
	partialEvery = 7
)

func startClosingServer(t *testing.T) *closingServer {
	t.Helper()
	s := &closingServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := r.Context().Value(connKey{}).(*[2]int64) // ordinal, requests so far
		c[1]++
		s.handled.Add(1)
		switch {
		case c[0]%abruptEvery == 0 && c[1] == abruptAt:
			s.abrupt.Add(1)
			hijackAndClose(t, w, "")
			return
		case c[0]%partialEvery == 0 && c[1] == 2:
			s.partial.Add(1)
			hijackAndClose(t, w, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
			return
		case c[1] == closeAfter:
			w.Header().Set("Connection", "close")
		}
		_, _ = w.Write([]byte("hello\n"))
	}))
	s.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		return context.WithValue(ctx, connKey{}, &[2]int64{s.conns.Add(1), 0})
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func hijackAndClose(t *testing.T, w http.ResponseWriter, send string) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	if send != "" {
		_, _ = buf.WriteString(send)
		_ = buf.Flush()
	}
	_ = conn.Close()
}

func TestHTTPSAgainstGoServer(t *testing.T) {
	var served, bodies atomic.Int64
	const bodySize = 1 << 20 // more than a socket takes at once: the loop waits for it to drain
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || r.ProtoMajor != 1 {
			t.Errorf("request over %s, TLS %v: want HTTP/1.1 over TLS", r.Proto, r.TLS != nil)
		}
		if r.Method == "POST" {
			b, _ := io.ReadAll(r.Body)
			if len(b) == bodySize && strings.Count(string(b), "b") == bodySize {
				bodies.Add(1)
			}
		}
		served.Add(1)
		_, _ = w.Write([]byte("hello\n"))
	}))
	var conns atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	defer srv.Close()
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			served.Store(0)
			conns.Store(0)
			res := runOn(t, eng.e, &loadgen.Plan{
				Targets: []string{srv.URL + "/"}, Connections: 8, Requests: 5000, TLS: loadgen.TLS{SkipVerify: true},
			})
			if res.StatusCodes[200] != 5000 || served.Load() != 5000 {
				t.Fatalf("codes %v, server served %d: want 5000 × 200", res.StatusCodes, served.Load())
			}
			checkHandshakes(t, res, conns.Load(), 8)
			if got := res.TLS.Handshakes; got != 8 {
				t.Errorf("handshakes %d, want 8 (one per connection)", got)
			}
			// Bytes on the wire are TLS records: more than the plain text.
			if res.Achieved.BytesReceived < 5000*int64(len("HTTP/1.1 200 OK\r\n\r\nhello\n")) {
				t.Errorf("bytes received %d: fewer than the responses' plain text", res.Achieved.BytesReceived)
			}

			// Open loop at a fixed rate: every request sent and answered.
			res = runOn(t, eng.e, &loadgen.Plan{
				Targets: []string{srv.URL + "/"}, Connections: 4, Rate: loadgen.Constant(2000), Duration: time.Second,
				TLS: loadgen.TLS{SkipVerify: true},
			})
			if res.StatusCodes[200] != 2000 {
				t.Fatalf("open loop: codes %v, want 2000 × 200", res.StatusCodes)
			}

			// Request bodies larger than the socket's buffer.
			bodies.Store(0)
			res = runOn(t, eng.e, &loadgen.Plan{
				Targets: []string{srv.URL + "/"}, Connections: 2, Requests: 20, Method: "POST",
				Body: []byte(strings.Repeat("b", bodySize)), TLS: loadgen.TLS{SkipVerify: true},
			})
			if res.StatusCodes[200] != 20 || bodies.Load() != 20 {
				t.Fatalf("bodies: codes %v, server got %d intact bodies: want 20", res.StatusCodes, bodies.Load())
			}
		})
	}
}

// checkHandshakes checks that the result counts one handshake per
// connection the server accepted, each timed.
func checkHandshakes(t *testing.T, res *spec.Result, serverConns int64, atLeast int64) {
	t.Helper()
	s := res.TLS
	if s == nil {
		t.Fatal("no TLS figures in the result")
	}
	if s.Handshakes != serverConns || s.Handshakes < atLeast {
		t.Errorf("handshakes %d, server accepted %d connections (want equal, at least %d)", s.Handshakes, serverConns, atLeast)
	}
	if s.Failed != 0 {
		t.Errorf("%d handshakes failed", s.Failed)
	}
	d := s.HandshakeTime
	if d == nil || d.Count != s.Handshakes || d.MinMs <= 0 || d.MaxMs > 10_000 {
		t.Errorf("handshake time %+v: want one positive value per handshake", d)
	}
	// The notes say the same figures in words.
	want := fmt.Sprintf("TLS: %d handshakes (warm-up included), %d resumed", s.Handshakes, s.Resumed)
	found := false
	for _, n := range res.Notes {
		found = found || strings.HasPrefix(n, want)
	}
	if !found {
		t.Errorf("no note starting %q in %q", want, res.Notes)
	}
}

func TestHTTPSServerClosesConnections(t *testing.T) {
	for _, eng := range engines {
		for _, resume := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/resumption=%v", eng.name, resume), func(t *testing.T) {
				srv := startClosingServer(t)
				const n = 3000
				res := runWith(t, eng.e, &loadgen.Plan{
					Targets: []string{srv.URL + "/"}, Connections: 10, Requests: n,
					TLS: loadgen.TLS{SkipVerify: true, NoResumption: !resume},
				})
				var errs int64
				for _, e := range res.Errors {
					errs += e.Count
				}
				partial, abrupt := srv.partial.Load(), srv.abrupt.Load()
				t.Logf("server: %d connections, %d requests handled, %d closed without an answer, %d cut mid-response; client: %v, errors %+v",
					srv.conns.Load(), srv.handled.Load(), abrupt, partial, res.StatusCodes, res.Errors)
				if abrupt == 0 || partial == 0 {
					t.Fatalf("the server closed %d connections without an answer and %d mid-response: want some of each", abrupt, partial)
				}
				// Dropped kept-alive connections are sent again (no error);
				// responses cut short are errors, one each.
				if errs != partial || res.StatusCodes[200] != n-partial {
					t.Errorf("codes %v, %d errors: want %d × 200 and %d errors (the cut responses)", res.StatusCodes, errs, n-partial, partial)
				}
				if got := srv.handled.Load(); got != n+abrupt {
					t.Errorf("server handled %d requests, want %d (every request, and those dropped once more)", got, n+abrupt)
				}
				checkHandshakes(t, res, srv.conns.Load(), n/closeAfter)
				if res.TLS.SessionResumption != resume {
					t.Errorf("session_resumption %v, want %v", res.TLS.SessionResumption, resume)
				}
				switch {
				case resume && res.TLS.Resumed < res.TLS.Handshakes/2:
					t.Errorf("%d of %d handshakes resumed a session, want most of the reconnections", res.TLS.Resumed, res.TLS.Handshakes)
				case !resume && res.TLS.Resumed != 0:
					t.Errorf("%d handshakes resumed a session with resumption off", res.TLS.Resumed)
				}
			})
		}
	}
}

const nginxHTTPSConf = `worker_processes 1;
daemon off;
master_process on;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    # nginx closes each connection after 100 requests: the client
    # reconnects mid-run (and resumes its TLS session when it may).
    keepalive_requests 100;
    server {
        listen 127.0.0.1:%[2]d ssl;
        ssl_certificate %[3]s;
        ssl_certificate_key %[4]s;
        location / { default_type text/plain; return 200 "hello\n"; }
    }
}
`

func TestHTTPSAgainstNginx(t *testing.T) {
	dir := t.TempDir()
	_, _, cert, key := writeCert(t, dir, "nginx", nil, nil, false)
	port := freePort(t)
	startNginx(t, dir, fmt.Sprintf(nginxHTTPSConf, dir, port, cert, key), port)
	url := fmt.Sprintf("https://127.0.0.1:%d/", port)
	for _, eng := range engines {
		for _, resume := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/resumption=%v", eng.name, resume), func(t *testing.T) {
				const n = 20000
				res := runOn(t, eng.e, &loadgen.Plan{
					Targets: []string{url}, Connections: 20, Requests: n,
					TLS: loadgen.TLS{SkipVerify: true, NoResumption: !resume},
				})
				if res.StatusCodes[200] != n {
					t.Fatalf("codes %v, want %d × 200", res.StatusCodes, n)
				}
				// 200 connections at least (nginx closes each after 100
				// requests), a few more when the run's end cut some short.
				s := res.TLS
				if s == nil || s.Handshakes < n/100 || s.Handshakes > n/100+20 || s.Failed != 0 {
					t.Fatalf("TLS %+v: want %d–%d handshakes, none failed", s, n/100, n/100+20)
				}
				if s.HandshakeTime == nil || s.HandshakeTime.Count != s.Handshakes {
					t.Errorf("handshake time %+v: want one value per handshake", s.HandshakeTime)
				}
				t.Logf("%d handshakes, %d resumed, p50 %v ms", s.Handshakes, s.Resumed, s.HandshakeTime.Percentiles[0].Ms)
				if resume && s.Resumed < s.Handshakes/2 || !resume && s.Resumed != 0 {
					t.Errorf("%d of %d handshakes resumed (resumption %v)", s.Resumed, s.Handshakes, resume)
				}
			})
		}
	}
}

// A server whose certificate the client does not trust: every handshake
// fails, on both engines, and is counted and classified as TLS.
func TestHTTPSUntrustedCertificate(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	srv.Config.ErrorLog = nil
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			res := runWith(t, eng.e, &loadgen.Plan{Targets: []string{srv.URL + "/"}, Connections: 2, Requests: 20})
			if res.Achieved.Responses != 0 || res.TLS == nil || res.TLS.Failed != res.TLS.Handshakes || res.TLS.Handshakes == 0 {
				t.Fatalf("responses %d, TLS %+v: want no response and every handshake failed", res.Achieved.Responses, res.TLS)
			}
			var classes []string
			for _, e := range res.Errors {
				classes = append(classes, e.Class)
			}
			if len(classes) != 1 || classes[0] != "tls" {
				t.Errorf("error classes %v, want [tls]", classes)
			}
		})
	}
}

// A server that accepts connections and never answers the handshake: each
// handshake ends at the connect timeout, counted as failed; and cancelling
// the run ends handshakes in progress at once.
func TestHTTPSStalledHandshake(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []net.Conn // kept open, never read, until the test ends
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	url := "https://" + ln.Addr().String() + "/"
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			res := runWith(t, eng.e, &loadgen.Plan{Targets: []string{url}, Connections: 2, Requests: 4,
				ConnectTimeout: 200 * time.Millisecond, TLS: loadgen.TLS{SkipVerify: true}})
			if res.Achieved.Responses != 0 || res.TLS == nil || res.TLS.Handshakes != 4 || res.TLS.Failed != 4 {
				t.Fatalf("responses %d, TLS %+v: want 4 handshakes, all failed", res.Achieved.Responses, res.TLS)
			}
			if got := errorCount(res, "timeout"); got != 4 {
				t.Errorf("errors %+v: want 4 timeouts", res.Errors)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			began := time.Now()
			res, err := eng.e.Run(ctx, &loadgen.Plan{Targets: []string{url}, Connections: 2, Duration: 30 * time.Second,
				ConnectTimeout: time.Minute, TLS: loadgen.TLS{SkipVerify: true}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if took := time.Since(began); took > 3*time.Second || !res.Interrupted {
				t.Errorf("cancelled after 300ms, the run took %v (interrupted %v): want it to end at once", took, res.Interrupted)
			}
		})
	}
}
