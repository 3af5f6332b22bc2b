package echo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"

	"github.com/meshperf/meshperf/loadgen/hrtime"
)

// TCPOptions configures the echo's TCP server.
type TCPOptions struct {
	// Delay is how long to wait before sending back each chunk read.
	Delay Delay
	// Logger receives server events; nil discards them.
	Logger *slog.Logger
}

// tcpBufSize is the most one read takes, and so one echoed chunk.
const tcpBufSize = 64 << 10

// ServeTCP sends back every byte it receives on connections accepted from
// ln, each chunk after the delay, until ctx ends; then it closes ln and
// every connection and returns nil. A request a client writes at once is
// read at once (up to 64 KiB), so it is delayed once.
func ServeTCP(ctx context.Context, ln net.Listener, opts TCPOptions) error {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	var (
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
		wg    sync.WaitGroup
	)
	stop := context.AfterFunc(ctx, func() {
		_ = ln.Close()
		mu.Lock()
		for c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
	})
	defer stop()
	opts.Logger.Info("echo: serving TCP", logKeyAddr, ln.Addr().String())
	for {
		c, err := ln.Accept()
		if err != nil {
			wg.Wait()
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("echo: serve TCP: %w", err)
		}
		mu.Lock()
		if ctx.Err() != nil {
			mu.Unlock()
			_ = c.Close()
			continue
		}
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			echoConn(ctx, c, opts)
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
			_ = c.Close()
		}()
	}
}

// echoConn sends back what c sends until it closes.
func echoConn(ctx context.Context, c net.Conn, opts TCPOptions) {
	buf := make([]byte, tcpBufSize)
	var sleeper *hrtime.Sleeper
	if !opts.Delay.IsZero() {
		sleeper = hrtime.New()
		defer sleeper.Close()
	}
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if sleeper != nil {
				if d := opts.Delay.Sample(nil); d > 0 && !sleeper.Sleep(ctx, d) {
					return
				}
			}
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.EOF) && ctx.Err() == nil {
				opts.Logger.Debug("echo: TCP connection", logKeyErr, err)
			}
			return
		}
	}
}
