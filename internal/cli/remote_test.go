package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/cli"
	"github.com/meshperf/meshperf/spec"
)

// remoteEnv gives a test its own data and config directories (the login
// context lives in the latter) and no server or token from outside.
func remoteEnv(t *testing.T) []string {
	t.Helper()
	return append(os.Environ(), "XDG_DATA_HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir(),
		"MESHPERF_DB=", "MESHPERF_SERVER=", "MESHPERF_TOKEN=", "MESHPERF_AUTH_KEY=")
}

// mp runs the binary with env and stdin.
func mp(t *testing.T, env []string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// startServer runs `meshperf server` on a free port and returns its URL.
func startServer(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"server", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`listening on (http://[0-9.:]+)`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		for sc.Scan() {
		}
	}()
	select {
	case u := <-found:
		return u
	case <-time.After(10 * time.Second):
		t.Fatal("meshperf server did not say where it listens")
	}
	return ""
}

func TestRemoteRun(t *testing.T) {
	env := remoteEnv(t)
	echo := startEcho(t)
	srv := startServer(t, env, "--db", filepath.Join(t.TempDir(), "server.db"))

	out, errOut, code := mp(t, env, "", "--server", srv, "run", echo+"/", "--rps", "100", "-d", "2s", "-o", "json",
		"--name", "smoke", "--label", "team=shop", "-H", "X-Test: 1")
	if code != 0 {
		t.Fatalf("run --server: exit %d: %s", code, errOut)
	}
	var res spec.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("--output json does not parse: %v\n%s", err, out)
	}
	if res.Achieved.Responses < 190 || res.Achieved.Responses > 210 || res.Achieved.Errors != 0 {
		t.Errorf("responses %d errors %d, want ~200 and none", res.Achieved.Responses, res.Achieved.Errors)
	}
	if res.Name != "smoke" || res.Labels["team"] != "shop" || res.ID == "" {
		t.Errorf("name/labels/id = %q/%v/%q", res.Name, res.Labels, res.ID)
	}
	if !strings.Contains(errOut, "saved as result "+res.ID) {
		t.Errorf("stderr does not name the result: %q", errOut)
	}

	// The result is in the server's store, not in the local one.
	out, errOut, code = mp(t, env, "", "--server", srv, "result", "list", "-o", "json")
	if code != 0 || !strings.Contains(out, res.ID) {
		t.Errorf("result list --server: exit %d, %s %s", code, out, errOut)
	}
	if out, _, _ := mp(t, env, "", "result", "list", "-o", "json"); strings.Contains(out, res.ID) {
		t.Errorf("the result is in the local store too:\n%s", out)
	}
	out, errOut, code = mp(t, env, "", "--server", srv, "result", "show", res.ID)
	if code != 0 || !strings.Contains(out, "result "+res.ID) {
		t.Errorf("result show --server: exit %d, %s %s", code, out, errOut)
	}

	// Profiles: applied on the server, listed, run by file and by name.
	path := writeProfile(t, "checkout", echo, 50)
	out, errOut, code = mp(t, env, "", "--server", srv, "profile", "apply", "-f", path)
	if code != 0 || !strings.Contains(out, "profile checkout applied") {
		t.Errorf("profile apply --server: exit %d, %s %s", code, out, errOut)
	}
	if out, errOut, code = mp(t, env, "", "--server", srv, "profile", "apply", "-f", path); code != 0 {
		t.Errorf("second profile apply --server: exit %d, %s %s", code, out, errOut)
	}
	out, errOut, code = mp(t, env, "", "--server", srv, "profile", "list")
	if code != 0 || !strings.Contains(out, "checkout") {
		t.Errorf("profile list --server: exit %d, %s %s", code, out, errOut)
	}
	out, errOut, code = mp(t, env, "", "--server", srv, "run", "--profile", "checkout")
	if code != 0 || !strings.Contains(out, "p99") {
		t.Errorf("run --profile --server: exit %d, %s %s", code, out, errOut)
	}
	// The profile's SLO is checked as in a local run.
	if _, errOut, code = mp(t, env, "", "--server", srv, "run", "-f", path, "--slo", "p50<=1ns"); code != cli.ExitSLO || !strings.Contains(errOut, "BROKEN") {
		t.Errorf("run -f --slo broken --server: exit %d, %s", code, errOut)
	}

	tests := []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"local file flag", []string{"run", echo + "/", "--ca-cert", "ca.pem"}, cli.ExitUsage, "--ca-cert: not supported against a server"},
		{"override profile", []string{"run", "-f", path, "--rps", "5"}, cli.ExitUsage, "--rps: flags that override a profile are not supported"},
		{"bad flag checked locally", []string{"run", echo + "/", "-c", "0"}, cli.ExitUsage, "--connections: must be >= 1"},
		{"not found", []string{"result", "show", "nope"}, cli.ExitUsage, "nope"},
		{"local only", []string{"result", "import", "x.json"}, cli.ExitUsage, "not available against a server yet"},
		{"bad server URL", []string{"result", "list", "--server", "127.0.0.1:1"}, cli.ExitUsage, "--server: want an http://"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := mp(t, env, "", append([]string{"--server", srv}, tc.args...)...)
			if code != tc.code || !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("exit %d (want %d), stderr %q lacks %q", code, tc.code, errOut, tc.wantErr)
			}
		})
	}
}

func TestRemoteInterruptCancelsRun(t *testing.T) {
	env := remoteEnv(t)
	echo := startEcho(t)
	srv := startServer(t, env, "--db", filepath.Join(t.TempDir(), "server.db"))
	cmd := exec.Command(binary, "--server", srv, "run", echo+"/", "--rps", "200", "-d", "1m", "-o", "json")
	cmd.Env = env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	start := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("took %v to stop after Ctrl-C", el)
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != cli.ExitInterrupted {
		t.Errorf("exit = %v, want %d; stderr %s", err, cli.ExitInterrupted, e.String())
	}
	var res spec.Result
	if err := json.Unmarshal(o.Bytes(), &res); err != nil {
		t.Fatalf("no report after Ctrl-C: %v\nstdout %q\nstderr %q", err, o.String(), e.String())
	}
	if !res.Interrupted || res.Achieved.Responses < 300 {
		t.Errorf("interrupted %v, responses %d", res.Interrupted, res.Achieved.Responses)
	}
	out, _, _ := mp(t, env, "", "--server", srv, "result", "list", "-o", "json")
	if !strings.Contains(out, res.ID) {
		t.Errorf("the cancelled run's result is not on the server:\n%s", out)
	}
}

func TestRemoteTeamMode(t *testing.T) {
	env := remoteEnv(t)
	db := filepath.Join(t.TempDir(), "team.db")
	const pw = "correct horse battery staple"
	if out, errOut, code := mp(t, env, pw+"\n", "user", "add", "admin", "--admin", "--password-stdin", "--db", db); code != 0 {
		t.Fatalf("user add: exit %d, %s %s", code, out, errOut)
	}
	srv := startServer(t, env, "--auth", "--db", db)

	_, errOut, code := mp(t, env, "", "--server", srv, "result", "list")
	if code != cli.ExitUsage || !strings.Contains(errOut, "meshperf login --server "+srv) {
		t.Errorf("without login: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = mp(t, env, "not the password\n", "login", "--server", srv, "--name", "admin", "--password-stdin")
	if code != cli.ExitUsage || !strings.Contains(errOut, "wrong name or password") {
		t.Errorf("wrong password: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = mp(t, env, pw+"\n", "login", "--server", srv, "--name", "admin", "--password-stdin")
	if code != 0 || !strings.Contains(errOut, "logged in to "+srv) {
		t.Fatalf("login: exit %d, stderr %q", code, errOut)
	}
	var cfg string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "XDG_CONFIG_HOME="); ok {
			cfg = v
		}
	}
	ctxFile := filepath.Join(cfg, "meshperf", "context.json")
	fi, err := os.Stat(ctxFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("context file: %v, mode %v", err, fi)
	}

	// Commands use the saved server and token without --server.
	out, errOut, code := mp(t, env, "", "result", "list", "-o", "json")
	if code != 0 || !strings.Contains(out, `"results"`) {
		t.Errorf("result list after login: exit %d, %s %s", code, out, errOut)
	}

	// A refused access token is refreshed once, and the new pair saved.
	var saved map[string]string
	b, _ := os.ReadFile(ctxFile)
	if err := json.Unmarshal(b, &saved); err != nil {
		t.Fatal(err)
	}
	oldRefresh := saved["refresh_token"]
	saved["access_token"] = "expired"
	b, _ = json.Marshal(saved)
	if err := os.WriteFile(ctxFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := mp(t, env, "", "result", "list"); code != 0 {
		t.Errorf("result list with a stale access token: exit %d, %s", code, errOut)
	}
	b, _ = os.ReadFile(ctxFile)
	if err := json.Unmarshal(b, &saved); err != nil {
		t.Fatal(err)
	}
	if saved["refresh_token"] == oldRefresh || saved["access_token"] == "expired" {
		t.Error("the token pair was not rotated")
	}

	_, errOut, code = mp(t, env, "", "logout")
	if code != 0 || !strings.Contains(errOut, "logged out of "+srv) {
		t.Errorf("logout: exit %d, stderr %q", code, errOut)
	}
	if _, err := os.Stat(ctxFile); !os.IsNotExist(err) {
		t.Errorf("context file still there after logout: %v", err)
	}
	if _, errOut, code = mp(t, env, "", "--server", srv, "result", "list"); code != cli.ExitUsage {
		t.Errorf("after logout: exit %d, stderr %q", code, errOut)
	}
}

func TestRemoteUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	env := remoteEnv(t)
	for _, args := range [][]string{{"result", "list"}, {"run", "http://127.0.0.1:1/", "-d", "1s"}} {
		_, errOut, code := mp(t, env, "", append([]string{"--server", url}, args...)...)
		if code != cli.ExitFailed || !strings.Contains(errOut, "server "+url+" does not answer") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
}
