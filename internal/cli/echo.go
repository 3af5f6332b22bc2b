package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/spf13/cobra"

	"github.com/meshperf/meshperf/internal/echo"
)

// echoFlags are the flags of meshperf echo, as typed.
type echoFlags struct {
	addr, delay, status string
	size                int
	tls                 bool
	grpcAddr, tcpAddr   string
	grpcCode            string
	capacity            int
	overload            string
	upstreams           []string // --upstream: echo_upstream.go
}

func newEchoCmd(stdio IO) *cobra.Command {
	var f echoFlags
	cmd := &cobra.Command{
		Use:   "echo",
		Short: "Serve HTTP with chosen delays, status codes and sizes, as a target to measure",
		Long: `meshperf echo is a target server for runs and for baselines: measure it
directly, then through your mesh, and the difference is what the mesh costs.

One port serves HTTP/1.1 and h2c (prior knowledge), or with --tls HTTPS with
HTTP/1.1 and h2 and a self-signed certificate made at start.

Delays: 5ms, uniform:1ms-5ms, or a mix such as 99%:1ms,1%:100ms.
Statuses: 200, or a mix such as 95%:200,5%:503. Mix weights add up to 100%.

Requests may override these with query parameters: ?delay=10ms, ?status=503,
?size=1024. Admin endpoints, never delayed or stalled:
  POST /admin/stall?for=1s   hold every response for a second
  GET  /admin/stats          counts of requests, by status, and stalls
  GET  /healthz              ok

--grpc ADDR also serves gRPC there: the health service, server reflection and
meshperf.echo.v1.Echo/Echo, whose request ({"message", "payload", "delay",
"code", "size"}) may override the delay and the status code. Every unary call
waits --delay and answers with a code from --grpc-code (OK, or a mix such as
99%:OK,1%:UNAVAILABLE); with --tls, over TLS. --tcp ADDR also serves TCP
there, sending back every chunk it reads after --delay.

--capacity RPS makes the HTTP target degrade above that many requests in any
sliding second, so a capacity search has a known limit to find. --overload
says how: delay[:D] (default, D=20ms) adds D × (1 + 10 × excess/RPS) to each
request over the limit; reject answers it 503 at once, serving RPS a second.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := f.options()
			if err != nil {
				return err
			}
			opts.Logger = slog.New(slog.NewTextHandler(stdio.Err, &slog.HandlerOptions{Level: slog.LevelWarn}))
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return runEchoAll(ctx, stdio, opts, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", echo.DefaultAddr, "`host:port` to listen on (port 0 picks a free one)")
	fl.StringVar(&f.delay, "delay", "0", "response delay: `5ms`, uniform:1ms-5ms, or a mix such as 99%:1ms,1%:100ms")
	fl.StringVar(&f.status, "status", "200", "status code, or a mix such as `95%:200,5%:503`")
	fl.IntVar(&f.size, "size", 0, "response body length in `bytes`")
	fl.BoolVar(&f.tls, "tls", false, "serve HTTPS (HTTP/1.1 and h2) with a self-signed certificate")
	fl.StringVar(&f.grpcAddr, "grpc", "", "also serve gRPC (health, reflection, Echo) on this `host:port`")
	fl.StringVar(&f.grpcCode, "grpc-code", "OK", "gRPC status code, or a mix such as `99%:OK,1%:UNAVAILABLE`")
	fl.StringVar(&f.tcpAddr, "tcp", "", "also serve TCP echo on this `host:port`")
	fl.IntVar(&f.capacity, "capacity", 0, "degrade above this many HTTP requests per sliding second (`RPS`; 0 = never)")
	fl.StringVar(&f.overload, "overload", echo.OverloadDelay, "over --capacity: `delay[:D]` (extra D × (1 + 10 × excess/RPS), D default 20ms) or reject (503)")
	fl.StringArrayVar(&f.upstreams, "upstream", nil, "call this `URL` (GET) before answering each request, all upstreams at once; repeatable (the sample application: docs/designs.md)")
	return cmd
}

// options checks the flags and turns them into echo.Options.
func (f echoFlags) options() (echo.Options, error) {
	if _, _, err := net.SplitHostPort(f.addr); err != nil {
		return echo.Options{}, usageErrorf("--addr: %q is not host:port", f.addr)
	}
	delay, err := echo.ParseDelay(f.delay)
	if err != nil {
		return echo.Options{}, flagError("--delay", err)
	}
	status, err := echo.ParseStatus(f.status)
	if err != nil {
		return echo.Options{}, flagError("--status", err)
	}
	if f.size < 0 || f.size > echo.MaxSize {
		return echo.Options{}, usageErrorf("--size: %d is not a number of bytes from 0 to %d", f.size, echo.MaxSize)
	}
	for _, a := range []struct{ flag, addr string }{{"--grpc", f.grpcAddr}, {"--tcp", f.tcpAddr}} {
		if _, _, err := net.SplitHostPort(a.addr); a.addr != "" && err != nil {
			return echo.Options{}, usageErrorf("%s: %q is not host:port", a.flag, a.addr)
		}
	}
	if _, err := echo.ParseCodes(f.grpcCode); err != nil {
		return echo.Options{}, flagError("--grpc-code", err)
	}
	capacity := echo.Capacity{RPS: f.capacity}
	if capacity.Mode, capacity.Delay, err = echo.ParseOverload(f.overload); err != nil {
		return echo.Options{}, usageErrorf("--overload: %w", err)
	}
	if err := capacity.Validate(); err != nil {
		return echo.Options{}, usageErrorf("--capacity: %w", err)
	}
	if err := f.checkUpstreams(); err != nil {
		return echo.Options{}, err
	}
	return echo.Options{Addr: f.addr, Delay: delay, Status: status, Size: f.size, TLS: f.tls, Capacity: capacity}, nil
}

// flagError names the flag in place of the specification it was given.
func flagError(flag string, err error) error {
	if se, ok := errors.AsType[*echo.SyntaxError](err); ok {
		return usageErrorf("%s: %s", flag, se.Reason())
	}
	return usageErrorf("%s: %w", flag, err)
}

// runEcho listens, says where, and serves until ctx ends.
func runEcho(ctx context.Context, stdio IO, opts echo.Options, up echo.Upstreams) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("echo: %w", err) // the error names the address
	}
	scheme, protocols := "http", "HTTP/1.1, h2c"
	if opts.TLS {
		scheme, protocols = "https", "HTTP/1.1, h2"
	}
	fmt.Fprintf(stdio.Err, "meshperf echo: listening on %s://%s (%s) delay=%s status=%s size=%d capacity=%s\n",
		scheme, ln.Addr(), protocols, opts.Delay, opts.Status, opts.Size, opts.Capacity)
	return serveEcho(ctx, stdio, ln, opts, up)
}

// runEchoAll serves HTTP and, when asked, gRPC (--grpc) and TCP (--tcp)
// until ctx ends or one of them fails.
func runEchoAll(ctx context.Context, stdio IO, opts echo.Options, f echoFlags) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		lc     net.ListenConfig
		lns    []net.Listener
		serves []func() error
	)
	listen := func(what, addr string) (net.Listener, error) {
		ln, err := lc.Listen(ctx, "tcp", addr)
		if err != nil {
			for _, l := range lns {
				_ = l.Close()
			}
			return nil, fmt.Errorf("echo: %s: %w", what, err)
		}
		lns = append(lns, ln)
		return ln, nil
	}
	if f.grpcAddr != "" {
		ln, err := listen("gRPC", f.grpcAddr)
		if err != nil {
			return err
		}
		codes, _ := echo.ParseCodes(f.grpcCode) // checked by options
		scheme := "grpc"
		if opts.TLS {
			scheme = "grpcs"
		}
		fmt.Fprintf(stdio.Err, "meshperf echo: listening on %s://%s (gRPC: health, reflection, %s) delay=%s code=%s\n",
			scheme, ln.Addr(), echo.EchoService, opts.Delay, codes)
		g := echo.GRPCOptions{Delay: opts.Delay, Codes: codes, Size: opts.Size, TLS: opts.TLS, Logger: opts.Logger}
		serves = append(serves, func() error { return echo.ServeGRPC(ctx, ln, g) })
	}
	if f.tcpAddr != "" {
		ln, err := listen("TCP", f.tcpAddr)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdio.Err, "meshperf echo: listening on tcp://%s (TCP echo) delay=%s\n", ln.Addr(), opts.Delay)
		t := echo.TCPOptions{Delay: opts.Delay, Logger: opts.Logger}
		serves = append(serves, func() error { return echo.ServeTCP(ctx, ln, t) })
	}
	errc := make(chan error, len(serves))
	for _, serve := range serves {
		go func() {
			err := serve()
			cancel() // one failing stops the others
			errc <- err
		}()
	}
	err := runEcho(ctx, stdio, opts, echo.Upstreams{URLs: f.upstreams})
	cancel()
	for range serves {
		err = errors.Join(err, <-errc)
	}
	return err
}
