package cli_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/cli"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// A run that lost an agent is not a success: `meshperf run --server`
// prints its report, then a warning line naming the agent, and exits with
// status 4 (cli.ExitDegraded); the API says degraded, with the reason.
func TestRemoteRunDegradedExitStatus(t *testing.T) {
	env := remoteEnv(t)
	target := startEcho(t, "--delay", "1ms")
	agentAddr := freeAddr(t)
	base, _ := serverProc(t, env, "--db", filepath.Join(t.TempDir(), "m.db"),
		"--agent-listen", agentAddr, "--agent-token", "tok")
	agents := map[string]*exec.Cmd{}
	for _, name := range []string{"steady", "victim"} {
		cmd := exec.Command(binary, "agent", "--server", agentAddr, "--token", "tok", "--name", name)
		cmd.Env = env
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		agents[name] = cmd
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var l struct {
			Agents []struct {
				State string `json:"state"`
			} `json:"agents"`
		}
		getJSON(t, base+"/api/v1/agents", &l)
		if len(l.Agents) == 2 && l.Agents[0].State == "idle" && l.Agents[1].State == "idle" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("agents: %+v", l)
		}
		time.Sleep(50 * time.Millisecond)
	}
	path := filepath.Join(t.TempDir(), "dist.yaml")
	doc := fmt.Sprintf("name: dist\nduration: 5s\nagents: {count: 2}\nclients:\n- rps: 200\n  connections: 4\n  endpoint_urls: [%s/]\n", target)
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}

	type outcome struct {
		out, errOut string
		code        int
	}
	done := make(chan outcome, 1)
	go func() {
		o, e, c := mp(t, env, "", "--server", base, "run", "-f", path)
		done <- outcome{o, e, c}
	}()
	// Kill one agent two seconds into the run.
	var runID string
	for deadline := time.Now().Add(20 * time.Second); runID == ""; {
		var page struct {
			Runs []struct {
				ID string `json:"id"`
			} `json:"runs"`
		}
		getJSON(t, base+"/api/v1/runs?state=running", &page)
		if len(page.Runs) == 1 {
			runID = page.Runs[0].ID
		} else if time.Now().After(deadline) {
			t.Fatal("the run never started")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	agents["victim"].Process.Signal(syscall.SIGKILL)

	got := <-done
	if got.code != cli.ExitDegraded {
		t.Fatalf("exit status %d, want %d (degraded)\nstderr: %s", got.code, cli.ExitDegraded, got.errOut)
	}
	lines := strings.Split(strings.TrimSpace(got.errOut), "\n")
	last := lines[len(lines)-1]
	want := fmt.Sprintf("meshperf: warning: run %s is degraded: part of the load was lost: agent victim (clients[0]) dropped at", runID)
	if !strings.HasPrefix(last, want) {
		t.Errorf("last line of stderr %q, want it to start %q", last, want)
	}
	if !strings.Contains(got.out, "Requests") && !strings.Contains(got.out, "requests") {
		t.Errorf("no report printed before the warning:\n%s", got.out)
	}
	var run struct {
		State, Error string
		ResultID     string `json:"result_id"`
	}
	getJSON(t, base+"/api/v1/runs/"+runID, &run)
	if run.State != "degraded" || !strings.Contains(run.Error, "agent victim") || run.ResultID == "" {
		t.Errorf("run over the API: %+v, want degraded naming victim, with a result", run)
	}
	var page struct {
		Runs []struct {
			ID string `json:"id"`
		} `json:"runs"`
	}
	getJSON(t, base+"/api/v1/runs?state=degraded", &page)
	if len(page.Runs) != 1 || page.Runs[0].ID != runID {
		t.Errorf("runs listed as degraded: %+v", page.Runs)
	}
}

// The durability flags are bounded, each refusal naming its flag.
func TestServerDurabilityFlags(t *testing.T) {
	env := remoteEnv(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--save-every", "-1s"}, "--save-every: want 0 (only at the end) or a positive duration"},
		{[]string{"--save-every", "10ms"}, "--save-every: at least 100ms"},
		{[]string{"--instance-timeout", "0s"}, "--instance-timeout: want 100ms to 24h"},
		{[]string{"--instance-timeout", "48h"}, "--instance-timeout: want 100ms to 24h"},
		{[]string{"--save-retries", "21"}, "--save-retries: want 0 to 20"},
	} {
		args := append([]string{"--db", filepath.Join(t.TempDir(), "m.db"), "server", "--listen", "127.0.0.1:0"}, tc.args...)
		_, errOut, code := mp(t, env, "", args...)
		if code != cli.ExitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("server %v: exit %d, %q; want %d and %q", tc.args, code, errOut, cli.ExitUsage, tc.want)
		}
	}
}
