package vegeta

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

// fakeVegeta writes a shell script standing in for vegeta: attack records
// its arguments and stdin and runs attack; encode runs encode.
func fakeVegeta(t *testing.T, attack, encode string) (bin, dir string) {
	t.Helper()
	dir = t.TempDir()
	bin = filepath.Join(dir, "vegeta")
	script := `#!/bin/sh
case "$1" in
-version) echo "Version: 12.12.0"; echo "Commit: abc";;
attack) printf '%s\n' "$@" > ` + dir + `/args; cat > ` + dir + `/stdin
` + attack + `;;
encode) ` + encode + `;;
esac
`
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, dir
}

func testPlan() *loadgen.Plan {
	return &loadgen.Plan{
		Name:        "v",
		Targets:     []string{"http://127.0.0.1:8088/", "http://127.0.0.1:8088/b"},
		Rate:        loadgen.Constant(2000),
		Duration:    3 * time.Second,
		Connections: 50,
		Headers:     []loadgen.Header{{Name: "X-Test", Value: "1"}},
	}
}

func TestRunSuccess(t *testing.T) {
	fixture, _ := filepath.Abs(filepath.Join("testdata", "vegeta-results-head200.jsonl"))
	bin, dir := fakeVegeta(t, "", "cat "+fixture)
	var progress []loadgen.Progress
	r, err := (&Generator{Binary: bin}).Run(context.Background(), testPlan(), loadgen.SinkFunc(func(p loadgen.Progress) { progress = append(progress, p) }))
	if err != nil {
		t.Fatal(err)
	}
	if r.Generator.Version != "12.12.0" || r.Generator.Fidelity != "hdr" || r.Achieved.Requests != 200 || r.Name != "v" {
		t.Errorf("result = %+v", r)
	}
	q := r.Requested
	if q.RPS != 2000 || q.Shape != "constant 2000/s" || !q.OpenLoop || q.Connections != 50 || q.Duration.D() != 3*time.Second || len(q.Targets) != 2 {
		t.Errorf("requested = %+v", q)
	}
	if len(progress) != 1 || progress[0].SoFar.Requests != 200 {
		t.Errorf("progress = %+v", progress)
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	got := strings.Join(strings.Split(strings.TrimSpace(string(args)), "\n"), " ")
	for _, want := range []string{"attack -output ", "-format http -duration 3s -connections 50 -workers 50 -max-workers 50 -rate 2000/1s -timeout 30s -http2=false -header X-Test: 1"} {
		if !strings.Contains(got, want) {
			t.Errorf("args %q lack %q", got, want)
		}
	}
	stdin, _ := os.ReadFile(filepath.Join(dir, "stdin"))
	if want := "GET http://127.0.0.1:8088/\n\nGET http://127.0.0.1:8088/b\n\n"; string(stdin) != want {
		t.Errorf("targets = %q, want %q", stdin, want)
	}
}

func TestAttackArgs(t *testing.T) {
	p := testPlan()
	p.Rate = loadgen.Constant(2.5)
	p.Body = []byte("hi")
	p.HTTPVersion = loadgen.H2C
	p.TLS.SkipVerify = true
	p.Normalize()
	args, files, err := (&Generator{}).AttackArgs(p, "/d")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(args, " ")
	for _, want := range []string{"-rate 2500/1000s", "-h2c", "-body /d/body", "-insecure"} {
		if !strings.Contains(got, want) {
			t.Errorf("args %q lack %q", got, want)
		}
	}
	if string(files["/d/body"]) != "hi" {
		t.Errorf("files = %v", files)
	}
	p.Rate = nil
	args, _, _ = (&Generator{}).AttackArgs(p, "/d")
	if !strings.Contains(strings.Join(args, " "), "-rate 0") {
		t.Errorf("closed loop args = %v", args)
	}
}

func TestRunFailures(t *testing.T) {
	tests := []struct {
		name, attack, encode string
		plan                 func(*loadgen.Plan)
		want                 string
		is                   error
	}{
		{name: "attack exits 3", attack: "echo 'error: bad target' >&2; exit 3", want: "vegeta: attack: vegeta exited with status 3; stderr:\nerror: bad target"},
		{name: "encode garbage", encode: "echo garbage", want: "vegeta: results line 1: malformed JSON"},
		{name: "encode exits 3", encode: "echo 'decode: EOF' >&2; exit 3", want: "vegeta: encode: vegeta exited with status 3; stderr:\ndecode: EOF"},
		{name: "no results", encode: "true", want: "vegeta: no results"},
		{name: "timeout", attack: "exec sleep 5", plan: func(p *loadgen.Plan) { p.Duration = time.Second }, want: "attack did not finish within 1.2s"},
		{name: "ramp", plan: func(p *loadgen.Plan) { p.Rate = loadgen.Ramp{From: 1, To: 10, Over: time.Second} }, want: "rate_shape: vegeta cannot", is: loadgen.ErrUnsupported},
		{name: "warmup", plan: func(p *loadgen.Plan) { p.Warmup = time.Second }, want: "warmup: vegeta cannot", is: loadgen.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin, _ := fakeVegeta(t, tt.attack, tt.encode)
			p := testPlan()
			if tt.plan != nil {
				tt.plan(p)
			}
			r, err := (&Generator{Binary: bin, Grace: 200 * time.Millisecond}).Run(context.Background(), p, nil)
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

func TestRunCancelledKeepsResults(t *testing.T) {
	fixture, _ := filepath.Abs(filepath.Join("testdata", "vegeta-results-head200.jsonl"))
	bin, _ := fakeVegeta(t, "exec sleep 5", "cat "+fixture)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	r, err := (&Generator{Binary: bin}).Run(ctx, testPlan(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Interrupted || r.Achieved.Requests != 200 {
		t.Errorf("interrupted %v, requests %d", r.Interrupted, r.Achieved.Requests)
	}
}

func TestRunMissingBinary(t *testing.T) {
	_, err := (&Generator{Binary: filepath.Join(t.TempDir(), "vegeta")}).Run(context.Background(), testPlan(), nil)
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "go install github.com/tsenart/vegeta/v12@latest") || !strings.Contains(err.Error(), "release binary") {
		t.Errorf("error = %v", err)
	}
}
