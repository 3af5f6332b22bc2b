package cli

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshperf/meshperf/internal/agent"
	"github.com/meshperf/meshperf/internal/server"
	"github.com/meshperf/meshperf/spec"
)

// DefaultAgentAddr is where meshperf server --agent-listen usually listens.
const DefaultAgentAddr = "127.0.0.1:7071"

func newAgentCmd(stdio IO, g *globalOptions) *cobra.Command {
	var o agentOptions
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run an agent: take shares of distributed tests from a meshperf server",
		Long: `meshperf agent dials a meshperf server's agent address (meshperf server
--agent-listen) over gRPC, registers with its name, labels and capacity, and
runs the shares of tests the server gives it with the same engine as
meshperf run, sending each second's histograms back. It listens on nothing
and takes work only from the server it dialled; it reconnects with backoff
when the server cannot be reached or the stream breaks, and exits with
status 3 when the server refuses its token.

It says "connecting to ..." while it dials and "registered as ..." once the
server took it; its log is text on a terminal, JSON lines otherwise.

--server takes host:port (plaintext), or grpc://host:port, or
grpcs://host:port for TLS (also implied by --ca or --tls).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), stdio)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.server, "server", os.Getenv("MESHPERF_AGENT_SERVER"), "the server's agent address, host:port or grpc[s]://host:port (env MESHPERF_AGENT_SERVER)")
	f.StringVar(&o.token, "token", "", "join token, as the server's --agent-token (default env MESHPERF_AGENT_TOKEN)")
	f.StringVar(&o.name, "name", "", "agent name, unique among the server's agents (default the host name)")
	f.StringArrayVar(&o.labels, "labels", nil, "labels key=value[,key=value] for selectors, e.g. zone=a (repeatable)")
	f.BoolVar(&o.tls, "tls", false, "use TLS, verifying the server against the system's roots (or --ca)")
	f.StringVar(&o.files.CA, "ca", "", "CA certificate (PEM) that signed the server's certificate; implies --tls")
	f.StringVar(&o.files.Cert, "cert", "", "client certificate (PEM) for mutual TLS; needs --key")
	f.StringVar(&o.files.Key, "key", "", "client key (PEM) for mutual TLS")
	f.StringVar(&o.files.ServerName, "server-name", "", "name to verify the server's certificate for (default the --server host)")
	f.Float64Var(&o.maxRPS, "max-rps", 0, "advisory ceiling of requests per second reported to the server (0: unknown)")
	o.logs.register(f)
	// The global --db does not apply to an agent (its --server is its
	// own): its help leaves the global flags out.
	cmd.SetUsageTemplate(withoutGlobalFlags(cmd.UsageTemplate()))
	cmd.AddCommand(newAgentListCmd(stdio, g))
	addAgentKubeCommands(cmd)
	for _, sub := range cmd.Commands() {
		sub.SetUsageTemplate((&cobra.Command{}).UsageTemplate()) // theirs apply
	}
	return cmd
}

type agentOptions struct {
	server, token, name string
	logs                logFlags
	labels              []string
	tls                 bool
	files               agent.TLSFiles
	maxRPS              float64
}

func (o *agentOptions) run(ctx context.Context, stdio IO) error {
	log, err := o.logs.logger(stdio.Err, slog.LevelDebug)
	if err != nil {
		return err
	}
	addr, useTLS, err := agentAddr(o.server)
	if err != nil {
		return err
	}
	if o.token == "" {
		o.token = os.Getenv("MESHPERF_AGENT_TOKEN")
	}
	if o.token == "" {
		return usageErrorf("--token: a join token is required (or env MESHPERF_AGENT_TOKEN)")
	}
	if o.name == "" {
		if o.name, err = os.Hostname(); err != nil || o.name == "" {
			return usageErrorf("--name: required (the host name is not known)")
		}
	}
	labels, err := parseAgentLabels(o.labels)
	if err != nil {
		return err
	}
	if o.maxRPS < 0 {
		return usageErrorf("--max-rps: must not be negative, got %g", o.maxRPS)
	}
	var tlsConf *tls.Config
	if useTLS || o.tls || o.files.CA != "" || o.files.Cert != "" {
		if tlsConf, err = agent.ClientTLS(o.files); err != nil {
			return usageErrorf("%v", err)
		}
	}
	secure := "plaintext"
	if tlsConf != nil {
		secure = "TLS"
	}
	a, err := agent.New(agent.Config{Server: addr, Token: o.token, Name: o.name, Labels: labels, Version: Version,
		Cores: runtime.GOMAXPROCS(0), MaxRPS: o.maxRPS, TLS: tlsConf, Logger: log,
		OnConnect: func(w agent.Welcome) {
			fmt.Fprintf(stdio.Err, "meshperf agent: registered as %s with %s (it sees this agent at %s); waiting for tests\n", o.name, addr, w.Address)
		}})
	if err != nil {
		return usageErrorf("%v", err)
	}
	fmt.Fprintf(stdio.Err, "meshperf agent: connecting to %s (%s) as %s...\n", addr, secure, o.name)
	return a.Run(ctx)
}

// withoutGlobalFlags is a usage template without its "Global Flags"
// section.
func withoutGlobalFlags(tmpl string) string {
	const start, end = "{{if .HasAvailableInheritedFlags}}", "{{end}}"
	i := strings.Index(tmpl, start)
	if i < 0 {
		return tmpl
	}
	j := strings.Index(tmpl[i:], end)
	if j < 0 {
		return tmpl
	}
	return tmpl[:i] + tmpl[i+j+len(end):]
}

// agentAddr reads --server: host:port, grpc://host:port or
// grpcs://host:port (TLS).
func agentAddr(s string) (addr string, useTLS bool, err error) {
	if s == "" {
		return "", false, usageErrorf("--server: the server's agent address is required (host:port, as its --agent-listen)")
	}
	switch {
	case strings.HasPrefix(s, "grpcs://"), strings.HasPrefix(s, "https://"):
		useTLS = true
		s = s[strings.Index(s, "://")+3:]
	case strings.HasPrefix(s, "grpc://"), strings.HasPrefix(s, "http://"):
		s = s[strings.Index(s, "://")+3:]
	}
	s = strings.TrimRight(s, "/")
	if _, _, err := net.SplitHostPort(s); err != nil {
		return "", false, usageErrorf("--server: %q is not host:port (or grpc[s]://host:port)", s)
	}
	return s, useTLS, nil
}

// parseAgentLabels reads --labels values: key=value pairs, comma-separated.
func parseAgentLabels(vals []string) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range vals {
		m, err := spec.ParseSelector(v)
		if err != nil {
			return nil, usageErrorf("--labels %q: %v (want key=value[,key=value])", v, err)
		}
		for k, x := range m {
			out[k] = x
		}
	}
	return out, nil
}

func newAgentListCmd(stdio IO, g *globalOptions) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the agents a server knows, their state and last heartbeat",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if c == nil {
				return usageErrorf("agent list needs a server: --server URL (the server's HTTP API, e.g. http://%s) or meshperf login", DefaultServerAddr)
			}
			list, err := c.ListAgents(cmd.Context())
			if err != nil {
				return apiError(c, err)
			}
			if asJSON {
				return writeJSON(stdio.Out, list)
			}
			tw := tabwriter.NewWriter(stdio.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSTATE\tLABELS\tCORES\tADDRESS\tLAST HEARTBEAT\tVERSION")
			for _, a := range list.Agents {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", a.Name, a.State, labelString(a.Labels), a.Capacity.Cores,
					a.Address, heartbeatAge(a.LastHeartbeat), a.Version)
			}
			if len(list.Agents) == 0 {
				fmt.Fprintln(stdio.Err, "no agents (start one with meshperf agent --server HOST:PORT --token T)")
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON")
	return cmd
}

func labelString(m map[string]string) string {
	if len(m) == 0 {
		return "-"
	}
	return spec.SelectorString(m)
}

func heartbeatAge(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return time.Since(t).Round(100*time.Millisecond).String() + " ago"
}

// agentServerFlags are meshperf server's flags for agents.
type agentServerFlags struct {
	listen, token string
	files         agent.TLSFiles
}

func (a *agentServerFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&a.listen, "agent-listen", "", "host:port to take agents on (gRPC), e.g. "+DefaultAgentAddr+"; needs --agent-token")
	f.StringVar(&a.token, "agent-token", "", "join token agents must present (default env MESHPERF_AGENT_TOKEN)")
	f.StringVar(&a.files.Cert, "agent-tls-cert", "", "server certificate (PEM) for the agent stream; with --agent-tls-key, agents must use TLS")
	f.StringVar(&a.files.Key, "agent-tls-key", "", "key (PEM) of --agent-tls-cert")
	f.StringVar(&a.files.CA, "agent-ca", "", "CA (PEM) agents' client certificates must be signed by (mutual TLS)")
}

// apply checks the flags and sets the server's agent options.
func (a *agentServerFlags) apply(opts *server.Options) error {
	if a.token == "" {
		a.token = os.Getenv("MESHPERF_AGENT_TOKEN")
	}
	tlsSet := a.files.Cert != "" || a.files.Key != "" || a.files.CA != ""
	if a.listen == "" {
		if tlsSet {
			return usageErrorf("--agent-tls-cert, --agent-tls-key and --agent-ca need --agent-listen")
		}
		return nil
	}
	if _, _, err := net.SplitHostPort(a.listen); err != nil {
		return usageErrorf("--agent-listen: %q is not host:port", a.listen)
	}
	if a.token == "" {
		return usageErrorf("--agent-token: required with --agent-listen (or env MESHPERF_AGENT_TOKEN)")
	}
	opts.AgentToken = a.token
	if tlsSet {
		if a.files.CA != "" && (a.files.Cert == "" || a.files.Key == "") {
			return usageErrorf("--agent-ca needs --agent-tls-cert and --agent-tls-key (mutual TLS is TLS first)")
		}
		conf, err := agent.ServerTLS(a.files)
		if err != nil {
			return usageErrorf("%v", err)
		}
		opts.AgentTLS = conf
	}
	return nil
}

// serve listens for agents, if asked, and serves them in the background
// until ctx ends.
func (a *agentServerFlags) serve(ctx context.Context, srv *server.Server, stdio IO, log *slog.Logger) error {
	if a.listen == "" {
		return nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", a.listen)
	if err != nil {
		return fmt.Errorf("--agent-listen: %w", err)
	}
	fmt.Fprintf(stdio.Err, "meshperf server: taking agents on %s\n", ln.Addr())
	go func() {
		if err := srv.ServeAgents(ctx, ln); err != nil {
			log.Error("agent listener stopped", "err", err)
		}
	}()
	return nil
}
