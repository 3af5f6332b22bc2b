//go:build bench

package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The gRPC comparison: ghz and meshperf call meshperf.echo.v1.Echo/Echo on
// one `meshperf echo --grpc` server at the same fixed rate over the same
// connections and concurrency, interleaved, and the client's CPU (its
// rusage as a child process) is divided by the calls completed.
//
// Knobs (environment), besides BENCH_RUNS and BENCH_DURATION:
//
//	BENCH_GRPC_RPS    fixed rate (2000)
//	BENCH_GRPC_CONNS  gRPC channels/connections (10); concurrency is 5 per connection
//	BENCH_GHZ         the ghz binary ($HOME/go/bin/ghz, then $PATH)

const grpcBody = `{"message":"hello"}`

func ghzBinary() (string, error) {
	if p := os.Getenv("BENCH_GHZ"); p != "" {
		return p, nil
	}
	if home, err := os.UserHomeDir(); err == nil {
		if p := filepath.Join(home, "go", "bin", "ghz"); fileExists(p) {
			return p, nil
		}
	}
	return exec.LookPath("ghz")
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// startGRPCEcho runs `meshperf echo --grpc` and returns its address and a
// function that stops it.
func startGRPCEcho(bin string) (addr string, stop func(), err error) {
	cmd := exec.Command(bin, "echo", "--addr", "127.0.0.1:0", "--grpc", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop = func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), "listening on grpc://"); ok {
				found <- strings.Fields(rest)[0]
			}
		}
	}()
	select {
	case addr = <-found:
		return addr, stop, nil
	case <-time.After(10 * time.Second):
		stop()
		return "", nil, fmt.Errorf("meshperf echo --grpc did not say where it listens")
	}
}

// ghzResult is what is read of ghz's JSON report.
type ghzResult struct {
	Count   int64            `json:"count"`
	Total   float64          `json:"total"` // ns
	RPS     float64          `json:"rps"`
	Codes   map[string]int64 `json:"statusCodeDistribution"`
	Errors  map[string]int64 `json:"errorDistribution"`
	Average float64          `json:"average"`
}

func parseGhz(b []byte) (toolResult, error) {
	var g ghzResult
	if err := json.Unmarshal(b, &g); err != nil {
		return toolResult{}, fmt.Errorf("ghz json: %v", err)
	}
	ok := g.Codes["OK"]
	var errs int64
	for _, n := range g.Errors {
		errs += n
	}
	return toolResult{RPS: g.RPS, Requests: ok, Errors: g.Count - ok, Duration: g.Total / 1e9}, nil
}

// runChild runs one client process for the comparison and measures it.
func runChild(name, bin string, args []string, d time.Duration, run int, parse func([]byte) (toolResult, error), quietWait time.Duration) runResult {
	res := runResult{Peer: name, Run: run, Cmd: filepath.Base(bin) + " " + strings.Join(args, " ")}
	res.Background = background(quietWait)
	ctx, cancel := context.WithTimeout(context.Background(), d+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	skip := othersSkip()
	snap0 := cpuSnapshot()
	start := time.Now()
	werr := cmd.Run()
	res.Wall = time.Since(start).Seconds()
	res.Others = float64(cpuDelta(snap0, cpuSnapshot(), skip)) / clockTicks() / res.Wall
	if ps := cmd.ProcessState; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			res.CPUUser = time.Duration(ru.Utime.Nano()).Seconds()
			res.CPUSys = time.Duration(ru.Stime.Nano()).Seconds()
			res.MaxRSSMB = float64(ru.Maxrss) / 1024
		}
	}
	tr, perr := parse(stdout.Bytes())
	exitOK := werr == nil || (cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == 1 && perr == nil)
	switch {
	case ctx.Err() != nil:
		res.Err = "killed: " + tail(stderr.Bytes(), 300)
	case !exitOK:
		res.Err = fmt.Sprintf("%v: %s", werr, tail(append(stderr.Bytes(), stdout.Bytes()...), 300))
	case perr != nil:
		res.Err = fmt.Sprintf("%v; stderr: %s", perr, tail(stderr.Bytes(), 300))
	default:
		res.OK = true
	}
	res.RPS, res.Requests, res.Errors, res.ToolDur = tr.RPS, tr.Requests, tr.Errors, tr.Duration
	res.LatP50Ms, res.SvcP50Ms = tr.LatencyP50Ms, tr.ServiceP50Ms
	return res
}

// BenchmarkGRPCUnary: ghz and meshperf at a fixed rate of unary calls on one
// server; reported: each one's client CPU per million calls and their ratio.
func BenchmarkGRPCUnary(b *testing.B) { benchGRPC(b, false) }

// BenchmarkGRPCUnaryClosedLoop: ghz and meshperf as fast as they can over
// the same connections and calls in flight; reported: each one's calls per
// second and CPU per million calls, and the ratios.
func BenchmarkGRPCUnaryClosedLoop(b *testing.B) { benchGRPC(b, true) }

func benchGRPC(b *testing.B, closed bool) {
	s := setup(b)
	b.ReportMetric(0, "ns/op")
	rps := envFloat("BENCH_GRPC_RPS", 2000)
	conns := envInt("BENCH_GRPC_CONNS", 10)
	const perConn = 5
	key, title := "grpc", fmt.Sprintf("gRPC unary at %.0f rps: client CPU per million calls, meshperf and ghz", rps)
	rate := fmt.Sprintf("%.0f calls/s", rps)
	if closed {
		key, title, rate = "grpc-closed", "gRPC unary, closed loop: calls per second, meshperf and ghz", "closed loop"
	}
	sec := s.section(key, func() *section {
		sec := &section{
			Title: title,
			Params: fmt.Sprintf("meshperf.echo.v1.Echo/Echo on `meshperf echo --grpc`, %s, %d connections, %d calls in flight at most (%d per connection), %d runs of %s each, interleaved",
				rate, conns, conns*perConn, perConn, s.cfg.runs, s.cfg.dur),
			Peers: []string{"ghz", "meshperf"},
			Runs:  map[string][]runResult{},
		}
		if !closed {
			sec.OpenRPS = rps
		}
		fail := func(why string) *section {
			sec.Notes = append(sec.Notes, why)
			sec.Targets = append(sec.Targets, newTarget("meshperf/ghz CPU per million calls", "grpc-cpu-ratio", math.NaN(), math.NaN(), "<=", 1))
			if closed {
				sec.Targets = append(sec.Targets, newTarget("meshperf/ghz calls per second", "grpc-rps-ratio", math.NaN(), math.NaN(), ">=", 1))
			}
			return sec
		}
		if s.meshperf == "" {
			return fail("no meshperf: " + s.mpErr)
		}
		ghz, err := ghzBinary()
		if err != nil {
			return fail("ghz not found: go install github.com/bojand/ghz/cmd/ghz@latest (or set BENCH_GHZ)")
		}
		addr, stop, err := startGRPCEcho(s.meshperf)
		if err != nil {
			return fail("echo: " + err.Error())
		}
		defer stop()
		method := "meshperf.echo.v1.Echo/Echo"
		ghzArgs := []string{"--insecure", "--call", method, "-d", grpcBody, "-z", s.cfg.dur.String(),
			"-c", strconv.Itoa(conns * perConn), "--connections", strconv.Itoa(conns), "-O", "json", addr}
		mpArgs := []string{"run", "grpc://" + addr + "/" + method, "--body", grpcBody,
			"-c", strconv.Itoa(conns), "--streams", strconv.Itoa(perConn),
			"-d", s.cfg.dur.String(), "--output", "json", "--no-save", "--progress", "never"}
		if closed {
			mpArgs = append(mpArgs, "--rps", "0") // ghz without --rps is closed loop
		} else {
			r := strconv.FormatFloat(rps, 'f', -1, 64)
			ghzArgs = append(ghzArgs, "--rps", r)
			mpArgs = append(mpArgs, "--rps", r)
		}
		for run := 1; run <= s.cfg.runs; run++ {
			for _, p := range []struct {
				name, bin string
				args      []string
				parse     func([]byte) (toolResult, error)
			}{
				{"ghz", ghz, ghzArgs, parseGhz},
				{"meshperf", s.meshperf, mpArgs, parseMeshperf},
			} {
				r := runChild(p.name, p.bin, p.args, s.cfg.dur, run, p.parse, s.cfg.quietWait)
				b.Logf("%s run %d: ok=%v %.0f calls/s, %d calls, cpu %.2fs (%.1f s/Mcall) %s", p.name, run, r.OK, r.RPS, r.Requests, r.cpu(), r.cpuPerMReq(), r.Err)
				sec.Runs[p.name] = append(sec.Runs[p.name], r)
			}
		}
		m, g := medianOf(sec.Runs["meshperf"], runResult.cpuPerMReq), medianOf(sec.Runs["ghz"], runResult.cpuPerMReq)
		sec.Targets = append(sec.Targets, newTarget("meshperf/ghz CPU per million calls", "grpc-cpu-ratio", m, g, "<=", 1))
		if closed {
			rpsOf := func(r runResult) float64 { return r.RPS }
			sec.Targets = append(sec.Targets, newTarget("meshperf/ghz calls per second", "grpc-rps-ratio",
				medianOf(sec.Runs["meshperf"], rpsOf), medianOf(sec.Runs["ghz"], rpsOf), ">=", 1))
		} else {
			sec.Notes = append(sec.Notes, "meshperf's latency is corrected for coordinated omission (from intended send times); ghz's is not")
		}
		return sec
	})
	prefix := "grpc"
	if closed {
		prefix = "grpc-closed"
	}
	for _, p := range sec.Peers {
		metric(b, medianOf(sec.Runs[p], runResult.cpuPerMReq), p+"-"+prefix+"-cpu-s/Mreq")
		metric(b, medianOf(sec.Runs[p], func(r runResult) float64 { return r.RPS }), p+"-"+prefix+"-req/s")
	}
	for _, t := range sec.Targets {
		metric(b, t.Value, t.Unit)
	}
}

func envFloat(k string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(k), 64); err == nil && v > 0 {
		return v
	}
	return def
}

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil && v > 0 {
		return v
	}
	return def
}
