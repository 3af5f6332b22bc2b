package nighthawk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

// DefaultBinary is the Nighthawk client looked up in PATH.
const DefaultBinary = "nighthawk_client"

// DefaultGrace is how long past the plan's duration the client may run
// before it is killed.
const DefaultGrace = 30 * time.Second

// ErrNotInstalled is returned when the nighthawk_client binary is missing.
var ErrNotInstalled = errors.New("nighthawk: nighthawk_client not found: build it from github.com/envoyproxy/nighthawk (bazel build -c opt //:nighthawk_client) or run it from the envoyproxy/nighthawk-dev container image, then put it in PATH or set the binary path")

// Generator runs nighthawk_client for a plan and reads its JSON output.
type Generator struct {
	// Binary is the client's path or name in PATH; default nighthawk_client.
	Binary string
	// Grace is how long past the plan's duration the run may take;
	// default DefaultGrace.
	Grace time.Duration
	// BestEffort runs plans with fields Nighthawk cannot honour, noting
	// them in the result instead of refusing.
	BestEffort bool
}

var (
	_ loadgen.Generator = (*Generator)(nil)
	_ loadgen.Describer = (*Generator)(nil)
)

// Info implements loadgen.Generator. The version comes with each result.
func (g *Generator) Info() loadgen.Info { return loadgen.Info{Name: Name} }

// Capabilities implements loadgen.Describer.
func (g *Generator) Capabilities() loadgen.Capabilities {
	return loadgen.Capabilities{
		Protocols:    []string{loadgen.ProtocolHTTP},
		HTTPVersions: []string{loadgen.HTTP1, loadgen.HTTP2, loadgen.H2C},
		// Nighthawk always paces at a rate: open loop (--open-loop) drops
		// requests that find no connection; it has no unpaced closed loop.
		OpenLoop: true,
		Shapes:   []string{"constant"},
		Headers:  true, Cookies: true,
		// --request-body-size sends that many filler bytes, not the plan's
		// body.
		Body: false,
		// Envoy's upstream TLS does not verify certificates unless given a
		// validation context, which this runner does not set.
		SkipVerify: true,
		SNI:        true,
		Fidelity:   loadgen.FidelityPercentiles,
	}
}

// Args returns nighthawk_client's arguments for plan p (normalized).
func (g *Generator) Args(p *loadgen.Plan) ([]string, error) {
	if p.Rate == nil {
		return nil, &loadgen.UnsupportedError{Generator: Name, Field: "rps", Reason: "run closed loop (rps 0): it needs a fixed rate"}
	}
	if _, ok := p.Rate.(loadgen.Constant); !ok {
		return nil, &loadgen.UnsupportedError{Generator: Name, Field: "rate_shape", Reason: "follow a " + p.Rate.String() + " rate (it does constant)"}
	}
	if len(p.Targets) == 0 {
		return nil, errors.New("nighthawk: no target")
	}
	rps := p.Rate.RateAt(0)
	if rps < 1 || rps != float64(int64(rps)) {
		return nil, &loadgen.UnsupportedError{Generator: Name, Field: "rps", Reason: fmt.Sprintf("send %g/s: --rps takes a whole number of at least 1", rps)}
	}
	if p.Duration <= 0 || p.Duration%time.Second != 0 {
		return nil, &loadgen.UnsupportedError{Generator: Name, Field: "duration", Reason: fmt.Sprintf("run for %s: --duration takes whole seconds", p.Duration)}
	}
	args := []string{
		"--output-format", "json",
		"--rps", strconv.FormatInt(int64(rps), 10),
		"--connections", strconv.Itoa(p.Connections),
		"--duration", strconv.FormatInt(int64(p.Duration/time.Second), 10),
		// One worker, so --rps and --connections are totals, not per worker.
		"--concurrency", "1",
		"--open-loop",
	}
	if p.QueueSize > 0 {
		args = append(args, "--max-pending-requests", strconv.Itoa(p.QueueSize))
	}
	if p.Timeout > 0 {
		args = append(args, "--timeout", strconv.FormatInt(int64((p.Timeout+time.Second-1)/time.Second), 10))
	}
	if p.Method != "" {
		args = append(args, "--request-method", p.Method)
	}
	for _, h := range p.Headers {
		args = append(args, "--request-header", h.Name+":"+h.Value)
	}
	if p.ContentType != "" {
		args = append(args, "--request-header", "content-type:"+p.ContentType)
	}
	if len(p.Cookies) > 0 {
		var c []string
		for _, k := range p.Cookies {
			c = append(c, k.Name+"="+k.Value)
		}
		args = append(args, "--request-header", "cookie:"+strings.Join(c, "; "))
	}
	if len(p.Body) > 0 {
		args = append(args, "--request-body-size", strconv.Itoa(len(p.Body)))
	}
	if p.HTTPVersion == loadgen.HTTP2 || p.HTTPVersion == loadgen.H2C {
		args = append(args, "--h2")
	}
	if p.TLS.ServerName != "" {
		tc, _ := json.Marshal(map[string]string{"sni": p.TLS.ServerName})
		args = append(args, "--tls-context", string(tc))
	}
	return append(args, p.Targets[0]), nil
}

// Run implements loadgen.Generator: it runs nighthawk_client to the end and
// parses its output. Nighthawk reports nothing while it runs, so sink gets
// one Progress at the end.
func (g *Generator) Run(ctx context.Context, plan *loadgen.Plan, sink loadgen.Sink) (*spec.Result, error) {
	p := *plan
	p.Normalize()
	warnings, err := loadgen.Check(Name, g.Capabilities(), &p, g.BestEffort)
	if err != nil {
		return nil, fmt.Errorf("nighthawk: %w", err)
	}
	args, err := g.Args(&p)
	if err != nil {
		return nil, fmt.Errorf("nighthawk: %w", err)
	}
	bin := g.Binary
	if bin == "" {
		bin = DefaultBinary
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNotInstalled, err)
	}
	grace := g.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}
	limit := p.Duration + grace
	runCtx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(runCtx, path, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	runErr := cmd.Run()
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("nighthawk: run cancelled: %w", ctx.Err())
	case runCtx.Err() != nil:
		return nil, fmt.Errorf("nighthawk: %s did not finish within %s (duration %s + grace %s); killed%s", bin, limit, p.Duration, grace, stderrTail(stderr.Bytes()))
	case runErr != nil:
		var ee *exec.ExitError
		if errors.As(runErr, &ee) {
			return nil, fmt.Errorf("nighthawk: %s exited with status %d%s", bin, ee.ExitCode(), stderrTail(stderr.Bytes()))
		}
		return nil, fmt.Errorf("nighthawk: running %s: %w", bin, runErr)
	}
	r, err := ParseOutput(stdout.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%w%s", err, stderrTail(stderr.Bytes()))
	}
	r.Name = p.Name
	r.Requested.Targets = p.Targets
	r.Requested.Method = p.Method
	r.Requested.HTTPVersion = p.HTTPVersion
	r.Requested.Warmup = spec.Duration(p.Warmup)
	for _, w := range warnings {
		r.Notes = append(r.Notes, w)
	}
	if len(p.Body) > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("the %d-byte body was not sent as given: Nighthawk sent %d filler bytes (--request-body-size)", len(p.Body), len(p.Body)))
	}
	if sink != nil {
		a := r.Achieved
		sink.Progress(loadgen.Progress{Elapsed: a.Duration.D(), SoFar: loadgen.Totals{Requests: a.Requests, Errors: a.Errors, RPS: a.RPS}})
	}
	return r, nil
}

// stderrTail returns the last lines of stderr, for error messages.
func stderrTail(b []byte) string {
	if s := loadgen.OutputTail(b, 10); s != "" {
		return "; stderr:\n" + s
	}
	return ""
}
