package cli

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshperf/meshperf/internal/capacity"
	"github.com/meshperf/meshperf/internal/runs"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

// capacityOptions are the flags of `meshperf capacity`; run holds the
// flags it shares with `meshperf run` (connections, headers, TLS...).
type capacityOptions struct {
	run          runOptions
	objective    string
	metric       string
	min, max     float64
	stepDuration time.Duration
	pause        time.Duration
	tolerance    string
	confirm      int
	maxSteps     int
	output       string
}

// Bounds of the capacity flags.
const (
	maxStepDuration = time.Hour
	maxStepWarmup   = 10 * time.Minute
)

func newCapacityCmd(stdio IO, g *globalOptions) *cobra.Command {
	o := &capacityOptions{run: runOptions{
		connections: loadgen.DefaultConnections, streams: 1, httpVersion: "1.1", resolution: "auto",
		connectTimeout: loadgen.DefaultConnectTimeout, timeout: loadgen.DefaultTimeout, queue: 100_000,
		output: "text", progress: "never", generator: "meshperf", duration: 10 * time.Second,
	}}
	cmd := &cobra.Command{
		Use:   "capacity [URL...]",
		Short: "Find the highest rate the target sustains within its objectives",
		Long: `Find the highest request rate the target sustains within its objectives.

Each step runs the test (a profile with -f or --profile, or the URLs given)
at a fixed rate for --step-duration after --warmup (and --pause after the
step before), exactly as meshperf run would, and stores it as a normal result labelled capacity=ID, step=N, rps=R.
The search doubles the rate from --min until a step breaks an objective (or
--max is met), bisects between the last rate met and the first broken one
(geometric midpoints) until they are within --tolerance, then runs the
answer --confirm more times. A step on which meshperf itself could not keep
up (CPU, or late sends while connections were free) is not the target's
limit: it is retried once, then the search stops and says so.
See docs/capacity.md.`,
		Example: `  meshperf capacity -f profile.yaml --objective 'p99<=50ms,error_rate<0.1%'
  meshperf capacity http://127.0.0.1:8080/ -c 64 --objective 'p99<=20ms' --min 100 --max 20000 --step-duration 10s --output json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCapacity(cmd.Context(), cmd, stdio, g, o, args)
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	f.StringVarP(&o.run.file, "file", "f", "", "the profile to run at each step (SMP YAML or JSON)")
	f.StringVar(&o.run.profileRef, "profile", "", "the stored profile to run (name or id)")
	f.BoolVar(&o.run.allowUnknown, "allow-unknown-fields", false, "run a profile with fields meshperf does not know (misspelt ones are errors otherwise)")
	f.StringVar(&o.objective, "objective", "", "objectives every step must meet, e.g. 'p99<=50ms,error_rate<0.1%' (default: the profile's slo)")
	f.StringVar(&o.metric, "metric", "", "objectives on the profile's Prometheus metrics (averages over a step), e.g. 'proxy_cpu_mcores<=500'")
	f.Float64Var(&o.min, "min", 100, "first rate tried, requests per second")
	f.Float64Var(&o.max, "max", 50_000, "highest rate tried")
	f.DurationVar(&o.stepDuration, "step-duration", 30*time.Second, "measured time of each step")
	f.DurationVar(&o.run.warmup, "warmup", 2*time.Second, "warm-up of each step, whole seconds, not judged (the target settles at the new rate)")
	f.DurationVar(&o.pause, "pause", time.Second, "idle time between steps, so the target recovers from the previous one")
	f.StringVar(&o.tolerance, "tolerance", "5%", "stop bisecting when the broken rate is within this of the rate met")
	f.IntVar(&o.confirm, "confirm", 2, "times the answer's rate is run again; each must meet the objectives")
	f.IntVar(&o.maxSteps, "max-steps", capacity.DefaultMaxSteps, "most steps the search may run")
	f.StringVarP(&o.output, "output", "o", "text", "report format: text, json or csv")
	f.IntVarP(&o.run.connections, "connections", "c", loadgen.DefaultConnections, "concurrent connections (a profile's own, unless given)")
	f.IntVar(&o.run.streams, "streams", 1, "concurrent requests per connection (HTTP/2 only)")
	f.StringArrayVarP(&o.run.headers, "header", "H", nil, "request header 'Name: value' (repeatable)")
	f.StringVarP(&o.run.method, "method", "m", "", "HTTP method")
	f.StringVar(&o.run.body, "body", "", "request body; @FILE reads it from a file")
	f.StringVar(&o.run.httpVersion, "http", "1.1", "HTTP version: 1.1, 2 or h2c")
	f.BoolVarP(&o.run.insecure, "insecure", "k", false, "do not verify the server's TLS certificate")
	f.DurationVar(&o.run.timeout, "timeout", loadgen.DefaultTimeout, "time allowed for one request")
	f.StringVar(&o.run.generator, "generator", "meshperf", "load generator (it must support a fixed rate)")
	f.StringVar(&o.run.name, "name", "", "name of the search, kept in its results")
	f.StringArrayVar(&o.run.labels, "label", nil, "label key=value kept in every step's result (repeatable)")
	f.BoolVar(&o.run.noSave, "no-save", false, "do not store the steps' results")
	return cmd
}

func runCapacity(ctx context.Context, cmd *cobra.Command, stdio IO, g *globalOptions, o *capacityOptions, targets []string) error {
	if err := g.notRemote("capacity"); err != nil {
		return err
	}
	copts, err := o.searchOptions()
	if err != nil {
		return err
	}
	prof, stored, err := capacityProfile(ctx, stdio, g, o, targets)
	if err != nil {
		return err
	}
	plans, err := capacityPlans(cmd, o, prof, targets)
	if err != nil {
		return err
	}
	if err := o.objectives(prof, &copts); err != nil {
		return err
	}
	stp := newCapacityStepper(stdio, o, prof, plans)
	if !o.run.noSave {
		st, err := g.openStore(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		if err := stp.saveTo(ctx, st, prof, stored); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdio.Err, "meshperf: capacity search %s: %s, %s–%s rps, at most %d steps of %s\n",
		stp.id, strings.Join(capacityObjectives(copts), ", "), fmtFloat(copts.Min), fmtFloat(copts.Max), copts.MaxSteps, o.run.warmup+o.stepDuration)
	rep, searchErr := capacity.Search(ctx, stp, copts, func(s capacity.Step) { printCapacityStep(stdio, s) })
	if rep == nil {
		return searchErr // invalid options: nothing ran
	}
	rep.ID, rep.Name = stp.id, stp.name
	if err := writeCapacityReport(stdio, o.output, rep); err != nil {
		return err
	}
	if stp.saveErr != nil {
		searchErr = errors.Join(searchErr, stp.saveErr)
	}
	return capacityExit(rep, searchErr)
}

// capacityProfile reads the profile to search with: a file (-f), a stored
// one (--profile, returned as stored too), or none when targets are given.
func capacityProfile(ctx context.Context, stdio IO, g *globalOptions, o *capacityOptions, targets []string) (prof *spec.Profile, stored *store.Profile, err error) {
	switch {
	case o.run.file != "" && o.run.profileRef != "":
		return nil, nil, usageErrorf("-f and --profile: give one, not both")
	case o.run.file != "":
		if prof, err = readProfile(stdio, o.run.file, o.run.allowUnknown, "--allow-unknown-fields"); err != nil {
			return nil, nil, err
		}
	case o.run.profileRef != "":
		if stored, err = g.fetchProfile(ctx, o.run.profileRef, 0); err != nil {
			return nil, nil, err
		}
		if prof, _, err = spec.ParseProfile(stored.Body); err != nil {
			return nil, nil, fmt.Errorf("stored profile %s: %w", stored.Name, err)
		}
	case len(targets) == 0:
		return nil, nil, usageErrorf("capacity: give a target URL, or a profile with -f FILE or --profile NAME")
	}
	return prof, stored, nil
}

// capacityPlans makes the plans from the profile (or the targets) and the
// run flags capacity takes; a step's rate and duration are the search's.
func capacityPlans(cmd *cobra.Command, o *capacityOptions, prof *spec.Profile, targets []string) ([]*loadgen.Plan, error) {
	changed := cmd.Flags().Changed
	set := func(flag string) bool {
		if flag == "warmup" {
			return true
		}
		for _, f := range runFlags {
			if f.name == flag && f.capacity {
				return changed(flag)
			}
		}
		return false
	}
	if prof != nil && usesAgents(prof) {
		return nil, usageErrorf("capacity: the profile asks for agents:, which run through the server; capacity searches run locally only for now (remove agents: to search from this machine)")
	}
	plans, err := o.run.plans(prof, targets, set)
	if err != nil {
		return nil, err
	}
	if changed("generator") {
		for _, p := range plans {
			p.Generator = o.run.generator
		}
	}
	return plans, nil
}

// objectives sets the search's objectives from --objective (else the
// profile's meshperf.slo) and --metric; it needs at least one.
func (o *capacityOptions) objectives(prof *spec.Profile, copts *capacity.Options) error {
	objText := o.objective
	if objText == "" && prof != nil && prof.Meshperf != nil {
		objText = strings.Join(prof.Meshperf.SLO, ",")
	}
	var err error
	if copts.Objectives, err = spec.ParseObjectives(objText); err != nil {
		return usageErrorf("--objective: %v", err)
	}
	if copts.Metrics, err = capacity.ParseMetricObjectives(o.metric); err != nil {
		return usageErrorf("--metric: %v", err)
	}
	if len(copts.Metrics) > 0 && (prof == nil || prof.Metrics == nil) {
		return usageErrorf("--metric: needs a profile with metrics: (Prometheus queries)")
	}
	if len(copts.Objectives)+len(copts.Metrics) == 0 {
		return usageErrorf("--objective: at least one is needed (e.g. 'p99<=50ms,error_rate<0.1%%'), or a profile with meshperf.slo")
	}
	return nil
}

// newCapacityStepper names the search (a new id; --name, else the
// profile's) and labels its steps' results: the profile's labels, then
// --label.
func newCapacityStepper(stdio IO, o *capacityOptions, prof *spec.Profile, plans []*loadgen.Plan) *capacityStepper {
	labels := map[string]string{}
	if prof != nil {
		for k, v := range prof.Labels {
			labels[k] = v
		}
	}
	for _, l := range o.run.labels {
		k, v, _ := strings.Cut(l, "=")
		labels[k] = v
	}
	name := o.run.name
	if name == "" && prof != nil {
		name = prof.Name
	}
	return &capacityStepper{stdio: stdio, plans: plans, duration: o.stepDuration, warmup: o.run.warmup,
		prof: prof, labels: labels, name: name, id: store.NewID()}
}

// saveTo makes the steps' results saved in st, under the stored profile:
// the one given, else the profile from the file, stored now if it has a
// name.
func (c *capacityStepper) saveTo(ctx context.Context, st store.Store, prof *spec.Profile, stored *store.Profile) error {
	c.store = st
	if stored == nil && prof != nil && prof.Name != "" {
		var err error
		if stored, _, err = applyProfile(ctx, st, prof); err != nil {
			return fmt.Errorf("storing profile %s: %w", prof.Name, err)
		}
	}
	if stored != nil {
		c.ref = store.ResultRef{ProfileID: stored.ID, ProfileRevision: stored.Revision}
	}
	return nil
}

// printCapacityStep writes a line on stderr for each step the search ends.
func printCapacityStep(stdio IO, s capacity.Step) {
	verdict := "met"
	switch {
	case s.Interrupted:
		verdict = "interrupted"
	case s.ClientLimited:
		verdict = "client limit: " + s.ClientReason
	case !s.Met:
		verdict = "broken: " + strings.Join(s.Broken, ", ")
	}
	fmt.Fprintf(stdio.Err, "meshperf: step %d (%s) %s rps: achieved %.1f, p99 %.3gms, errors %.3g%%: %s\n",
		s.N, s.Phase, fmtFloat(s.RPS), s.AchievedRPS, s.P99Ms, 100*s.ErrorRate, verdict)
}

// writeCapacityReport writes the report on stdout as --output asks: json,
// csv, or text.
func writeCapacityReport(stdio IO, output string, rep *capacity.Report) error {
	var err error
	switch output {
	case "json":
		err = rep.WriteJSON(stdio.Out)
	case "csv":
		err = rep.WriteCSV(stdio.Out)
	default:
		err = rep.WriteText(stdio.Out)
	}
	if err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

// capacityExit is the command's error, hence its exit status: the search's
// or a save's error (a usage error when the generator cannot run the
// plans), else what the outcome says.
func capacityExit(rep *capacity.Report, err error) error {
	if err != nil {
		if errors.Is(err, loadgen.ErrUnsupported) || errors.Is(err, loadgen.ErrUnknownGenerator) {
			return &UsageError{Err: err}
		}
		return err
	}
	switch rep.Outcome {
	case capacity.OutcomeFound, capacity.OutcomeAboveMax:
		return nil
	case capacity.OutcomeInterrupted:
		return errInterrupted
	case capacity.OutcomeBelowMin:
		return &SLOError{Broken: rep.BrokenBy}
	}
	return fmt.Errorf("capacity: %s", rep.Summary())
}

// usesAgents tells whether any of the profile's clients runs on agents.
func usesAgents(p *spec.Profile) bool {
	if p.Agents != nil {
		return true
	}
	for _, c := range p.Clients {
		if c.Agents != nil {
			return true
		}
	}
	return false
}

// searchOptions checks the search flags.
func (o *capacityOptions) searchOptions() (capacity.Options, error) {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	tol, err := parsePercent(o.tolerance)
	if err != nil {
		bad("--tolerance: %v", err)
	}
	if o.stepDuration < time.Second || o.stepDuration > maxStepDuration {
		bad("--step-duration: %s is not from 1s to %s", o.stepDuration, maxStepDuration)
	}
	if o.run.warmup < 0 || o.run.warmup > maxStepWarmup || o.run.warmup%time.Second != 0 {
		bad("--warmup: %s is not whole seconds from 0 to %s", o.run.warmup, maxStepWarmup)
	}
	switch o.output {
	case "text", "json", "csv":
	default:
		bad("--output: unknown format %q (want text, json or csv)", o.output)
	}
	for _, l := range o.run.labels {
		if k, _, ok := strings.Cut(l, "="); !ok || k == "" {
			bad("--label %q: want key=value", l)
		}
	}
	copts := capacity.Options{Min: o.min, Max: o.max, Tolerance: tol, Confirm: o.confirm, MaxSteps: o.maxSteps,
		Pause: o.pause, MaxProcs: runtime.GOMAXPROCS(0)}
	check := copts
	if err != nil {
		check.Tolerance = 0.05 // already reported as unreadable
	}
	if err := check.Validate(); err != nil {
		errs = append(errs, prefixLines("--", err))
	}
	if len(errs) > 0 {
		return capacity.Options{}, &UsageError{Err: errors.Join(errs...)}
	}
	return copts, nil
}

// parsePercent reads "5%" or "0.05".
func parsePercent(s string) (float64, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(t, "%"), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a percentage such as 5%% or a fraction such as 0.05", s)
	}
	if pct {
		v /= 100
	}
	return v, nil
}

func capacityObjectives(o capacity.Options) []string {
	var out []string
	for _, x := range o.Objectives {
		out = append(out, x.Raw)
	}
	for _, x := range o.Metrics {
		out = append(out, x.Raw)
	}
	return out
}

func fmtFloat(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// capacityStepper runs a step on the same path as `meshperf run`: the
// plans at a fixed rate through the runner, the profile's Prometheus
// queries, labels, then the store.
type capacityStepper struct {
	stdio            IO
	plans            []*loadgen.Plan
	duration, warmup time.Duration
	prof             *spec.Profile
	labels           map[string]string
	name, id         string
	store            store.ResultStore
	ref              store.ResultRef
	saveErr          error
}

var _ capacity.Stepper = (*capacityStepper)(nil)

// Step runs every plan at its share of s.RPS: in proportion to the rates
// the profile gave its clients, or evenly when it gave none.
func (c *capacityStepper) Step(ctx context.Context, s capacity.StepSpec) (*spec.Result, error) {
	var total float64
	for _, p := range c.plans {
		if p.Rate != nil {
			total += p.Rate.RateAt(p.Warmup)
		}
	}
	plans := make([]*loadgen.Plan, len(c.plans))
	for i, p := range c.plans {
		q := *p
		share := 1 / float64(len(c.plans))
		if total > 0 && p.Rate != nil {
			share = p.Rate.RateAt(p.Warmup) / total
		}
		q.Rate = loadgen.Constant(s.RPS * share)
		q.Duration, q.Warmup, q.Requests = c.duration, c.warmup, 0
		if err := q.Validate(); err != nil {
			return nil, &UsageError{Err: err}
		}
		plans[i] = &q
	}
	labels := map[string]string{}
	for k, v := range c.labels {
		labels[k] = v
	}
	labels["capacity"] = c.id
	labels["step"] = strconv.Itoa(s.N)
	labels["rps"] = fmtFloat(s.RPS)
	labels["capacity_phase"] = s.Phase
	t := runs.Test{Plans: plans, Engine: runs.Local(Version), Name: c.name, Labels: labels}
	if c.prof != nil {
		t.Metrics = c.prof.Metrics
	}
	if c.store != nil {
		t.ProfileID, t.ProfileRevision = c.ref.ProfileID, c.ref.ProfileRevision
		t.Save = func(ctx context.Context, res *spec.Result) (string, error) {
			// Saving is not cancelled by the Ctrl-C that ended the step.
			return c.store.SaveResult(context.WithoutCancel(ctx), res, c.ref)
		}
	}
	out, err := runs.Execute(ctx, t)
	if err != nil {
		return nil, err
	}
	res := out.Result
	if out.SaveErr != nil {
		c.saveErr = errors.Join(c.saveErr, fmt.Errorf("step %d: the result was not saved: %w", s.N, out.SaveErr))
	} else if t.Save != nil {
		res.ID = out.ResultID
	}
	return res, nil
}
