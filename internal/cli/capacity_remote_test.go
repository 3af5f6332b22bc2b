package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/capacity"
	"github.com/meshperf/meshperf/internal/cli"
	"github.com/meshperf/meshperf/store"
)

// TestCapacityRemote: `meshperf --server URL capacity` runs the search on
// a real server against echo rejecting above 800 rps, prints each step
// from the server's events, and writes the server's report, which finds
// the limit; the steps are the server's results, not local ones.
func TestCapacityRemote(t *testing.T) {
	env := remoteEnv(t)
	echo := startEcho(t, "--capacity", "800", "--overload", "reject")
	srv := startServer(t, env, "--db", filepath.Join(t.TempDir(), "server.db"))
	// 2 s steps: with 1 s ones, a machine loaded by other work fell
	// short of the 99% of the rate asked that every step must reach.
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "--server", srv, "capacity", echo+"/", "-c", "32", "--objective", "error_rate<1%",
		"--min", "200", "--max", "1600", "--step-duration", "2s", "--warmup", "2s", "--tolerance", "20%", "--confirm", "1",
		"--max-steps", "14", "--label", "team=shop", "-o", "json")
	cmd.Env = env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	code := 0
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatal(err)
		}
		code = ee.ExitCode()
	}
	out, errOut := o.String(), e.String()
	if code != 0 {
		t.Fatalf("capacity --server: exit %d\n%s\n%s", code, errOut, out)
	}
	var rep capacity.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("no JSON report: %v\n%s", err, out)
	}
	checkFoundSlack(t, &rep, 800, 1.01, 3, "error_rate<1%")
	for _, s := range rep.Steps {
		if line := "meshperf: step " + itoa(s.N) + " (" + s.Phase + ")"; !strings.Contains(errOut, line) {
			t.Errorf("stderr lacks %q:\n%s", line, errOut)
		}
	}
	if !strings.Contains(errOut, "capacity search "+rep.ID+" queued on "+srv) {
		t.Errorf("stderr does not name the search and the server:\n%s", errOut)
	}
	// The steps are the server's results, labelled with the search.
	out, errOut, code = mp(t, env, "", "--server", srv, "result", "list", "--label", "capacity="+rep.ID, "--limit", "100", "-o", "json")
	var page store.Page
	if err := json.Unmarshal([]byte(out), &page); code != 0 || err != nil {
		t.Fatalf("result list --server: exit %d %v\n%s", code, err, errOut)
	}
	if len(page.Results) != len(rep.Steps) {
		t.Errorf("%d results on the server labelled capacity=%s, %d steps", len(page.Results), rep.ID, len(rep.Steps))
	}
	for _, r := range page.Results {
		if r.Labels["team"] != "shop" {
			t.Errorf("result %s labels %v: no team=shop", r.ID, r.Labels)
		}
	}
}

// TestCapacityRemoteRefuses: what a server cannot honour is refused
// before anything is queued, naming it; the server's own refusals (422)
// are usage errors too.
func TestCapacityRemoteRefuses(t *testing.T) {
	env := remoteEnv(t)
	srv := startServer(t, env, "--db", filepath.Join(t.TempDir(), "server.db"))
	prof := writeProfile(t, "limited", "http://127.0.0.1:1", 100)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"http://127.0.0.1:1/", "--objective", "p99<=1s", "--no-save"}, "--no-save"},
		{[]string{"-f", prof, "-c", "8"}, "--connections"},
		{[]string{"-f", prof, "http://127.0.0.1:1/"}, "URLs that replace"},
		{[]string{"http://127.0.0.1:1/"}, "--objective"},
		{[]string{"http://127.0.0.1:1/", "--objective", "p99<=1s", "--metric", "cpu<=1"}, "metric"},
	} {
		_, errOut, code := mp(t, env, "", append([]string{"--server", srv, "capacity"}, tc.args...)...)
		if code != cli.ExitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, want %d naming %s\n%s", tc.args, code, cli.ExitUsage, tc.want, errOut)
		}
	}
	resp, err := http.Get(srv + "/api/v1/runs")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var runs store.RunPage
	if err := json.NewDecoder(resp.Body).Decode(&runs); err != nil || len(runs.Runs) != 0 {
		t.Errorf("a refused search was queued: %+v (%v)", runs, err)
	}
}

// TestCapacityRemoteInterrupt: Ctrl-C during `capacity --server` cancels
// the search on the server, which keeps its steps; the report printed is
// the server's (interrupted) and the exit status is the interrupted one.
func TestCapacityRemoteInterrupt(t *testing.T) {
	env := remoteEnv(t)
	echo := startEcho(t)
	srv := startServer(t, env, "--db", filepath.Join(t.TempDir(), "server.db"))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "--server", srv, "capacity", echo+"/", "--objective", "p99<=1s", "--min", "20",
		"--max", "100000", "--step-duration", "2s", "--warmup", "0s", "-o", "json")
	cmd.Env = env
	var o bytes.Buffer
	cmd.Stdout = &o
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var e strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		e.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "meshperf: step 1 ") {
			break
		}
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for sc.Scan() {
			e.WriteString(sc.Text() + "\n")
		}
	}()
	<-drained // the pipe closes when meshperf exits
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != cli.ExitInterrupted {
		t.Fatalf("exit %v, want %d\n%s", err, cli.ExitInterrupted, e.String())
	}
	var rep capacity.Report
	if err := json.Unmarshal(o.Bytes(), &rep); err != nil {
		t.Fatalf("no report: %v\n%s\n%s", err, o.String(), e.String())
	}
	if rep.Outcome != capacity.OutcomeInterrupted || len(rep.Steps) < 1 || rep.Sustained < 20 {
		t.Errorf("outcome %s, %d steps, sustains %v", rep.Outcome, len(rep.Steps), rep.Sustained)
	}
	resp, err := http.Get(srv + "/api/v1/capacity/" + rep.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Search store.CapacitySearch `json:"search"`
		Run    store.Run            `json:"run"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || v.Run.State != store.RunCancelled || v.Search.State != store.CapacityCancelled {
		t.Errorf("on the server: run %s, search %s (%v)", v.Run.State, v.Search.State, err)
	}
}
