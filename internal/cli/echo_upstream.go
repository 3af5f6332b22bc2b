package cli

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/meshperf/meshperf/internal/echo"
)

// checkUpstreams checks --upstream.
func (f echoFlags) checkUpstreams() error {
	if len(f.upstreams) > echo.MaxUpstreams {
		return usageErrorf("--upstream: %d given, at most %d", len(f.upstreams), echo.MaxUpstreams)
	}
	for _, u := range f.upstreams {
		if _, err := echo.ParseUpstream(u); err != nil {
			return usageErrorf("--upstream: %v", err)
		}
	}
	return nil
}

// serveEcho serves HTTP, calling the upstreams first when there are any.
func serveEcho(ctx context.Context, stdio IO, ln net.Listener, opts echo.Options, up echo.Upstreams) error {
	if len(up.URLs) == 0 {
		return echo.Serve(ctx, ln, opts)
	}
	fmt.Fprintf(stdio.Err, "meshperf echo: each request first calls %s\n", strings.Join(up.URLs, ", "))
	return echo.ServeWithUpstreams(ctx, ln, opts, up)
}
