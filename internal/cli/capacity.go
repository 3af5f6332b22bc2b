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
	"github.com/meshperf/meshperf/internal/capacity/runstep"
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
With --server URL (or after meshperf login) the search runs on the server:
its steps are printed as they end, Ctrl-C cancels it, and the server keeps
it (GET /api/v1/capacity/ID), resuming it after a restart.
See docs/capacity.md.`,
		Example: `  meshperf capacity -f profile.yaml --objective 'p99<=50ms,error_rate<0.1%'
  meshperf capacity http://127.0.0.1:8080/ -c 64 --objective 'p99<=20ms' --min 100 --max 20000 --step-duration 10s --output json
  meshperf --server http://127.0.0.1:9080 capacity --profile checkout --objective 'p99<=50ms'`,
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

// runCapacity runs a search here, or on the server with --server (or a
// login): the profile, the objectives, the stepper, the search, then the
// report and the exit status.
func runCapacity(ctx context.Context, cmd *cobra.Command, stdio IO, g *globalOptions, o *capacityOptions, targets []string) error {
	copts, err := o.searchOptions()
	if err != nil {
		return err
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	if c != nil {
		return capacityRemote(ctx, cmd, stdio, o, copts, c, targets)
	}
	prof, stored, err := o.profile(ctx, stdio, g, targets)
	if err != nil {
		return err
	}
	plans, err := o.stepPlans(cmd.Flags().Changed, prof, targets)
	if err != nil {
		return err
	}
	if err := o.objectives(&copts, prof); err != nil {
		return err
	}
	name := o.run.name
	if name == "" && prof != nil {
		name = prof.Name
	}
	stp := &runstep.Stepper{Plans: plans, Duration: o.stepDuration, Warmup: o.run.warmup,
		Version: Version, Labels: o.labels(prof), Name: name, ID: store.NewID()}
	if prof != nil {
		stp.Metrics = prof.Metrics
	}
	if !o.run.noSave {
		st, err := g.openStore(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		if err := saveSteps(ctx, st, stp, prof, stored); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdio.Err, "meshperf: capacity search %s: %s, %s–%s rps, at most %d steps of %s\n",
		stp.ID, strings.Join(capacityObjectives(copts), ", "), fmtFloat(copts.Min), fmtFloat(copts.Max), copts.MaxSteps, o.run.warmup+o.stepDuration)
	rep, searchErr := capacity.Search(ctx, stp, copts, func(s capacity.Step) { printStep(stdio, s) })
	if rep == nil {
		return searchErr // invalid options: nothing ran
	}
	rep.ID, rep.Name = stp.ID, name
	if err := o.writeReport(stdio, rep); err != nil {
		return err
	}
	return capacityExit(rep, errors.Join(searchErr, stp.SaveErr))
}

// profile is the profile the search runs, from -f or --profile (stored
// is then the stored one), or nil when URLs are given.
func (o *capacityOptions) profile(ctx context.Context, stdio IO, g *globalOptions, targets []string) (prof *spec.Profile, stored *store.Profile, err error) {
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
	if prof != nil && usesAgents(prof) {
		return nil, nil, usageErrorf("capacity: the profile asks for agents:, which only a server runs: search through it with --server URL (meshperf --server URL capacity ...), where each step runs on the agents; or remove agents: to search from this machine")
	}
	return prof, stored, nil
}

// stepPlans are the plans of each step: the profile's or the URLs', with
// the step-shaping flags given (and --warmup always) applied.
func (o *capacityOptions) stepPlans(changed func(string) bool, prof *spec.Profile, targets []string) ([]*loadgen.Plan, error) {
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

// objectives reads --objective (default: the profile's slo) and --metric
// into copts; a search needs one at least.
func (o *capacityOptions) objectives(copts *capacity.Options, prof *spec.Profile) error {
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

// labels are the profile's labels with --label's over them.
func (o *capacityOptions) labels(prof *spec.Profile) map[string]string {
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
	return labels
}

// saveSteps makes stp store each step's result in st, linked to the
// stored profile (a profile file with a name is stored first, as
// meshperf run does).
func saveSteps(ctx context.Context, st store.Store, stp *runstep.Stepper, prof *spec.Profile, stored *store.Profile) error {
	stp.Save = st.SaveResult
	if stored == nil && prof != nil && prof.Name != "" {
		var err error
		if stored, _, err = applyProfile(ctx, st, prof); err != nil {
			return fmt.Errorf("storing profile %s: %w", prof.Name, err)
		}
	}
	if stored != nil {
		stp.Ref = store.ResultRef{ProfileID: stored.ID, ProfileRevision: stored.Revision}
	}
	return nil
}

// printStep writes a step's line as it ends.
func printStep(stdio IO, s capacity.Step) {
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

// writeReport writes the report in --output's format.
func (o *capacityOptions) writeReport(stdio IO, rep *capacity.Report) error {
	var err error
	switch o.output {
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

// capacityExit is the exit status of a search that reported rep: a step
// that could not be run (a usage error when the plan or generator was
// wrong), an interruption, objectives broken at --min, or an answer that
// is not the target's limit; nil when it found the limit or it is above
// --max.
func capacityExit(rep *capacity.Report, searchErr error) error {
	if searchErr != nil {
		if errors.Is(searchErr, loadgen.ErrUnsupported) || errors.Is(searchErr, runstep.ErrBadPlan) || errors.Is(searchErr, loadgen.ErrUnknownGenerator) {
			return &UsageError{Err: searchErr}
		}
		return searchErr
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
