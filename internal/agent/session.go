package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
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

// DrainTimeout bounds how long an agent told to stop (SIGTERM) waits for
// its running shares to stop and for their last snapshot and final result
// to reach the server.
const DrainTimeout = 5 * time.Second

// session is one stream to the server.
type session struct {
	a      *Agent
	stream agentpb.Agent_ConnectClient
	out    chan *agentpb.AgentMessage
	ctx    context.Context // the stream's: outlives the agent's own by the drain
	work   context.Context // the shares': ends with the agent's or the stream's

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
	// The stream outlives ctx: an agent told to stop first sends what its
	// shares measured (see drain).
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var welcomed atomic.Bool // before the welcome, ctx's end ends the dial at once
	stopDial := context.AfterFunc(ctx, func() {
		if !welcomed.Load() {
			cancel()
		}
	})
	defer stopDial()
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
	welcomed.Store(true)
	if ctx.Err() != nil {
		return true, nil
	}
	work, stopWork := context.WithCancel(ctx)
	defer stopWork()
	defer context.AfterFunc(sctx, stopWork)()
	s := &session{a: a, stream: stream, out: make(chan *agentpb.AgentMessage, outboxSize), ctx: sctx, work: work,
		shares: map[shareKey]context.CancelFunc{}}
	errc := make(chan error, 2)
	go func() { errc <- s.send() }()
	go s.heartbeat(time.Duration(welcome.GetHeartbeatIntervalMs()) * time.Millisecond)
	go func() { errc <- s.recv() }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		s.drain(errc)
	}
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

// drain, once the agent is told to stop, waits (at most DrainTimeout) for
// its shares, stopped with it, to queue their last snapshot and final
// result, sends them, closes its side of the stream and waits for the
// server to end it, so that the server has everything the agent measured.
func (s *session) drain(errc <-chan error) {
	deadline := time.NewTimer(DrainTimeout)
	defer deadline.Stop()
	stopped := make(chan struct{})
	go func() { s.wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-errc:
		return
	case <-deadline.C:
		s.a.log.Warn("shares still running after the drain timeout; leaving without their final results", "timeout", DrainTimeout.String())
		return
	}
	// nil tells send to close the stream's sending side after what is
	// queued before it.
	if !s.enqueue(nil) {
		return
	}
	select {
	case <-errc: // the server has read everything and ended the stream
	case <-deadline.C:
		s.a.log.Warn("the server did not end the stream after the agent's last message", "timeout", DrainTimeout.String())
	}
}

// send writes queued messages to the stream; the only goroutine that does.
// A nil message closes the sending side.
func (s *session) send() error {
	for {
		select {
		case <-s.ctx.Done():
			return s.ctx.Err()
		case m := <-s.out:
			if m == nil {
				if err := s.stream.CloseSend(); err != nil {
					return fmt.Errorf("close send: %w", err)
				}
				continue
			}
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
	ctx, cancel := context.WithCancel(s.work)
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
