package cli

import (
	"strings"
	"testing"

	"github.com/meshperf/meshperf/internal/agent"
	"github.com/meshperf/meshperf/internal/server"
)

func agentTLSFiles(cert, key, ca string) agent.TLSFiles {
	return agent.TLSFiles{Cert: cert, Key: key, CA: ca}
}

func TestAgentAddr(t *testing.T) {
	tests := []struct {
		in      string
		addr    string
		tls     bool
		wantErr string
	}{
		{"127.0.0.1:7071", "127.0.0.1:7071", false, ""},
		{"grpc://server:7071/", "server:7071", false, ""},
		{"grpcs://server:7071", "server:7071", true, ""},
		{"https://server:7071", "server:7071", true, ""},
		{"", "", false, "--server: the server's agent address is required"},
		{"server", "", false, `--server: "server" is not host:port`},
	}
	for _, tc := range tests {
		addr, useTLS, err := agentAddr(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("agentAddr(%q): error %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || addr != tc.addr || useTLS != tc.tls {
			t.Errorf("agentAddr(%q) = %q, %v, %v", tc.in, addr, useTLS, err)
		}
	}
}

func TestAgentServerFlags(t *testing.T) {
	t.Setenv("MESHPERF_AGENT_TOKEN", "")
	tests := []struct {
		flags   agentServerFlags
		wantErr string
	}{
		{agentServerFlags{}, ""},
		{agentServerFlags{listen: "127.0.0.1:0", token: "t"}, ""},
		{agentServerFlags{listen: "127.0.0.1:0"}, "--agent-token: required with --agent-listen"},
		{agentServerFlags{listen: "nowhere", token: "t"}, `--agent-listen: "nowhere" is not host:port`},
		{agentServerFlags{token: "t", files: agentTLSFiles("c", "k", "")}, "need --agent-listen"},
		{agentServerFlags{listen: "127.0.0.1:0", token: "t", files: agentTLSFiles("", "", "ca.pem")}, "--agent-ca needs --agent-tls-cert"},
		{agentServerFlags{listen: "127.0.0.1:0", token: "t", files: agentTLSFiles("/no/cert.pem", "/no/key.pem", "")}, "agent TLS certificate"},
	}
	for i, tc := range tests {
		var opts server.Options
		err := tc.flags.apply(&opts)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%d: %v", i, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%d: error %v, want %q", i, err, tc.wantErr)
		}
	}
	t.Setenv("MESHPERF_AGENT_TOKEN", "from-env")
	f := agentServerFlags{listen: "127.0.0.1:0"}
	var opts server.Options
	if err := f.apply(&opts); err != nil || opts.AgentToken != "from-env" {
		t.Errorf("token from the environment: %v, %q", err, opts.AgentToken)
	}
}

func TestAgentCommandNeedsServerAndToken(t *testing.T) {
	t.Setenv("MESHPERF_AGENT_TOKEN", "")
	t.Setenv("MESHPERF_AGENT_SERVER", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"agent", "--token", "t"}, "--server: the server's agent address is required"},
		{[]string{"agent", "--server", "127.0.0.1:1"}, "--token: a join token is required"},
		{[]string{"agent", "--server", "127.0.0.1:1", "--token", "t", "--labels", "zone"}, `--labels "zone"`},
	} {
		var out, errw strings.Builder
		code := Main(t.Context(), tc.args, strings.NewReader(""), &out, &errw)
		if code != 2 || !strings.Contains(errw.String(), tc.want) {
			t.Errorf("%q: exit %d, %q; want 2 saying %q", tc.args, code, errw.String(), tc.want)
		}
	}
}
