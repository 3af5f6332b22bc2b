package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	"github.com/meshperf/meshperf/internal/agentpb"
)

// outboxSize bounds the messages waiting to be sent: about four minutes of
// one share's snapshots.
const outboxSize = 256

// session is one stream to the server.
type session struct {
	a      *Agent
	stream agentpb.Agent_ConnectClient
	out    chan *agentpb.AgentMessage
	ctx    context.Context

	mu     sync.Mutex
	shares map[shareKey]context.CancelFunc
	wg     sync.WaitGroup
}

type shareKey struct {
	run   string
	share int32
}

// session dials the server, registers and serves the stream until it
// breaks or ctx ends. connected tells whether the server accepted the
// agent.
func (a *Agent) session(ctx context.Context) (connected bool, err error) {
	creds := insecure.NewCredentials()
	if a.cfg.TLS != nil {
		creds = credentials.NewTLS(a.cfg.TLS)
	}
	conn, err := grpc.NewClient(a.cfg.Server,
		grpc.WithTransportCredentials(creds),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 20 * time.Second, Timeout: 10 * time.Second}),
	)
	if err != nil {
		return false, fmt.Errorf("dial %s: %w", a.cfg.Server, err)
	}
	defer conn.Close()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := agentpb.NewAgentClient(conn).Connect(sctx)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	hello := &agentpb.Hello{
		Token: a.cfg.Token, Name: a.cfg.Name, Labels: a.cfg.Labels, Version: a.cfg.Version,
		Capacity: &agentpb.Capacity{Cores: int32(a.cfg.Cores), MaxRps: a.cfg.MaxRPS},
	}
	if err := stream.Send(&agentpb.AgentMessage{Msg: &agentpb.AgentMessage_Hello{Hello: hello}}); err != nil {
		_, rerr := stream.Recv() // the status says why
		return false, refusal(errors.Join(rerr, err))
	}
	first, err := stream.Recv()
	if err != nil {
		return false, refusal(err)
	}
	welcome := first.GetWelcome()
	if welcome == nil {
		return false, errors.New("the server did not answer the hello with a welcome")
	}
	a.log.Info("connected to the server", "address_seen", welcome.GetAddress(), "server_version", welcome.GetServerVersion())
	if a.cfg.OnConnect != nil {
		a.cfg.OnConnect(Welcome{Address: welcome.GetAddress(), ServerVersion: welcome.GetServerVersion()})
	}
	s := &session{a: a, stream: stream, out: make(chan *agentpb.AgentMessage, outboxSize), ctx: sctx, shares: map[shareKey]context.CancelFunc{}}
	errc := make(chan error, 2)
	go func() { errc <- s.send() }()
	go s.heartbeat(time.Duration(welcome.GetHeartbeatIntervalMs()) * time.Millisecond)
	go func() { errc <- s.recv() }()
	err = <-errc
	cancel()
	// Shares end with the stream: without its server an agent has no one
	// to report to, and the server has counted the share as lost.
	s.stopAll()
	s.wg.Wait()
	if errors.Is(err, io.EOF) {
		err = errors.New("the server closed the stream")
	}
	return true, err
}

// send writes queued messages to the stream; the only goroutine that does.
func (s *session) send() error {
	for {
		select {
		case <-s.ctx.Done():
			return s.ctx.Err()
		case m := <-s.out:
			if p := m.GetPong(); p != nil {
				p.T2UnixNano = time.Now().UnixNano()
			}
			if err := s.stream.Send(m); err != nil {
				return fmt.Errorf("send: %w", err)
			}
		}
	}
}

// enqueue queues m for sending; false when the stream has ended.
func (s *session) enqueue(m *agentpb.AgentMessage) bool {
	select {
	case s.out <- m:
		return true
	case <-s.ctx.Done():
		return false
	}
}

func (s *session) heartbeat(every time.Duration) {
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-t.C:
			hb := &agentpb.Heartbeat{SentUnixNano: now.UnixNano(), Running: s.running()}
			if !s.enqueue(&agentpb.AgentMessage{Msg: &agentpb.AgentMessage_Heartbeat{Heartbeat: hb}}) {
				return
			}
		}
	}
}

// recv handles what the server sends.
func (s *session) recv() error {
	for {
		m, err := s.stream.Recv()
		if err != nil {
			return err
		}
		now := time.Now()
		switch x := m.Msg.(type) {
		case *agentpb.ServerMessage_Ping:
			pong := &agentpb.Pong{T0UnixNano: x.Ping.GetT0UnixNano(), T1UnixNano: now.UnixNano()}
			s.enqueue(&agentpb.AgentMessage{Msg: &agentpb.AgentMessage_Pong{Pong: pong}})
		case *agentpb.ServerMessage_Assign:
			s.start(x.Assign)
		case *agentpb.ServerMessage_Cancel:
			s.cancel(x.Cancel)
		case *agentpb.ServerMessage_Welcome:
			// Only the first message may be a welcome; ignore repeats.
		}
	}
}

// start runs a share in the background.
func (s *session) start(as *agentpb.Assign) {
	key := shareKey{as.GetRunId(), as.GetShare()}
	s.mu.Lock()
	if _, dup := s.shares[key]; dup {
		s.mu.Unlock()
		s.a.log.Warn("ignoring a second assignment of the same share", logKeyRun, key.run, logKeyShare, key.share)
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	s.shares[key] = cancel
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.shares, key)
			s.mu.Unlock()
			cancel()
		}()
		s.a.runShare(ctx, as, s.enqueue)
	}()
}

func (s *session) cancel(c *agentpb.Cancel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, cancel := range s.shares {
		if k.run == c.GetRunId() && (c.GetShare() < 0 || c.GetShare() == k.share) {
			s.a.log.Info("share cancelled by the server", logKeyRun, k.run, logKeyShare, k.share, "reason", c.GetReason())
			cancel()
		}
	}
}

func (s *session) stopAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cancel := range s.shares {
		cancel()
	}
}

func (s *session) running() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.shares {
		out = append(out, k.run)
	}
	return out
}
