package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"syscall"

	"github.com/meshperf/meshperf/internal/echo"
)

// DefaultEchoAddr is where meshperf server --echo puts its echo target
// unless --echo-addr says otherwise: a fixed port, so that a profile saved
// against it still works after a restart.
const DefaultEchoAddr = "127.0.0.1:8079"

// startServerEcho starts the echo target on addr until ctx ends, and
// returns its URL. When addr is the default (not given) and already in use,
// it falls back to a free loopback port and says so on w; an address given
// with --echo-addr that is in use is an error.
func startServerEcho(ctx context.Context, w io.Writer, addr string, given bool, log *slog.Logger) (string, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil && !given && errors.Is(err, syscall.EADDRINUSE) {
		fb, ferr := lc.Listen(ctx, "tcp", "127.0.0.1:0")
		if ferr != nil {
			return "", fmt.Errorf("--echo: %w", ferr)
		}
		fmt.Fprintf(w, "meshperf server: %s is in use, so the echo target is on %s instead (profiles saved against http://%s/ will not reach it; --echo-addr picks the address)\n", addr, fb.Addr(), addr)
		ln, err = fb, nil
	}
	if err != nil {
		return "", fmt.Errorf("--echo-addr %s: %w", addr, err)
	}
	go func() {
		if err := echo.Serve(ctx, ln, echo.Options{Addr: ln.Addr().String(), Logger: log}); err != nil && ctx.Err() == nil {
			log.Error("echo target stopped", "err", err)
		}
	}()
	return "http://" + ln.Addr().String() + "/", nil
}

// printReady writes the server's last start-up lines: where it listens,
// then the URL to open, alone on the last line.
func printReady(w io.Writer, a net.Addr, teamMode bool) {
	fmt.Fprintf(w, "meshperf server: listening on http://%s (API at /api/v1, described at /api/v1/openapi.json)\n", a)
	host, _, _ := net.SplitHostPort(a.String())
	if !isLoopback(host) && !teamMode {
		fmt.Fprintln(w, "meshperf server: warning: listening beyond loopback in single-user mode: anyone who can reach it can use it (use --auth)")
	}
	fmt.Fprintf(w, "\n  Open http://%s/ in your browser (Ctrl-C stops the server)\n\n", a)
}
