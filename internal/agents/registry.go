// Package agents is the server's side of distributed runs: the registry of
// connected agents and their gRPC stream (registry.go), choosing agents and
// splitting a run into shares (run.go), checking what they send
// (validate.go) and merging their seconds (merge.go). The run service
// (internal/runs) runs a profile that asks for agents through Registry.Run.
package agents

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/meshperf/meshperf/internal/agentpb"
	"github.com/meshperf/meshperf/internal/agentshare"
)

// Agent defaults.
const (
	// DefaultHeartbeat is how often agents send a heartbeat and the
	// server pings them.
	DefaultHeartbeat = time.Second
	// DefaultSkewTolerance is the clock offset above which a run notes
	// an agent's skew.
	DefaultSkewTolerance = 10 * time.Millisecond
	// agentSilence is how many heartbeat intervals an agent may be silent
	// before it is dropped.
	agentSilence = 5
	// maxAgentName bounds an agent's name.
	maxAgentName = 128
	// maxDisconnected bounds the disconnected agents kept for listing.
	maxDisconnected = 1000
)

// Agent states.
const (
	StateIdle         = "idle"
	StateBusy         = "busy"
	StateDisconnected = "disconnected"
)

// Log attribute keys.
const (
	logKeyAgent = "agent"
	logKeyShare = "share"
	logKeyRun   = "run"
	logKeyErr   = "err"
	logKeyAddr  = "addr"
)

// Agent is one agent as the registry knows it.
type Agent struct {
	Name          string
	Labels        map[string]string
	Version       string
	Capacity      Capacity
	State         string
	LastHeartbeat time.Time
	ConnectedAt   time.Time
	Address       string
}

// Capacity is what an agent says it can do.
type Capacity struct {
	Cores  int
	MaxRPS float64
}

// Options configure a Registry.
type Options struct {
	Logger  *slog.Logger
	Version string
	// Token is the join token agents must present; empty: the server
	// takes no agents. TLS, when set, secures the stream (mutual TLS when
	// it requires client certificates).
	Token string
	TLS   *tls.Config
	// Heartbeat (DefaultHeartbeat when 0) is how often agents send a
	// heartbeat and are pinged; SkewTolerance (DefaultSkewTolerance when
	// 0) is the clock offset above which a run notes an agent's skew.
	Heartbeat     time.Duration
	SkewTolerance time.Duration
}

// Registry knows the agents: connected ones by name, and the last
// connection of disconnected ones. It serves the agents' gRPC stream and
// runs distributed tests on them.
type Registry struct {
	log       *slog.Logger
	version   string
	token     string
	tls       *tls.Config
	heartbeat time.Duration
	skewTol   time.Duration

	mu     sync.Mutex
	agents map[string]*agentConn
	runs   map[string]*distRun
	grpc   *grpc.Server
	closed bool
}

// agentConn is one agent's stream.
type agentConn struct {
	reg         *Registry
	name        string
	labels      map[string]string
	version     string
	capacity    Capacity
	address     string
	connectedAt time.Time
	clock       agentshare.ClockEstimator
	out         chan *agentpb.ServerMessage
	ctx         context.Context
	cancel      context.CancelCauseFunc

	// Guarded by reg.mu.
	connected bool
	lastSeen  time.Time
	shares    map[*share]struct{}
}

// New makes a Registry; Serve serves the agents' stream.
func New(opts Options) *Registry {
	r := &Registry{log: opts.Logger, version: opts.Version, token: opts.Token, tls: opts.TLS,
		heartbeat: opts.Heartbeat, skewTol: opts.SkewTolerance,
		agents: map[string]*agentConn{}, runs: map[string]*distRun{}}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.heartbeat <= 0 {
		r.heartbeat = DefaultHeartbeat
	}
	if r.skewTol <= 0 {
		r.skewTol = DefaultSkewTolerance
	}
	return r
}

// TakesAgents says whether a join token is configured.
func (r *Registry) TakesAgents() bool { return r.token != "" }

// Serve serves the agents' gRPC stream on ln until ctx ends or the
// registry is closed. Agents must present Options.Token; with Options.TLS
// the stream is TLS (mutual when it asks for client certificates).
func (r *Registry) Serve(ctx context.Context, ln net.Listener) error {
	if r.token == "" {
		return errors.New("agents: no join token configured (--agent-token or MESHPERF_AGENT_TOKEN)")
	}
	opts := []grpc.ServerOption{
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
	}
	if r.tls != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(r.tls)))
	}
	gs := grpc.NewServer(opts...)
	agentpb.RegisterAgentServer(gs, &agentService{reg: r})
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return errors.New("agents: the server is closed")
	}
	r.grpc = gs
	r.mu.Unlock()
	r.log.Info("listening for agents", logKeyAddr, ln.Addr().String(), "tls", r.tls != nil,
		"mtls", r.tls != nil && r.tls.ClientAuth == tls.RequireAndVerifyClientCert)
	stop := context.AfterFunc(ctx, gs.Stop)
	defer stop()
	if err := gs.Serve(ln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("agents: %w", err)
	}
	return nil
}

// Close stops the agent listener and ends every stream.
func (r *Registry) Close() {
	r.mu.Lock()
	r.closed = true
	gs := r.grpc
	r.mu.Unlock()
	if gs != nil {
		gs.Stop()
	}
}

// List returns every known agent by name.
func (r *Registry) List() []Agent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Agent, 0, len(r.agents))
	for _, c := range r.agents {
		out = append(out, c.view())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// view describes c; caller holds reg.mu.
func (c *agentConn) view() Agent {
	state := StateIdle
	switch {
	case !c.connected:
		state = StateDisconnected
	case len(c.shares) > 0:
		state = StateBusy
	}
	labels := c.labels
	if labels == nil {
		labels = map[string]string{}
	}
	return Agent{Name: c.name, Labels: labels, Version: c.version, Capacity: c.capacity, State: state,
		LastHeartbeat: c.lastSeen.UTC(), ConnectedAt: c.connectedAt.UTC(), Address: c.address}
}

// agentService implements the gRPC service.
type agentService struct {
	agentpb.UnimplementedAgentServer
	reg *Registry
}

// Connect serves one agent's stream.
func (a *agentService) Connect(stream agentpb.Agent_ConnectServer) error {
	r := a.reg
	addr := ""
	if p, ok := peer.FromContext(stream.Context()); ok && p.Addr != nil {
		addr = p.Addr.String()
	}
	hello, err := recvHello(stream, 10*time.Second)
	if err != nil {
		r.log.Warn("agent refused: no hello", logKeyAddr, addr, logKeyErr, err)
		return status.Error(codes.InvalidArgument, "the first message must be a hello")
	}
	if subtle.ConstantTimeCompare([]byte(hello.GetToken()), []byte(r.token)) != 1 || r.token == "" {
		r.log.Warn("agent refused: bad join token", logKeyAgent, hello.GetName(), logKeyAddr, addr)
		return status.Error(codes.Unauthenticated, "bad join token")
	}
	if n := hello.GetName(); n == "" || len(n) > maxAgentName {
		r.log.Warn("agent refused: bad name", logKeyAgent, n, logKeyAddr, addr)
		return status.Errorf(codes.InvalidArgument, "name: want 1 to %d characters", maxAgentName)
	}
	ctx, cancel := context.WithCancelCause(stream.Context())
	defer cancel(nil)
	now := time.Now()
	c := &agentConn{
		reg:         r,
		name:        hello.GetName(),
		labels:      hello.GetLabels(),
		version:     hello.GetVersion(),
		capacity:    Capacity{Cores: int(hello.GetCapacity().GetCores()), MaxRPS: hello.GetCapacity().GetMaxRps()},
		address:     addr,
		connectedAt: now,
		out:         make(chan *agentpb.ServerMessage, 64),
		ctx:         ctx,
		cancel:      cancel,
		connected:   true,
		lastSeen:    now,
		shares:      map[*share]struct{}{},
	}
	r.register(c)
	cause := errors.New("the stream ended before it was served")
	defer func() { r.unregister(c, cause) }()
	welcome := &agentpb.Welcome{ServerVersion: r.version, Address: addr, HeartbeatIntervalMs: r.heartbeat.Milliseconds()}
	if err := stream.Send(&agentpb.ServerMessage{Msg: &agentpb.ServerMessage_Welcome{Welcome: welcome}}); err != nil {
		cause = err
		return err
	}
	// Shares the agent still runs from a lost stream were counted as lost
	// with it: stop them rather than take a second copy of their load.
	for _, run := range hello.GetRunning() {
		c.send(&agentpb.ServerMessage{Msg: &agentpb.ServerMessage_Cancel{Cancel: &agentpb.Cancel{RunId: run, Share: -1, Reason: "the agent's stream to the server broke; its share was counted as lost"}}})
	}
	errc := make(chan error, 2)
	go func() { errc <- c.sendLoop(stream) }()
	go c.pingLoop()
	go func() { errc <- c.recvLoop(stream) }()
	select {
	case cause = <-errc:
	case <-ctx.Done():
		cause = context.Cause(ctx)
	}
	if errors.Is(cause, context.Canceled) || status.Code(cause) == codes.Canceled {
		cause = errors.New("the stream ended: the agent or its connection is gone")
	}
	cancel(cause)
	return nil
}

func recvHello(stream agentpb.Agent_ConnectServer, timeout time.Duration) (*agentpb.Hello, error) {
	type result struct {
		m   *agentpb.AgentMessage
		err error
	}
	c := make(chan result, 1)
	go func() {
		m, err := stream.Recv()
		c <- result{m, err}
	}()
	select {
	case r := <-c:
		if r.err != nil {
			return nil, r.err
		}
		if h := r.m.GetHello(); h != nil {
			return h, nil
		}
		return nil, errors.New("the first message is not a hello")
	case <-time.After(timeout):
		return nil, fmt.Errorf("no hello within %s", timeout)
	}
}

// register adds c, replacing a connection under the same name: an agent
// that reconnects ends its old stream (whose shares are then lost).
func (r *Registry) register(c *agentConn) {
	r.mu.Lock()
	old := r.agents[c.name]
	r.agents[c.name] = c
	if old == nil && len(r.agents) > maxDisconnected {
		for name, a := range r.agents {
			if !a.connected {
				delete(r.agents, name)
				break
			}
		}
	}
	r.mu.Unlock()
	if old != nil && old.connected {
		r.log.Info("agent reconnected; its previous stream is closed", logKeyAgent, c.name, logKeyAddr, c.address)
		old.cancel(errors.New("replaced by a new stream of the same agent"))
	} else {
		r.log.Info("agent connected", logKeyAgent, c.name, logKeyAddr, c.address, "labels", c.labels, "version", c.version)
	}
}

// unregister marks c disconnected and its running shares lost.
func (r *Registry) unregister(c *agentConn, cause error) {
	now := time.Now()
	r.mu.Lock()
	c.connected = false
	lost := make([]*share, 0, len(c.shares))
	for sh := range c.shares {
		lost = append(lost, sh)
	}
	clear(c.shares)
	r.mu.Unlock()
	r.log.Info("agent disconnected", logKeyAgent, c.name, logKeyAddr, c.address, logKeyErr, cause)
	for _, sh := range lost {
		sh.run.lost(sh, now, cause)
	}
}

// send queues m for the agent; false when its stream has ended.
func (c *agentConn) send(m *agentpb.ServerMessage) bool {
	select {
	case c.out <- m:
		return true
	case <-c.ctx.Done():
		return false
	}
}

func (c *agentConn) sendLoop(stream agentpb.Agent_ConnectServer) error {
	for {
		select {
		case <-c.ctx.Done():
			return nil
		case m := <-c.out:
			if p := m.GetPing(); p != nil {
				p.T0UnixNano = time.Now().UnixNano()
			}
			if err := stream.Send(m); err != nil {
				return fmt.Errorf("send: %w", err)
			}
		}
	}
}

// pingLoop pings the agent for its clock, quickly at first so a fresh
// agent has an estimate within 100ms, then once a heartbeat; it drops
// an agent that has been silent too long.
func (c *agentConn) pingLoop() {
	r := c.reg
	every := r.heartbeat
	for i := 0; ; i++ {
		wait := every
		if i < 5 {
			wait = 20 * time.Millisecond
		}
		select {
		case <-c.ctx.Done():
			return
		case <-time.After(wait):
		}
		r.mu.Lock()
		silent := time.Since(c.lastSeen)
		r.mu.Unlock()
		if silent > agentSilence*every {
			r.log.Warn("agent silent; dropping it", logKeyAgent, c.name, "silent_for", silent.String())
			c.cancel(fmt.Errorf("silent for %s", silent.Round(time.Millisecond)))
			return
		}
		ping := &agentpb.Ping{}
		if off, rtt, ok := c.clock.Estimate(); ok {
			ping.OffsetNano, ping.RttNano, ping.HasEstimate = int64(off), int64(rtt), true
		}
		if !c.send(&agentpb.ServerMessage{Msg: &agentpb.ServerMessage_Ping{Ping: ping}}) {
			return
		}
	}
}

func (c *agentConn) recvLoop(stream agentpb.Agent_ConnectServer) error {
	r := c.reg
	for {
		m, err := stream.Recv()
		if err != nil {
			return err
		}
		now := time.Now()
		r.mu.Lock()
		c.lastSeen = now
		r.mu.Unlock()
		switch x := m.Msg.(type) {
		case *agentpb.AgentMessage_Pong:
			p := x.Pong
			c.clock.Add(agentshare.ClockSample{T0: time.Unix(0, p.GetT0UnixNano()), T1: time.Unix(0, p.GetT1UnixNano()),
				T2: time.Unix(0, p.GetT2UnixNano()), T3: now})
		case *agentpb.AgentMessage_Snapshot:
			if sh := r.share(c, x.Snapshot.GetRunId(), x.Snapshot.GetShare()); sh != nil {
				sh.run.snapshot(sh, x.Snapshot)
			}
		case *agentpb.AgentMessage_Done:
			if sh := r.share(c, x.Done.GetRunId(), x.Done.GetShare()); sh != nil {
				sh.run.done(sh, x.Done)
			}
		case *agentpb.AgentMessage_Heartbeat, *agentpb.AgentMessage_Hello:
		}
	}
}

// share finds the share of run a message from c is about: only the agent
// it was given to may report on it.
func (r *Registry) share(c *agentConn, run string, idx int32) *share {
	r.mu.Lock()
	d := r.runs[run]
	r.mu.Unlock()
	if d == nil || idx < 0 || int(idx) >= len(d.shares) {
		return nil
	}
	sh := d.shares[idx]
	if sh.conn != c {
		r.log.Warn("message about a share of another agent ignored", logKeyAgent, c.name, logKeyRun, run, logKeyShare, idx)
		return nil
	}
	return sh
}
