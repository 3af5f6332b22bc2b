package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/capacity"
	"github.com/meshperf/meshperf/spec"
)

// TestCapacityRemoteOnAgents: processes only. `meshperf server` takes
// agents, two `meshperf agent` processes join it, and `meshperf --server
// URL capacity -f profile.yaml` (a profile with agents: {count: 2})
// searches `meshperf echo --capacity 400 --overload reject`. Every step
// runs on both agents: the search finds 400 within its tolerance on the
// error rate, and each step's stored result holds both agents' shares,
// adding up to the step's rate and the merged request count.
func TestCapacityRemoteOnAgents(t *testing.T) {
	const limit = 400
	env := remoteEnv(t)
	echo := startEcho(t, "--capacity", fmt.Sprint(limit), "--overload", "reject")
	agentAddr := freeAddr(t)
	srv, _ := serverProc(t, env, "--db", filepath.Join(t.TempDir(), "m.db"), "--agent-listen", agentAddr, "--agent-token", "tok")
	for _, name := range []string{"a1", "a2"} {
		cmd := exec.Command(binary, "agent", "--server", agentAddr, "--token", "tok", "--name", name)
		cmd.Env = env
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		var l struct {
			Agents []struct {
				State string `json:"state"`
			} `json:"agents"`
		}
		getJSON(t, srv+"/api/v1/agents", &l)
		if len(l.Agents) == 2 && l.Agents[0].State == "idle" && l.Agents[1].State == "idle" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("agents: %+v", l)
		}
		time.Sleep(50 * time.Millisecond)
	}
	path := filepath.Join(t.TempDir(), "limited.yaml")
	doc := fmt.Sprintf("name: limited\nduration: 1s\nagents: {count: 2}\nlabels: {team: shop}\nclients:\n- rps: 10\n  connections: 16\n  endpoint_urls: [%s/]\n", echo)
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	// As TestCapacityAPIFindsTheLimit: 3 s steps after the default 2 s
	// warm-up (--warmup overrides a profile: refused with --server).
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "--server", srv, "capacity", "-f", path, "--objective", "error_rate<1%",
		"--min", "100", "--max", "1600", "--step-duration", "3s", "--pause", "1s", "--tolerance", "10%",
		"--confirm", "1", "--max-steps", "16", "-o", "json")
	cmd.Env = env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatal(err)
		}
		t.Fatalf("capacity --server: exit %d\n%s\n%s", ee.ExitCode(), e.String(), o.String())
	}
	var rep capacity.Report
	if err := json.Unmarshal(o.Bytes(), &rep); err != nil {
		t.Fatalf("no JSON report: %v\n%s", err, o.String())
	}
	checkFoundSlack(t, &rep, limit, 1.01, 3, "error_rate<1%")
	if len(rep.Steps) > 16 {
		t.Errorf("%d steps, --max-steps 16", len(rep.Steps))
	}
	for _, st := range rep.Steps {
		var res spec.Result
		getJSON(t, srv+"/api/v1/results/"+st.ResultID, &res)
		if len(res.Agents) != 2 || res.Degraded {
			t.Errorf("step %d: %d agents, degraded %v; notes %q", st.N, len(res.Agents), res.Degraded, res.Notes)
			continue
		}
		var rps float64
		var reqs int64
		var names []string
		for _, a := range res.Agents {
			names = append(names, a.Name)
			rps += a.RPS
			reqs += a.Achieved.Requests
			if a.Connections != 8 || a.Achieved.Requests == 0 {
				t.Errorf("step %d: agent %s on %d connections sent %d requests", st.N, a.Name, a.Connections, a.Achieved.Requests)
			}
		}
		if got := strings.Join(names, ","); got != "a1,a2" && got != "a2,a1" {
			t.Errorf("step %d: agents %s, want a1 and a2", st.N, got)
		}
		if math.Abs(rps-st.RPS) > 1e-6*st.RPS || reqs != res.Achieved.Requests || res.Labels["team"] != "shop" {
			t.Errorf("step %d at %v rps: the shares add up to %v rps and %d requests (merged %d), labels %v",
				st.N, st.RPS, rps, reqs, res.Achieved.Requests, res.Labels)
		}
	}
}
