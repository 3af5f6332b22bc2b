package server_test

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/server"
	"github.com/meshperf/meshperf/store"
)

// tlsTarget is a real TLS server (the standard library's) that counts the
// handshakes it completed and those that resumed a session, and closes
// every connection after closeEvery requests so that clients reconnect.
type tlsTarget struct {
	*httptest.Server
	handshakes, resumed atomic.Int64
}

func startTLSTarget(t *testing.T, closeEvery int64, handshakeDelay time.Duration) *tlsTarget {
	t.Helper()
	s := &tlsTarget{}
	var served atomic.Int64
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if served.Add(1)%closeEvery == 0 {
			w.Header().Set("Connection", "close")
		}
		_, _ = w.Write([]byte("ok\n"))
	}))
	s.Server.TLS = &tls.Config{
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			time.Sleep(handshakeDelay) // a slow handshake, seen in the client's handshake time
			return nil, nil
		},
		// Called at the end of every handshake that succeeded, resumed or not.
		VerifyConnection: func(cs tls.ConnectionState) error {
			s.handshakes.Add(1)
			if cs.DidResume {
				s.resumed.Add(1)
			}
			return nil
		},
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// Two agents, each running one client of the profile against its own real
// TLS server, send their TLS figures with their final results; the run's
// result.tls is their exact sum: the handshakes and resumptions each
// server completed, every handshake time in one histogram (agent a2's
// slow handshakes its tail, agent a1's fast ones its body).
func TestAgentsDistributedTLSMerged(t *testing.T) {
	env := newAgentEnv(t, server.Options{})
	fast := startTLSTarget(t, 10, 0)
	slow := startTLSTarget(t, 10, 40*time.Millisecond)
	startAgents(t, env, 2) // a1 in zone z1, a2 in zone z0
	const rps, secs = 150, 3
	client := func(target, zone string, conns int) string {
		return fmt.Sprintf(`{"rps": %d, "connections": %d, "endpoint_urls": [%q], "agents": {"count": 1, "selector": "zone=%s"},
			"meshperf": {"insecure": true}}`, rps, conns, target+"/", zone)
	}
	profile := fmt.Sprintf(`{"name": "dist-tls", "duration": "%ds", "clients": [%s, %s]}`, secs,
		client(fast.URL, "z1", 4), client(slow.URL, "z0", 2))
	run, res := env.runToEnd(t, profile, nil)
	if run.State != store.RunSucceeded {
		t.Fatalf("run %s: %s", run.State, run.Error)
	}
	if len(res.Agents) != 2 || res.Degraded {
		t.Fatalf("agents %d, degraded %v; notes %q", len(res.Agents), res.Degraded, res.Notes)
	}
	if res.Achieved.Errors != 0 {
		t.Fatalf("%d errors: %+v", res.Achieved.Errors, res.Errors)
	}
	got := res.TLS
	if got == nil {
		t.Fatalf("no tls in the merged result; notes %q", res.Notes)
	}
	// Both servers close every 10th response: each agent made many more
	// handshakes than its connections.
	fh, sh := fast.handshakes.Load(), slow.handshakes.Load()
	if fh < 10 || sh < 10 {
		t.Fatalf("the servers completed %d and %d handshakes: want reconnections on both", fh, sh)
	}
	if got.Handshakes != fh+sh || got.Failed != 0 {
		t.Errorf("merged %d handshakes (%d failed), want %d+%d as the servers completed", got.Handshakes, got.Failed, fh, sh)
	}
	if want := fast.resumed.Load() + slow.resumed.Load(); got.Resumed != want || want == 0 {
		t.Errorf("merged %d resumed, the servers %d (want some)", got.Resumed, want)
	}
	if !got.SessionResumption {
		t.Error("session_resumption off, but both agents offered resumption")
	}
	d := got.HandshakeTime
	if d == nil || d.Count != got.Handshakes {
		t.Fatalf("handshake_time %+v: want every one of the %d handshakes", d, got.Handshakes)
	}
	// a1's handshakes are fast, a2's all wait 40 ms: the merged
	// distribution holds both.
	if d.MaxMs < 40 {
		t.Errorf("merged handshake max %.3f ms: a2's 40 ms handshakes are missing", d.MaxMs)
	}
	if d.MinMs >= 40 {
		t.Errorf("merged handshake min %.3f ms: a1's fast handshakes are missing", d.MinMs)
	}
	var tlsNotes []string
	for _, n := range res.Notes {
		if strings.HasPrefix(n, "TLS: ") {
			tlsNotes = append(tlsNotes, n)
		}
	}
	if want := fmt.Sprintf("TLS: %d handshakes", got.Handshakes); len(tlsNotes) != 1 || !strings.HasPrefix(tlsNotes[0], want) {
		t.Errorf("TLS notes %q, want one, for the sum (%q)", tlsNotes, want)
	}
}
