//go:build bench

package capacity

// BenchmarkConvergence measures the time and steps the search takes to find
// three known limits, against plain linear sweeps over the same range, on
// real runs against an in-process echo target. It is behind the bench tag
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
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/echo"
	"github.com/meshperf/meshperf/internal/runner"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

const (
	benchMin, benchMax = 100, 5000
	benchStep          = time.Second
	benchWarmup        = time.Second
	benchTolerance     = 0.05
)

// echoStepper serves echo degrading above limit (100ms more per request)
// and runs each step on the runner, as the CLI does.
func echoStepper(b *testing.B, limit int) (StepperFunc, func()) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = echo.Serve(ctx, ln, echo.Options{Capacity: echo.Capacity{RPS: limit, Mode: echo.OverloadDelay, Delay: 100 * time.Millisecond}})
	}()
	url := "http://" + ln.Addr().String() + "/"
	step := func(ctx context.Context, s StepSpec) (*spec.Result, error) {
		p := &loadgen.Plan{Targets: []string{url}, Connections: 64, Rate: loadgen.Constant(s.RPS),
			Duration: benchStep, Warmup: benchWarmup}
		p.Normalize()
		return runner.Run(ctx, "bench", []*loadgen.Plan{p}, nil)
	}
	return step, func() { cancel(); <-done }
}

// linearSweep runs min, min+delta, ... until a step breaks an objective,
// and returns the last rate met and the steps run. It is what a capacity
// search replaces: no bracketing, no confirmation.
func linearSweep(ctx context.Context, st Stepper, o Options, delta float64) (float64, int, error) {
	last, n := 0.0, 0
	for r := o.Min; r <= o.Max && n < MaxStepsCap; r += delta {
		n++
		res, err := st.Step(ctx, StepSpec{N: n, RPS: r, Phase: "linear"})
		if err != nil {
			return last, n, err
		}
		if !judge(n, r, "linear", res, o).Met {
			return last, n, nil
		}
		last = r
	}
	return last, n, nil
}

func BenchmarkConvergence(b *testing.B) {
	objs, err := spec.ParseObjectives("p99<=50ms,error_rate<0.1%")
	if err != nil {
		b.Fatal(err)
	}
	o := Options{Min: benchMin, Max: benchMax, Tolerance: benchTolerance, Confirm: 2, MaxSteps: DefaultMaxSteps,
		Objectives: objs}
	var table strings.Builder
	fmt.Fprintf(&table, "| limit | method | answer | steps | time |\n|---|---|---|---|---|\n")
	for range b.N {
		for _, limit := range []int{300, 800, 2000} {
			step, stop := echoStepper(b, limit)
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
				last, n, err := linearSweep(ctx, step, o, sw.delta)
				if err != nil {
					b.Fatal(err)
				}
				el = time.Since(start)
				fmt.Fprintf(&table, "| %d | %s | %s (next %s) | %d | %.1fs |\n", limit, sw.name, fmtRate(last),
					fmtRate(last+sw.delta), n, el.Seconds())
			}
			stop()
		}
	}
	b.Logf("step %s after a %s warm-up, objectives p99<=50ms,error_rate<0.1%%, range %d–%d, tolerance %.0f%%, 2 confirmations\n%s",
		benchStep, benchWarmup, benchMin, benchMax, 100*benchTolerance, table.String())
}
