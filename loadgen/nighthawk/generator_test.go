package nighthawk

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/loadgen"
)

// fakeClient writes a shell script standing in for nighthawk_client and
// returns its path and the file where it records its arguments.
func fakeClient(t *testing.T, body string) (bin, argsFile string) {
	t.Helper()
	dir := t.TempDir()
	argsFile = filepath.Join(dir, "args")
	bin = filepath.Join(dir, "nighthawk_client")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + argsFile + "\n" + body + "\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, argsFile
}

func testPlan() *loadgen.Plan {
	return &loadgen.Plan{
		Name:        "nh",
		Targets:     []string{"http://127.0.0.1:8080/"},
		Rate:        loadgen.Constant(2000),
		Duration:    5 * time.Second,
		Connections: 100,
		Headers:     []loadgen.Header{{Name: "x-test", Value: "1"}},
	}
}

func TestRunSuccess(t *testing.T) {
	fixture, _ := filepath.Abs(filepath.Join("testdata", "nighthawk-output-open-loop.json"))
	bin, argsFile := fakeClient(t, "cat "+fixture)
	var got []loadgen.Progress
	g := &Generator{Binary: bin}
	r, err := g.Run(context.Background(), testPlan(), loadgen.SinkFunc(func(p loadgen.Progress) { got = append(got, p) }))
	if err != nil {
		t.Fatal(err)
	}
	if r.Achieved.Responses != 1317 || r.Name != "nh" || r.Requested.Targets[0] != "http://127.0.0.1:8080/" || r.Generator.Version != "0.3.0" {
		t.Errorf("result = %+v", r)
	}
	if len(got) != 1 || got[0].SoFar.Requests != 9999 {
		t.Errorf("progress = %+v", got)
	}
	b, _ := os.ReadFile(argsFile)
	args := strings.Join(strings.Fields(string(b)), " ")
	want := "--output-format json --rps 2000 --connections 100 --duration 5 --concurrency 1 --open-loop --max-pending-requests 100000 --timeout 30 --request-method GET --request-header x-test:1 http://127.0.0.1:8080/"
	if args != want {
		t.Errorf("args:\n got %s\nwant %s", args, want)
	}
}

func TestRunFailures(t *testing.T) {
	tests := []struct {
		name, script string
		plan         func(*loadgen.Plan)
		want         string
		is           error
	}{
		{name: "garbage", script: "echo garbage; echo 'warning: x' >&2", want: "nighthawk: malformed JSON at byte 1"},
		{name: "exit 3", script: "echo 'line1' >&2; echo '[critical] cannot connect' >&2; exit 3", want: "exited with status 3; stderr:\nline1\n[critical] cannot connect"},
		{name: "timeout", script: "exec sleep 5", plan: func(p *loadgen.Plan) { p.Duration = time.Second }, want: "did not finish within 1.2s"},
		{name: "closed loop", script: "true", plan: func(p *loadgen.Plan) { p.Rate = nil }, want: "rps: nighthawk cannot run closed loop", is: loadgen.ErrUnsupported},
		{name: "ramp", script: "true", plan: func(p *loadgen.Plan) { p.Rate = loadgen.Ramp{From: 1, To: 10, Over: time.Second} }, want: "rate_shape", is: loadgen.ErrUnsupported},
		{name: "body", script: "true", plan: func(p *loadgen.Plan) { p.Body = []byte("x") }, want: "body: nighthawk cannot send a request body", is: loadgen.ErrUnsupported},
		{name: "fractional duration", script: "true", plan: func(p *loadgen.Plan) { p.Duration = 1500 * time.Millisecond }, want: "--duration takes whole seconds", is: loadgen.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin, _ := fakeClient(t, tt.script)
			p := testPlan()
			if tt.plan != nil {
				tt.plan(p)
			}
			g := &Generator{Binary: bin, Grace: 200 * time.Millisecond}
			r, err := g.Run(context.Background(), p, nil)
			if err == nil {
				t.Fatalf("no error; result %+v", r)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
		})
	}
}

func TestRunMissingBinary(t *testing.T) {
	g := &Generator{Binary: filepath.Join(t.TempDir(), "nighthawk_client")}
	_, err := g.Run(context.Background(), testPlan(), nil)
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "github.com/envoyproxy/nighthawk") || !strings.Contains(err.Error(), "container image") {
		t.Errorf("error = %v", err)
	}
}

func TestRunBestEffortBody(t *testing.T) {
	fixture, _ := filepath.Abs(filepath.Join("testdata", "nighthawk-output-open-loop.json"))
	bin, argsFile := fakeClient(t, "cat "+fixture)
	p := testPlan()
	p.Body = []byte("hello")
	r, err := (&Generator{Binary: bin, BestEffort: true}).Run(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(argsFile)
	if !strings.Contains(string(b), "--request-body-size\n5\n") || !strings.Contains(strings.Join(r.Notes, "\n"), "5 filler bytes") {
		t.Errorf("args %q, notes %q", b, r.Notes)
	}
}
