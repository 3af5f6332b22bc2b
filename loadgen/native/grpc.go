package native

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/meshperf/meshperf/loadgen"
)

// healthMethod is what a grpc:// target with no path calls.
const healthMethod = "/grpc.health.v1.Health/Check"

// grpcPool holds the gRPC channels of a run: one ClientConn per connection
// of the plan, each with a single subchannel and so a single TCP (or TLS)
// connection, shared by the workers that multiplex their calls over it
// (Streams per connection), as HTTP/2 streams.
type grpcPool struct {
	conns         []*grpc.ClientConn
	targets       []grpcTarget
	md            metadata.MD
	timeout       time.Duration
	callOpts      []grpc.CallOption
	read, written atomic.Int64
}

// grpcTarget is one target's call: the method and its request, encoded
// once.
type grpcTarget struct {
	method string // /package.Service/Method
	req    []byte
	health bool // a health check: the answer must say SERVING
}

// grpcAddr splits a grpc:// or grpcs:// target into its address, its
// method ("" for the health check) and whether it uses TLS.
func grpcAddr(raw string) (addr, method string, useTLS bool, host string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", false, "", fmt.Errorf("target %q: %w", raw, err)
	}
	useTLS = u.Scheme == "grpcs"
	port := u.Port()
	if port == "" {
		port = "80"
		if useTLS {
			port = "443"
		}
	}
	if path := strings.Trim(u.Path, "/"); path != "" {
		method = "/" + path
	}
	return net.JoinHostPort(u.Hostname(), port), method, useTLS, u.Hostname(), nil
}

// grpcPlan is what a run's gRPC targets resolve to, whatever carries the
// calls: their address, TLS, methods and requests (encoded once) and the
// metadata from the plan's headers.
type grpcPlan struct {
	addr, host, authority string
	useTLS                bool
	targets               []grpcTarget
	md                    metadata.MD
}

// resolveGRPC resolves the plan's gRPC targets: the health check, or
// methods found in the descriptor set or by server reflection (once).
func resolveGRPC(ctx context.Context, p *loadgen.Plan, version string) (*grpcPlan, error) {
	g := &grpcPlan{}
	for _, h := range p.Headers {
		name := strings.ToLower(h.Name)
		switch {
		case name == "host" || name == ":authority":
			g.authority = h.Value
		case name == "user-agent" || name == "content-type" || strings.HasPrefix(name, "grpc-") || strings.HasPrefix(name, ":"):
			// set by gRPC itself
		default:
			if g.md == nil {
				g.md = metadata.MD{}
			}
			g.md.Append(name, h.Value)
		}
	}
	var dsc *descriptorSource
	for i, raw := range p.Targets {
		a, method, tlsOn, h, err := grpcAddr(raw)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			g.addr, g.useTLS, g.host = a, tlsOn, h
		} else if a != g.addr || tlsOn != g.useTLS {
			return nil, fmt.Errorf("targets: gRPC targets must share one address and scheme (%s is not %s)", raw, p.Targets[0])
		}
		var t grpcTarget
		if method == "" {
			t, err = healthTarget(p.Body)
		} else {
			if dsc == nil {
				if dsc, err = newDescriptorSource(ctx, p, raw, a, tlsOn, h, version); err != nil {
					return nil, err
				}
			}
			t, err = dsc.target(method, p.Body)
		}
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", raw, err)
		}
		g.targets = append(g.targets, t)
	}
	return g, nil
}

func newGRPCPool(ctx context.Context, p *loadgen.Plan, version string) (*grpcPool, error) {
	g, err := resolveGRPC(ctx, p, version)
	if err != nil {
		return nil, err
	}
	pool := &grpcPool{timeout: p.Timeout, callOpts: []grpc.CallOption{grpc.ForceCodecV2(rawCodec{})}, targets: g.targets, md: g.md}
	opts, err := channelOptions(p, g.useTLS, g.host, g.authority, version, pool)
	if err != nil {
		return nil, err
	}
	for i := 0; i < p.Connections; i++ {
		cc, err := grpc.NewClient("passthrough:///"+g.addr, opts...)
		if err != nil {
			pool.close()
			return nil, fmt.Errorf("grpc: %s: %w", g.addr, err)
		}
		pool.conns = append(pool.conns, cc)
	}
	return pool, nil
}

// channelOptions are the dial options of the plan's channels; when counter
// is not nil the bytes they move are counted into it.
func channelOptions(p *loadgen.Plan, useTLS bool, host, authority, version string, counter *grpcPool) ([]grpc.DialOption, error) {
	creds := insecure.NewCredentials()
	if useTLS {
		cfg, err := tlsConfig(p.TLS, host, []string{"h2"})
		if err != nil {
			return nil, err
		}
		creds = credentials.NewTLS(cfg)
	}
	dialer := newDialer(p)
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithUserAgent("meshperf/" + version),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, "tcp", addr)
			if err != nil || counter == nil {
				return c, err
			}
			return &grpcCountingConn{Conn: c, pool: counter}, nil
		}),
		// A load test wants a lost connection back soon, not after
		// gRPC's default back-off of up to two minutes.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: p.ConnectTimeout,
		}),
		grpc.WithSharedWriteBuffer(true),
	}
	if authority != "" {
		opts = append(opts, grpc.WithAuthority(authority))
	}
	return opts, nil
}

// healthTarget is the call of the health check; body, when given, is its
// request in JSON ({"service": "name"}).
func healthTarget(body []byte) (grpcTarget, error) {
	req := &healthpb.HealthCheckRequest{}
	if len(body) > 0 {
		if err := unmarshalJSON(body, req); err != nil {
			return grpcTarget{}, err
		}
	}
	b, err := proto.Marshal(req)
	if err != nil {
		return grpcTarget{}, fmt.Errorf("body: %w", err)
	}
	return grpcTarget{method: healthMethod, req: b, health: true}, nil
}

// do makes one call to target ti over channel ci and returns its status
// code; a status other than OK comes with a *grpcError.
func (p *grpcPool) do(ctx context.Context, ci, ti int) (int, error) {
	t := &p.targets[ti]
	cctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	if p.md != nil {
		cctx = metadata.NewOutgoingContext(cctx, p.md)
	}
	reply := grpcReply{keep: t.health}
	err := p.conns[ci].Invoke(cctx, t.method, t.req, &reply, p.callOpts...)
	if err != nil {
		if ctx.Err() != nil {
			return int(codes.Canceled), ctx.Err() // our own cancellation
		}
		st := status.Convert(err)
		return int(st.Code()), &grpcError{code: st.Code(), msg: st.Message()}
	}
	if t.health {
		var resp healthpb.HealthCheckResponse
		if err := proto.Unmarshal(reply.data, &resp); err != nil {
			return int(codes.OK), &loadgen.ProtocolError{Msg: "health check answer: " + err.Error()}
		}
		if resp.Status != healthpb.HealthCheckResponse_SERVING {
			return int(codes.OK), &notServingError{status: resp.Status.String()}
		}
	}
	return int(codes.OK), nil
}

func (p *grpcPool) close() {
	for _, cc := range p.conns {
		_ = cc.Close()
	}
}

func (p *grpcPool) bytes() (sent, recv int64) { return p.written.Load(), p.read.Load() }

// grpcDoer is one worker's view of the pool: its channel.
type grpcDoer struct {
	pool *grpcPool
	ci   int
}

func (d grpcDoer) do(ctx context.Context, ti int) (int, error) { return d.pool.do(ctx, d.ci, ti) }
func (d grpcDoer) closeAll()                                   {}

// rawCodec sends requests encoded once and counts replies without decoding
// them (a health check's is kept): the client's cost stays the transport's.
type rawCodec struct{}

// grpcReply receives a reply through rawCodec.
type grpcReply struct {
	keep bool
	n    int
	data []byte
}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, ok := v.([]byte)
	if !ok {
		return nil, fmt.Errorf("rawCodec: cannot send %T", v)
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	r, ok := v.(*grpcReply)
	if !ok {
		return fmt.Errorf("rawCodec: cannot receive into %T", v)
	}
	r.n = data.Len()
	if r.keep {
		r.data = data.Materialize()
	}
	return nil
}

// Name is "proto": the content type the server sees is application/grpc+proto.
func (rawCodec) Name() string { return "proto" }

// grpcError is a call that ended with a status other than OK. Its class is
// the code's name, except for transport failures gRPC reports as
// UNAVAILABLE, which get the class the same failure over HTTP would.
type grpcError struct {
	code codes.Code
	msg  string
}

func (e *grpcError) Error() string {
	return "grpc: " + codeName(e.code) + ": " + e.msg
}

// ErrorClass implements loadgen.ClassedError.
func (e *grpcError) ErrorClass() string {
	switch e.code {
	case codes.DeadlineExceeded:
		return loadgen.ClassDeadlineExceeded
	case codes.Unavailable:
		// gRPC keeps the transport's error only as text.
		m := e.msg
		switch {
		case strings.Contains(m, "connection refused"):
			return loadgen.ClassRefused
		case strings.Contains(m, "no such host"), strings.Contains(m, "server misbehaving"):
			return loadgen.ClassDNS
		case strings.Contains(m, "tls:"), strings.Contains(m, "x509:"), strings.Contains(m, "authentication handshake failed"):
			return loadgen.ClassTLS
		case strings.Contains(m, "connection reset"), strings.Contains(m, "broken pipe"),
			strings.Contains(m, "EOF"), strings.Contains(m, "error reading server preface"):
			return loadgen.ClassReset
		case strings.Contains(m, "i/o timeout"):
			return loadgen.ClassTimeout
		case strings.Contains(m, "no route to host"), strings.Contains(m, "network is unreachable"):
			return loadgen.ClassUnreachable
		}
		return loadgen.ClassUnavailable
	}
	return snake(e.code)
}

// codeName is a status code as the gRPC specification writes it
// (DEADLINE_EXCEEDED); codes past the known ones are CODE_N.
func codeName(c codes.Code) string { return strings.ToUpper(snake(c)) }

// snake is the code's name in lower case (resource_exhausted), the error
// class of calls that ended with it; codes past the known ones are code_N.
func snake(c codes.Code) string {
	if name := loadgen.GRPCCodeName(int(c)); name != "" {
		return strings.ToLower(name)
	}
	return fmt.Sprintf("code_%d", uint32(c))
}

// notServingError is a health check that answered, but not SERVING.
type notServingError struct{ status string }

func (e *notServingError) Error() string { return "grpc: health check: " + e.status }

// ErrorClass implements loadgen.ClassedError.
func (e *notServingError) ErrorClass() string { return loadgen.ClassNotServing }

var (
	_ loadgen.ClassedError = (*grpcError)(nil)
	_ loadgen.ClassedError = (*notServingError)(nil)
)

type grpcCountingConn struct {
	net.Conn
	pool *grpcPool
}

func (c *grpcCountingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.pool.read.Add(int64(n))
	return n, err
}

func (c *grpcCountingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.pool.written.Add(int64(n))
	return n, err
}
