package kubenode_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/kubenode"
	"github.com/meshperf/meshperf/kube"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

// meshperfEnv is an environment for meshperf with no stored login, server
// or database of the caller's.
func meshperfEnv(t *testing.T, env []string) []string {
	return append(env, "XDG_DATA_HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir(), "HOME="+t.TempDir(),
		"MESHPERF_DB=", "MESHPERF_SERVER=", "MESHPERF_TOKEN=", "MESHPERF_AUTH_KEY=")
}

// getJSON GETs url from inside the node into v.
func getJSON(t *testing.T, n *kubenode.Node, url string, v any) {
	t.Helper()
	resp, err := n.HTTPClient().Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

type agentView struct {
	Name   string            `json:"name"`
	State  string            `json:"state"`
	Labels map[string]string `json:"labels"`
}

// startServer runs meshperf server inside the node, listening on the
// node's address so that pods reach its agent port; it returns the API's
// base URL and the agent address.
func startServer(t *testing.T, n *kubenode.Node, token string) (string, string) {
	t.Helper()
	api := net.JoinHostPort(n.NodeIP, "18080")
	agentAddr := net.JoinHostPort(n.NodeIP, "19090")
	cmd := n.Command(context.Background(), n.Meshperf, "--db", filepath.Join(t.TempDir(), "m.db"), "server",
		"--listen", api, "--agent-listen", agentAddr, "--agent-token", token)
	cmd.Env = meshperfEnv(t, os.Environ())
	logf, err := os.Create(filepath.Join(t.TempDir(), "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("server log:\n%s", b)
		}
	})
	base := "http://" + api
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := n.HTTPClient().Get(base + "/api/v1/agents")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base, agentAddr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("meshperf server not answering at %s: %v", base, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitAgents waits until the server lists exactly the pods as idle agents.
func waitAgents(t *testing.T, n *kubenode.Node, base string, pods []kubenode.Pod) []agentView {
	t.Helper()
	var want []string
	for _, p := range pods {
		want = append(want, p.Name)
	}
	slices.Sort(want)
	deadline := time.Now().Add(time.Minute)
	for {
		var l struct {
			Agents []agentView `json:"agents"`
		}
		getJSON(t, n, base+"/api/v1/agents", &l)
		// A deleted pod's agent stays listed, disconnected.
		var idle []string
		connected := 0
		for _, a := range l.Agents {
			if a.State == "idle" && a.Labels["node"] == "localhost" {
				idle = append(idle, a.Name)
			}
			if a.State != "disconnected" {
				connected++
			}
		}
		slices.Sort(idle)
		if slices.Equal(idle, want) && connected == len(want) {
			return l.Agents
		}
		if time.Now().After(deadline) {
			t.Fatalf("agents registered: %+v, want idle with node=localhost: %v", l.Agents, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// distRun runs a profile through the server's agents from inside the node
// and returns the run's id, its exit status and stderr.
type distRun struct {
	code   int
	stderr string
}

func startDistRun(t *testing.T, n *kubenode.Node, base, profile string) <-chan distRun {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dist.yaml")
	if err := os.WriteFile(path, []byte(profile), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan distRun, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := n.Command(ctx, n.Meshperf, "--server", base, "run", "-f", path)
	cmd.Env = meshperfEnv(t, os.Environ())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	go func() {
		defer cancel()
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			code = -1
			fmt.Fprintf(&stderr, "%v", err)
		}
		done <- distRun{code, stderr.String()}
	}()
	return done
}

type runView struct {
	ID       string `json:"id"`
	State    string `json:"state"`
	Error    string `json:"error"`
	ResultID string `json:"result_id"`
}

// runByState waits for one run in state (e.g. running) and returns it.
func runByState(t *testing.T, n *kubenode.Node, base, state string) runView {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var page struct {
			Runs []runView `json:"runs"`
		}
		getJSON(t, n, base+"/api/v1/runs?state="+state, &page)
		if len(page.Runs) == 1 {
			return page.Runs[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs in state %s: %+v, want one", state, page.Runs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func resultOf(t *testing.T, n *kubenode.Node, base, runID string) (runView, spec.Result) {
	t.Helper()
	var run runView
	getJSON(t, n, base+"/api/v1/runs/"+runID, &run)
	if run.ResultID == "" {
		t.Fatalf("run %s has no result: %+v", runID, run)
	}
	var r spec.Result
	getJSON(t, n, base+"/api/v1/results/"+run.ResultID, &r)
	return run, r
}

// checkMerged asserts that the merged result adds up the agents' figures:
// requests, responses, status codes and the latency histograms' counts.
func checkMerged(t *testing.T, r spec.Result) {
	t.Helper()
	var requests, responses, latencies int64
	for _, a := range r.Agents {
		requests += a.Achieved.Requests
		responses += a.Achieved.Responses
		if a.Latency != nil {
			latencies += a.Latency.Count
		}
	}
	if r.Achieved.Requests != requests || r.Achieved.Responses != responses {
		t.Errorf("merged %d requests, %d responses; the agents' add up to %d, %d", r.Achieved.Requests, r.Achieved.Responses, requests, responses)
	}
	if r.Latency == nil || r.Latency.Count != latencies {
		t.Errorf("merged latency histogram %+v, the agents' counts add up to %d", r.Latency, latencies)
	}
	if r.StatusCodes[200] != responses {
		t.Errorf("status codes %v, want every one of %d responses 200", r.StatusCodes, responses)
	}
}

// meshperf agent deploy --replicas 3 makes three agent pods that run and
// register with a meshperf server inside the node; a distributed run
// through them against meshperf echo behind a ClusterIP Service merges
// their figures; deleting one agent's pod mid-run makes the next run
// degraded, with the seconds that agent measured kept.
func TestNodeAgentsAsPods(t *testing.T) {
	n := kubenode.Get(t)
	_, clusterIP := deployEcho(t, n, "agents-target", 1)
	const token = "kube-agents-token"
	base, agentAddr := startServer(t, n, token)

	const ns = "meshperf-agents"
	deploy := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(n.Meshperf, append([]string{"agent", "deploy", "--namespace", ns}, args...)...)
		cmd.Env = meshperfEnv(t, append(os.Environ(), "KUBECONFIG="+n.Kubeconfig))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("meshperf agent deploy %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	// The image is left to its documented default, which kube-up.sh --node
	// imported (the node pulls nothing).
	deploy("--replicas", "3", "--create-namespace", "--server", agentAddr, "--token", token,
		"--cpu", "100m", "--cpu-limit", "none", "--memory", "128Mi")
	t.Cleanup(func() { deploy("--delete") })
	if got := strings.TrimSpace(n.Kubectl(t, "", "get", "deployment", kube.DefaultName, "-n", ns, "-o", "jsonpath={.spec.template.spec.containers[0].image}")); got != n.Image {
		t.Errorf("deployment's image %q, want the default %q", got, n.Image)
	}
	selector := kube.LabelInstance + "=" + kube.DefaultName
	pods := n.WaitPods(t, ns, selector, 3, 2*time.Minute)
	waitAgents(t, n, base, pods)

	target := "http://" + clusterIP + "/"
	profile := func(d string) string {
		return fmt.Sprintf("name: kube-agents\nduration: %s\nagents: {count: 3}\nclients:\n- rps: 300\n  connections: 6\n  endpoint_urls: [%s]\n", d, target)
	}

	t.Run("merged", func(t *testing.T) {
		done := startDistRun(t, n, base, profile("4s"))
		run := runByState(t, n, base, "running")
		got := <-done
		if got.code != 0 {
			t.Fatalf("distributed run: exit %d\n%s", got.code, got.stderr)
		}
		run, r := resultOf(t, n, base, run.ID)
		if run.State != store.RunSucceeded {
			t.Errorf("run state %q, want %q", run.State, store.RunSucceeded)
		}
		if len(r.Agents) != 3 {
			t.Fatalf("result's agents %+v, want 3", r.Agents)
		}
		var names []string
		for _, a := range r.Agents {
			names = append(names, a.Name)
			if a.Dropped || a.Achieved.Requests == 0 {
				t.Errorf("agent %s: dropped %v, %d requests", a.Name, a.Dropped, a.Achieved.Requests)
			}
		}
		var podNames []string
		for _, p := range pods {
			podNames = append(podNames, p.Name)
		}
		slices.Sort(names)
		slices.Sort(podNames)
		if !slices.Equal(names, podNames) {
			t.Errorf("result's agents %v, want the pods %v", names, podNames)
		}
		if r.Achieved.Requests != 1200 || r.Achieved.Errors != 0 || r.Degraded {
			t.Errorf("achieved %d requests, %d errors, degraded %v; want 1200 (300/s for 4 s), 0, false", r.Achieved.Requests, r.Achieved.Errors, r.Degraded)
		}
		if len(r.Requested.Targets) != 1 || r.Requested.Targets[0] != target {
			t.Errorf("targets %v, want [%s]", r.Requested.Targets, target)
		}
		checkMerged(t, r)
	})

	t.Run("pod deleted mid-run", func(t *testing.T) {
		done := startDistRun(t, n, base, profile("8s"))
		run := runByState(t, n, base, "running")
		time.Sleep(3 * time.Second)
		victim := pods[1].Name
		n.Kubectl(t, "", "delete", "pod", victim, "-n", ns, "--grace-period=0", "--force", "--wait=false")
		got := <-done
		if got.code != 4 {
			t.Fatalf("distributed run: exit %d, want 4 (degraded)\n%s", got.code, got.stderr)
		}
		if !strings.Contains(got.stderr, "agent "+victim) {
			t.Errorf("stderr does not name agent %s:\n%s", victim, got.stderr)
		}
		run, r := resultOf(t, n, base, run.ID)
		if run.State != store.RunDegraded || !strings.Contains(run.Error, victim) || !r.Degraded {
			t.Errorf("run %+v, result degraded %v; want degraded naming %s", run, r.Degraded, victim)
		}
		var lost *spec.AgentResult
		for i, a := range r.Agents {
			if a.Name == victim {
				lost = &r.Agents[i]
			}
		}
		// 100 requests a second each; the victim measured about 3 s. On
		// SIGTERM the agent sends what it measured and says it stopped
		// early (a SIGKILL would make it dropped: the server keeps the
		// seconds it streamed); either way its seconds stay in the result.
		if lost == nil || lost.Achieved.Requests < 150 || lost.Achieved.Requests >= 800 {
			t.Errorf("the deleted pod's agent in the result: %+v; want its ~300 requests kept", lost)
		} else {
			t.Logf("deleted pod's agent: %d requests kept, dropped %v; run error: %s", lost.Achieved.Requests, lost.Dropped, run.Error)
		}
		if len(r.Agents) != 3 || r.Achieved.Requests >= 2400 || r.Achieved.Requests < 1600 {
			t.Errorf("result: %d agents, %d requests; want 3 agents and between 1600 and 2400 (one lost after ~3 of 8 s)", len(r.Agents), r.Achieved.Requests)
		}
		checkMerged(t, r)
		// The Deployment replaces the pod, and its agent registers.
		pods := n.WaitPods(t, ns, selector, 3, 2*time.Minute)
		if slices.ContainsFunc(pods, func(p kubenode.Pod) bool { return p.Name == victim }) {
			t.Errorf("pod %s still listed after deletion: %+v", victim, pods)
		}
		waitAgents(t, n, base, pods)
	})
}
