package agent_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshperf/meshperf/spec/spectest"
	"github.com/meshperf/meshperf/store"
)

// shareDone finds the agent's own count of what its share measured: the
// "share done" line of its JSON log.
func shareDone(t *testing.T, path string) (requests int64, ok bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var line struct {
			Msg      string `json:"msg"`
			Requests *int64 `json:"requests"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "share done" && line.Requests != nil {
			return *line.Requests, true
		}
	}
	return 0, false
}

// A real `meshperf agent` sent SIGTERM mid-run stops its share, sends its
// last snapshot and final result, and only then exits: the server keeps
// every request it measured, and the run is degraded, saying so.
func TestAgentSIGTERMSendsWhatItMeasured(t *testing.T) {
	bin := buildMeshperf(t)
	dir := t.TempDir()
	echoAddr := freePort(t, "127.0.0.1")
	start(t, dir, "echo", bin, "echo", "--addr", echoAddr, "--delay", "1ms")
	apiAddr, agentAddr := freePort(t, "127.0.0.1"), freePort(t, "127.0.0.1")
	const token = "sigterm-token"
	srvLog := start(t, dir, "server", bin, "--db", filepath.Join(dir, "m.db"), "server", "--listen", apiAddr,
		"--agent-listen", agentAddr, "--agent-token", token)
	api := "http://" + apiAddr
	waitHTTP(t, api+"/healthz", srvLog)
	agents := map[string]*exec.Cmd{}
	for _, name := range []string{"keeps-on", "stopped"} {
		agents[name] = startCmd(t, dir, name, bin, "agent", "--server", agentAddr, "--token", token, "--name", name)
	}
	stoppedLog := filepath.Join(dir, "stopped.log")
	waitAgents(t, api, 2)

	// 600 rps over two agents for 8s; SIGTERM one after its second 2, in
	// the middle of a second.
	const rps, secs = 600, 8
	doc := `{"profile_document": {"name": "sigterm", "duration": "8s", "agents": {"count": 2},
		"clients": [{"rps": 600, "connections": 8, "endpoint_urls": ["http://` + echoAddr + `/"]}]}}`
	run, res := submitRun(t, api, doc, func(runID string) {
		waitSecond(t, api, runID, 2)
		time.Sleep(450 * time.Millisecond)
		if err := agents["stopped"].Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	})
	// startCmd reaps it: once gone, signal 0 finds no process.
	pid := agents["stopped"].Process.Pid
	poll(t, "the agent's exit after SIGTERM", func() bool { return syscall.Kill(pid, 0) != nil })

	measured, ok := shareDone(t, stoppedLog)
	if !ok {
		b, _ := os.ReadFile(stoppedLog)
		t.Fatalf("the stopped agent never logged its share done:\n%s", b)
	}
	var kept int64 = -1
	for _, a := range res.Agents {
		if a.Name == "stopped" {
			kept = a.Achieved.Requests
			if a.Dropped {
				t.Errorf("the stopped agent was counted as lost: it said goodbye")
			}
		}
	}
	t.Logf("the stopped agent measured %d requests, the server kept %d; run %s: %s", measured, kept, run.State, run.Error)
	if kept != measured {
		t.Errorf("the server kept %d of the %d requests the stopped agent measured", kept, measured)
	}
	if measured < rps/2*2 || measured >= rps/2*secs {
		t.Errorf("the stopped agent measured %d requests: want more than 2 seconds' worth, less than its whole share", measured)
	}
	if run.State != store.RunDegraded || !strings.Contains(run.Error, "agent stopped (clients[0]) stopped before the end of its share") {
		t.Errorf("run %s: %q, want degraded naming the stopped agent", run.State, run.Error)
	}
	if res.Interrupted {
		t.Errorf("the run's result is marked interrupted: one agent stopping degrades it, it does not interrupt it")
	}
	spectest.CheckAgentsMerge(t, res)
	var sum int64
	for _, a := range res.Agents {
		sum += a.Achieved.Requests
	}
	if sum != res.Achieved.Requests {
		t.Errorf("agents' requests add to %d, the result says %d", sum, res.Achieved.Requests)
	}
}
