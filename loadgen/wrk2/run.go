package wrk2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

// interruptGrace is how long wrk has to print its report after SIGINT
// before it is killed.
const interruptGrace = 5 * time.Second

// Run implements loadgen.Generator. wrk reports nothing while it runs, so
// sink receives nothing.
func (g *Generator) Run(ctx context.Context, p *loadgen.Plan, _ loadgen.Sink) (*spec.Result, error) {
	p.Normalize()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if _, err := loadgen.Check(g.name(), g.Capabilities(), p, false); err != nil {
		return nil, err
	}
	path, err := g.binary()
	if err != nil {
		return nil, err
	}
	info := g.Info()
	if g.isWrk2() {
		if err := checkRate(ctx, path, info.Version); err != nil {
			return nil, err
		}
	}

	dir, err := os.MkdirTemp("", "meshperf-wrk-")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", g.name(), err)
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "report.lua")
	env := os.Environ()
	files := []struct {
		name, env string
		data      []byte
	}{{"report.lua", "", reportLua}, {"method", "MESHPERF_METHOD_FILE", []byte(p.Method)}}
	if len(p.Body) > 0 {
		files = append(files, struct {
			name, env string
			data      []byte
		}{"body", "MESHPERF_BODY_FILE", p.Body})
	}
	for _, f := range files {
		fp := filepath.Join(dir, f.name)
		if err := os.WriteFile(fp, f.data, 0o600); err != nil {
			return nil, fmt.Errorf("%s: %w", g.name(), err)
		}
		if f.env != "" {
			env = append(env, f.env+"="+fp)
		}
	}
	args, err := g.args(p, script)
	if err != nil {
		return nil, err
	}

	margin := g.Timeout
	if margin <= 0 {
		margin = DefaultMargin
	}
	runCtx, cancel := context.WithTimeout(ctx, time.Duration(ceilSeconds(p.Duration))*time.Second+margin)
	defer cancel()
	cmd := exec.CommandContext(runCtx, path, args...)
	cmd.Env = env
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = interruptGrace
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	runErr := cmd.Run()
	end := time.Now()

	interrupted := runCtx.Err() != nil
	if interrupted && ctx.Err() == nil {
		return nil, fmt.Errorf("%s did not finish within %s of its %s run%s", g.name(), margin, p.Duration, stderrTail(&stderr))
	}
	if runErr != nil && !interrupted {
		var ee *exec.ExitError
		if errors.As(runErr, &ee) {
			return nil, fmt.Errorf("%s failed (%s)%s", g.name(), ee.ProcessState, stderrTail(&stderr))
		}
		return nil, fmt.Errorf("%s: %w%s", g.name(), runErr, stderrTail(&stderr))
	}
	parsed, err := Parse(stdout.Bytes(), g.name())
	if err != nil {
		if interrupted {
			return nil, fmt.Errorf("%s interrupted before it reported: %w", g.name(), err)
		}
		return nil, fmt.Errorf("%w%s", err, stderrTail(&stderr))
	}
	res := g.result(p, parsed, info)
	res.StartTime, res.EndTime = start.UTC(), end.UTC()
	if p.Duration%time.Second != 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("duration rounded up to %ds: %s takes whole seconds", ceilSeconds(p.Duration), g.name()))
	}
	if p.Timeout%time.Second != 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("request timeout rounded up to %ds: %s takes whole seconds", ceilSeconds(p.Timeout), g.name()))
	}
	if strings.HasPrefix(p.Targets[0], "https:") && !p.TLS.SkipVerify {
		res.Notes = append(res.Notes, g.name()+" does not verify server certificates")
	}
	if interrupted {
		res.Interrupted = true
		res.Notes = append(res.Notes, "interrupted: the figures cover the run up to the interruption")
	}
	return res, nil
}

// stderrTail formats the last lines of stderr for an error message.
func stderrTail(b *bytes.Buffer) string {
	if s := loadgen.OutputTail(b.Bytes(), 5); s != "" {
		return ": " + s
	}
	return ""
}

// result maps parsed output to a Result.
func (g *Generator) result(p *loadgen.Plan, x *Parsed, info loadgen.Info) *spec.Result {
	e := x.Errors
	sockets := e.Connect + e.Read + e.Write + e.Timeout
	res := &spec.Result{
		Schema: spec.ResultSchema,
		Name:   p.Name,
		Generator: spec.GeneratorInfo{
			// wrk and wrk2 record microseconds (wrk2 in an HdrHistogram
			// of 3 significant digits).
			Name: info.Name, Version: info.Version, Fidelity: loadgen.FidelityBucketed, HistogramResolutionUs: 1,
		},
		Requested: p.Requested(),
		Achieved: spec.Achieved{
			Duration:      spec.Duration(x.Duration),
			Requests:      x.Requests + sockets,
			Responses:     x.Requests,
			RPS:           x.RPS,
			Errors:        sockets + e.Status,
			BytesReceived: x.Bytes,
		},
		Timeline: []spec.Interval{},
	}
	if res.Achieved.Requests > 0 {
		res.Achieved.ErrorRate = float64(res.Achieved.Errors) / float64(res.Achieved.Requests)
	}
	for _, c := range []struct {
		class string
		n     int64
	}{
		{loadgen.ClassRefused, e.Connect}, {"read", e.Read}, {"write", e.Write}, {loadgen.ClassTimeout, e.Timeout},
	} {
		if c.n > 0 {
			res.Errors = append(res.Errors, spec.ErrorClass{Class: c.class, Count: c.n})
		}
	}
	dist, fid := distribution(x)
	res.Generator.Fidelity = fid
	if g.isWrk2() {
		res.Latency = dist
		res.Notes = append(res.Notes, "wrk2 latency is measured from each request's intended send time (corrected for coordinated omission); wrk2 reports no service time")
	} else {
		res.ServiceTime = dist
		res.Notes = append(res.Notes, "closed loop: requests were sent as fast as the connections allowed, so there are no intended send times and only service time is reported")
	}
	switch fid {
	case loadgen.FidelityBucketed:
		res.Notes = append(res.Notes, fmt.Sprintf("histogram rebuilt from %d percentiles printed by %s: the values between two of them are recorded at the upper one", len(x.Percentiles)+len(x.Spectrum), g.name()))
	default:
		res.Notes = append(res.Notes, fmt.Sprintf("only %d percentiles were available (the script's report was missing): the histogram is a rough step function through them", len(x.Percentiles)))
	}
	res.Notes = append(res.Notes, fmt.Sprintf("%s gives no count per status code: %d responses had a status above 399; connect, read, write and timeout errors are its socket error classes (connect errors are counted as %s)", g.name(), e.Status, loadgen.ClassRefused))
	if !x.FromScript {
		res.Notes = append(res.Notes, "bytes received are from wrk's rounded text")
	}
	return res
}

// distribution rebuilds a histogram from the parsed percentiles, preferring
// wrk2's spectrum with exact counts, and says its fidelity. The histogram
// passes through every printed point (hist.FromSteps with the values of a
// step at its upper end), and the percentile list follows the one rule
// (spec.PercentilesOf): the printed percentiles and the max win.
//
// wrk's Lua percentile(100) reads 0 (its rank runs past the last value), and
// a point below the one before it is as wrong: such points are left out, and
// the max is the one wrk reports (latency.max, or the text's Max), else the
// histogram's.
func distribution(x *Parsed) (*spec.Distribution, string) {
	fid := loadgen.FidelityBucketed
	pts := usablePoints(x.Percentiles)
	var steps []hist.Step
	switch {
	case len(x.Spectrum) > 0:
		for _, pt := range usablePoints(x.Spectrum) {
			steps = append(steps, hist.Step{Micros: pt.US, Count: pt.Count})
		}
	default:
		if !x.FromScript {
			fid = loadgen.FidelityPercentiles
		}
		n := x.Requests
		for i, pt := range pts {
			cum := int64(pt.P/100*float64(n) + 0.5)
			if i == 0 && cum == 0 && n > 0 {
				cum = 1 // the lowest point is a value that was seen
			}
			steps = append(steps, hist.Step{Micros: pt.US, Count: min(cum, n)})
		}
		if n > 0 {
			top := x.MaxUS
			if len(pts) > 0 {
				top = max(top, pts[len(pts)-1].US)
			}
			steps = append(steps, hist.Step{Micros: top, Count: n}) // the top step holds the rest
		}
	}
	h := hist.FromSteps(steps, 1)
	d := &spec.Distribution{
		Count:         h.Count(),
		MinMs:         x.MinUS / 1e3,
		MeanMs:        x.MeanUS / 1e3,
		StdDevMs:      x.StdevUS / 1e3,
		MaxMs:         x.MaxUS / 1e3,
		Histogram:     h.MustEncode(),
		HistogramUnit: hist.Unit,
	}
	if d.MaxMs == 0 {
		d.MaxMs = float64(h.Max()) / float64(time.Millisecond)
	}
	if d.MeanMs == 0 {
		d.MeanMs = float64(h.Mean()) / float64(time.Millisecond)
	}
	if len(pts) == 0 {
		pts = usablePoints(x.Spectrum)
	}
	exact := map[float64]float64{}
	for _, pt := range pts {
		if pt.P > 0 && pt.P < 100 {
			exact[pt.P] = pt.US / 1e3
		}
	}
	if h.Count() > 0 {
		d.Percentiles = spec.PercentilesOf(h, exact, d.MaxMs)
	}
	return d, fid
}

// usablePoints drops the points of a percentile list that go below the one
// before them (wrk's percentile(100), 0).
func usablePoints(ps []Point) []Point {
	out := make([]Point, 0, len(ps))
	for _, p := range ps {
		if len(out) > 0 && p.US < out[len(out)-1].US {
			continue
		}
		out = append(out, p)
	}
	return out
}
