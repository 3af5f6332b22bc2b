package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/agent"
	"github.com/meshperf/meshperf/internal/echo"
	"github.com/meshperf/meshperf/internal/echo/echotest"
	"github.com/meshperf/meshperf/internal/server"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
	"github.com/meshperf/meshperf/store/sqlite"
)

const testAgentToken = "join-me"

// agentLogBuffer is a log sink tests can read while it is written.
type agentLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *agentLogBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *agentLogBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// agentEnv is a server taking agents, on 127.0.0.1.
type agentEnv struct {
	url       string // HTTP API
	agentAddr string // gRPC
	srv       *server.Server
	log       *agentLogBuffer
}

func newAgentEnv(t *testing.T, opts server.Options) *agentEnv {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	logs := &agentLogBuffer{}
	opts.Store, opts.Version = st, "test"
	opts.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if opts.AgentToken == "" {
		opts.AgentToken = testAgentToken
	}
	srv := server.New(opts)
	hs := httptest.NewServer(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { defer close(served); srv.ServeAgents(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-served; hs.Close(); srv.Close(); st.Close() })
	return &agentEnv{url: hs.URL, agentAddr: ln.Addr().String(), srv: srv, log: logs}
}

// startAgent runs an agent in the background until the test ends or stop
// is called.
func startAgent(t *testing.T, cfg agent.Config) (stop func()) {
	t.Helper()
	if cfg.Token == "" {
		cfg.Token = testAgentToken
	}
	cfg.Version = "test"
	cfg.MinBackoff, cfg.MaxBackoff = 50*time.Millisecond, 200*time.Millisecond
	a, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// startDelayEcho runs an echo target with a delay mix.
func startDelayEcho(t *testing.T, delay string) string {
	t.Helper()
	return echotest.HTTP(t, echo.Options{Delay: echotest.Delay(t, delay)})
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func (e *agentEnv) agents(t *testing.T) []server.AgentView {
	var l server.AgentList
	getJSON(t, e.url+"/api/v1/agents", &l)
	return l.Agents
}

// waitAgents waits (bounded) until want reports true of the agent list.
func (e *agentEnv) waitAgents(t *testing.T, what string, want func([]server.AgentView) bool) []server.AgentView {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		l := e.agents(t)
		if want(l) {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: agents are %+v", what, l)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func countState(l []server.AgentView, state string) int {
	n := 0
	for _, a := range l {
		if a.State == state {
			n++
		}
	}
	return n
}

// submitDoc submits a run and returns the status and body.
func (e *agentEnv) submitDoc(t *testing.T, profile string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(e.url+"/api/v1/runs", "application/json", strings.NewReader(`{"profile_document": `+profile+`}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// runToEnd submits a run, waits (bounded) for its end and returns it with
// its result.
func (e *agentEnv) runToEnd(t *testing.T, profile string, during func(run store.Run)) (store.Run, *spec.Result) {
	t.Helper()
	code, b := e.submitDoc(t, profile)
	if code != http.StatusAccepted {
		t.Fatalf("submit: %d %s", code, b)
	}
	var run store.Run
	json.Unmarshal(b, &run)
	if during != nil {
		during(run)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		getJSON(t, e.url+"/api/v1/runs/"+run.ID, &run)
		if run.State != store.RunQueued && run.State != store.RunRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s still %s", run.ID, run.State)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if run.ResultID == "" {
		t.Fatalf("run ended %s without a result: %s\nserver log:\n%s", run.State, run.Error, e.log.String())
	}
	var res spec.Result
	getJSON(t, e.url+"/api/v1/results/"+run.ResultID, &res)
	return run, &res
}

// waitProgress follows a run's events until it reports second sec.
func (e *agentEnv) waitProgress(t *testing.T, runID string, sec int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.url+"/api/v1/runs/"+runID+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(newSSEData(resp.Body))
	for {
		var ev server.Event
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("events of %s ended before second %d: %v", runID, sec, err)
		}
		if ev.Progress != nil && ev.Progress.Second >= sec {
			return
		}
	}
}

// newSSEData turns a Server-Sent Events stream into its data lines.
func newSSEData(r io.Reader) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		buf := make([]byte, 0, 64<<10)
		tmp := make([]byte, 4096)
		for {
			n, err := r.Read(tmp)
			buf = append(buf, tmp[:n]...)
			for {
				i := bytes.IndexByte(buf, '\n')
				if i < 0 {
					break
				}
				line := buf[:i]
				if d, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
					pw.Write(append(append([]byte(nil), d...), '\n'))
				}
				buf = buf[i+1:]
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
		}
	}()
	return pr
}

// tcpProxy forwards connections to a target and can cut them all, as a
// network failure would.
type tcpProxy struct {
	ln     net.Listener
	mu     sync.Mutex
	conns  []net.Conn
	target string
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		go func() { io.Copy(u, c); u.Close() }()
		go func() { io.Copy(c, u); c.Close() }()
	}
}

// cut closes every connection through the proxy.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
