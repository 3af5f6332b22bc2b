package wrk2

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/echo"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/loadgen/native"
	"github.com/meshperf/meshperf/spec"
)

func plan(mod func(*loadgen.Plan)) *loadgen.Plan {
	p := &loadgen.Plan{Targets: []string{"http://127.0.0.1:1/x"}, Duration: 3 * time.Second, Connections: 8}
	if mod != nil {
		mod(p)
	}
	p.Normalize()
	return p
}

func TestArgs(t *testing.T) {
	threads := strconv.Itoa(min(8, runtime.GOMAXPROCS(0)))
	tests := []struct {
		name string
		gen  string
		plan *loadgen.Plan
		want []string
	}{
		{"closed loop", "wrk", plan(nil),
			[]string{"-t", threads, "-c", "8", "-d", "3s", "--timeout", "30s", "--latency", "-s", "S", "http://127.0.0.1:1/x"}},
		{"one connection, partial seconds, headers", "wrk", plan(func(p *loadgen.Plan) {
			p.Connections = 1
			p.Duration = 2500 * time.Millisecond
			p.Timeout = 1500 * time.Millisecond
			p.Headers = []loadgen.Header{{Name: "X-A", Value: "1"}}
			p.ContentType = "text/plain"
		}), []string{"-t", "1", "-c", "1", "-d", "3s", "--timeout", "2s", "--latency", "-s", "S", "-H", "X-A: 1", "-H", "Content-Type: text/plain", "http://127.0.0.1:1/x"}},
		{"threads given", "wrk", plan(func(p *loadgen.Plan) { p.Threads = 3 }),
			[]string{"-t", "3", "-c", "8", "-d", "3s", "--timeout", "30s", "--latency", "-s", "S", "http://127.0.0.1:1/x"}},
		{"wrk2 rate", "wrk2", plan(func(p *loadgen.Plan) { p.Rate = loadgen.Constant(2000) }),
			[]string{"-t", threads, "-c", "8", "-d", "3s", "--timeout", "30s", "--latency", "-R", "2000", "-s", "S", "http://127.0.0.1:1/x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := (&Generator{Name: tt.gen}).args(tt.plan, "S")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name, gen, field string
		mod              func(*loadgen.Plan)
	}{
		{"wrk fixed rate", "wrk", "rps", func(p *loadgen.Plan) { p.Rate = loadgen.Constant(100) }},
		{"wrk2 closed loop", "wrk2", "rps", nil},
		{"wrk2 ramp", "wrk2", "rate_shape", func(p *loadgen.Plan) {
			p.Rate = loadgen.Ramp{From: 1, To: 10, Over: time.Second}
		}},
		{"warm-up", "wrk", "warmup", func(p *loadgen.Plan) { p.Warmup = time.Second }},
		{"request count", "wrk", "requests", func(p *loadgen.Plan) { p.Requests = 10 }},
		{"cookies", "wrk", "cookies", func(p *loadgen.Plan) { p.Cookies = []loadgen.Header{{Name: "a", Value: "b"}} }},
		{"http2", "wrk", "http_version", func(p *loadgen.Plan) { p.HTTPVersion = loadgen.HTTP2 }},
		{"two targets", "wrk", "endpoint_urls", func(p *loadgen.Plan) { p.Targets = append(p.Targets, p.Targets[0]) }},
		{"client cert", "wrk", "cert_file", func(p *loadgen.Plan) { p.TLS.CertFile = "c.pem" }},
		{"sni", "wrk", "sni", func(p *loadgen.Plan) { p.TLS.ServerName = "x" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &Generator{Name: tt.gen}
			_, err := loadgen.Check(g.name(), g.Capabilities(), plan(tt.mod), false)
			var ue *loadgen.UnsupportedError
			if !errors.As(err, &ue) || ue.Field != tt.field {
				t.Errorf("Check = %v, want an unsupported %s", err, tt.field)
			}
		})
	}
	ok := []*loadgen.Plan{plan(func(p *loadgen.Plan) {
		p.Headers = []loadgen.Header{{Name: "a", Value: "b"}}
		p.Body = []byte("x")
		p.TLS.SkipVerify = true
	})}
	for _, p := range ok {
		g := &Generator{Name: "wrk"}
		if _, err := loadgen.Check(g.name(), g.Capabilities(), p, false); err != nil {
			t.Errorf("Check: %v", err)
		}
	}
}

func TestMissingBinary(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := (&Generator{Name: "wrk"}).Run(context.Background(), plan(nil), nil)
	const want = "wrk not found on PATH: install it with apt-get install wrk (or set Path)"
	if err == nil || err.Error() != want || !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v, want %q", err, want)
	}
}

// fake writes a shell script standing in for wrk.
func fake(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "wrk")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFakeBinary(t *testing.T) {
	fixture, _ := filepath.Abs("testdata/wrk-latency.txt")
	tests := []struct {
		name, script string
		want         []string
	}{
		{"garbage", "echo 'Segmentation fault? no, just noise'", []string{"no MESHPERF-BEGIN", `"N requests in T"`}},
		{"exit 3", "echo 'unable to connect to 127.0.0.1:1' >&2; exit 3", []string{"exit status 3", "unable to connect"}},
		{"truncated", "echo MESHPERF-BEGIN; echo requests 5", []string{"truncated"}},
		{"fixture", "cat " + fixture, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &Generator{Name: "wrk", Path: fake(t, tt.script)}
			res, err := g.Run(context.Background(), plan(nil), nil)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if res.Achieved.Responses != 356259 || res.Generator.Fidelity != loadgen.FidelityPercentiles {
					t.Errorf("responses %d, fidelity %q", res.Achieved.Responses, res.Generator.Fidelity)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; result %+v", res)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestInterrupt(t *testing.T) {
	fixture, _ := filepath.Abs("testdata/wrk-latency.txt")
	// Like wrk: on SIGINT, print the report and exit 0.
	path := fake(t, `[ "$1" = -v ] && { echo fake; exit 1; }
trap 'cat `+fixture+`; exit 0' INT
sleep 20 >/dev/null 2>&1 & wait`)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := (&Generator{Name: "wrk", Path: path}).Run(ctx, plan(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.Achieved.Responses != 356259 {
		t.Errorf("interrupted %v, responses %d", res.Interrupted, res.Achieved.Responses)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s to stop", d)
	}
}

// TestAgainstNative runs the real wrk and the native engine on the same
// plan against the echo server and compares their medians.
func TestAgainstNative(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for 6 s")
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Fatal("wrk is not installed: install it with apt-get install wrk (CI installs it)")
	}
	delay, err := echo.ParseDelay("2ms")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	go func() { _ = echo.Serve(ctx, ln, echo.Options{Delay: delay}) }()

	mk := func() *loadgen.Plan {
		return &loadgen.Plan{Targets: []string{"http://" + ln.Addr().String() + "/"}, Duration: 3 * time.Second, Connections: 4}
	}
	g := &Generator{Name: "wrk", Timeout: 10 * time.Second}
	w, err := g.Run(ctx, mk(), nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := (&native.Engine{}).Run(ctx, mk(), nil)
	if err != nil {
		t.Fatal(err)
	}
	wp50, _ := w.ServiceTime.At(50)
	np50, _ := n.ServiceTime.At(50)
	t.Logf("wrk %s: %d responses, %.0f/s, p50 %.3f ms, p99 %.3f ms, fidelity %s",
		w.Generator.Version, w.Achieved.Responses, w.Achieved.RPS, wp50, at(w, 99), w.Generator.Fidelity)
	t.Logf("native: %d responses, %.0f/s, p50 %.3f ms, p99 %.3f ms", n.Achieved.Responses, n.Achieved.RPS, np50, at(n, 99))
	if w.Achieved.Responses == 0 || w.Achieved.Errors != 0 {
		t.Errorf("wrk: %d responses, %d errors", w.Achieved.Responses, w.Achieved.Errors)
	}
	if w.Generator.Fidelity != loadgen.FidelityBucketed || w.Generator.Version == "" || strings.ContainsAny(w.Generator.Version, " []") || !strings.ContainsAny(w.Generator.Version, "0123456789") {
		t.Errorf("generator %+v: want the script's block and wrk's version token (not its banner)", w.Generator)
	}
	// wrk's Lua percentile(100) reads 0: the max must be the one wrk
	// reports, at or above every percentile.
	wmax, ok := w.ServiceTime.Value(100)
	if !ok || wmax <= 0 || wmax != w.ServiceTime.MaxMs || wmax < at(w, 99.99) {
		t.Errorf("wrk max %v (ok %v), max_ms %v, p99.99 %v: want the max wrk reported, above every percentile", wmax, ok, w.ServiceTime.MaxMs, at(w, 99.99))
	}
	if d := wp50 - np50; d > 0.51 || d < -0.51 {
		t.Errorf("p50: wrk %.3f ms, native %.3f ms: differ by more than 0.5 ms + 0.01 ms", wp50, np50)
	}
}

func at(r *spec.Result, p float64) float64 { v, _ := r.ServiceTime.At(p); return v }

// TestRealInterrupt cancels a real wrk run: wrk stops on SIGINT and still
// reports.
func TestRealInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("runs wrk")
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Fatal("wrk is not installed: install it with apt-get install wrk (CI installs it)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srvCtx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() { _ = echo.Serve(srvCtx, ln, echo.Options{}) }()
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	p := &loadgen.Plan{Targets: []string{"http://" + ln.Addr().String() + "/"}, Duration: 30 * time.Second, Connections: 2}
	start := time.Now()
	res, err := (&Generator{Name: "wrk"}).Run(ctx, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.Achieved.Responses == 0 || time.Since(start) > 10*time.Second {
		t.Errorf("interrupted %v, %d responses, after %s", res.Interrupted, res.Achieved.Responses, time.Since(start))
	}
}

// Debian's wrk given as wrk2 is refused before any load: it has no -R.
func TestWrkIsNotWrk2(t *testing.T) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		t.Fatalf("wrk is needed (apt-get install wrk): %v", err)
	}
	g := &Generator{Name: NameWrk2, Path: wrk}
	_, err = g.Run(context.Background(), plan(func(p *loadgen.Plan) { p.Rate = loadgen.Constant(100) }), nil)
	if !errors.Is(err, ErrNotWrk2) || !strings.Contains(err.Error(), wrk) || !strings.Contains(err.Error(), "--rate") {
		t.Fatalf("err = %v, want ErrNotWrk2 naming %s and --rate", err, wrk)
	}

	// A binary whose usage lists --rate passes the check (and then runs).
	fakeWrk2 := fake(t, `if [ $# -eq 0 ]; then echo "  -R, --rate <T> work rate"; exit 1; fi; exit 7`)
	g = &Generator{Name: NameWrk2, Path: fakeWrk2}
	_, err = g.Run(context.Background(), plan(func(p *loadgen.Plan) { p.Rate = loadgen.Constant(100) }), nil)
	if err == nil || errors.Is(err, ErrNotWrk2) {
		t.Fatalf("err = %v, want the run's own failure (exit 7), not ErrNotWrk2", err)
	}
}
