package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/meshperf/meshperf/internal/report"
	"github.com/meshperf/meshperf/internal/runner"
	"github.com/meshperf/meshperf/internal/runs"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

// runOptions are the flags of `meshperf run`, named after the SMP fields
// they fill where SMP has one.
type runOptions struct {
	rps            float64
	shape          string
	connections    int
	streams        int
	duration       time.Duration
	requests       int64
	warmup         time.Duration
	headers        []string
	cookies        []string
	body           string
	bodyFile       string
	contentType    string
	method         string
	protocol       string
	httpVersion    string
	insecure       bool
	caFile         string
	certFile       string
	keyFile        string
	sni            string
	noResumption   bool
	connectTimeout time.Duration
	timeout        time.Duration
	queue          int
	output         string
	slo            string
	name           string
	labels         []string
	progress       string
	intervalHist   bool
	resolution     string
	resolver       string
	durationGiven  bool
	file           string
	profileRef     string
	noSave         bool
	saveProfile    bool
	generator      string
	threads        int
	agents         int
	agentSelector  string
	allowUnknown   bool
	cluster        runClusterFlags
	protoFlags     // gRPC and TCP (runflags.go)
}

func newRunCmd(stdio IO, g *globalOptions) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run URL [URL...]",
		Short: "Run a load test against one or more URLs",
		Long: `Run a load test and print what it measured.

The run is open loop, at 100 requests per second unless --rps says
otherwise: every request has an intended send time, and latency is measured
from it, so a stall of the target shows in the tail as users would feel it
(corrected for coordinated omission). With --rps 0 it is closed loop: as fast
as the connections allow, service time only (a stall slows the senders and
hides from the figures). The report's first line says which loop ran.

A target that refuses connections is not hammered: each connection backs
off after a failed connect (10 ms doubling to 1 s, each attempt counted as
an error), and when nothing has connected for 3 s the run ends early, says
so, and exits with status 3.`,
		Example: `  meshperf run http://127.0.0.1:8080/ --rps 1000 -c 16 -d 30s
  meshperf run https://svc.local/ --http 2 -k --rps 500 --slo 'p99<=20ms,error_rate<0.1%'
  meshperf run http://127.0.0.1:8080/ --rps 0 -c 50 -n 100000 --output json
  meshperf run -f profile.yaml --rps 2000`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.durationGiven = cmd.Flags().Changed("duration")
			return runRun(cmd.Context(), cmd, stdio, g, o, args)
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	f.StringVarP(&o.file, "file", "f", "", "run this profile (SMP YAML or JSON); flags given override its fields")
	f.StringVar(&o.profileRef, "profile", "", "run this stored profile (name or id)")
	f.BoolVar(&o.noSave, "no-save", false, "do not store the result")
	f.BoolVar(&o.saveProfile, "save-profile", false, "with -f: store the file's profile (a new revision when one of its name differs); without it a stored profile is never changed")
	f.StringVar(&o.generator, "generator", "meshperf", "load generator: meshperf (its own engine), wrk, wrk2... (meshperf generators lists them)")
	f.Float64Var(&o.rps, "rps", loadgen.DefaultRPS, "requests per second (open loop); 0 = closed loop, as fast as the connections allow")
	f.StringVar(&o.shape, "rate-shape", "", "rate over time: constant, ramp:FROM-TO[/DURATION], steps:RATE/DURATION,...")
	f.IntVarP(&o.connections, "connections", "c", loadgen.DefaultConnections, "concurrent connections")
	f.IntVar(&o.streams, "streams", 1, "concurrent requests per connection (HTTP/2 only)")
	f.DurationVarP(&o.duration, "duration", "d", 10*time.Second, "how long to measure (after --warmup); 0 with -n runs until -n requests")
	f.Int64VarP(&o.requests, "requests", "n", 0, "stop after this many measured requests")
	f.DurationVar(&o.warmup, "warmup", 0, "warm-up before measuring, whole seconds (in the timeline, not in the summary)")
	f.StringArrayVarP(&o.headers, "header", "H", nil, "request header 'Name: value' (repeatable)")
	f.StringArrayVar(&o.cookies, "cookie", nil, "cookie 'name=value' (repeatable)")
	f.StringVar(&o.body, "body", "", "request body; @FILE reads it from a file")
	f.StringVar(&o.bodyFile, "body-file", "", "read the request body from this file")
	f.StringVar(&o.contentType, "content-type", "", "Content-Type of the body")
	f.StringVarP(&o.method, "method", "m", "", "HTTP method (default GET, or POST with a body)")
	f.StringVar(&o.protocol, "protocol", "", "protocol: http, grpc or tcp (SMP numbers 1, 4, 2 also accepted); default from the URL scheme (grpc://, grpcs://, tcp://)")
	f.StringVar(&o.httpVersion, "http", "1.1", "HTTP version: 1.1, 2 (ALPN over TLS) or h2c (HTTP/2 cleartext, prior knowledge)")
	f.BoolVarP(&o.insecure, "insecure", "k", false, "do not verify the server's TLS certificate")
	f.StringVar(&o.caFile, "ca-cert", "", "CA certificate (PEM) to verify the server")
	f.StringVar(&o.certFile, "cert", "", "client certificate (PEM) for mutual TLS")
	f.StringVar(&o.keyFile, "key", "", "client private key (PEM) for mutual TLS")
	f.StringVar(&o.sni, "sni", "", "TLS server name to send (default: the target's host)")
	f.BoolVar(&o.noResumption, "tls-no-resumption", false, "make every new connection a full TLS handshake (by default reconnections resume a session)")
	f.StringVar(&o.resolver, "resolver", "", "DNS server host:port to resolve targets with, instead of the system's")
	f.DurationVar(&o.connectTimeout, "connect-timeout", loadgen.DefaultConnectTimeout, "time allowed to connect (and finish the TLS handshake)")
	f.DurationVar(&o.timeout, "timeout", loadgen.DefaultTimeout, "time allowed for one request")
	f.StringVar(&o.resolution, "resolution", "auto", "open loop, plain HTTP/1.1: requests due within this window are sent together, each at most this late (fewer wake-ups, less CPU); auto (exact up to 1,000 rps, then up to 1ms), exact, or a duration")
	f.IntVar(&o.threads, "threads", 0, "event-loop threads for plain HTTP/1.1 (0 = automatic)")
	o.protoFlags.register(f)
	o.cluster.register(f)
	f.IntVar(&o.queue, "queue", 100_000, "open loop: most requests that may wait for a free connection before the oldest are dropped")
	f.StringVarP(&o.output, "output", "o", "text", "report format: text or json")
	f.StringVar(&o.slo, "slo", "", "objectives, e.g. 'p99<=20ms,error_rate<0.1%'; exit status 1 when one is broken")
	f.StringVar(&o.name, "name", "", "name of the test, kept in the result")
	f.StringArrayVar(&o.labels, "label", nil, "label key=value kept in the result (repeatable)")
	f.BoolVar(&o.intervalHist, "interval-histograms", false, "keep each second's encoded histograms in the result's timeline")
	f.StringVar(&o.progress, "progress", "auto", "live progress line on stderr: auto (on a terminal), always or never")
	f.BoolVar(&o.allowUnknown, "allow-unknown-fields", false, "run a profile with fields meshperf does not know (misspelt ones are errors otherwise; or set meshperf.allow_unknown_fields: true in the profile)")
	f.IntVar(&o.agents, "agents", 0, "with --server: run the load on this many connected agents, rate and connections split across them")
	f.StringVar(&o.agentSelector, "agent-selector", "", "with --server: run on the agents whose labels match, e.g. 'zone=a,tier=load' (with --agents N: N of them; alone: all that match)")
	return cmd
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func runRun(ctx context.Context, cmd *cobra.Command, stdio IO, g *globalOptions, o *runOptions, targets []string) (err error) {
	c, err := g.client()
	if err != nil {
		return err
	}
	if c != nil {
		return runRemote(ctx, cmd, stdio, o, c, targets)
	}
	changed := cmd.Flags().Changed
	if changed("agents") || changed("agent-selector") {
		return usageErrorf("--agents and --agent-selector: agents connect to a meshperf server; give --server URL (or meshperf login) to run on them")
	}
	prof, stored, err := o.profile(ctx, stdio, g)
	if err != nil {
		return err
	}
	sloText := o.slo
	if prof == nil && len(targets) == 0 {
		return usageErrorf("run: give at least one target URL (meshperf run http://127.0.0.1:8080/), or a profile with -f FILE or --profile NAME")
	}
	plans, err := o.plans(prof, targets, changed)
	if err != nil {
		return err
	}
	if !changed("slo") && prof != nil && prof.Meshperf != nil {
		sloText = strings.Join(prof.Meshperf.SLO, ",")
	}
	objectives, err := spec.ParseObjectives(sloText)
	if err != nil {
		return usageErrorf("--slo: %v", err)
	}
	labels := map[string]string{}
	if prof != nil {
		for k, v := range prof.Labels {
			labels[k] = v
		}
	}
	for _, l := range o.labels {
		k, v, _ := strings.Cut(l, "=")
		labels[k] = v
	}

	if changed("generator") {
		for _, p := range plans {
			p.Generator = o.generator
		}
	}
	if prof == nil && !changed("rps") && !changed("rate-shape") {
		o.defaultLoop(stdio, plans[0])
	}
	if err := o.cluster.check(); err != nil {
		return err
	}
	// The profile's designs go on the cluster first, so the mesh context
	// read next is the one measured; they come off after the run.
	takeDown, err := o.profileDesigns(ctx, stdio, g, prof)
	if err != nil {
		return err
	}
	defer func() {
		if downErr := takeDown(context.WithoutCancel(ctx)); downErr != nil {
			err = errors.Join(err, downErr)
		}
	}()
	t := runs.Test{Plans: plans, Engine: o.engine(stdio), Labels: labels, Name: plans[0].Name,
		Mesh:        o.cluster.meshContext(ctx, stdio.Err, plans), // at the start, before any load
		MeshTraffic: o.cluster.meshTraffic()}
	if prof != nil {
		// The profile's Prometheus queries, over the measured window; a
		// query that fails is kept as missing, never fails the run.
		t.Metrics = prof.Metrics
		if t.Name == "" {
			t.Name = prof.Name
		}
		if prof.Meshperf != nil {
			t.MeshType = prof.Meshperf.MeshType
		}
	}
	t.Save = func(ctx context.Context, res *spec.Result) (string, error) {
		return "", o.save(ctx, stdio, g, res, prof, stored)
	}
	out, err := runs.Execute(ctx, t)
	if errors.Is(err, loadgen.ErrUnsupported) || errors.Is(err, loadgen.ErrUnknownGenerator) {
		return &UsageError{Err: err}
	}
	if err != nil {
		return err
	}
	res := out.Result
	verdicts := spec.Check(res, objectives)
	saveErr := out.SaveErr
	return o.report(stdio, res, verdicts, saveErr)
}

// profile is the profile -f or --profile names, and the stored profile
// with --profile; nil for neither.
func (o *runOptions) profile(ctx context.Context, stdio IO, g *globalOptions) (*spec.Profile, *store.Profile, error) {
	switch {
	case o.file != "" && o.profileRef != "":
		return nil, nil, usageErrorf("-f and --profile: give one, not both")
	case o.file != "":
		prof, err := readProfile(stdio, o.file, o.allowUnknown, "--allow-unknown-fields")
		return prof, nil, err
	case o.profileRef != "":
		st, err := g.openStore(ctx)
		if err != nil {
			return nil, nil, err
		}
		stored, err := getProfile(ctx, st, o.profileRef, 0)
		st.Close()
		if err != nil {
			return nil, nil, err
		}
		prof, _, err := spec.ParseProfile(stored.Body)
		if err != nil {
			return nil, nil, fmt.Errorf("stored profile %s: %w", stored.Name, err)
		}
		return prof, stored, nil
	}
	return nil, nil, nil
}

// report prints the result as --output says, then returns what decides the
// exit status: saveErr, an interruption, broken objectives, no response.
func (o *runOptions) report(stdio IO, res *spec.Result, verdicts []spec.Verdict, saveErr error) error {
	var err error
	if o.output == "json" {
		err = report.JSON(stdio.Out, res)
	} else {
		err = report.Text(stdio.Out, res, verdicts)
	}
	if err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	if saveErr != nil {
		return saveErr
	}
	if res.Interrupted {
		return errInterrupted
	}
	if res.EndedEarly != "" {
		// Nothing could be measured: that, not the objectives it broke.
		return errors.New(res.EndedEarly)
	}
	var broken []string
	for _, v := range verdicts {
		if !v.Met {
			broken = append(broken, v.String())
		}
	}
	if len(broken) > 0 {
		return &SLOError{Broken: broken}
	}
	if nr := runs.NoResponse(res); nr != nil {
		return nr
	}
	return nil
}

// engine runs every plan at once (a profile's clients are concurrent
// groups of load) and merges what they measured, with the live progress
// line.
func (o *runOptions) engine(stdio IO) runs.Engine {
	local := runs.Local(Version)
	return func(ctx context.Context, plans []*loadgen.Plan, _ func(int) loadgen.Sink) (*spec.Result, error) {
		var longest time.Duration
		for _, p := range plans {
			longest = max(longest, p.Warmup+p.Duration)
		}
		prog := newProgress(stdio.Err, o.progress, longest)
		comb := runner.NewCombiner(len(plans), prog.update)
		res, err := local(ctx, plans, comb.Sink)
		prog.finish(err == nil && !res.Interrupted && res.EndedEarly == "")
		return res, err
	}
}

// save stores the result unless --no-save. A profile run from a file (-f)
// is stored only with --save-profile (a new revision when the stored one of
// its name differs); without it the result is linked to a stored profile
// only when that profile is the same, and what happened is said. The report
// is printed whatever happens here: a store that fails must not lose the
// measurement.
func (o *runOptions) save(ctx context.Context, stdio IO, g *globalOptions, res *spec.Result, prof *spec.Profile, stored *store.Profile) error {
	if o.noSave {
		if o.saveProfile {
			fmt.Fprintln(stdio.Err, "meshperf: --no-save: neither the result nor the profile was stored")
		}
		return nil
	}
	st, err := g.openStore(ctx)
	if err != nil {
		return fmt.Errorf("the result was not saved: %w", err)
	}
	defer st.Close()
	ref := store.ResultRef{}
	if stored == nil && prof != nil && prof.Name != "" {
		if stored, err = o.fileProfile(ctx, stdio, st, prof); err != nil {
			return fmt.Errorf("the result was not saved: %w", err)
		}
	}
	if stored != nil {
		ref = store.ResultRef{ProfileID: stored.ID, ProfileRevision: stored.Revision}
		res.ProfileID, res.ProfileRevision = stored.ID, stored.Revision
	}
	// Saving is not cancelled by the Ctrl-C that ended the run.
	id, err := st.SaveResult(context.WithoutCancel(ctx), res, ref)
	if err != nil {
		return fmt.Errorf("the result was not saved: %w", err)
	}
	fmt.Fprintf(stdio.Err, "meshperf: saved as result %s (meshperf result show %s)\n", id, id)
	return nil
}

// fileProfile decides what a profile run from a file does to the stored
// profiles, says it, and returns the stored profile the result belongs to
// (nil for none).
func (o *runOptions) fileProfile(ctx context.Context, stdio IO, st store.Store, prof *spec.Profile) (*store.Profile, error) {
	if o.saveProfile {
		sp, changed, err := applyProfile(ctx, st, prof)
		if err != nil {
			return nil, fmt.Errorf("storing profile %s: %w", prof.Name, err)
		}
		if changed {
			fmt.Fprintf(stdio.Err, "meshperf: stored profile %s as revision %d (--save-profile)\n", sp.Name, sp.Revision)
		} else {
			fmt.Fprintf(stdio.Err, "meshperf: profile %s is the same as stored revision %d\n", sp.Name, sp.Revision)
		}
		return sp, nil
	}
	old, err := st.GetProfile(ctx, prof.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		fmt.Fprintf(stdio.Err, "meshperf: profile %s from %s was not stored (--save-profile stores it)\n", prof.Name, o.file)
		return nil, nil
	case err != nil:
		return nil, err
	}
	body, err := prof.JSON()
	if err != nil {
		return nil, err
	}
	if string(old.Body) == string(body) && labelsEqual(old.Labels, prof.Labels) {
		return old, nil // the stored profile, unchanged: the result is one of its runs
	}
	fmt.Fprintf(stdio.Err, "meshperf: %s differs from the stored profile %s (revision %d), which was left as it is; the result is not linked to it (--save-profile stores the file as a new revision)\n", o.file, old.Name, old.Revision)
	return nil, nil
}

// progress prints a live line on a terminal, rewriting it each second.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	on    bool
	total time.Duration
	wrote bool
	last  loadgen.Progress
}

func newProgress(w io.Writer, mode string, total time.Duration) *progress {
	on := mode == "always"
	if mode == "auto" {
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			on = true
		}
	}
	return &progress{w: w, on: on, total: total}
}

func (p *progress) update(pr loadgen.Progress) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = pr
	p.draw(pr)
	p.wrote = true
}

func (p *progress) draw(pr loadgen.Progress) {
	line := report.ProgressLine(pr.Elapsed, p.total, pr.Interval.Warmup, pr.SoFar.RPS, pr.SoFar.Requests, pr.SoFar.Errors, pr.SoFar.P99)
	fmt.Fprintf(p.w, "\r\033[K%s", line)
}

// finish ends the live line: a run that went its whole length leaves it
// at its full duration ("4s/4s"), any other is cleared.
func (p *progress) finish(complete bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.wrote {
		return
	}
	p.wrote = false
	if complete && p.total > 0 {
		last := p.last
		last.Elapsed = p.total
		last.Interval.Warmup = false
		p.draw(last)
		fmt.Fprintln(p.w)
		return
	}
	fmt.Fprint(p.w, "\r\033[K")
}
