//go:build bench

package capacity

// BenchmarkConvergence measures the time and steps the search takes to find
// three known limits, against plain linear sweeps over the same range, on
// real runs against a `meshperf echo --capacity` process. It is behind the bench tag
// (a few minutes of load):
//
//	go test -tags bench -run '^$' -bench Convergence -benchtime 1x -v ./internal/capacity/
//
// The figures are in docs/benchmarks.md.

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/runner"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

const (
	benchMin, benchMax = 100, 5000
	benchStep          = 2 * time.Second
	benchWarmup        = time.Second
	benchTolerance     = 0.05
)

// echoStepper starts `meshperf echo` (its own process, so its CPU and
// pauses are not the client's) answering 503 above limit requests a second,
// and runs each step on the runner, as the CLI does. Reject mode and an
// error-rate objective, because on a loaded 2-core machine stalls of 50 ms
// and more break latency objectives at any rate (in delay mode the sweeps
// stopped at 100 rps), while they do not make errors.
func echoStepper(b *testing.B, bin string, limit int) (StepperFunc, func()) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "echo", "--addr", addr, "--capacity", strconv.Itoa(limit), "--overload", "reject")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	url := "http://" + addr + "/"
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := http.Get(url + "healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("echo did not start: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	step := func(ctx context.Context, s StepSpec) (*spec.Result, error) {
		p := &loadgen.Plan{Targets: []string{url}, Connections: 64, Rate: loadgen.Constant(s.RPS),
			Duration: benchStep, Warmup: benchWarmup}
		p.Normalize()
		return runner.Run(ctx, "bench", []*loadgen.Plan{p}, nil)
	}
	return step, func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }
}

// buildMeshperf builds the binary for the echo target.
func buildMeshperf(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "meshperf")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/meshperf/meshperf/cmd/meshperf").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// linearSweep runs min, min+delta, ... until a step breaks an objective,
// and returns the last rate met, the first broken and the steps run. It is
// what a capacity search replaces: no bracketing, no confirmation.
func linearSweep(ctx context.Context, st Stepper, o Options, delta float64) (last, broke float64, n int, err error) {
	for r := o.Min; r <= o.Max && n < MaxStepsCap; r += delta {
		n++
		res, err := st.Step(ctx, StepSpec{N: n, RPS: r, Phase: "linear"})
		if err != nil {
			return last, 0, n, err
		}
		if !judge(n, r, "linear", res, o).Met {
			return last, r, n, nil
		}
		last = r
	}
	return last, 0, n, nil
}

func BenchmarkConvergence(b *testing.B) {
	objs, err := spec.ParseObjectives("error_rate<1%")
	if err != nil {
		b.Fatal(err)
	}
	o := Options{Min: benchMin, Max: benchMax, Tolerance: benchTolerance, Confirm: 2, MaxSteps: DefaultMaxSteps,
		Objectives: objs}
	bin := buildMeshperf(b)
	var table strings.Builder
	fmt.Fprintf(&table, "| limit | method | answer | steps | time |\n|---|---|---|---|---|\n")
	for range b.N {
		for _, limit := range []int{300, 800, 2000} {
			step, stop := echoStepper(b, bin, limit)
			ctx := context.Background()

			start := time.Now()
			rep, err := Search(ctx, step, o, nil)
			if err != nil {
				b.Fatal(err)
			}
			el := time.Since(start)
			fmt.Fprintf(&table, "| %d | search (%s) | %s (breaks %s) | %d | %.1fs |\n", limit, rep.Outcome,
				fmtRate(rep.Sustained), fmtRate(rep.Breaks), len(rep.Steps), el.Seconds())
			b.ReportMetric(float64(len(rep.Steps)), fmt.Sprintf("steps/search-%d", limit))
			b.ReportMetric(el.Seconds(), fmt.Sprintf("s/search-%d", limit))

			// The oracle sweep: a step of 5% of the limit, so its answer is
			// as precise as the search's; it needs the limit known.
			// The blind sweep: a step of --min, as one would pick without
			// knowing the limit.
			for _, sw := range []struct {
				name  string
				delta float64
			}{
				{"linear, step 5% of the limit", math.Round(benchTolerance * float64(limit))},
				{fmt.Sprintf("linear, step %d", benchMin), benchMin},
			} {
				start = time.Now()
				last, broke, n, err := linearSweep(ctx, step, o, sw.delta)
				if err != nil {
					b.Fatal(err)
				}
				el = time.Since(start)
				fmt.Fprintf(&table, "| %d | %s | %s (breaks %s) | %d | %.1fs |\n", limit, sw.name, fmtRate(last),
					fmtRate(broke), n, el.Seconds())
			}
			stop()
		}
	}
	b.Logf("step %s after a %s warm-up, objective error_rate<1%% (echo --overload reject), range %d–%d, tolerance %.0f%%, 2 confirmations\n%s",
		benchStep, benchWarmup, benchMin, benchMax, 100*benchTolerance, table.String())
}

// BenchmarkConvergenceModel counts the steps against a model target that
// answers consistently (p99 1ms up to the limit, 200ms above), for limits
// the real benchmark cannot reach on this machine: the search against the
// two linear sweeps, over the default range 100–50,000.
func BenchmarkConvergenceModel(b *testing.B) {
	objs, err := spec.ParseObjectives("p99<=50ms")
	if err != nil {
		b.Fatal(err)
	}
	o := Options{Min: 100, Max: 50_000, Tolerance: benchTolerance, Confirm: 2, MaxSteps: MaxStepsCap, Objectives: objs}
	var table strings.Builder
	for range b.N {
		table.Reset()
		fmt.Fprintf(&table, "| limit | search: answer, steps | linear, step 5%% of the limit: steps | linear, step 100: steps |\n|---|---|---|---|\n")
		for _, limit := range []float64{300, 800, 2000, 10_000, 45_000} {
			m := &model{limit: limit}
			rep, err := Search(context.Background(), m, o, nil)
			if err != nil {
				b.Fatal(err)
			}
			// A sweep's step count is (limit - min)/delta + 2 (up to the
			// first broken rate); it has no bound but MaxStepsCap.
			sweep := func(delta float64) string {
				_, _, n, err := linearSweep(context.Background(), &model{limit: limit}, o, delta)
				if err != nil {
					b.Fatal(err)
				}
				if n >= MaxStepsCap {
					return fmt.Sprintf("> %d", MaxStepsCap)
				}
				return strconv.Itoa(n)
			}
			fmt.Fprintf(&table, "| %s | %s (breaks %s), %d | %s | %s |\n", fmtRate(limit), fmtRate(rep.Sustained), fmtRate(rep.Breaks),
				len(rep.Steps), sweep(math.Round(benchTolerance*limit)), sweep(100))
		}
	}
	b.Logf("model target, range 100–50,000, tolerance 5%%, 2 confirmations (bound %d steps)\n%s", o.StepBound(), table.String())
}
