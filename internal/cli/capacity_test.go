package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/capacity"
	"github.com/meshperf/meshperf/internal/cli"
)

// capacitySearch runs `meshperf capacity ... --output json` as a user
// would and returns its report, exit status and stderr.
func capacitySearch(t *testing.T, args ...string) (*capacity.Report, int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"capacity", "--output", "json"}, args...)...)
	cmd.Env = testEnv(t)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var rep capacity.Report
	if err := json.Unmarshal(o.Bytes(), &rep); err != nil {
		t.Fatalf("exit %d, no JSON report: %v\nstdout %s\nstderr %s", code, err, o.String(), e.String())
	}
	return &rep, code, e.String()
}

// stepAllowance is the most steps a search may take on a real, noisy
// machine: the bound for a target that answers consistently, plus each
// retry of a client-limited step, plus, for each confirmation that failed,
// the failed step, a new bisection and new confirmations.
func stepAllowance(rep *capacity.Report) int {
	o := capacity.Options{Min: rep.Min, Max: rep.Max, Tolerance: rep.Tolerance, Confirm: rep.Confirm}
	n := o.StepBound()
	bisect := int(math.Ceil(math.Log2(math.Log(2) / math.Log1p(rep.Tolerance))))
	for _, s := range rep.Steps {
		switch {
		case s.Phase == capacity.PhaseRetry:
			n++
		case s.Phase == capacity.PhaseConfirm && !s.Met && !s.ClientLimited:
			n += 1 + bisect + rep.Confirm
		}
	}
	return n
}

// checkFound asserts a search found limit within its tolerance (and the
// slack a loaded machine needs below it), broken by the objective named,
// in the steps allowed.
func checkFound(t *testing.T, rep *capacity.Report, limit, above float64, brokenBy string) {
	t.Helper()
	checkFoundSlack(t, rep, limit, above, 2, brokenBy)
}

func brokenByOneOf(got []string, want string) bool {
	if len(got) == 0 {
		return false
	}
	for _, w := range strings.Split(want, "|") {
		if strings.HasPrefix(got[0], w) {
			return true
		}
	}
	return false
}

// checkFoundSlack is checkFound allowing the answer slack tolerances below
// the limit.
func checkFoundSlack(t *testing.T, rep *capacity.Report, limit, above float64, slack int, brokenBy string) {
	t.Helper()
	for _, s := range rep.Steps {
		t.Logf("step %d %-7s %6.0f rps: achieved %7.1f p99 %8.2fms errors %.3f%% met=%v client=%v",
			s.N, s.Phase, s.RPS, s.AchievedRPS, s.P99Ms, 100*s.ErrorRate, s.Met, s.ClientLimited)
	}
	if rep.Outcome != capacity.OutcomeFound {
		t.Fatalf("outcome %s, want found", rep.Outcome)
	}
	// The answer is at most the limit (plus what the model lets through
	// above it), and within two tolerances below it: one is the search's,
	// the other the machine's noise near the limit.
	lowest := limit / math.Pow(1+rep.Tolerance, float64(slack))
	if rep.Sustained > limit*above || rep.Sustained < lowest {
		t.Errorf("sustains %v rps; the limit is %v: want %.0f to %.0f", rep.Sustained, limit, lowest, limit*above)
	}
	if rep.Breaks <= rep.Sustained || rep.Uncertainty/rep.Sustained > rep.Tolerance {
		t.Errorf("breaks at %v, sustains %v: not within the tolerance %v", rep.Breaks, rep.Sustained, rep.Tolerance)
	}
	// brokenBy: the objective expected to break first, or alternatives
	// separated by "|", each matched as a prefix.
	if !brokenByOneOf(rep.BrokenBy, brokenBy) {
		t.Errorf("broken by %v, want %s", rep.BrokenBy, brokenBy)
	}
	if n, allowed := len(rep.Steps), stepAllowance(rep); n > allowed || n < 4 {
		t.Errorf("%d steps; allowed %d", n, allowed)
	}
	confirms := 0
	for _, s := range rep.Steps {
		if s.Phase == capacity.PhaseConfirm && s.RPS == rep.Sustained && s.Met {
			confirms++
		}
	}
	if confirms != rep.Confirm {
		t.Errorf("%d confirmations met at %v, want %d", confirms, rep.Sustained, rep.Confirm)
	}
}

// TestCapacityEchoDelay: echo slows every request by 200ms or more above
// 800 requests a second; the search finds 800 on p99. The objective is
// 150ms, not tighter: this shared 2-core machine stalls processes for up to
// ~250ms (a 50ms objective broke at 150 rps). 200 connections, so the
// requests a stall's burst pushes over the limit (200ms each) do not
// exhaust them and queue the rest (with 64 and 400ms, steps at 700 rps
// broke that way). A 2 s warm-up, as in TestCapacityEchoReject.
func TestCapacityEchoDelay(t *testing.T) {
	url := startEcho(t, "--capacity", "800", "--overload", "delay:200ms")
	rep, code, stderr := capacitySearch(t, url+"/", "-c", "200", "--timeout", "3s", "--objective", "p99<=150ms,error_rate<0.1%",
		"--min", "150", "--max", "5000", "--step-duration", "1s", "--warmup", "2s", "--max-steps", "20")
	if code != 0 {
		t.Errorf("exit %d\n%s", code, stderr)
	}
	// In delay mode every arrival counts, so no rate above 800 can pass.
	// Below, three tolerances (see TestCapacityEchoReject).
	checkFoundSlack(t, rep, 800, 1, 3, "p99<=150ms")

	// Every step is a stored result labelled with the search, its step
	// and its rate.
	page := listResults(t, "--label", "capacity="+rep.ID, "--limit", "100")
	if len(page.Results) != len(rep.Steps) {
		t.Fatalf("%d stored results labelled capacity=%s, %d steps", len(page.Results), rep.ID, len(rep.Steps))
	}
	ids := map[string]bool{}
	for _, s := range rep.Steps {
		ids[s.ResultID] = true
	}
	for _, r := range page.Results {
		if !ids[r.ID] || r.Labels["step"] == "" || r.Labels["rps"] == "" {
			t.Errorf("stored result %s labels %v: not one of the steps", r.ID, r.Labels)
		}
	}
}

// TestCapacityEchoReject: echo answers 503 above 1,500 requests a second;
// the search finds 1,500 on the error rate.
func TestCapacityEchoReject(t *testing.T) {
	url := startEcho(t, "--capacity", "1500", "--overload", "reject")
	// From a profile (4 connections, 100 rps, slo p99<=1s): -c overrides
	// its connections, --objective its slo, the steps replace its rate.
	prof := writeProfile(t, "limited", url, 100)
	// A 2 s warm-up: the burst of requests due while the connections are
	// dialled at a step's start leaves echo's one-second window during the
	// second second, and with a 1 s warm-up that is measured (1,467 rps
	// then broke with 3–7% errors, every time).
	rep, code, stderr := capacitySearch(t, "-f", prof, "-c", "32", "--objective", "error_rate<1%",
		"--min", "200", "--max", "20000", "--step-duration", "1s", "--warmup", "2s", "--max-steps", "20")
	if code != 0 {
		t.Errorf("exit %d\n%s", code, stderr)
	}
	// Rejected requests are not counted, so up to 1% above the limit the
	// error rate stays under 1%. Below, three tolerances: the reject window
	// is the most sensitive to stalls (one of S seconds near the limit
	// rejects about S × rate requests: 0.1 s at 1,467 rps broke a step
	// with 7% errors on this machine).
	checkFoundSlack(t, rep, 1500, 1.01, 3, "error_rate<1%")
	if rep.Name != "limited" || len(rep.Objectives) != 1 || rep.Objectives[0] != "error_rate<1%" {
		t.Errorf("name %q objectives %v: want the profile's name and the flag's objective", rep.Name, rep.Objectives)
	}
	// The steps are stored against the profile, with its labels and theirs.
	page := listResults(t, "--profile", "limited", "--label", "capacity="+rep.ID, "--limit", "100")
	if len(page.Results) != len(rep.Steps) {
		t.Fatalf("%d results of profile limited in the search, %d steps", len(page.Results), len(rep.Steps))
	}
	for _, r := range page.Results {
		if r.Labels["team"] != "shop" || r.Name != "limited" {
			t.Errorf("result %s: name %q labels %v", r.ID, r.Name, r.Labels)
		}
	}
}

func TestCapacityBadInput(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"http://127.0.0.1:1/", "--objective", "p99<=1ms", "--tolerance", "90%", "--output", "xml", "--step-duration", "10ms"},
			[]string{"--tolerance", "--output", "--step-duration"}},
		{[]string{"http://127.0.0.1:1/", "--objective", "p99<=1ms", "--min", "0", "--max", "1e9", "--confirm", "99"},
			[]string{"--min", "--max", "--confirm"}},
		{[]string{"http://127.0.0.1:1/"}, []string{"--objective"}},
		{[]string{"http://127.0.0.1:1/", "--objective", "p99<=fast"}, []string{"--objective"}},
		{[]string{"--objective", "p99<=1ms"}, []string{"give a target URL"}},
		{[]string{"http://127.0.0.1:1/", "--objective", "p99<=1ms", "--metric", "cpu<=1"}, []string{"--metric: needs a profile"}},
	}
	// A profile on agents runs through a server: refused here rather than
	// silently run from this machine, pointing at --server.
	prof := writeProfile(t, "onagents", "http://127.0.0.1:1", 100)
	b, err := os.ReadFile(prof)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(prof, append(b, []byte("agents: {count: 2}\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	tests = append(tests, struct {
		args []string
		want []string
	}{[]string{"-f", prof}, []string{"agents:", "--server URL"}})
	for _, tc := range tests {
		_, stderr, code := meshperf(t, append([]string{"capacity"}, tc.args...)...)
		if code != cli.ExitUsage {
			t.Errorf("%v: exit %d, want %d\n%s", tc.args, code, cli.ExitUsage, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: stderr does not name %s:\n%s", tc.args, w, stderr)
			}
		}
	}
}

// TestCapacityInterrupt: Ctrl-C mid-search stops at once; the steps done
// are reported and kept.
func TestCapacityInterrupt(t *testing.T) {
	url := startEcho(t)
	cmd := exec.Command(binary, "capacity", url+"/", "--objective", "p99<=1s", "--min", "100", "--max", "100000",
		"--step-duration", "2s", "--warmup", "0s", "--output", "json")
	cmd.Env = testEnv(t)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second) // step 1 (2s), the pause (1s), then step 2 under way
	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("took %v to stop after Ctrl-C", el)
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != cli.ExitInterrupted {
		t.Errorf("exit %v, want %d\n%s", err, cli.ExitInterrupted, e.String())
	}
	var rep capacity.Report
	if err := json.Unmarshal(o.Bytes(), &rep); err != nil {
		t.Fatalf("no report after Ctrl-C: %v\nstdout %q\nstderr %q", err, o.String(), e.String())
	}
	if rep.Outcome != capacity.OutcomeInterrupted || len(rep.Steps) != 2 || !rep.Steps[1].Interrupted || rep.Sustained != 100 {
		t.Fatalf("outcome %s, %d steps, sustained %v: want interrupted, 2 (the second cut short), 100", rep.Outcome, len(rep.Steps), rep.Sustained)
	}
	page := listResults(t, "--label", "capacity="+rep.ID)
	if len(page.Results) != 2 {
		t.Errorf("%d results stored, want both steps", len(page.Results))
	}
}

// TestCapacityHAProxyMaxconn: HAProxy in front of echo lets 10 requests at
// a time reach it, and echo takes 50ms each, so no more than 200 requests a
// second get through; above that they queue in HAProxy and the latency
// grows for as long as the step lasts. The search finds 200 on p99. (With
// 20ms and 500/s, the few ms a loaded machine adds to each request moved
// the real limit by 15% from run to run.)
func TestCapacityHAProxyMaxconn(t *testing.T) {
	if _, err := exec.LookPath("haproxy"); err != nil {
		t.Fatalf("haproxy is not installed (apt-get install haproxy): %v", err)
	}
	echoURL := startEcho(t, "--delay", "50ms")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	front := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`global
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout queue 30s
frontend front
  bind %s
  default_backend app
backend app
  server echo %s maxconn 10
`, front, strings.TrimPrefix(echoURL, "http://"))), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	hp := exec.Command("haproxy", "-f", cfg, "-db")
	hp.Stdout, hp.Stderr = &logs, &logs
	if err := hp.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = hp.Process.Kill()
		_ = hp.Wait()
		if t.Failed() {
			t.Logf("haproxy:\n%s", logs.String())
		}
	})
	proxy := "http://" + front + "/"
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(proxy + "healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy did not answer on %s: %v", front, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	rep, code, stderr := capacitySearch(t, proxy, "-c", "64", "--objective", "p99<=150ms,error_rate<0.1%",
		"--min", "60", "--max", "5000", "--step-duration", "2s", "--warmup", "1s", "--max-steps", "20", "--no-save")
	if code != 0 {
		t.Errorf("exit %d\n%s", code, stderr)
	}
	if rep.Steps[0].ResultID != "" {
		t.Errorf("--no-save: step 1 stored as %s", rep.Steps[0].ResultID)
	}
	// 200/s is the ceiling; HAProxy's and echo's own time per request
	// (a few hundred µs to a few ms on top of the 50ms, more on a loaded
	// machine) put the real one below it: 10 / the mean time a request
	// took at the first, unqueued step (busy connections / rate, Little's
	// law).
	s1 := rep.Steps[0]
	limit := min(200, 10*s1.AchievedRPS/s1.BusyConnections)
	t.Logf("mean request time at %v rps %.2fms: limit %.1f rps", s1.RPS, 1000*s1.BusyConnections/s1.AchievedRPS, limit)
	if limit < 180 {
		t.Fatalf("HAProxy and echo take %.1fms a request at %v rps: the machine is too loaded for this test", 1000*s1.BusyConnections/s1.AchievedRPS, s1.RPS)
	}
	// Never above the hard ceiling of 200/s, whatever the machine does.
	// Just above the limit the queue may not reach 150ms in a 2 s step;
	// the responses then fall short of the rate, which breaks the step.
	// Within a few percent below the limit a queue is one scheduling
	// stall away: on a loaded machine a confirm step at 97% of it broke
	// its p99 (CI at load average 11), so three tolerances below it.
	checkFoundSlack(t, rep, limit, 200/limit, 3, "p99<=150ms|achieved rate >= 99%")
}
