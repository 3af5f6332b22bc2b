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
			Name: info.Name, Version: info.Version, Fidelity: loadgen.FidelityBucketed,
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
// wrk2's spectrum with exact counts, and says its fidelity.
func distribution(x *Parsed) (*spec.Distribution, string) {
	h := hist.New()
	record := func(us float64, n int64) { h.RecordMicrosN(int64(us+0.5), n) }
	fid := loadgen.FidelityBucketed
	switch {
	case len(x.Spectrum) > 0:
		var prev int64
		for _, pt := range x.Spectrum {
			if pt.Count > prev {
				record(pt.US, pt.Count-prev)
				prev = pt.Count
			}
		}
	default:
		if !x.FromScript {
			fid = loadgen.FidelityPercentiles
		}
		n := x.Requests
		var prev int64
		for i, pt := range x.Percentiles {
			cum := int64(pt.P/100*float64(n) + 0.5)
			if i == 0 && cum == 0 && n > 0 {
				cum = 1 // the lowest point is a value that was seen
			}
			if i == len(x.Percentiles)-1 {
				cum = n // the top step holds the rest
			}
			if cum > prev {
				record(pt.US, cum-prev)
				prev = cum
			}
		}
	}
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
	pts := x.Percentiles
	if len(pts) == 0 {
		pts = x.Spectrum
	}
	for _, pt := range pts {
		d.Percentiles = append(d.Percentiles, spec.Percentile{P: pt.P, Ms: pt.US / 1e3})
	}
	return d, fid
}
