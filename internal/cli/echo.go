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
  GET  /healthz              ok`,
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
			return runEcho(ctx, stdio, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", echo.DefaultAddr, "`host:port` to listen on (port 0 picks a free one)")
	fl.StringVar(&f.delay, "delay", "0", "response delay: `5ms`, uniform:1ms-5ms, or a mix such as 99%:1ms,1%:100ms")
	fl.StringVar(&f.status, "status", "200", "status code, or a mix such as `95%:200,5%:503`")
	fl.IntVar(&f.size, "size", 0, "response body length in `bytes`")
	fl.BoolVar(&f.tls, "tls", false, "serve HTTPS (HTTP/1.1 and h2) with a self-signed certificate")
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
	return echo.Options{Addr: f.addr, Delay: delay, Status: status, Size: f.size, TLS: f.tls}, nil
}

// flagError names the flag in place of the specification it was given.
func flagError(flag string, err error) error {
	if se, ok := errors.AsType[*echo.SyntaxError](err); ok {
		return usageErrorf("%s: %s", flag, se.Reason())
	}
	return usageErrorf("%s: %w", flag, err)
}

// runEcho listens, says where, and serves until ctx ends.
func runEcho(ctx context.Context, stdio IO, opts echo.Options) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("echo: %w", err) // the error names the address
	}
	scheme, protocols := "http", "HTTP/1.1, h2c"
	if opts.TLS {
		scheme, protocols = "https", "HTTP/1.1, h2"
	}
	fmt.Fprintf(stdio.Err, "meshperf echo: listening on %s://%s (%s) delay=%s status=%s size=%d\n",
		scheme, ln.Addr(), protocols, opts.Delay, opts.Status, opts.Size)
	return echo.Serve(ctx, ln, opts)
}
