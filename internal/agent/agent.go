// Package agent is meshperf's agent: it dials its server over gRPC (one
// bidirectional stream, proto/meshperf/agent/v1), registers, answers the
// server's clock pings, runs the shares of tests it is given with the same
// engine as meshperf run, and streams each second's histograms back. It
// listens on nothing: it takes work only from the server it dialled.
package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Log attribute keys.
const (
	logKeyServer = "server"
	logKeyName   = "agent"
	logKeyErr    = "err"
	logKeyRun    = "run"
	logKeyShare  = "share"
	logKeyWait   = "retry_in"
)

// Defaults of a Config.
const (
	DefaultMinBackoff = 500 * time.Millisecond
	DefaultMaxBackoff = 30 * time.Second
)

// ErrBadToken is returned (and logged) when the server refuses the join
// token.
var ErrBadToken = errors.New("the server refused the join token")

// Config configures an Agent.
type Config struct {
	// Server is the server's agent address, host:port (meshperf server
	// --agent-listen).
	Server string
	// Token is the join token the server expects.
	Token string
	// Name identifies the agent; unique among the server's agents.
	Name   string
	Labels map[string]string
	// Version is reported to the server.
	Version string
	// Cores and MaxRPS describe the agent's capacity; Cores defaults to
	// GOMAXPROCS.
	Cores  int
	MaxRPS float64
	// TLS, when set, secures the stream; nil is plaintext.
	TLS *tls.Config
	// Logger receives the agent's log; discarded when nil.
	Logger *slog.Logger
	// MinBackoff and MaxBackoff bound the wait between reconnections
	// (exponential, with jitter).
	MinBackoff, MaxBackoff time.Duration
	// OnConnect, if set, is called each time the server accepts the agent,
	// with what the server answered.
	OnConnect func(Welcome)
}

// Welcome is the server's answer to an agent it accepted.
type Welcome struct {
	// Address is the agent's address as the server sees it.
	Address       string
	ServerVersion string
}

// Agent runs one agent.
type Agent struct {
	cfg Config
	log *slog.Logger
}

// New checks cfg and makes an Agent.
func New(cfg Config) (*Agent, error) {
	var errs []error
	if cfg.Server == "" {
		errs = append(errs, errors.New("server: the server's agent address (host:port) is required"))
	}
	if cfg.Token == "" {
		errs = append(errs, errors.New("token: a join token is required"))
	}
	if cfg.Name == "" {
		errs = append(errs, errors.New("name: an agent name is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Cores <= 0 {
		cfg.Cores = runtime.GOMAXPROCS(0)
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(DefaultMaxBackoff, cfg.MinBackoff)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With(logKeyName, cfg.Name, logKeyServer, cfg.Server)
	return &Agent{cfg: cfg, log: log}, nil
}

// Run connects to the server and serves it until ctx ends, reconnecting
// with exponential backoff and jitter whenever the stream breaks or the
// server cannot be reached. It returns nil when ctx ends, and an error
// wrapping ErrBadToken when the server refuses the join token: trying the
// same token again cannot succeed.
func (a *Agent) Run(ctx context.Context) error {
	wait := a.cfg.MinBackoff
	for {
		connected, err := a.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if connected {
			wait = a.cfg.MinBackoff // the server was there: start over
		}
		d := jitter(wait)
		switch {
		case errors.Is(err, ErrBadToken):
			a.log.Error("the server refused the join token; check --token (or MESHPERF_AGENT_TOKEN) against the server's --agent-token", logKeyErr, err)
			return fmt.Errorf("%w; check --token (or MESHPERF_AGENT_TOKEN) against the server's --agent-token", err)
		case err != nil && connected:
			a.log.Warn("disconnected from the server", logKeyErr, err, logKeyWait, d.String())
		case err != nil:
			a.log.Warn("cannot reach the server", logKeyErr, err, logKeyWait, d.String())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(d):
		}
		wait = min(2*wait, a.cfg.MaxBackoff)
	}
}

// jitter returns a wait between d/2 and d, so that many agents cut off
// together do not all come back at the same instant.
func jitter(d time.Duration) time.Duration {
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// refusal maps the server's refusal of a Hello to an error.
func refusal(err error) error {
	switch status.Code(err) {
	case codes.Unauthenticated:
		return fmt.Errorf("%w: %s", ErrBadToken, status.Convert(err).Message())
	case codes.OK:
		return err
	}
	return fmt.Errorf("the server refused the agent: %s", status.Convert(err).Message())
}
