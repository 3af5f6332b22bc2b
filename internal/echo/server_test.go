package echo

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// startServer serves h on a free 127.0.0.1 port until the test ends.
func startServer(t *testing.T, opts Options) (url string, h *Handler) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h = NewHandler(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, h, opts.withDefaults()) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(2 * shutdownGrace):
			t.Error("server did not stop")
		}
	})
	scheme := "http://"
	if opts.TLS {
		scheme = "https://"
	}
	return scheme + ln.Addr().String(), h
}

func newClient(t *testing.T, tr *http.Transport) *http.Client {
	t.Helper()
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

func http1Client(t *testing.T) *http.Client {
	return newClient(t, &http.Transport{MaxIdleConnsPerHost: 16})
}

// result is what a test needs from a response.
type result struct {
	code    int
	body    string
	proto   int
	header  http.Header
	elapsed time.Duration
}

func do(t *testing.T, c *http.Client, method, url string, body io.Reader) result {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return result{resp.StatusCode, string(b), resp.ProtoMajor, resp.Header, time.Since(start)}
}

func get(t *testing.T, c *http.Client, url string) result {
	t.Helper()
	return do(t, c, http.MethodGet, url, nil)
}

func TestServeFixedDelay(t *testing.T) {
	const delay = 20 * time.Millisecond
	d, err := ParseDelay("20ms")
	if err != nil {
		t.Fatal(err)
	}
	url, _ := startServer(t, Options{Delay: d})
	c := http1Client(t)
	for range 3 {
		got := get(t, c, url+"/")
		if got.code != http.StatusOK || got.elapsed < delay {
			t.Errorf("GET / = %d after %v, want 200 after at least %v", got.code, got.elapsed, delay)
		}
	}
}

func TestServeStatusMix(t *testing.T) {
	mix, err := ParseStatus("80%:200,20%:503")
	if err != nil {
		t.Fatal(err)
	}
	url, h := startServer(t, Options{Status: mix})
	c := http1Client(t)
	const n, workers = 2000, 8
	var (
		mu     sync.Mutex
		counts = map[int]int{}
		wg     sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for range n / workers {
				got := get(t, c, url+"/")
				mu.Lock()
				counts[got.code]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if counts[200]+counts[503] != n {
		t.Fatalf("status counts %v, want only 200 and 503 adding up to %d", counts, n)
	}
	if !within(counts[503], n, 0.2, 6) {
		t.Errorf("503 answered %d times in %d, want about %d", counts[503], n, n/5)
	}
	st := h.Stats()
	if st.Requests != n || int(st.ByStatus[503]) != counts[503] {
		t.Errorf("Stats() = %+v, want %d requests and %d 503s", st, n, counts[503])
	}
}

func TestServeSize(t *testing.T) {
	url, _ := startServer(t, Options{Size: 100_000})
	c := http1Client(t)
	tests := []struct {
		name, path string
		want       int
	}{
		{"configured", "/", 100_000},
		{"override", "/?size=1024", 1024},
		{"empty", "/any/path?size=0", 0},
		{"several chunks", "/?size=200000", 200_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := get(t, c, url+tt.path)
			if len(got.body) != tt.want {
				t.Errorf("body length = %d, want %d", len(got.body), tt.want)
			}
			if cl := got.header.Get("Content-Length"); cl != strconv.Itoa(tt.want) {
				t.Errorf("Content-Length = %q, want %d", cl, tt.want)
			}
			if ct := got.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type = %q, want text/plain", ct)
			}
			if want := strings.Repeat(bodyPattern, tt.want/len(bodyPattern)+1)[:tt.want]; got.body != want {
				t.Errorf("body is not the repeated pattern")
			}
		})
	}
}

func TestServeH2C(t *testing.T) {
	url, _ := startServer(t, Options{Size: 10})
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	c := newClient(t, &http.Transport{Protocols: &p})
	got := get(t, c, url+"/?status=201")
	if got.proto != 2 || got.code != http.StatusCreated || len(got.body) != 10 {
		t.Errorf("h2c GET = HTTP/%d %d with %d bytes, want HTTP/2 201 with 10 bytes", got.proto, got.code, len(got.body))
	}
	if got := get(t, http1Client(t), url+"/"); got.proto != 1 {
		t.Errorf("HTTP/1.1 client got HTTP/%d on the same port, want 1", got.proto)
	}
}

func TestServeTLS(t *testing.T) {
	url, _ := startServer(t, Options{TLS: true, Size: 5})
	tr := &http.Transport{
		// The certificate is self-signed and made at start; what it
		// names is checked below.
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // see above
		ForceAttemptHTTP2: true,
	}
	c := newClient(t, tr)
	resp, err := c.Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusOK || len(body) != 5 {
		t.Errorf("GET = HTTP/%d %d with %d bytes, want HTTP/2 200 with 5 bytes", resp.ProtoMajor, resp.StatusCode, len(body))
	}
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		t.Fatal("no TLS connection state")
	}
	cert := resp.TLS.PeerCertificates[0]
	for _, host := range []string{"127.0.0.1", "::1", "localhost"} {
		if err := cert.VerifyHostname(host); err != nil {
			t.Errorf("certificate does not name %s: %v", host, err)
		}
	}
}

func TestServeOverrides(t *testing.T) {
	url, _ := startServer(t, Options{})
	c := http1Client(t)
	tests := []struct {
		name, query string
		wantCode    int
		wantBody    string // a substring; "" for any
		minElapsed  time.Duration
	}{
		{"status", "status=503", 503, "", 0},
		{"status mix", "status=100%25:418", 418, "", 0},
		{"delay", "delay=30ms", 200, "", 30 * time.Millisecond},
		{"uniform delay", "delay=uniform:20ms-25ms", 200, "", 20 * time.Millisecond},
		{"no content", "status=204&size=10", 204, "", 0},
		{"interim then 200", "status=103&size=2", 200, "ab", 0},
		{"switching protocols skipped", "status=101", 200, "", 0},
		{"unknown parameters ignored", "x=1&delay", 200, "", 0},
		{"bad delay", "delay=1xs", 400, `query parameter "delay": invalid duration "1xs"`, 0},
		{"bad status", "status=99", 400, `query parameter "status"`, 0},
		{"bad size", "size=big", 400, `query parameter "size"`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := get(t, c, url+"/?"+tt.query)
			if got.code != tt.wantCode || !strings.Contains(got.body, tt.wantBody) || got.elapsed < tt.minElapsed {
				t.Errorf("GET ?%s = %d %q after %v, want %d containing %q after at least %v",
					tt.query, got.code, got.body, got.elapsed, tt.wantCode, tt.wantBody, tt.minElapsed)
			}
			if got.code == 400 && strings.Count(strings.TrimSpace(got.body), "\n") > 0 {
				t.Errorf("400 body %q, want one line", got.body)
			}
		})
	}
}

func TestServeRequestBody(t *testing.T) {
	url, h := startServer(t, Options{Size: 3})
	c := http1Client(t)
	for _, method := range []string{http.MethodPost, http.MethodPut} {
		got := do(t, c, method, url+"/upload", strings.NewReader(strings.Repeat("x", 1<<20)))
		if got.code != 200 || got.body != "abc" {
			t.Errorf("%s with a body = %d %q, want 200 \"abc\"", method, got.code, got.body)
		}
	}
	if got := do(t, c, http.MethodHead, url+"/", nil); got.code != 200 || got.header.Get("Content-Length") != "3" || got.body != "" {
		t.Errorf("HEAD = %d, Content-Length %q, body %q; want 200, 3, empty", got.code, got.header.Get("Content-Length"), got.body)
	}
	if n := h.Stats().Requests; n != 3 {
		t.Errorf("requests = %d, want 3", n)
	}
}

func TestServeAdmin(t *testing.T) {
	d, err := ParseDelay("1s")
	if err != nil {
		t.Fatal(err)
	}
	url, _ := startServer(t, Options{Delay: d}) // admin endpoints must not wait for it
	c := http1Client(t)
	tests := []struct {
		name, method, path string
		wantCode           int
		wantBody           string
	}{
		{"healthz", "GET", "/healthz", 200, "ok"},
		{"stats", "GET", "/admin/stats", 200, `"requests":0`},
		{"stall by GET", "GET", "/admin/stall?for=1s", 405, ""},
		{"stall without for", "POST", "/admin/stall", 400, `\"for\"`},
		{"stall with bad for", "POST", "/admin/stall?for=soon", 400, `\"for\"`},
		{"stall with zero for", "POST", "/admin/stall?for=0s", 400, `\"for\"`},
		{"unknown admin path", "GET", "/admin/nothing", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := do(t, c, tt.method, url+tt.path, nil)
			if got.code != tt.wantCode || !strings.Contains(got.body, tt.wantBody) || got.elapsed > 500*time.Millisecond {
				t.Errorf("%s %s = %d %q after %v, want %d containing %q at once",
					tt.method, tt.path, got.code, got.body, got.elapsed, tt.wantCode, tt.wantBody)
			}
		})
	}
}

func TestServeStall(t *testing.T) {
	url, h := startServer(t, Options{})
	c := http1Client(t)

	// A request already waiting for its delay when the stall starts.
	early := make(chan result, 1)
	go func() { early <- get(t, c, url+"/?delay=50ms") }()
	time.Sleep(10 * time.Millisecond)

	got := do(t, c, http.MethodPost, url+"/admin/stall?for=300ms", nil)
	if got.code != 200 {
		t.Fatalf("POST /admin/stall = %d %q, want 200", got.code, got.body)
	}
	var reply struct {
		StalledUntil time.Time `json:"stalled_until"`
	}
	if err := json.Unmarshal([]byte(got.body), &reply); err != nil {
		t.Fatalf("stall reply %q: %v", got.body, err)
	}
	end := reply.StalledUntil
	if wait := time.Until(end); wait < 200*time.Millisecond || wait > 300*time.Millisecond {
		t.Fatalf("stalled_until is %v from now, want about 300ms", wait)
	}

	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			got := get(t, c, url+"/?i="+strconv.Itoa(i))
			if done := time.Now(); got.code != 200 || done.Before(end) {
				t.Errorf("GET during the stall = %d, done %v before the stall's end, want 200 after it", got.code, end.Sub(done))
			}
		})
	}
	for _, path := range []string{"/healthz", "/admin/stats"} {
		if got := get(t, c, url+path); got.code != 200 || got.elapsed > 100*time.Millisecond {
			t.Errorf("GET %s during the stall = %d after %v, want 200 at once", path, got.code, got.elapsed)
		}
	}
	if st := h.Stats(); st.Stalls != 1 || !st.StalledUntil.Equal(end) {
		t.Errorf("stats during the stall: %d stalls until %v, want 1 until %v", st.Stalls, st.StalledUntil, end)
	}
	wg.Wait()
	if r := <-early; time.Now().Before(end) || r.code != 200 {
		t.Errorf("request delayed before the stall = %d, ended before the stall did", r.code)
	}
	if got := get(t, c, url+"/"); got.elapsed > 100*time.Millisecond {
		t.Errorf("GET after the stall took %v, want no wait", got.elapsed)
	}
}

func TestStallLaterEndWins(t *testing.T) {
	h := NewHandler(Options{})
	start := time.Now()
	h.Stall(200 * time.Millisecond)
	h.Stall(50 * time.Millisecond) // ends earlier: no effect
	if err := h.stall.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := time.Since(start); got < 200*time.Millisecond {
		t.Errorf("wait returned after %v, want at least 200ms", got)
	}

	start = time.Now()
	h.Stall(50 * time.Millisecond)
	h.Stall(150 * time.Millisecond) // ends later: extends
	if err := h.stall.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := time.Since(start); got < 150*time.Millisecond || got > time.Second {
		t.Errorf("wait returned after %v, want about 150ms", got)
	}
	if got := h.stall.until.Load(); got != 0 {
		t.Errorf("until = %d after the stall, want 0", got)
	}
	if got := h.Stats().Stalls; got != 3 {
		t.Errorf("stalls = %d, want 3", got)
	}
}

func TestServeClientGone(t *testing.T) {
	url, h := startServer(t, Options{})
	tests := []struct{ name, path string }{
		{"during delay", "/?delay=10s"},
		{"during stall", "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.path == "/" {
				h.Stall(10 * time.Second)
			}
			c := http1Client(t)
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			before := h.Stats().Canceled
			resp, err := c.Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("request answered %d, want the client to give up", resp.StatusCode)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("request: %v, want deadline exceeded", err)
			}
			deadline := time.Now().Add(2 * time.Second)
			for h.Stats().InFlight != 0 || h.Stats().Canceled != before+1 {
				if time.Now().After(deadline) {
					t.Fatalf("handler still running 2s after the client left: %+v", h.Stats())
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}

func TestServeShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, Options{}) }()
	c := http1Client(t)
	if got := get(t, c, "http://"+ln.Addr().String()+"/healthz"); got.code != 200 {
		t.Fatalf("GET /healthz = %d", got.code)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v, want nil after the context ends", err)
		}
	case <-time.After(2 * shutdownGrace):
		t.Fatal("Serve did not return")
	}
}

func TestListenAndServeAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	err = ListenAndServe(t.Context(), Options{Addr: addr})
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Errorf("ListenAndServe on a busy port = %v, want an error naming %s", err, addr)
	}
}
