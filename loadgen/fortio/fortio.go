// Package fortio runs plans in-process on fortio's HTTP load generator
// (fortio.org/fortio/fhttp) behind loadgen.Generator.
//
// The plan maps onto fhttp.HTTPRunnerOptions: connections are fortio's
// threads (one connection each), rps its QPS (closed loop is QPS -1, "max"),
// the request count its Exactly. fortio's result is marshalled to JSON and
// read back with Parse (format.go), so its histogram is converted the same,
// tested way as an imported fortio file; the result is marked "bucketed".
//
// fortio measures each request from its actual send: a fixed-rate run is
// paced per connection (rps/connections each, staggered) and not corrected
// for coordinated omission, so only service time is reported.
//
// Side effects on fortio's globals, none of which meshperf uses itself:
//   - fortio's logger (fortio.org/log) is set, once, to Critical when it is
//     more verbose: fortio logs every run, and every failed request at
//     Error level, to stderr. Errors are counted in the result instead. The
//     level is not restored (fortio may be logging from other runs).
//   - each run gets its own Aborter, so fortio does not install its SIGINT
//     handler (which would call signal.Reset(os.Interrupt) when the run
//     ends and so drop the caller's own handler); ctx stops the run instead.
//   - fortio's text report goes to io.Discard.
package fortio

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"sync"

	"fortio.org/fortio/fhttp"
	"fortio.org/fortio/periodic"
	fversion "fortio.org/fortio/version"
	"fortio.org/log"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

// Name is the generator's name.
const Name = "fortio"

// Generator runs plans on fortio's HTTP runner, in-process.
type Generator struct {
	// Resolution is the width, in seconds, of fortio's smallest histogram
	// buckets. Buckets grow with the value (1, 2, …, 10, 12, 14, …, 20, 25,
	// 30, … units, up to 100000 units, then one bucket up to the max).
	// 0 is DefaultResolution, 1 µs, what meshperf's own histograms tell
	// apart: fortio's own default, 1 ms, would put everything under a
	// millisecond in one bucket.
	Resolution float64
}

// DefaultResolution is the resolution used when Generator.Resolution is 0:
// 1 µs, the engine's (hist.Lowest). Buckets then end at 100 ms; slower
// responses share fortio's last bucket, which ends at the max.
const DefaultResolution = float64(hist.Lowest) / 1e6

func (g *Generator) resolution() float64 {
	if g.Resolution > 0 {
		return g.Resolution
	}
	return DefaultResolution
}

var (
	_ loadgen.Generator = (*Generator)(nil)
	_ loadgen.Describer = (*Generator)(nil)
)

// requiredVersion is the fortio version go.mod requires (a test checks it),
// used when the binary's build information does not name the module (as in
// test binaries).
const requiredVersion = "1.66.5"

// Info implements loadgen.Generator: the version is the fortio module's.
func (g *Generator) Info() loadgen.Info {
	return loadgen.Info{Name: Name, Version: fortioVersion()}
}

func fortioVersion() string {
	if v := fversion.Short(); v != "" && v != "dev" && !strings.ContainsAny(v, " \t") {
		return v
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "fortio.org/fortio" && d.Version != "" && d.Version != "(devel)" {
				return strings.TrimPrefix(d.Version, "v")
			}
		}
	}
	return requiredVersion
}

// Capabilities implements loadgen.Describer.
func (g *Generator) Capabilities() loadgen.Capabilities {
	return loadgen.Capabilities{
		Protocols: []string{loadgen.ProtocolHTTP},
		// "2" over https is ALPN h2 (ForceAttemptHTTP2); over http://, and
		// "h2c", fortio uses HTTP/2 with prior knowledge.
		HTTPVersions: []string{loadgen.HTTP1, loadgen.HTTP2, loadgen.H2C},
		OpenLoop:     true,
		ClosedLoop:   true,
		Shapes:       []string{"constant"},
		Headers:      true, // Cookies: only as a Cookie header
		Body:         true,
		SkipVerify:   true,
		RequestCount: true, // Exactly
		Fidelity:     loadgen.FidelityBucketed,
	}
}

var quietOnce sync.Once

// quiet silences fortio's logger (see the package doc).
func quiet() {
	quietOnce.Do(func() {
		if log.GetLogLevel() < log.Critical {
			log.SetLogLevelQuiet(log.Critical)
		}
	})
}

// percentiles fortio computes itself (the rest come from the rebuilt
// histogram).
var percentiles = []float64{50, 75, 90, 95, 99, 99.9}

// options maps a normalized, checked plan to fortio's options.
func (g *Generator) options(p *loadgen.Plan) (*fhttp.HTTPRunnerOptions, error) {
	if len(p.Targets) != 1 {
		return nil, fmt.Errorf("fortio: exactly one target is needed, got %d", len(p.Targets))
	}
	o := &fhttp.HTTPRunnerOptions{}
	o.URL = p.Targets[0]
	o.Labels = p.Name
	o.NumThreads = p.Connections
	o.QPS = -1 // max
	if p.Rate != nil {
		o.QPS = p.Rate.RateAt(0)
		o.Uniform = true // stagger the connections' schedules
	}
	o.Duration = p.Duration
	o.Exactly = p.Requests
	o.Percentiles = append([]float64(nil), percentiles...)
	o.RunnerOptions.Resolution = g.resolution()
	o.Out = io.Discard
	o.Stop = periodic.NewAborter()
	o.AllowInitialErrors = true // errors are counted, not fatal
	o.HTTPReqTimeOut = p.Timeout
	o.Insecure = p.TLS.SkipVerify
	o.H2 = p.HTTPVersion != loadgen.HTTP1
	o.MethodOverride = p.Method
	o.Payload = p.Body
	o.ContentType = p.ContentType
	for _, h := range p.Headers {
		if err := o.AddAndValidateExtraHeader(h.Name + ": " + h.Value); err != nil {
			return nil, fmt.Errorf("fortio: %w", err)
		}
	}
	return o, nil
}

// Run implements loadgen.Generator. fortio reports nothing while it runs,
// so sink receives nothing.
func (g *Generator) Run(ctx context.Context, p *loadgen.Plan, _ loadgen.Sink) (*spec.Result, error) {
	p.Normalize()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if _, err := loadgen.Check(Name, g.Capabilities(), p, false); err != nil {
		return nil, err
	}
	o, err := g.options(p)
	if err != nil {
		return nil, err
	}
	quiet()

	// A duration with a request count: whichever comes first (fortio's
	// Exactly ignores the duration).
	runCtx := ctx
	if p.Requests > 0 && p.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, p.Duration)
		defer cancel()
	}
	stop := o.Stop
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-runCtx.Done():
			stop.Abort(false)
		case <-done:
		}
	}()

	fr, runErr := fhttp.RunHTTPTest(o)
	interrupted := ctx.Err() != nil
	if runErr != nil {
		return nil, fmt.Errorf("fortio: %w", runErr)
	}
	data, err := json.Marshal(fr)
	if err != nil {
		return nil, fmt.Errorf("fortio: %w", err)
	}
	res, err := Parse(data)
	if err != nil {
		return nil, err
	}
	if res.Achieved.Requests == 0 && interrupted {
		return nil, fmt.Errorf("fortio: run cancelled before any request completed: %w", ctx.Err())
	}
	info := g.Info()
	res.Name = p.Name
	res.Generator = spec.GeneratorInfo{Name: Name, Version: info.Version, Fidelity: loadgen.FidelityBucketed, HistogramResolutionUs: g.resolution() * 1e6}
	res.Requested = p.Requested()
	if res.Timeline == nil {
		res.Timeline = []spec.Interval{}
	}
	if p.Rate != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("fortio paced each of the %d connections at %.4g rps (staggered) from the actual sends, catching up after a slow response: latency from intended send times (coordinated omission) is not measured", p.Connections, o.QPS/float64(p.Connections)))
	}
	if p.Requests == 0 {
		res.Notes = append(res.Notes, "fortio sent one warm-up request per connection before the run (not counted)")
	}
	if p.Requests > 0 && res.Achieved.Requests != p.Requests && !interrupted {
		res.Notes = append(res.Notes, fmt.Sprintf("stopped after %s with %d of %d requests", p.Duration, res.Achieved.Requests, p.Requests))
	}
	res.Notes = append(res.Notes, fmt.Sprintf("fortio has no separate connect timeout: the request timeout (%s) bounds connecting too", p.Timeout))
	if interrupted {
		res.Interrupted = true
		res.Notes = append(res.Notes, "interrupted: the figures cover the run up to the interruption")
	}
	return res, nil
}
