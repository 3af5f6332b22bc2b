// Package echotest starts meshperf's echo target for tests: on a free
// 127.0.0.1 port, stopped (and waited for) when the test ends.
package echotest

import (
	"context"
	"net"
	"testing"

	"github.com/meshperf/meshperf/internal/echo"
)

// HTTP serves the echo target (HTTP/1.1 and h2c, or HTTPS with opts.TLS)
// and returns its base URL, ending in "/".
func HTTP(t testing.TB, opts echo.Options) string {
	t.Helper()
	scheme := "http://"
	if opts.TLS {
		scheme = "https://"
	}
	return scheme + serve(t, func(ctx context.Context, ln net.Listener) error { return echo.Serve(ctx, ln, opts) }) + "/"
}

// GRPC serves the echo's gRPC server and returns its host:port.
func GRPC(t testing.TB, opts echo.GRPCOptions) string {
	t.Helper()
	return serve(t, func(ctx context.Context, ln net.Listener) error { return echo.ServeGRPC(ctx, ln, opts) })
}

// TCP serves the echo's TCP server and returns its tcp:// URL.
func TCP(t testing.TB, opts echo.TCPOptions) string {
	t.Helper()
	return "tcp://" + serve(t, func(ctx context.Context, ln net.Listener) error { return echo.ServeTCP(ctx, ln, opts) })
}

// Delay parses a delay (as meshperf echo --delay) or fails the test.
func Delay(t testing.TB, s string) echo.Delay {
	t.Helper()
	d, err := echo.ParseDelay(s)
	if err != nil {
		t.Fatalf("delay %q: %v", s, err)
	}
	return d
}

// serve runs fn on a new listener until the test ends, and returns the
// listener's address. A server that fails is an error of the test.
func serve(t testing.TB, fn func(context.Context, net.Listener) error) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := fn(ctx, ln); err != nil {
			t.Errorf("echo: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}
