package cli_test

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/cli"
	"github.com/meshperf/meshperf/spec"
)

// The messages a user reads when something is mistyped: each names the
// mistake, offers the fix, and exits with status 2.
func TestMistakesSayWhatWasMeant(t *testing.T) {
	dir := t.TempDir()
	profile := filepath.Join(dir, "checkout.yaml")
	writeFile(t, profile, "name: checkout\nduration: 1s\nclients:\n- endpoint_urls: [http://127.0.0.1:1/]\n  rps: 10\n  conections: 3\n")

	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"mistyped flag", []string{"run", "http://127.0.0.1:1/", "--rsp", "5"}, cli.ExitUsage,
			[]string{"meshperf: unknown flag: --rsp: did you mean --rps?"}},
		{"unrelated flag", []string{"run", "http://127.0.0.1:1/", "--frobnicate"}, cli.ExitUsage,
			[]string{"unknown flag: --frobnicate (meshperf run --help lists the flags)"}},
		{"URL without a scheme", []string{"run", "127.0.0.1:8080"}, cli.ExitUsage,
			[]string{`meshperf: URL: "127.0.0.1:8080" has no scheme: add http:// (http://127.0.0.1:8080)`}},
		{"host name without a scheme", []string{"run", "localhost:8080/api"}, cli.ExitUsage,
			[]string{`"localhost:8080/api" has no scheme: add http:// (http://localhost:8080/api)`}},
		{"unknown field in run", []string{"run", "-f", profile}, cli.ExitUsage,
			[]string{profile + ": clients[0].conections: unknown field; did you mean connections?", "--allow-unknown-fields"}},
		{"unknown field in profile apply", []string{"profile", "apply", "-f", profile}, cli.ExitUsage,
			[]string{profile + ": clients[0].conections: unknown field; did you mean connections?", "--lenient"}},
		{"agents without a server", []string{"run", "http://127.0.0.1:1/", "--agents", "2"}, cli.ExitUsage,
			[]string{"--agents and --agent-selector: agents connect to a meshperf server; give --server URL"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := meshperf(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tc.code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
		})
	}

	t.Run("stored profile names", func(t *testing.T) {
		_, errOut, code := meshperf(t, "run", "--profile", "checkout")
		if code != cli.ExitUsage || !strings.Contains(errOut, `no profile "checkout" in the store: meshperf profile list shows the stored ones`) {
			t.Errorf("empty store: exit %d, stderr %q", code, errOut)
		}
		// --lenient stores it, warning about the field it leaves out.
		_, errOut, code = meshperf(t, "profile", "apply", "-f", profile, "--lenient")
		if code != 0 || !strings.Contains(errOut, "warning: "+profile+": clients[0].conections: unknown field (ignored); did you mean connections?") {
			t.Fatalf("apply --lenient: exit %d, stderr %q", code, errOut)
		}
		_, errOut, code = meshperf(t, "run", "--profile", "chekout")
		if code != cli.ExitUsage || !strings.Contains(errOut, `meshperf: no profile "chekout" in the store: did you mean "checkout"?`) {
			t.Errorf("mistyped name: exit %d, stderr %q", code, errOut)
		}
	})
}

// Unknown fields run when allowed, by the flag or by the profile itself.
func TestUnknownFieldsAllowed(t *testing.T) {
	url := startEcho(t)
	dir := t.TempDir()
	body := "duration: 1s\nclients:\n- endpoint_urls: [" + url + "/]\n  rps: 20\n  connections: 2\n  retries: 3\n"
	plain := filepath.Join(dir, "plain.yaml")
	writeFile(t, plain, body)
	allowing := filepath.Join(dir, "allowing.yaml")
	writeFile(t, allowing, body+"meshperf:\n  allow_unknown_fields: true\n")

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"flag", []string{"run", "-f", plain, "--allow-unknown-fields", "--no-save", "-o", "json"}},
		{"profile setting", []string{"run", "-f", allowing, "--no-save", "-o", "json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := meshperf(t, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			if !strings.Contains(errOut, "meshperf: warning: ") || !strings.Contains(errOut, "clients[0].retries: unknown field (ignored)") {
				t.Errorf("stderr %q: want the field warned about", errOut)
			}
			var res spec.Result
			if err := json.Unmarshal([]byte(out), &res); err != nil || res.Achieved.Responses < 15 {
				t.Errorf("result %v, %+v: want the run done", err, res.Achieved)
			}
		})
	}
}

// meshperf run URL without --rps is open loop at 100/s, and the report's
// first line says which loop ran and why that matters.
func TestDefaultLoopAndFirstLine(t *testing.T) {
	url := startEcho(t)
	out, errOut, code := meshperf(t, "run", url+"/", "-d", "1s", "--no-save", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res spec.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if !res.Requested.OpenLoop || res.Requested.RPS != 100 || res.Requested.Connections != 10 {
		t.Errorf("requested %+v: want open loop at 100/s over 10 connections", res.Requested)
	}
	if res.Achieved.Responses < 90 || res.Achieved.Responses > 110 {
		t.Errorf("%d responses in 1 s, want about 100", res.Achieved.Responses)
	}

	for _, tc := range []struct {
		name  string
		args  []string
		first string
	}{
		{"default", []string{"-d", "1s"}, "Open loop, constant 100/s: latency counts from when each request was due, so a target that stalls shows in the tail as its users would feel it."},
		{"closed", []string{"-n", "50", "--rps", "0"}, "Closed loop (as fast as 10 connections allow): a stalling target slows the senders instead, so only service time is measured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := meshperf(t, append([]string{"run", url + "/", "--no-save"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			first, _, _ := strings.Cut(out, "\n")
			if !strings.HasPrefix(first, tc.first) {
				t.Errorf("first line %q, want it to start %q", first, tc.first)
			}
		})
	}
}

// Against a port that refuses connections: each attempt counted, backoff
// bounding them, and the run ends after about 3 s with status 3, saying so.
func TestRefusedPortEndsEarly(t *testing.T) {
	addr := freeAddr(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"open loop", nil},
		{"closed loop", []string{"--rps", "0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			began := time.Now()
			out, errOut, code := meshperf(t, append([]string{"run", "http://" + addr + "/", "-d", "30s", "--no-save", "-o", "json"}, tc.args...)...)
			took := time.Since(began)
			if code != cli.ExitFailed {
				t.Errorf("exit %d, want %d; stderr %q", code, cli.ExitFailed, errOut)
			}
			if !strings.Contains(errOut, "meshperf: nothing connected for 3s, so the run ended after ") || !strings.Contains(errOut, "connection refused") {
				t.Errorf("stderr %q: want it to say nothing connected and why", errOut)
			}
			if took > 8*time.Second {
				t.Errorf("took %s for a 30 s run: want it ended after about 3 s", took)
			}
			var res spec.Result
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("no JSON report: %v\n%s", err, out)
			}
			var refused int64
			for _, e := range res.Errors {
				if e.Class == "connection_refused" {
					refused = e.Count
				}
			}
			// 10 connections backing off from 10 ms to 1 s make about
			// ten attempts each in 3 s; without backoff, tens of thousands.
			if refused < 30 || refused > 300 {
				t.Errorf("connection_refused = %d, want every attempt counted and backoff bounding them (30-300); errors %+v", refused, res.Errors)
			}
			if res.EndedEarly == "" {
				t.Error("result not marked ended_early")
			}
		})
	}
	t.Run("text report", func(t *testing.T) {
		// Status 3 even with an objective broken: nothing was measured.
		out, _, code := meshperf(t, "run", "http://"+addr+"/", "-d", "30s", "--no-save", "--slo", "error_rate<1%")
		if code != cli.ExitFailed || !strings.Contains(out, "  ENDED EARLY: nothing connected for 3s") {
			t.Errorf("exit %d, report:\n%s", code, out)
		}
	})
}

// meshperf server's start: logs as JSON lines when not on a terminal (text
// when asked), the echo target on its fixed address or, when taken, a free
// one said so, and the URL to open as the last line.
func TestServerStartLines(t *testing.T) {
	// The default echo address taken (by this test, or by anyone else).
	if ln, err := net.Listen("tcp", cli.DefaultEchoAddr); err == nil {
		t.Cleanup(func() { ln.Close() })
	}
	for _, tc := range []struct {
		name    string
		args    []string
		logLine func(string) bool
	}{
		{"json", nil, func(l string) bool {
			var m map[string]any
			return json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "listening"
		}},
		{"text", []string{"--log-format", "text"}, func(l string) bool { return strings.Contains(l, "level=INFO msg=listening") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines := serverStartLines(t, append([]string{"server", "--echo", "--listen", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "s.db")}, tc.args...)...)
			text := strings.Join(lines, "\n")
			if !strings.Contains(text, "meshperf server: "+cli.DefaultEchoAddr+" is in use, so the echo target is on 127.0.0.1:") {
				t.Errorf("no fallback message for the taken echo address:\n%s", text)
			}
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "  Open http://127.0.0.1:") || !strings.HasSuffix(last, "/ in your browser (Ctrl-C stops the server)") {
				t.Errorf("last line %q, want the URL to open", last)
			}
			found := false
			for _, l := range lines {
				found = found || tc.logLine(l)
			}
			if !found {
				t.Errorf("no %s log line:\n%s", tc.name, text)
			}
		})
	}
	t.Run("given echo address taken", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		_, errOut, code := meshperf(t, "server", "--echo", "--echo-addr", ln.Addr().String(), "--listen", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "s.db"))
		if code != cli.ExitFailed || !strings.Contains(errOut, "meshperf: --echo-addr "+ln.Addr().String()+": ") || !strings.Contains(errOut, "address already in use") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
}

// serverStartLines starts meshperf with args, reads its stderr up to the
// line with the URL to open and the blank line after it, and returns the
// lines (the trailing blank one left out).
func serverStartLines(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = testEnv(t)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	done := make(chan []string, 1)
	go func() {
		var lines []string
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if n := len(lines); n >= 2 && lines[n-1] == "" && strings.Contains(lines[n-2], "Open http://") {
				// What follows only comes later (a request, Ctrl-C):
				// wait a moment to be sure nothing else is printed at start.
				time.Sleep(300 * time.Millisecond)
				done <- lines[:n-1]
				break
			}
		}
		for sc.Scan() {
		}
	}()
	select {
	case l := <-done:
		return l
	case <-time.After(20 * time.Second):
		t.Fatal("meshperf server printed no URL to open")
	}
	return nil
}

// meshperf agent: says where it connects and that it registered; a refused
// token ends it with status 3 and the reason; its help shows only its
// flags. Then meshperf run --server --agents runs on it, the progress line
// ending at the full duration.
func TestAgentMessagesAndAgentsFlag(t *testing.T) {
	env := remoteEnv(t)
	echo := startEcho(t)
	agentAddr := freeAddr(t)
	srv := startServer(t, env, "--db", filepath.Join(t.TempDir(), "server.db"), "--agent-listen", agentAddr, "--agent-token", "s3cret")

	t.Run("refused token", func(t *testing.T) {
		began := time.Now()
		_, errOut, code := mp(t, env, "", "agent", "--server", agentAddr, "--token", "wrong", "--name", "intruder")
		if code != cli.ExitFailed {
			t.Errorf("exit %d, want %d; stderr %q", code, cli.ExitFailed, errOut)
		}
		for _, w := range []string{
			"meshperf agent: connecting to " + agentAddr + " (plaintext) as intruder...",
			"meshperf: the server refused the join token: bad join token; check --token (or MESHPERF_AGENT_TOKEN) against the server's --agent-token",
		} {
			if !strings.Contains(errOut, w) {
				t.Errorf("stderr %q lacks %q", errOut, w)
			}
		}
		if time.Since(began) > 10*time.Second {
			t.Errorf("took %s to give up on a refused token", time.Since(began))
		}
	})

	t.Run("help", func(t *testing.T) {
		out, _, code := mp(t, env, "", "agent", "--help")
		if code != 0 || strings.Contains(out, "--db") || strings.Contains(out, "Global Flags") || !strings.Contains(out, "--token") {
			t.Errorf("exit %d, help lists flags that do not apply (or lacks its own):\n%s", code, out)
		}
		for _, c := range []string{"echo", "generators", "version"} {
			if out, _, _ := mp(t, env, "", c, "--help"); strings.Contains(out, "--db") {
				t.Errorf("meshperf %s --help lists --db, which does not apply:\n%s", c, out)
			}
		}
		out, _, _ = mp(t, env, "", "agent", "list", "--help")
		if !strings.Contains(out, "Global Flags") || !strings.Contains(out, "--server string") {
			t.Errorf("agent list uses the global --server: its help should list it:\n%s", out)
		}
	})

	// A real agent, registered.
	agent := exec.Command(binary, "agent", "--server", agentAddr, "--token", "s3cret", "--name", "a1", "--labels", "zone=a")
	agent.Env = env
	stderr, err := agent.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Process.Signal(os.Interrupt); agent.Wait() })
	var mu sync.Mutex
	var agentErr strings.Builder
	registered := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			mu.Lock()
			agentErr.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if strings.HasPrefix(sc.Text(), "meshperf agent: registered as a1 with "+agentAddr+" (it sees this agent at 127.0.0.1:") {
				once.Do(func() { close(registered) })
			}
		}
	}()
	select {
	case <-registered:
	case <-time.After(15 * time.Second):
		mu.Lock()
		t.Fatalf("the agent did not say it registered:\n%s", agentErr.String())
	}
	mu.Lock()
	if !strings.HasPrefix(agentErr.String(), "meshperf agent: connecting to "+agentAddr+" (plaintext) as a1...\n") {
		t.Errorf("the agent's first line: %q", agentErr.String())
	}
	mu.Unlock()

	out, errOut, code := mp(t, env, "", "--server", srv, "run", echo+"/", "--rps", "50", "-d", "2s", "--warmup", "1s",
		"--agents", "1", "--agent-selector", "zone=a", "-o", "json", "--progress", "always")
	if code != 0 {
		t.Fatalf("run --server --agents: exit %d: %s", code, errOut)
	}
	var res spec.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("no JSON result: %v\n%s", err, out)
	}
	if len(res.Agents) != 1 || res.Agents[0].Name != "a1" || res.Achieved.Responses < 90 {
		t.Errorf("agents %+v, %d responses: want the 100 requests from a1", res.Agents, res.Achieved.Responses)
	}
	if last := lastFrame(errOut); !strings.HasPrefix(last, "3s/3s ") {
		t.Errorf("the progress line ends at %q, want at the full duration (3s/3s); stderr %q", last, errOut)
	}
	// On the server's own engine too (whose last second used to show as
	// "2s/3s").
	_, errOut, code = mp(t, env, "", "--server", srv, "run", echo+"/", "--rps", "50", "-d", "2s", "--warmup", "1s", "-o", "json", "--progress", "always")
	if last := lastFrame(errOut); code != 0 || !strings.HasPrefix(last, "3s/3s ") {
		t.Errorf("exit %d, the progress line ends at %q, want at the full duration (3s/3s); stderr %q", code, last, errOut)
	}

	// A stored profile's name mistyped, against the server.
	profile := filepath.Join(t.TempDir(), "checkout.yaml")
	writeFile(t, profile, "name: checkout\nduration: 1s\nclients:\n- endpoint_urls: ["+echo+"/]\n  rps: 10\n")
	if _, errOut, code := mp(t, env, "", "--server", srv, "profile", "apply", "-f", profile); code != 0 {
		t.Fatalf("profile apply: exit %d: %s", code, errOut)
	}
	_, errOut, code = mp(t, env, "", "--server", srv, "run", "--profile", "chekout")
	if code != cli.ExitUsage || !strings.Contains(errOut, `no profile "chekout": did you mean "checkout"?`) {
		t.Errorf("mistyped profile on the server: exit %d, stderr %q", code, errOut)
	}

	_, errOut, code = mp(t, env, "", "--server", srv, "run", echo+"/", "--agent-selector", "zone", "-d", "1s")
	if code != cli.ExitUsage || !strings.Contains(errOut, `--agent-selector: "zone" is not key=value`) {
		t.Errorf("bad selector: exit %d, stderr %q", code, errOut)
	}
}

// lastFrame is the last state of the live progress line in stderr, which
// rewrites it after each \r.
func lastFrame(stderr string) string {
	var last string
	for _, frame := range strings.Split(stderr, "\r") {
		if strings.Contains(frame, "req/s") {
			last = strings.TrimSpace(strings.TrimPrefix(frame, "\033[K"))
		}
	}
	return last
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
