package cli_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/spec"
)

// startProtoEcho runs `meshperf echo` with gRPC and TCP listeners and
// returns its URLs by scheme (http, grpc, tcp).
func startProtoEcho(t *testing.T, args ...string) map[string]string {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"echo", "--addr", "127.0.0.1:0",
		"--grpc", "127.0.0.1:0", "--tcp", "127.0.0.1:0"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	found := make(chan map[string]string, 1)
	go func() {
		urls := map[string]string{}
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`(http|grpc|tcp)://[0-9.:]+`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urls[m[1]] = m[0]
				if len(urls) == 3 {
					found <- urls
					break
				}
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
	return nil
}

func TestRunGRPCAndTCP(t *testing.T) {
	urls := startProtoEcho(t, "--delay", "1ms")
	tests := []struct {
		name  string
		args  []string
		proto string
		code  int // status code counted for every call (-1: none)
	}{
		{"grpc health", []string{urls["grpc"], "--rps", "200", "-d", "1s"}, "grpc", 0},
		{"grpc unary by reflection", []string{urls["grpc"] + "/meshperf.echo.v1.Echo/Echo", "--body", `{"message":"hi"}`,
			"--rps", "0", "-n", "200", "--streams", "4"}, "grpc", 0},
		{"grpc UNAVAILABLE", []string{urls["grpc"] + "/meshperf.echo.v1.Echo/Echo", "--body", `{"code":14}`, "-n", "20", "--rps", "0"}, "grpc", 14},
		{"tcp delimiter", []string{urls["tcp"], "--tcp-payload", `PING\n`, "--tcp-delimiter", `\n`, "--rps", "200", "-d", "1s"}, "tcp", -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := meshperf(t, append([]string{"run", "-c", "2", "--output", "json", "--no-save"}, tc.args...)...)
			var res spec.Result
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("exit %d, stderr %q: %v", code, errOut, err)
			}
			if res.Requested.Protocol != tc.proto {
				t.Errorf("protocol = %q, want %q", res.Requested.Protocol, tc.proto)
			}
			if res.Achieved.Requests == 0 {
				t.Fatalf("no requests: %+v", res.Achieved)
			}
			switch {
			case tc.code == 14:
				if res.StatusCodes[14] != res.Achieved.Requests || res.Errors[0].Class != "unavailable" {
					t.Errorf("codes %v, errors %+v; want every call UNAVAILABLE", res.StatusCodes, res.Errors)
				}
			case tc.code == 0:
				if code != 0 || res.Achieved.Errors != 0 || res.StatusCodes[0] != res.Achieved.Responses {
					t.Errorf("exit %d, errors %+v, codes %v", code, res.Errors, res.StatusCodes)
				}
			default:
				if code != 0 || res.Achieved.Errors != 0 || len(res.StatusCodes) != 0 {
					t.Errorf("exit %d, errors %+v, codes %v", code, res.Errors, res.StatusCodes)
				}
			}
		})
	}
}

func TestRunGRPCBadInput(t *testing.T) {
	urls := startProtoEcho(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"malformed body", []string{urls["grpc"] + "/meshperf.echo.v1.Echo/Echo", "--body", `{"message":`}, "body: not a valid meshperf.echo.v1.EchoRequest in JSON"},
		{"unknown method", []string{urls["grpc"] + "/meshperf.echo.v1.Echo/Nope"}, "has no method Nope"},
		{"missing descriptor", []string{urls["grpc"] + "/meshperf.echo.v1.Echo/Echo", "--proto-descriptor", "/nonexistent.pb"}, "--proto-descriptor: cannot read /nonexistent.pb"},
		{"bad delimiter escape", []string{urls["tcp"], "--tcp-payload", "x", "--tcp-delimiter", `\q`}, `--tcp-delimiter: "\\q": unknown escape \q`},
		{"both expectations", []string{urls["tcp"], "--tcp-payload", "x", "--tcp-delimiter", "x", "--tcp-expect-bytes", "3"}, "--tcp-expect-bytes/--tcp-delimiter: give a number of bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := meshperf(t, append([]string{"run", "-n", "1", "--no-save"}, tc.args...)...)
			if code == 0 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want a failure saying %q", code, errOut, tc.want)
			}
		})
	}
}
