package cli

import (
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meshperf/meshperf/internal/server"
)

// DefaultServerAddr is where meshperf server listens unless told.
const DefaultServerAddr = "127.0.0.1:7070"

func newServerCmd(stdio IO, g *globalOptions) *cobra.Command {
	var addr, level string
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Serve the HTTP API (profiles, results, compare, export) over the store",
		Long: `meshperf server serves the REST API under /api/v1 over the same store the
CLI uses (--db). The API is described at /api/v1/openapi.json.

This version serves profiles, results, comparisons and exports; runs,
schedules, live events and authentication come next. Keep it on loopback
(the default) until then.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var lv slog.Level
			if err := lv.UnmarshalText([]byte(level)); err != nil {
				return usageErrorf("--log-level: want debug, info, warn or error, not %q", level)
			}
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return usageErrorf("--listen: %q is not host:port", addr)
			}
			log := slog.New(slog.NewJSONHandler(stdio.Err, &slog.HandlerOptions{Level: lv}))
			st, err := g.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			srv := server.New(server.Options{Store: st, Logger: log, Version: Version})
			return srv.ListenAndServe(cmd.Context(), addr, func(a net.Addr) {
				fmt.Fprintf(stdio.Err, "meshperf server: listening on http://%s (API at /api/v1, described at /api/v1/openapi.json)\n", a)
				if host, _, _ := net.SplitHostPort(a.String()); !isLoopback(host) {
					fmt.Fprintln(stdio.Err, "meshperf server: warning: listening beyond loopback without authentication (it comes in a later version)")
				}
			})
		},
	}
	cmd.Flags().StringVar(&addr, "listen", DefaultServerAddr, "host:port to listen on")
	cmd.Flags().StringVar(&level, "log-level", "info", "debug, info, warn or error")
	return cmd
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
