package echo

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	rpbalpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/meshperf/meshperf/loadgen/hrtime"
)

// maxGRPCSize is the largest payload an Echo answer may carry: under
// gRPC's default 4 MiB limit on a received message.
const maxGRPCSize = 4<<20 - 1024

// GRPCOptions configures the echo's gRPC server.
type GRPCOptions struct {
	// Delay is how long to wait before answering each unary call (health
	// checks and Echo; not reflection).
	Delay Delay
	// Codes is the mix of status codes to answer with; OK when zero.
	Codes CodeMix
	// Size is the length of the payload Echo sends back when its request
	// sets neither payload nor size.
	Size int
	// TLS serves with a self-signed certificate for 127.0.0.1, ::1 and
	// localhost, made when the server starts.
	TLS bool
	// Logger receives server events; nil discards them.
	Logger *slog.Logger
}

// ServeGRPC serves the gRPC health service (grpc.health.v1.Health, SERVING
// for "" and EchoService), server reflection (v1 and v1alpha) and the Echo
// service on ln until ctx ends, then stops gracefully and returns nil. It
// closes ln.
func ServeGRPC(ctx context.Context, ln net.Listener, opts GRPCOptions) error {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	srv, hs, err := newGRPCServer(opts)
	if err != nil {
		_ = ln.Close()
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	opts.Logger.Info("echo: serving gRPC", logKeyAddr, ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("echo: serve gRPC: %w", err)
	case <-ctx.Done():
	}
	hs.Shutdown() // health checks now answer NOT_SERVING
	stopped := make(chan struct{})
	go func() { srv.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(shutdownGrace):
		opts.Logger.Warn("echo: gRPC calls still running after the grace period, closing connections")
		srv.Stop()
		<-stopped
	}
	if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("echo: serve gRPC: %w", err)
	}
	return nil
}

// grpcEcho answers the unary calls.
type grpcEcho struct {
	opts   GRPCOptions
	d      *echoDescriptors
	timers sync.Pool     // *hrtime.Sleeper
	zeros  func() []byte // payloads of a given size are slices of it
}

func newGRPCServer(opts GRPCOptions) (*grpc.Server, *health.Server, error) {
	d, err := newEchoDescriptors()
	if err != nil {
		return nil, nil, err
	}
	e := &grpcEcho{opts: opts, d: d, zeros: sync.OnceValue(func() []byte { return make([]byte, maxGRPCSize) })}
	sopts := []grpc.ServerOption{grpc.UnaryInterceptor(e.intercept)}
	if opts.TLS {
		cert, err := selfSignedCert(time.Now())
		if err != nil {
			return nil, nil, fmt.Errorf("echo: %w", err)
		}
		sopts = append(sopts, grpc.Creds(credentials.NewTLS(&tls.Config{
			Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12,
		})))
	}
	srv := grpc.NewServer(sopts...)
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus(EchoService, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: EchoService,
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{{MethodName: "Echo", Handler: e.handleEcho}},
		Metadata:    echoFile,
	}, e)
	ropts := reflection.ServerOptions{Services: srv, DescriptorResolver: resolver{local: d.files}}
	rpb.RegisterServerReflectionServer(srv, reflection.NewServerV1(ropts))
	rpbalpha.RegisterServerReflectionServer(srv, reflection.NewServer(ropts))
	return srv, hs, nil
}

// intercept delays every unary call and answers it with a code from the
// mix; an EchoRequest may override both.
func (e *grpcEcho) intercept(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	delay := e.opts.Delay.Sample(nil)
	code := e.opts.Codes.Sample(nil)
	if m, ok := req.(*dynamicpb.Message); ok && m.Descriptor() == e.d.req {
		if s := m.Get(e.d.fDelay).String(); s != "" {
			d, err := parseDuration(s)
			if err != nil {
				return nil, status.Errorf(codes.InvalidArgument, "delay: %v", err)
			}
			delay = d
		}
		if c := m.Get(e.d.fCode).Uint(); c != 0 {
			code = codes.Code(c)
		}
	}
	if delay > 0 && !e.sleep(ctx, delay) {
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	if code != codes.OK {
		return nil, status.Errorf(code, "meshperf echo: %s as asked", codeName(code))
	}
	return handler(ctx, req)
}

// sleep waits d, reporting false if ctx ended first (the client's deadline
// passed or it went away).
func (e *grpcEcho) sleep(ctx context.Context, d time.Duration) bool {
	s, _ := e.timers.Get().(*hrtime.Sleeper)
	if s == nil {
		s = hrtime.New()
	}
	ok := s.Sleep(ctx, d)
	e.timers.Put(s)
	return ok
}

// handleEcho is the Echo method's handler, as protoc-gen-go-grpc would
// write it for a generated type, here with dynamic messages.
func (e *grpcEcho) handleEcho(_ any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	in := dynamicpb.NewMessage(e.d.req)
	if err := dec(in); err != nil {
		return nil, err
	}
	answer := func(_ context.Context, req any) (any, error) { return e.answer(req.(*dynamicpb.Message)), nil }
	if interceptor == nil {
		return answer(ctx, in)
	}
	return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: e, FullMethod: EchoMethod}, answer)
}

// answer sends back the request's message and payload, or size bytes.
func (e *grpcEcho) answer(in *dynamicpb.Message) *dynamicpb.Message {
	out := dynamicpb.NewMessage(e.d.resp)
	if in.Has(e.d.fMessage) {
		out.Set(e.d.rMessage, in.Get(e.d.fMessage))
	}
	size := int(min(in.Get(e.d.fSize).Uint(), maxGRPCSize))
	switch {
	case size > 0:
		out.Set(e.d.rPayload, e.payload(size))
	case in.Has(e.d.fPayload):
		out.Set(e.d.rPayload, in.Get(e.d.fPayload))
	case e.opts.Size > 0:
		out.Set(e.d.rPayload, e.payload(min(e.opts.Size, maxGRPCSize)))
	}
	return out
}

// payload is size zero bytes, never to be written to.
func (e *grpcEcho) payload(size int) protoreflect.Value {
	return protoreflect.ValueOfBytes(e.zeros()[:size])
}
