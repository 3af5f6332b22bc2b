package vegeta

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

// DefaultBinary is the vegeta command looked up in PATH.
const DefaultBinary = "vegeta"

// DefaultGrace is how long past the plan's duration an attack may run
// before it is killed.
const DefaultGrace = 30 * time.Second

// ErrNotInstalled is returned when the vegeta binary is missing.
var ErrNotInstalled = errors.New("vegeta: vegeta not found: install it with `go install github.com/tsenart/vegeta/v12@latest` where the Go module proxy allows it, or download a release binary from github.com/tsenart/vegeta/releases, then put it in PATH or set the binary path")

// Generator runs `vegeta attack` for a plan, then `vegeta encode` on its
// results, and builds the result from every request's latency.
type Generator struct {
	// Binary is vegeta's path or name in PATH; default vegeta.
	Binary string
	// Grace is how long past the plan's duration the attack may take;
	// default DefaultGrace.
	Grace time.Duration
	// BestEffort runs plans with fields vegeta cannot honour, noting them
	// in the result instead of refusing.
	BestEffort bool
}

var (
	_ loadgen.Generator = (*Generator)(nil)
	_ loadgen.Describer = (*Generator)(nil)
)

// Info implements loadgen.Generator. The version is asked of the binary on
// each run and recorded in the result.
func (g *Generator) Info() loadgen.Info { return loadgen.Info{Name: Name} }

// Capabilities implements loadgen.Describer.
func (g *Generator) Capabilities() loadgen.Capabilities {
	return loadgen.Capabilities{
		Protocols:    []string{loadgen.ProtocolHTTP},
		HTTPVersions: []string{loadgen.HTTP1, loadgen.HTTP2, loadgen.H2C},
		// -rate 0 with -max-workers runs as fast as the workers allow.
		OpenLoop: true, ClosedLoop: true,
		Shapes:  []string{"constant"}, // the CLI has constant pacing only
		Headers: true, Cookies: true, Body: true,
		SkipVerify: true, CAFile: true, ClientCert: true,
		MultipleTargets: true,
		Fidelity:        loadgen.FidelityHDR,
	}
}

// AttackArgs returns `vegeta attack`'s arguments for plan p (normalized),
// writing the results to output; files holds paths of files it needs
// (body, CA), written by the caller: name -> content.
func (g *Generator) AttackArgs(p *loadgen.Plan, dir string) (args []string, files map[string][]byte, err error) {
	files = map[string][]byte{}
	output := filepath.Join(dir, "results.bin")
	args = []string{"attack", "-output", output, "-format", "http",
		"-duration", p.Duration.String(),
		"-connections", strconv.Itoa(p.Connections),
		"-workers", strconv.Itoa(p.Connections),
		"-max-workers", strconv.Itoa(p.Connections),
	}
	switch r := p.Rate.(type) {
	case nil:
		args = append(args, "-rate", "0")
	case loadgen.Constant:
		rps := float64(r)
		if rps == float64(int64(rps)) {
			args = append(args, "-rate", strconv.FormatInt(int64(rps), 10)+"/1s")
		} else {
			args = append(args, "-rate", strconv.FormatInt(int64(rps*1000+0.5), 10)+"/1000s")
		}
	default:
		return nil, nil, &loadgen.UnsupportedError{Generator: Name, Field: "rate_shape", Reason: "follow a " + p.Rate.String() + " rate (it does constant)"}
	}
	if p.Timeout > 0 {
		args = append(args, "-timeout", p.Timeout.String())
	}
	switch p.HTTPVersion {
	case loadgen.HTTP1:
		args = append(args, "-http2=false")
	case loadgen.H2C:
		args = append(args, "-h2c")
	}
	for _, h := range p.Headers {
		args = append(args, "-header", h.Name+": "+h.Value)
	}
	if p.ContentType != "" {
		args = append(args, "-header", "Content-Type: "+p.ContentType)
	}
	if len(p.Cookies) > 0 {
		var c []string
		for _, k := range p.Cookies {
			c = append(c, k.Name+"="+k.Value)
		}
		args = append(args, "-header", "Cookie: "+strings.Join(c, "; "))
	}
	if len(p.Body) > 0 {
		f := filepath.Join(dir, "body")
		files[f] = p.Body
		args = append(args, "-body", f)
	}
	if p.TLS.SkipVerify {
		args = append(args, "-insecure")
	}
	var roots []string
	if p.TLS.CAFile != "" {
		roots = append(roots, p.TLS.CAFile)
	}
	if len(p.TLS.CAPEM) > 0 {
		f := filepath.Join(dir, "ca.pem")
		files[f] = p.TLS.CAPEM
		roots = append(roots, f)
	}
	if len(roots) > 0 {
		args = append(args, "-root-certs", strings.Join(roots, ","))
	}
	if p.TLS.CertFile != "" {
		args = append(args, "-cert", p.TLS.CertFile, "-key", p.TLS.KeyFile)
	}
	return args, files, nil
}

// Targets returns the targets in vegeta's http format, one a line.
func Targets(p *loadgen.Plan) []byte {
	var b bytes.Buffer
	for _, t := range p.Targets {
		fmt.Fprintf(&b, "%s %s\n\n", p.Method, t)
	}
	return b.Bytes()
}

// Run implements loadgen.Generator. vegeta reports nothing while it
// attacks, so sink gets one Progress at the end. When ctx is cancelled part
// way, the results written so far are read and the result is marked
// interrupted.
func (g *Generator) Run(ctx context.Context, plan *loadgen.Plan, sink loadgen.Sink) (*spec.Result, error) {
	p := *plan
	p.Normalize()
	warnings, err := loadgen.Check(Name, g.Capabilities(), &p, g.BestEffort)
	if err != nil {
		return nil, fmt.Errorf("vegeta: %w", err)
	}
	bin := g.Binary
	if bin == "" {
		bin = DefaultBinary
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNotInstalled, err)
	}
	dir, err := os.MkdirTemp("", "meshperf-vegeta-")
	if err != nil {
		return nil, fmt.Errorf("vegeta: %w", err)
	}
	defer os.RemoveAll(dir)
	args, files, err := g.AttackArgs(&p, dir)
	if err != nil {
		return nil, fmt.Errorf("vegeta: %w", err)
	}
	for f, b := range files {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			return nil, fmt.Errorf("vegeta: %w", err)
		}
	}
	if p.Duration == 0 {
		return nil, &loadgen.UnsupportedError{Generator: Name, Field: "duration", Reason: "run without a duration (it has no request count)"}
	}
	grace := g.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}
	limit := p.Duration + grace
	attackCtx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	_, stderr, runErr := run(attackCtx, path, args, Targets(&p))
	interrupted := false
	switch {
	case ctx.Err() != nil:
		interrupted = true // read what was written
	case attackCtx.Err() != nil:
		return nil, fmt.Errorf("vegeta: attack did not finish within %s (duration %s + grace %s); killed%s", limit, p.Duration, grace, stderrTail(stderr))
	case runErr != nil:
		return nil, fmt.Errorf("vegeta: attack: %w%s", runErr, stderrTail(stderr))
	}
	// The results are read even when ctx is done: give encode its own time.
	encCtx, cancelEnc := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancelEnc()
	out, stderr, err := run(encCtx, path, []string{"encode", "-to", "json", filepath.Join(dir, "results.bin")}, nil)
	if err != nil {
		if interrupted {
			return nil, fmt.Errorf("vegeta: run cancelled: %w", ctx.Err())
		}
		return nil, fmt.Errorf("vegeta: encode: %w%s", err, stderrTail(stderr))
	}
	r, err := ParseResults(out)
	if err != nil {
		if interrupted {
			return nil, fmt.Errorf("vegeta: run cancelled: %w", ctx.Err())
		}
		return nil, fmt.Errorf("%w%s", err, stderrTail(stderr))
	}
	r.Interrupted = interrupted
	r.Name = p.Name
	r.Generator.Version = version(encCtx, path)
	q := &r.Requested
	q.Targets, q.Method, q.HTTPVersion = p.Targets, p.Method, p.HTTPVersion
	q.Connections, q.Duration, q.Timeout = p.Connections, spec.Duration(p.Duration), spec.Duration(p.Timeout)
	q.OpenLoop = p.Rate != nil
	q.Shape = "closed loop"
	if p.Rate != nil {
		q.RPS, q.Shape = p.Rate.RateAt(0), p.Rate.String()
	}
	r.Notes = append(r.Notes, warnings...)
	r.Notes = append(r.Notes, fmt.Sprintf("vegeta ran with -workers/-max-workers %d, so at most %d requests were in flight; when all were busy it fell behind its schedule rather than dropping requests", p.Connections, p.Connections))
	if sink != nil {
		a := r.Achieved
		sink.Progress(loadgen.Progress{Elapsed: a.Duration.D(), SoFar: loadgen.Totals{Requests: a.Requests, Errors: a.Errors, RPS: a.RPS}})
	}
	return r, nil
}

// run runs vegeta with stdin and returns its stdout and stderr; a non-zero
// exit is an error naming its status.
func run(ctx context.Context, path string, args []string, stdin []byte) (stdout, stderr []byte, err error) {
	var o, e bytes.Buffer
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ctx.Err() == nil {
		err = fmt.Errorf("vegeta exited with status %d", ee.ExitCode())
	}
	return o.Bytes(), e.Bytes(), err
}

// version asks the binary its version ("Version: 12.12.0"). A vegeta built
// with `go install` prints an empty version (it is set by its release
// build's linker flags): then the module version in the binary's build
// information (v12.13.0 → 12.13.0). "" if neither says.
func version(ctx context.Context, path string) string {
	out, _, err := run(ctx, path, []string{"-version"}, nil)
	if err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Version:"); ok && strings.TrimSpace(v) != "" {
				return strings.TrimSpace(v)
			}
		}
	}
	if bi, err := buildinfo.ReadFile(path); err == nil && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return strings.TrimPrefix(bi.Main.Version, "v")
	}
	return ""
}

// stderrTail returns the last lines of stderr, for error messages.
func stderrTail(b []byte) string {
	if s := loadgen.OutputTail(b, 10); s != "" {
		return "; stderr:\n" + s
	}
	return ""
}
