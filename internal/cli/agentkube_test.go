package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshperf/meshperf/internal/cli"
)

// TestAgentManifest runs meshperf agent manifest as users do; the objects
// themselves are tested in package kube, and against a real API server there.
func TestAgentManifest(t *testing.T) {
	t.Setenv("MESHPERF_AGENT_TOKEN", "from-env")
	out, stderr, code := meshperf(t, "agent", "manifest", "--server", "mp.svc:7071", "--replicas", "4", "-n", "load")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"kind: ServiceAccount", "kind: Secret", "kind: Deployment", "replicas: 4", "namespace: load",
		"token: ZnJvbS1lbnY=", // the token from MESHPERF_AGENT_TOKEN, base64
		"- mp.svc:7071", "- $(POD_NAME)", "name: MESHPERF_AGENT_TOKEN",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("manifest lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n---\n"); n != 2 {
		t.Errorf("%d separators, want 2 (3 documents)", n)
	}
}

func TestAgentKubeErrors(t *testing.T) {
	t.Setenv("MESHPERF_AGENT_TOKEN", "")
	unreachable := filepath.Join(t.TempDir(), "kubeconfig")
	err := os.WriteFile(unreachable, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want []string // one line each
	}{
		{"no server, no token", []string{"agent", "manifest"}, cli.ExitUsage,
			[]string{"meshperf: --server: required", "meshperf: --token or --token-secret: one is required"}},
		{"bad quantity", []string{"agent", "manifest", "--server", "a:1", "--token", "t", "--memory", "lots"}, cli.ExitUsage,
			[]string{`meshperf: --memory "lots": not a quantity`}},
		{"bad replicas flag", []string{"agent", "deploy", "--replicas", "many"}, cli.ExitUsage,
			[]string{`invalid argument "many" for "--replicas"`}},
		{"missing kubeconfig", []string{"agent", "deploy", "--server", "a:1", "--token", "t", "--kubeconfig", "/nonexistent/kc"}, cli.ExitUsage,
			[]string{"meshperf: no usable kubeconfig: --kubeconfig /nonexistent/kc"}},
		{"unreachable", []string{"agent", "deploy", "--delete", "--kubeconfig", unreachable}, cli.ExitFailed,
			[]string{"meshperf: kubernetes API server unreachable: ask the API server its version: cannot reach https://127.0.0.1:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := meshperf(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d: %s", code, tt.code, stderr)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if len(lines) != len(tt.want) {
				t.Errorf("stderr has %d lines, want %d:\n%s", len(lines), len(tt.want), stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}
