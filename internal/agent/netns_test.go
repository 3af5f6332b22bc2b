package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/server"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/spec/spectest"
	"github.com/meshperf/meshperf/store"
)

// The distributed test across network namespaces: each agent is a host of
// its own (ip netns + a veth pair into a bridge on this machine), running
// the meshperf binary, against meshperf echo and meshperf server on the
// bridge's address. Needs root and iproute2; MESHPERF_NETNS_TEST=skip
// skips it where neither is available (CI runs it as root).

const netnsAgents = 3

func TestAgentsAcrossNetworkNamespaces(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs two 5-second distributed tests; not in -short")
	}
	if os.Getenv("MESHPERF_NETNS_TEST") == "skip" {
		t.Skip("MESHPERF_NETNS_TEST=skip")
	}
	if os.Geteuid() != 0 {
		t.Fatal("this test creates network namespaces and needs root; run it as root, or set MESHPERF_NETNS_TEST=skip to skip it")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("this test needs ip from iproute2 (apt-get install -y iproute2), or MESHPERF_NETNS_TEST=skip to skip it")
	}
	bin := buildMeshperf(t)
	net := newNetns(t, netnsAgents)
	dir := t.TempDir()

	echoAddr := freePort(t, net.hostIP)
	start(t, dir, "echo", bin, "echo", "--addr", echoAddr, "--delay", "97%:1ms,3%:50ms")
	apiAddr, agentAddr := freePort(t, "127.0.0.1"), freePort(t, net.hostIP)
	const token = "netns-token"
	srvLog := start(t, dir, "server", bin, "--db", filepath.Join(dir, "m.db"), "server", "--listen", apiAddr,
		"--agent-listen", agentAddr, "--agent-token", token)
	api := "http://" + apiAddr
	waitHTTP(t, api+"/healthz", srvLog)

	agents := map[string]*exec.Cmd{}
	for i, ns := range net.namespaces {
		name := fmt.Sprintf("ns-agent-%d", i+1)
		agents[name] = startCmd(t, dir, name, "ip", "netns", "exec", ns, bin, "agent", "--server", agentAddr,
			"--token", token, "--name", name, "--labels", fmt.Sprintf("zone=z%d", i%2))
	}
	// A bad token, from one more namespace-less process: refused and logged.
	bad := startCmd(t, dir, "intruder", bin, "agent", "--server", agentAddr, "--token", "wrong", "--name", "intruder")
	list := waitAgents(t, api, netnsAgents)
	seen := map[string]bool{}
	for _, a := range list {
		host, _, _ := strings.Cut(a.Address, ":")
		if !strings.HasPrefix(host, net.prefix) || host == net.hostIP || seen[host] {
			t.Errorf("agent %s came from %s: want its own namespace address in %s0/24", a.Name, a.Address, net.prefix)
		}
		seen[host] = true
	}
	waitFile(t, filepath.Join(dir, "server.log"), `"msg":"agent refused: bad join token","agent":"intruder"`)
	waitFile(t, filepath.Join(dir, "intruder.log"), "the server refused the join token")
	bad.Process.Kill()

	target := "http://" + echoAddr + "/"
	t.Run("merge", func(t *testing.T) {
		// 10s: the last responses' 50ms tail stays well inside 1% of
		// the measured time.
		const rps, secs = 900, 10
		run, res := runDist(t, api, target, rps, secs, nil)
		if run.State != store.RunSucceeded || res.Degraded || len(res.Agents) != netnsAgents {
			t.Fatalf("run %s (%s), degraded %v, %d agents", run.State, run.Error, res.Degraded, len(res.Agents))
		}
		spectest.CheckAgentsMerge(t, res)
		if got := res.Achieved.RPS; got < rps*0.99 || got > rps*1.01 {
			t.Errorf("achieved %.2f rps, want within 1%% of %d", got, rps)
		}
		if res.Achieved.Requests != rps*secs {
			t.Errorf("%d requests, want %d", res.Achieved.Requests, rps*secs)
		}
		p99, _ := res.Latency.At(99)
		p90, _ := res.Latency.At(90)
		if p99 < 50 || p99 > 75 || p90 >= 25 {
			t.Errorf("p99 %.3f ms, p90 %.3f ms: want p99 among the 3%% delayed 50ms (50-75) and p90 below them", p99, p90)
		}
		t.Logf("achieved %.2f rps, p50 %.3f ms, p90 %.3f ms, p99 %.3f ms; per agent:", res.Achieved.RPS, at(res.Latency, 50), p90, p99)
		for _, a := range res.Agents {
			t.Logf("  %s: %d requests, %.2f rps, p99 %.3f ms, clock offset %s", a.Name, a.Achieved.Requests, a.Achieved.RPS, at(a.Latency, 99), a.ClockOffset)
			if a.ClockOffset == 0 {
				t.Errorf("%s: no clock offset estimated", a.Name)
			}
		}
	})
	t.Run("sigkill", func(t *testing.T) {
		const rps, secs = 600, 6
		const victim = "ns-agent-2"
		run, res := runDist(t, api, target, rps, secs, func(runID string) {
			waitSecond(t, api, runID, 1)
			if err := agents[victim].Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		})
		if run.State != store.RunDegraded || !res.Degraded {
			t.Fatalf("run %s (%s), degraded %v: want a degraded run", run.State, run.Error, res.Degraded)
		}
		spectest.CheckAgentsMerge(t, res)
		var sum int64
		for _, a := range res.Agents {
			sum += a.Achieved.Requests
			switch {
			case a.Name == victim:
				if !a.Dropped || a.DroppedAt.IsZero() || a.Latency == nil || a.Latency.Count < rps/netnsAgents || a.Achieved.Requests >= rps/netnsAgents*secs {
					t.Errorf("%s: dropped %v at %v, %d requests: want dropped with its first seconds kept", a.Name, a.Dropped, a.DroppedAt, a.Achieved.Requests)
				}
			case a.Dropped || a.Achieved.Requests != rps/netnsAgents*secs || a.Achieved.Errors != 0:
				t.Errorf("%s: dropped %v, %d requests, %d errors: want its whole share (%d)", a.Name, a.Dropped, a.Achieved.Requests, a.Achieved.Errors, rps/netnsAgents*secs)
			}
		}
		if sum != res.Achieved.Requests {
			t.Errorf("agents' requests add to %d, the result says %d", sum, res.Achieved.Requests)
		}
		if !strings.Contains(strings.Join(res.Notes, "\n"), victim+" (clients[0]) dropped at") {
			t.Errorf("notes %q do not name the dropped agent", res.Notes)
		}
	})
}

// netns is the namespaces of a test, bridged to this machine.
type netns struct {
	prefix     string // "10.N.0."
	hostIP     string
	namespaces []string
}

func newNetns(t *testing.T, n int) *netns {
	t.Helper()
	id := os.Getpid() % 100000
	nw := &netns{prefix: fmt.Sprintf("10.%d.%d.", 200+id%50, id%250)}
	nw.hostIP = nw.prefix + "1"
	br := fmt.Sprintf("mpb%d", id)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() {
		for _, ns := range nw.namespaces {
			exec.Command("ip", "netns", "del", ns).Run() // its veth goes with it
		}
		exec.Command("ip", "link", "del", br).Run()
	})
	run("link", "add", "name", br, "type", "bridge")
	run("addr", "add", nw.hostIP+"/24", "dev", br)
	run("link", "set", br, "up")
	for i := 1; i <= n; i++ {
		ns := fmt.Sprintf("mpn%d-%d", id, i)
		host, peer := fmt.Sprintf("mph%d-%d", id, i), fmt.Sprintf("mpa%d-%d", id, i)
		run("netns", "add", ns)
		nw.namespaces = append(nw.namespaces, ns)
		run("link", "add", host, "type", "veth", "peer", "name", peer)
		run("link", "set", host, "master", br)
		run("link", "set", host, "up")
		run("link", "set", peer, "netns", ns)
		run("-n", ns, "addr", "add", fmt.Sprintf("%s%d/24", nw.prefix, 10+i), "dev", peer)
		run("-n", ns, "link", "set", peer, "up")
		run("-n", ns, "link", "set", "lo", "up")
	}
	return nw
}

func buildMeshperf(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	bin := filepath.Join(t.TempDir(), "meshperf")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/meshperf")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return bin
}

func freePort(t *testing.T, host string) string {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startCmd starts a process logging to dir/name.log, killed at the end.
func startCmd(t *testing.T, dir, name, bin string, args ...string) *exec.Cmd {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); f.Close(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(f.Name())
			t.Logf("%s log:\n%s", name, tail(b, 3000))
		}
	})
	return cmd
}

func start(t *testing.T, dir, name, bin string, args ...string) string {
	t.Helper()
	startCmd(t, dir, name, bin, args...)
	return filepath.Join(dir, name+".log")
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// poll calls f every 20ms until it is true, for at most 30s.
func poll(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitHTTP(t *testing.T, url, log string) {
	t.Helper()
	poll(t, url+" (see "+log+")", func() bool {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
}

func waitFile(t *testing.T, path, want string) {
	t.Helper()
	poll(t, fmt.Sprintf("%s to say %q", path, want), func() bool {
		b, _ := os.ReadFile(path)
		return bytes.Contains(b, []byte(want))
	})
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || json.Unmarshal(b, v) != nil {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
}

func waitAgents(t *testing.T, api string, n int) []server.AgentView {
	t.Helper()
	var l server.AgentList
	poll(t, fmt.Sprintf("%d idle agents", n), func() bool {
		getJSON(t, api+"/api/v1/agents", &l)
		idle := 0
		for _, a := range l.Agents {
			if a.State == server.AgentIdle {
				idle++
			}
		}
		return idle == n
	})
	return l.Agents
}

// runDist runs a test on every agent and returns the run and its result.
func runDist(t *testing.T, api, target string, rps, secs int, during func(runID string)) (store.Run, *spec.Result) {
	t.Helper()
	doc := fmt.Sprintf(`{"profile_document": {"name": "netns", "duration": "%ds", "agents": {"count": %d},
		"clients": [{"rps": %d, "connections": 12, "endpoint_urls": [%q]}]}}`, secs, netnsAgents, rps, target)
	return submitRun(t, api, doc, during)
}

// submitRun submits the run doc asks for, calls during, waits for the
// run's end and returns it with its result.
func submitRun(t *testing.T, api, doc string, during func(runID string)) (store.Run, *spec.Result) {
	t.Helper()
	resp, err := http.Post(api+"/api/v1/runs", "application/json", strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var run store.Run
	if resp.StatusCode != http.StatusAccepted || json.Unmarshal(b, &run) != nil {
		t.Fatalf("submit: %d %s", resp.StatusCode, b)
	}
	if during != nil {
		during(run.ID)
	}
	poll(t, "the run's end", func() bool {
		getJSON(t, api+"/api/v1/runs/"+run.ID, &run)
		return run.State != store.RunQueued && run.State != store.RunRunning
	})
	if run.ResultID == "" {
		t.Fatalf("run %s: %s, no result", run.State, run.Error)
	}
	var res spec.Result
	getJSON(t, api+"/api/v1/results/"+run.ResultID, &res)
	return run, &res
}

// waitSecond follows the run's events until second sec has been merged.
func waitSecond(t *testing.T, api, runID string, sec int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", api+"/api/v1/runs/"+runID+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 0, 1<<16)
	tmp := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(tmp)
		buf = append(buf, tmp[:n]...)
		for {
			i := bytes.IndexByte(buf, '\n')
			if i < 0 {
				break
			}
			if d, ok := bytes.CutPrefix(buf[:i], []byte("data: ")); ok {
				var ev server.Event
				if json.Unmarshal(d, &ev) == nil && ev.Progress != nil && ev.Progress.Second >= sec {
					return
				}
			}
			buf = buf[i+1:]
		}
		if err != nil {
			t.Fatalf("events ended before second %d: %v", sec, err)
		}
	}
}

func at(d *spec.Distribution, p float64) float64 {
	v, _ := d.At(p)
	return v
}
