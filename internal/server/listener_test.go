package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/meshperf/meshperf/internal/auth"
	"github.com/meshperf/meshperf/internal/server"
	"github.com/meshperf/meshperf/store"
	"github.com/meshperf/meshperf/store/sqlite"
)

// listening starts a team-mode server with ListenAndServe, the real
// http.Server and its listener, and returns its base URL and a user's
// access token.
func listening(t *testing.T, maxConns int) (string, string) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(auth.NewMemoryStore(), auth.GenerateKey(), auth.WithBcryptCost(bcrypt.MinCost))
	if err != nil {
		t.Fatal(err)
	}
	token := loginAs(t, a, "alice", false)
	srv := server.New(server.Options{Store: st, Auth: a, MaxConnections: maxConns})
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe(ctx, "127.0.0.1:0", func(a net.Addr) { addr <- a }) }()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a.String()
	case err := <-done:
		t.Fatalf("ListenAndServe: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ListenAndServe: %v", err)
		}
		st.Close()
	})
	return base, token
}

// slowloris opens n connections that start a request and then send a
// header byte now and then, never finishing it.
func slowloris(t *testing.T, ctx context.Context, base string, n int) []net.Conn {
	t.Helper()
	host := strings.TrimPrefix(base, "http://")
	var conns []net.Conn
	for i := range n {
		c, err := net.DialTimeout("tcp", host, 2*time.Second)
		if err != nil {
			t.Fatalf("slow connection %d: %v", i, err)
		}
		fmt.Fprintf(c, "GET /api/v1/results HTTP/1.1\r\nHost: %s\r\nX-Slow: ", host)
		conns = append(conns, c)
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	go func() { // a byte a second each, for as long as the test lasts
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				for _, c := range conns {
					c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
					c.Write([]byte("a"))
				}
			}
		}
	}()
	return conns
}

// timedGet is a GET with a token on a new connection, and how long it took.
func timedGet(t *testing.T, url, token string, timeout time.Duration) (int, time.Duration, error) {
	t.Helper()
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, time.Since(start), err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(start), nil
}

// 300 slowloris connections, under the default cap, do not keep a normal
// request from answering at once; the header timeout closes them.
func TestSlowClientsDoNotHoldTheServer(t *testing.T) {
	defer server.SetTimeouts(2*time.Second, 5*time.Second, 10*time.Second, 10*time.Second)()
	base, token := listening(t, 0)
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	conns := slowloris(t, ctx, base, 300)
	time.Sleep(500 * time.Millisecond)
	code, took, err := timedGet(t, base+"/api/v1/results", token, 5*time.Second)
	if err != nil || code != 200 || took > 2*time.Second {
		t.Errorf("a normal request beside 300 slow ones: %d in %v, %v", code, took, err)
	}
	// Each slow connection is closed within the header timeout (2 s
	// here), answered 408 or cut.
	deadline := time.Now().Add(6 * time.Second)
	for i, c := range conns {
		c.SetReadDeadline(deadline)
		_, err := io.Copy(io.Discard, c)
		if ne := (net.Error)(nil); errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("slow connection %d still open after 6 s", i)
		}
	}
}

// With the cap at 20 and 20 slowloris connections open, a normal request
// waits (the cap holds) until the header timeout frees a slot, then
// answers.
func TestConnectionCap(t *testing.T) {
	defer server.SetTimeouts(3*time.Second, 5*time.Second, 10*time.Second, 10*time.Second)()
	base, token := listening(t, 20)
	if code, _, err := timedGet(t, base+"/api/v1/results", token, 5*time.Second); err != nil || code != 200 {
		t.Fatalf("before the slow clients: %d, %v", code, err)
	}
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	slowloris(t, ctx, base, 20)
	time.Sleep(300 * time.Millisecond)
	code, took, err := timedGet(t, base+"/api/v1/results", token, 10*time.Second)
	if err != nil || code != 200 {
		t.Fatalf("a normal request beside 20 slow ones, cap 20: %d after %v, %v", code, took, err)
	}
	if took < 2*time.Second || took > 6*time.Second {
		t.Errorf("a normal request at the cap answered after %v; want it to wait for the 3 s header timeout to free a slot", took)
	}
}

// An event stream outlives the server's read and write timeouts (1 s
// here) and gets every event of a 3 s run.
func TestEventStreamOutlivesTimeouts(t *testing.T) {
	defer server.SetTimeouts(time.Second, time.Second, time.Second, time.Second)()
	base, token := listening(t, 0)
	target := startEcho(t)
	api := base + "/api/v1"
	long := `{"profile_document": {"name": "sse", "duration": "3s", "clients": [{"connections": 1, "rps": 10, "endpoint_urls": ["` + target + `/"]}]}}`
	code, body := call(t, "POST", api+"/runs", token, long)
	if code != 202 {
		t.Fatalf("submit: %d %s", code, body)
	}
	var run store.Run
	json.Unmarshal([]byte(body), &run)
	req, _ := http.NewRequestWithContext(t.Context(), "GET", api+"/runs/"+run.ID+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var last store.Run
	sc := bufio.NewScanner(newSSEData(resp.Body))
	sc.Buffer(make([]byte, 0, 1<<20), 1<<20)
	for sc.Scan() {
		var e server.Event
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Run != nil {
			last = *e.Run
		}
	}
	took := time.Since(start)
	if last.State != store.RunSucceeded || took < 2*time.Second {
		t.Errorf("the stream ended after %v with the run %q (%v); want it to last the run and end with succeeded", took, last.State, sc.Err())
	}
}
