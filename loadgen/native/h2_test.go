package native_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/loadgen/native"
	"github.com/meshperf/meshperf/spec"
)

// runAllowingErrors runs a plan and returns its result, errors included.
func runAllowingErrors(t *testing.T, p *loadgen.Plan) *spec.Result {
	t.Helper()
	return runWith(t, &native.Engine{Version: "test"}, p)
}

// bothModes runs f with the HTTP/2 closed loop driven by the connections'
// readers (the default) and with a goroutine per stream (Goroutines).
func bothModes(t *testing.T, f func(t *testing.T, e *native.Engine)) {
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) { f(t, eng.e) })
	}
}

func runWith(t *testing.T, e *native.Engine, p *loadgen.Plan) *spec.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := e.Run(ctx, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func errorCount(res *spec.Result, class string) int64 {
	for _, e := range res.Errors {
		if e.Class == class {
			return e.Count
		}
	}
	return 0
}

// goH2Server is the standard library's HTTP/2 server, h2c or TLS, counting
// the connections it accepts and the HTTP/2 requests it serves.
type goH2Server struct {
	*httptest.Server
	conns, h2reqs atomic.Int64
}

func startGoH2(t *testing.T, useTLS bool, h http.Handler) *goH2Server {
	t.Helper()
	s := &goH2Server{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			s.h2reqs.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	if useTLS {
		s.EnableHTTP2 = true
		s.StartTLS()
	} else {
		s.Config.Protocols = new(http.Protocols)
		s.Config.Protocols.SetUnencryptedHTTP2(true)
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

func TestH2AgainstGoServer(t *testing.T) {
	const big = 20 << 20 // beyond the stream window we grant: needs WINDOW_UPDATEs
	bigBody := strings.Repeat("b", big)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello\n") })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, bigBody) })
	mux.HandleFunc("/trailers", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Sum")
		io.WriteString(w, "body")
		w.Header().Set("X-Sum", "42")
	})
	mux.HandleFunc("/bigheader", func(w http.ResponseWriter, r *http.Request) {
		// Split by the server into HEADERS and CONTINUATION frames.
		w.Header().Set("X-Big", strings.Repeat("h", 40<<10))
		w.WriteHeader(203)
	})
	var sums atomic.Int64
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil || n != 300<<10 || fmt.Sprintf("%x", h.Sum(nil)) != fmt.Sprintf("%x", sha256.Sum256([]byte(strings.Repeat("u", 300<<10)))) {
			w.WriteHeader(400)
			return
		}
		if r.Header.Get("X-Big") != strings.Repeat("r", 20<<10) {
			w.WriteHeader(412)
			return
		}
		sums.Add(1)
		w.WriteHeader(201)
	})
	bothModes(t, func(t *testing.T, e *native.Engine) {
		for _, useTLS := range []bool{false, true} {
			name := map[bool]string{false: "h2c", true: "tls"}[useTLS]
			t.Run(name, func(t *testing.T) {
				srv := startGoH2(t, useTLS, mux)
				version := loadgen.H2C
				if useTLS {
					version = loadgen.HTTP2
				}
				plan := func(path string, conns, streams int, n int64) *loadgen.Plan {
					return &loadgen.Plan{
						Targets: []string{srv.URL + path}, Connections: conns, Streams: streams, Requests: n,
						HTTPVersion: version, TLS: loadgen.TLS{SkipVerify: true},
					}
				}
				t.Run("many streams", func(t *testing.T) {
					before := srv.conns.Load()
					res := runWith(t, e, plan("/", 4, 8, 3000))
					if len(res.Errors) > 0 || res.StatusCodes[200] != 3000 {
						t.Fatalf("codes %v errors %+v, want 3000 × 200", res.StatusCodes, res.Errors)
					}
					if got := srv.conns.Load() - before; got != 4 {
						t.Errorf("the server saw %d connections, want 4 (one per --connections)", got)
					}
					if res.Achieved.BytesSent == 0 || res.Achieved.BytesReceived < 3000*6 {
						t.Errorf("bytes sent %d, received %d", res.Achieved.BytesSent, res.Achieved.BytesReceived)
					}
				})
				t.Run("responses beyond the windows", func(t *testing.T) {
					res := runWith(t, e, plan("/big", 2, 2, 6))
					if len(res.Errors) > 0 || res.StatusCodes[200] != 6 {
						t.Fatalf("codes %v errors %+v", res.StatusCodes, res.Errors)
					}
					if res.Achieved.BytesReceived < 6*big {
						t.Errorf("received %d bytes, want at least %d", res.Achieved.BytesReceived, 6*big)
					}
				})
				t.Run("trailers", func(t *testing.T) {
					res := runWith(t, e, plan("/trailers", 1, 4, 200))
					if len(res.Errors) > 0 || res.StatusCodes[200] != 200 {
						t.Fatalf("codes %v errors %+v", res.StatusCodes, res.Errors)
					}
				})
				t.Run("continuation frames both ways", func(t *testing.T) {
					res := runWith(t, e, plan("/bigheader", 1, 4, 100))
					if len(res.Errors) > 0 || res.StatusCodes[203] != 100 {
						t.Fatalf("codes %v errors %+v", res.StatusCodes, res.Errors)
					}
					p := plan("/upload", 2, 3, 60)
					p.Body = []byte(strings.Repeat("u", 300<<10)) // beyond the 64 KiB initial windows
					p.Headers = []loadgen.Header{{Name: "X-Big", Value: strings.Repeat("r", 20<<10)}}
					before := sums.Load()
					res = runWith(t, e, p)
					if len(res.Errors) > 0 || res.StatusCodes[201] != 60 {
						t.Fatalf("codes %v errors %+v, want 60 × 201 (body and header intact)", res.StatusCodes, res.Errors)
					}
					if got := sums.Load() - before; got != 60 {
						t.Errorf("server verified %d uploads, want 60", got)
					}
				})
				if got := srv.h2reqs.Load(); got < 3000 {
					t.Errorf("server served %d HTTP/2 requests, want all of them over HTTP/2", got)
				}
			})
		}
	})
}

// A server that does not offer h2 in ALPN is a protocol error, not a silent
// fall back to HTTP/1.1.
func TestH2WithoutALPNIsAProtocolError(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	// A TLS server with no ALPN at all: the handshake succeeds, h2 is not agreed.
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: srv.TLS.Certificates})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.(*tls.Conn).Handshake()
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()
	res := runAllowingErrors(t, &loadgen.Plan{
		Targets: []string{"https://" + ln.Addr().String()}, Connections: 1, Requests: 3, HTTPVersion: loadgen.HTTP2, TLS: loadgen.TLS{SkipVerify: true},
	})
	if got := errorCount(res, loadgen.ClassProtocol); got != 3 {
		t.Errorf("errors %+v, want 3 protocol errors", res.Errors)
	}
}

// ---- nginx ----------------------------------------------------------------

const nginxH2Conf = `worker_processes 1;
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
    keepalive_requests 100000;
    http2_max_concurrent_streams 16;
    server {
        listen 127.0.0.1:%[2]d http2;
        listen 127.0.0.1:%[3]d ssl http2;
        ssl_certificate %[4]s;
        ssl_certificate_key %[5]s;
        location / { default_type text/plain; return 200 "hello\n"; }
        location /echo { client_max_body_size 10m; client_body_buffer_size 1m; proxy_pass http://127.0.0.1:%[6]d; }
    }
}
`

// startNginxH2 starts Debian's nginx with an h2c port and an h2 TLS port;
// /echo proxies to backend (so request bodies are read and checked).
func startNginxH2(t *testing.T, backend string) (h2c, h2tls string) {
	t.Helper()
	dir := t.TempDir()
	_, _, cert, key := writeCert(t, dir, "nginx", nil, nil, false)
	p1, p2 := freePort(t), freePort(t)
	_, bport, _ := net.SplitHostPort(strings.TrimPrefix(backend, "http://"))
	startNginx(t, dir, fmt.Sprintf(nginxH2Conf, dir, p1, p2, cert, key, atoi(bport)), p2)
	return fmt.Sprintf("http://127.0.0.1:%d", p1), fmt.Sprintf("https://127.0.0.1:%d", p2)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startNginx runs Debian's nginx with conf (its files in dir) until the
// test ends, and waits until it listens on port.
func startNginx(t *testing.T, dir, conf string, port int) {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin = "/usr/sbin/nginx"
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("nginx is needed for this test: %v", err)
	}
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir+"/", "-c", confFile, "-e", filepath.Join(dir, "error.log"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := new(strings.Builder)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited: %s %s", out, log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not listen: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestH2AgainstNginx(t *testing.T) {
	var bodies atomic.Int64
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if len(b) == 200<<10 && strings.Count(string(b), "n") == len(b) {
			bodies.Add(1)
		}
	}))
	defer backend.Close()
	h2c, h2tls := startNginxH2(t, backend.URL)
	bothModes(t, func(t *testing.T, e *native.Engine) {
		for _, tc := range []struct {
			name, url, version string
		}{{"h2c", h2c, loadgen.H2C}, {"tls", h2tls, loadgen.HTTP2}} {
			t.Run(tc.name, func(t *testing.T) {
				// 10 × 40 streams against nginx's limit of 16: the client keeps
				// to the server's SETTINGS_MAX_CONCURRENT_STREAMS (nginx would
				// refuse the excess).
				res := runWith(t, e, &loadgen.Plan{
					Targets: []string{tc.url + "/"}, Connections: 10, Streams: 40, Requests: 20000,
					HTTPVersion: tc.version, TLS: loadgen.TLS{SkipVerify: true},
				})
				if len(res.Errors) > 0 || res.StatusCodes[200] != 20000 {
					t.Fatalf("codes %v errors %+v, want 20000 × 200", res.StatusCodes, res.Errors)
				}
				// Open loop at a fixed rate: every request sent and answered.
				res = runWith(t, e, &loadgen.Plan{
					Targets: []string{tc.url + "/"}, Connections: 4, Streams: 4, Rate: loadgen.Constant(2000), Duration: 2 * time.Second,
					HTTPVersion: tc.version, TLS: loadgen.TLS{SkipVerify: true},
				})
				if len(res.Errors) > 0 || res.StatusCodes[200] != 4000 {
					t.Fatalf("open loop: codes %v errors %+v, want 4000 × 200", res.StatusCodes, res.Errors)
				}
				// Request bodies beyond the initial windows, through nginx.
				before := bodies.Load()
				res = runWith(t, e, &loadgen.Plan{
					Targets: []string{tc.url + "/echo"}, Connections: 2, Streams: 4, Requests: 40,
					Body: []byte(strings.Repeat("n", 200<<10)), HTTPVersion: tc.version, TLS: loadgen.TLS{SkipVerify: true},
				})
				if len(res.Errors) > 0 || res.StatusCodes[200] != 40 {
					t.Fatalf("bodies: codes %v errors %+v, want 40 × 200", res.StatusCodes, res.Errors)
				}
				if got := bodies.Load() - before; got != 40 {
					t.Errorf("backend got %d intact bodies, want 40", got)
				}
			})
		}
	})
}

// The coordinated-omission test of HTTP/1.1, over h2c: a 1-second stall of
// the target at 1,000 rps shows in the corrected latency as predicted.
func TestH2CoordinatedOmissionStall(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: 10 s of load")
	}
	url := startEcho(t, "0", false)
	const conns = 16
	go func() {
		time.Sleep(4 * time.Second)
		resp, err := http.Post(url+"/admin/stall?for=1s", "", nil)
		if err != nil {
			t.Errorf("stall: %v", err)
			return
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("stall: status %d", resp.StatusCode)
		}
	}()
	testStall(t, conns, run(t, &loadgen.Plan{
		Targets: []string{url + "/"}, Connections: conns, Rate: loadgen.Constant(1000), Duration: 10 * time.Second,
		HTTPVersion: loadgen.H2C,
	}))
}

// h2c against a server that speaks only HTTP/1.1: protocol errors, one per
// request, not a hang and not a silent downgrade.
func TestH2CAgainstHTTP1OnlyServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	bothModes(t, func(t *testing.T, e *native.Engine) {
		res := runWith(t, e, &loadgen.Plan{Targets: []string{srv.URL}, Connections: 2, Requests: 4, HTTPVersion: loadgen.H2C})
		if got := errorCount(res, loadgen.ClassProtocol); got != 4 || len(res.Errors) != 1 {
			t.Errorf("errors %+v, want 4 protocol errors", res.Errors)
		}
	})
}
