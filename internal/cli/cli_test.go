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

var binary string

// dataDirs gives each test its own data directory, so its results go to
// its own store.
var dataDirs = map[*testing.T]string{}

func testEnv(t *testing.T) []string {
	t.Helper()
	dir, ok := dataDirs[t]
	if !ok {
		dir = t.TempDir()
		dataDirs[t] = dir
	}
	return append(os.Environ(), "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
		"MESHPERF_DB=", "MESHPERF_SERVER=", "MESHPERF_TOKEN=")
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "meshperf-cli")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "meshperf")
	out, err := exec.Command("go", "build", "-o", binary, "../../cmd/meshperf").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// meshperf runs the binary as a user would, with stdout and stderr piped.
func meshperf(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = testEnv(t)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// startEcho runs `meshperf echo` and returns its URL.
func startEcho(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"echo", "--addr", "127.0.0.1:0"}, args...)...)
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
		re := regexp.MustCompile(`https?://[0-9.:]+`)
		for sc.Scan() {
			if u := re.FindString(sc.Text()); u != "" {
				found <- u
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
		t.Fatal("meshperf echo did not say where it listens")
	}
	return ""
}

func TestRunJSON(t *testing.T) {
	url := startEcho(t, "--delay", "1ms")
	out, errOut, code := meshperf(t, "run", url+"/", "--rps", "200", "-c", "4", "-d", "2s", "--output", "json",
		"--label", "team=shop", "--name", "smoke")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if strings.Contains(errOut, "req/s") {
		t.Errorf("progress line printed while piped: %q", errOut)
	}
	var res spec.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("--output json does not parse: %v\n%s", err, out)
	}
	if res.Schema != spec.ResultSchema || res.Name != "smoke" || res.Labels["team"] != "shop" {
		t.Errorf("schema/name/labels = %q/%q/%v", res.Schema, res.Name, res.Labels)
	}
	if res.Achieved.Responses != 400 || res.StatusCodes[200] != 400 {
		t.Errorf("responses = %d, 200s = %d, want 400", res.Achieved.Responses, res.StatusCodes[200])
	}
	if !res.Requested.OpenLoop || res.Requested.RPS != 200 || res.Requested.Connections != 4 || res.Requested.Duration.D() != 2*time.Second {
		t.Errorf("requested = %+v", res.Requested)
	}
	if res.Latency == nil || res.Latency.Histogram == "" || res.ServiceTime.Histogram == "" {
		t.Error("histograms missing from the result")
	}
	if p50, _ := res.ServiceTime.At(50); p50 < 1 || p50 > 5 {
		t.Errorf("service p50 = %vms, want about 1ms", p50)
	}
	if len(res.Timeline) < 2 || res.Generator.Name != "meshperf" || res.StartTime.IsZero() || !res.EndTime.After(res.StartTime) {
		t.Errorf("timeline %d, generator %+v, times %v–%v", len(res.Timeline), res.Generator, res.StartTime, res.EndTime)
	}
}

func TestRunTextClosedLoop(t *testing.T) {
	url := startEcho(t)
	out, errOut, code := meshperf(t, "run", url+"/", "--rps", "0", "-c", "2", "-n", "500")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"closed loop", "service time only", "p99.99", "max", "200  500"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "latency   service") {
		t.Errorf("closed-loop report shows a corrected latency column:\n%s", out)
	}
}

func TestSLO(t *testing.T) {
	url := startEcho(t, "--delay", "5ms")
	tests := []struct {
		name     string
		slo      string
		wantCode int
		wantErr  string
	}{
		{"met", "p99<=1s,error_rate<1%", 0, ""},
		{"latency broken", "p50<=1ms", 1, "p50<=1ms: BROKEN"},
		{"rate broken", "rps>=1000000", 1, "rps>=1000000: BROKEN"},
		{"malformed", "p99<=fast", 2, `"fast" is not a duration`},
		{"unknown metric", "p42<=1ms", 2, `unknown metric "p42"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := meshperf(t, "run", url+"/", "--rps", "100", "-c", "2", "-d", "1s", "--slo", tc.slo)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d; stderr %q", code, tc.wantCode, errOut)
			}
			if !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("stderr %q lacks %q", errOut, tc.wantErr)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"no url", []string{"run"}, cli.ExitUsage, "give at least one target URL"},
		{"missing profile file", []string{"run", "-f", "/no/such.yaml"}, cli.ExitUsage, "/no/such.yaml"},
		{"invalid url", []string{"run", "http//nope"}, cli.ExitUsage, `URL: invalid URL "http//nope"`},
		{"bad scheme", []string{"run", "ftp://127.0.0.1/"}, cli.ExitUsage, "scheme must be http or https"},
		{"unknown flag", []string{"run", "http://127.0.0.1:1/", "--bogus"}, cli.ExitUsage, "unknown flag: --bogus"},
		{"bad connections", []string{"run", "http://127.0.0.1:1/", "-c", "0"}, cli.ExitUsage, "--connections: must be >= 1"},
		{"bad rate", []string{"run", "http://127.0.0.1:1/", "--rps", "-5"}, cli.ExitUsage, "rate must be >= 0"},
		{"bad http version", []string{"run", "http://127.0.0.1:1/", "--http", "3"}, cli.ExitUsage, `unknown HTTP version "3"`},
		{"bad output", []string{"run", "http://127.0.0.1:1/", "-o", "xml"}, cli.ExitUsage, `unknown format "xml"`},
		{"bad header", []string{"run", "http://127.0.0.1:1/", "-H", "nocolon"}, cli.ExitUsage, `--header "nocolon"`},
		{"missing body file", []string{"run", "http://127.0.0.1:1/", "--body", "@/no/such/file"}, cli.ExitUsage, "--body-file"},
		{"several at once", []string{"run", "ftp://x/", "-c", "0", "--http", "9"}, cli.ExitUsage, "--connections"},
		{"bad duration", []string{"run", "http://127.0.0.1:1/", "-d", "soon"}, cli.ExitUsage, `invalid argument "soon"`},
		{"unknown command", []string{"launch"}, cli.ExitUsage, `unknown command "launch"`},
		{"echo bad delay", []string{"echo", "--delay", "99%:1ms"}, cli.ExitUsage, "--delay"},
		{"server no connections", []string{"server", "--max-connections", "0"}, cli.ExitUsage, "--max-connections: want 1 to 1048576, got 0"},
		{"server too many connections", []string{"server", "--max-connections", "2000000"}, cli.ExitUsage, "--max-connections: want 1 to"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := meshperf(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tc.code, errOut)
			}
			if !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("stderr %q lacks %q", errOut, tc.wantErr)
			}
			if strings.Contains(errOut, "panic") || strings.Contains(errOut, "goroutine ") {
				t.Errorf("stderr shows a panic: %q", errOut)
			}
		})
	}
}

func TestRefusedIsReportedAndFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	out, errOut, code := meshperf(t, "run", "http://"+addr+"/", "--rps", "50", "-d", "1s")
	if code != cli.ExitFailed {
		t.Errorf("exit %d, want %d", code, cli.ExitFailed)
	}
	if !strings.Contains(out, "connection_refused") {
		t.Errorf("report lacks the error class:\n%s", out)
	}
	if !strings.Contains(errOut, "none of 50 requests got a response: connection_refused") {
		t.Errorf("stderr = %q", errOut)
	}
}

func TestInterruptPrintsReport(t *testing.T) {
	url := startEcho(t)
	cmd := exec.Command(binary, "run", url+"/", "--rps", "500", "-d", "1m", "--output", "json")
	cmd.Env = testEnv(t)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	start := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("took %v to stop after Ctrl-C", el)
	}
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != cli.ExitInterrupted {
		t.Errorf("exit = %v, want %d", err, cli.ExitInterrupted)
	}
	var res spec.Result
	if err := json.Unmarshal(o.Bytes(), &res); err != nil {
		t.Fatalf("no report after Ctrl-C: %v\nstdout %q\nstderr %q", err, o.String(), e.String())
	}
	if !res.Interrupted {
		t.Error("result not marked interrupted")
	}
	if res.Achieved.Responses < 900 || res.Achieved.Errors != 0 {
		t.Errorf("responses %d errors %d (%+v): want ~1250 and no errors from our own cancellation", res.Achieved.Responses, res.Achieved.Errors, res.Errors)
	}
}

func TestProgressLineAlways(t *testing.T) {
	url := startEcho(t)
	_, errOut, code := meshperf(t, "run", url+"/", "--rps", "100", "-d", "2s", "--progress", "always")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "req/s") || !strings.Contains(errOut, "p99") {
		t.Errorf("no progress line on stderr: %q", errOut)
	}
}

func TestHTTP2AndH2C(t *testing.T) {
	plain := startEcho(t)
	tls := startEcho(t, "--tls")
	tests := []struct {
		name string
		args []string
	}{
		{"h2c", []string{plain + "/", "--http", "h2c"}},
		{"h2 over TLS", []string{tls + "/", "--http", "2", "-k"}},
		{"http/1.1 over TLS", []string{tls + "/", "-k"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := meshperf(t, append([]string{"run", "--rps", "100", "-d", "1s", "-c", "2", "--streams", "2", "-o", "json"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var res spec.Result
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatal(err)
			}
			if res.Achieved.Responses != 100 || res.Achieved.Errors != 0 {
				t.Errorf("responses %d errors %+v", res.Achieved.Responses, res.Errors)
			}
		})
	}
	// Without -k the self-signed certificate is refused, and said so.
	out, _, code := meshperf(t, "run", tls+"/", "--http", "2", "--rps", "20", "-d", "1s")
	if code != cli.ExitFailed || !strings.Contains(out, "tls") {
		t.Errorf("exit %d, report:\n%s", code, out)
	}
}

func TestGenerators(t *testing.T) {
	out, errOut, code := meshperf(t, "generators", "-o", "json")
	if code != 0 {
		t.Fatalf("generators: %d %s", code, errOut)
	}
	var rows []struct {
		Name      string `json:"name"`
		Available bool   `json:"available"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) < 5 || rows[0].Name != "meshperf" || !rows[0].Available {
		t.Fatalf("generators: %v %s", err, out)
	}
	url := startEcho(t, "--delay", "1ms")
	// The real wrk from Debian (CI installs it).
	out, errOut, code = meshperf(t, "run", url+"/", "--generator", "wrk", "-c", "2", "-d", "1s", "-o", "json", "--no-save")
	if code != 0 {
		t.Fatalf("--generator wrk: exit %d %s", code, errOut)
	}
	if !strings.Contains(errOut, "meshperf: wrk runs closed loop only, so this run is closed loop") {
		t.Errorf("without --rps, wrk's run should say it is closed loop: %q", errOut)
	}
	var res spec.Result
	json.Unmarshal([]byte(out), &res)
	if res.Generator.Name != "wrk" || res.Achieved.Requests < 100 {
		t.Errorf("wrk result: %+v %+v", res.Generator, res.Achieved)
	}
	for _, tc := range []struct {
		name, want string
		args       []string
	}{
		{"a field wrk cannot honour", "rps: wrk cannot hold a fixed rate", []string{"--generator", "wrk", "--rps", "100"}},
		{"unknown generator", `unknown load generator "gatling"`, []string{"--generator", "gatling"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := meshperf(t, append([]string{"run", url + "/", "-d", "1s", "--no-save"}, tc.args...)...)
			if code != cli.ExitUsage || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q, want %q", code, errOut, tc.want)
			}
		})
	}
	// A generator that is not installed says how to get it.
	_, errOut, code = meshperf(t, "run", url+"/", "--generator", "vegeta", "--rps", "10", "-d", "1s", "--no-save")
	if code == 0 || !strings.Contains(errOut, "vegeta") {
		t.Errorf("missing vegeta: exit %d %q", code, errOut)
	}
}
