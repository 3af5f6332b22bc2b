package cli

import (
	"fmt"
	"log/slog"
	"net"
	"path"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshperf/meshperf/internal/meshmetrics"
	"github.com/meshperf/meshperf/internal/server"
)

// DefaultServerAddr is where meshperf server listens unless told.
const DefaultServerAddr = "127.0.0.1:7070"

func newServerCmd(stdio IO, g *globalOptions) *cobra.Command {
	var addr string
	var logs logFlags
	var echoAddr string
	var concurrency int
	var allow []string
	var grace, saveEvery, instanceTimeout time.Duration
	var saveRetries int
	var teamMode bool
	var keyFile string
	var agents agentServerFlags
	var withEcho bool
	var guard serverGuardFlags
	var clusterFlags runClusterFlags
	var meshProm string
	var maxConns int
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Serve the HTTP API (profiles, results, compare, export) over the store",
		Long: `meshperf server serves the REST API under /api/v1 over the same store the
CLI uses (--db), and the web UI at / (built with make web). The API is
described at /api/v1/openapi.json. --echo also starts the echo target on
127.0.0.1:8079 (--echo-addr), as a first target for the UI. Logs are text
on a terminal and JSON lines otherwise (--log-format); the URL to open is
the last line printed at start.

It serves profiles, runs (queued, cancellable, with live Server-Sent Events
at /api/v1/runs/{id}/events), results, comparisons and exports. Single-user
mode (the default) trusts whoever reaches it: keep it on loopback, or use
--auth for team mode. --allow-target bounds what it may load.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return usageErrorf("--listen: %q is not host:port", addr)
			}
			if maxConns < 1 || maxConns > server.MaxMaxConnections {
				return usageErrorf("--max-connections: want 1 to %d, got %d", server.MaxMaxConnections, maxConns)
			}
			log, err := logs.logger(stdio.Err, slog.LevelDebug)
			if err != nil {
				return err
			}
			st, err := g.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			if concurrency < 1 {
				return usageErrorf("--concurrency: want at least 1, got %d", concurrency)
			}

			for _, pat := range allow {
				if _, err := path.Match(pat, "x"); err != nil {
					return usageErrorf("--allow-target %q: %v", pat, err)
				}
			}
			switch {
			case saveEvery < 0:
				return usageErrorf("--save-every: want 0 (only at the end) or a positive duration, got %s", saveEvery)
			case saveEvery > 0 && saveEvery < 100*time.Millisecond:
				return usageErrorf("--save-every: at least 100ms, got %s", saveEvery)
			case instanceTimeout < 100*time.Millisecond || instanceTimeout > 24*time.Hour:
				return usageErrorf("--instance-timeout: want 100ms to 24h, got %s", instanceTimeout)
			case saveRetries < 0 || saveRetries > 20:
				return usageErrorf("--save-retries: want 0 to 20, got %d", saveRetries)
			}
			if saveEvery == 0 {
				saveEvery = -1 // server.Options: negative is never
			}
			if saveRetries == 0 {
				saveRetries = -1 // server.Options: negative is none
			}
			opts := server.Options{Store: st, Logger: log, Version: Version,
				Concurrency: concurrency, AllowTargets: allow, ShutdownGrace: grace, MaxConnections: maxConns,
				SaveEvery: saveEvery, InstanceTimeout: instanceTimeout, SaveRetries: saveRetries}
			if withEcho {
				echoLog, _ := logs.logger(stdio.Err, slog.LevelWarn) // its start is said below
				if opts.EchoURL, err = startServerEcho(cmd.Context(), stdio.Err, echoAddr, cmd.Flags().Changed("echo-addr"), echoLog); err != nil {
					return err
				}
				fmt.Fprintf(stdio.Err, "meshperf server: echo target for first tests at %s\n", opts.EchoURL)
			}
			if err := guard.apply(&opts); err != nil {
				return err
			}
			if err := agents.apply(&opts); err != nil {
				return err
			}
			if teamMode {
				if opts.Auth, err = authService(st, keyFile, log); err != nil {
					return err
				}
			}
			if inv, err := clusterFlags.inventory(cmd.Context(), stdio.Err, log); err != nil {
				return err
			} else if inv != nil {
				opts.Cluster = inv
				opts.Conformance = conformanceRunner(clusterFlags.cfg)
			}
			if meshProm != "" {
				if opts.MeshMetrics, err = meshmetrics.NewPrometheus(meshProm, nil); err != nil {
					return usageErrorf("--mesh-prometheus: %v", err)
				}
			}
			srv := server.New(opts)
			if err := agents.serve(cmd.Context(), srv, stdio, log); err != nil {
				srv.Close()
				return err
			}
			return srv.ListenAndServe(cmd.Context(), addr, func(a net.Addr) { printReady(stdio.Err, a, teamMode) })
		},
	}
	cmd.Flags().StringVar(&addr, "listen", DefaultServerAddr, "host:port to listen on")
	logs.register(cmd.Flags())
	agents.register(cmd)
	guard.register(cmd)
	cmd.Flags().StringVar(&meshProm, "mesh-prometheus", "", "Prometheus scraping the mesh's proxies: serves their traffic metrics at /api/v1/cluster/metrics")
	clusterFlags.registerAs(cmd.Flags(), "read the Kubernetes cluster (meshes, workloads, events at /api/v1/cluster; each run's mesh context): auto (when a kubeconfig or in-cluster config is found) or off")
	cmd.Flags().BoolVar(&withEcho, "echo", false, "also start the echo target (as meshperf echo) on --echo-addr, offered to the UI as a first target")
	cmd.Flags().StringVar(&echoAddr, "echo-addr", DefaultEchoAddr, "with --echo: where the echo target listens (a fixed port, so saved profiles keep working; the default falls back to a free port if taken)")
	cmd.Flags().BoolVar(&teamMode, "auth", false, "team mode: users, tokens, every endpoint checked (create the first admin with meshperf user add NAME --admin)")
	cmd.Flags().StringVar(&keyFile, "auth-key-file", "", "token-signing key file, made on first use (default auth.key beside the SQLite store; or env MESHPERF_AUTH_KEY)")
	cmd.Flags().IntVar(&concurrency, "concurrency", 1, "runs that may load at once (1: tests do not disturb each other)")
	cmd.Flags().StringArrayVar(&allow, "allow-target", nil, "host pattern runs may load, e.g. '*.shop.svc.cluster.local' (repeatable; default: any)")
	cmd.Flags().IntVar(&maxConns, "max-connections", server.DefaultMaxConnections, "API connections open at once; more wait until one closes (slow and idle clients are also timed out)")
	cmd.Flags().DurationVar(&grace, "shutdown-grace", 30*time.Second, "on shutdown, how long running tests may go on before they are interrupted (what they measured is kept)")
	cmd.Flags().DurationVar(&saveEvery, "save-every", server.DefaultSaveEvery, "save a running test's result so far this often, so a crash keeps it (0: only at the end)")
	cmd.Flags().IntVar(&saveRetries, "save-retries", server.DefaultSaveRetries, "retries of a failed final save (backoff from 1s, doubling, at most 30s) before the run is marked failed (0-20)")
	cmd.Flags().DurationVar(&instanceTimeout, "instance-timeout", server.DefaultInstanceTimeout, "a server whose heartbeat in the store is older than this is taken for dead: its queued and running runs are marked interrupted")
	return cmd
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
