package echo

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// startEcho serves an echo server with upstreams on a free local port and
// returns its URL.
func startEcho(t *testing.T, opts Options, up Upstreams) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ServeWithUpstreams(t.Context(), ln, opts, up) }()
	t.Cleanup(func() {
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// TestUpstreamsChain: the sample application's shape, front -> (a, b),
// a -> c, on loopback: one request to the front is one request to each;
// the request id follows; a failing leaf makes the chain answer 502
// naming it; the delays add up along the longest path.
func TestUpstreamsChain(t *testing.T) {
	var seen atomic.Int64
	var ids atomic.Value
	leaf := http.NewServeMux()
	leaf.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		ids.Store(r.Header.Get("X-Request-Id"))
		if r.URL.Query().Get("fail") != "" {
			http.Error(w, "no", http.StatusServiceUnavailable)
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: leaf, ReadHeaderTimeout: time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	c := "http://" + ln.Addr().String()

	d20, _ := ParseDelay("20ms")
	a := startEcho(t, Options{Delay: d20}, Upstreams{URLs: []string{c + "/"}})
	b := startEcho(t, Options{}, Upstreams{})
	front := startEcho(t, Options{Size: 100}, Upstreams{URLs: []string{a + "/", b + "/"}})

	req, _ := http.NewRequest(http.MethodGet, front+"/", nil)
	req.Header.Set("X-Request-Id", "req-42")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if resp.StatusCode != 200 || len(body) != 100 {
		t.Errorf("front answered %d with %d bytes, want 200 with 100", resp.StatusCode, len(body))
	}
	if seen.Load() != 1 || ids.Load() != "req-42" {
		t.Errorf("the leaf saw %d requests with id %v, want 1 with req-42 (passed on by a)", seen.Load(), ids.Load())
	}
	if took < 20*time.Millisecond {
		t.Errorf("the chain took %s, less than a's 20ms delay", took)
	}

	// A failing leaf: a answers 502, so does the front, naming where.
	bad := startEcho(t, Options{}, Upstreams{URLs: []string{c + "/?fail=1"}})
	front2 := startEcho(t, Options{}, Upstreams{URLs: []string{bad + "/"}})
	resp, err = http.Get(front2 + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "status 502") {
		t.Errorf("front over a failing chain: %d %q, want 502 naming the upstream's 502", resp.StatusCode, body)
	}
	// Health is not passed on.
	resp, err = http.Get(front2 + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/healthz of a front with a failing upstream: %d, want 200", resp.StatusCode)
	}
}

func TestParseUpstream(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{{"http://api:9090/", true}, {"https://x/y", true}, {"ftp://x", false}, {"api:9090", false}, {"http://", false}} {
		if _, err := ParseUpstream(tc.in); (err == nil) != tc.ok {
			t.Errorf("ParseUpstream(%q) = %v, want ok %v", tc.in, err, tc.ok)
		}
	}
}
