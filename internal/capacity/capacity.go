// Package capacity finds the highest request rate a target sustains within
// its objectives: fixed-rate steps, each a normal run, chosen by a search
// that brackets the limit by doubling from a minimum and then bisects it
// (geometrically) to a relative tolerance, and confirms the answer with
// repeated steps. docs/capacity.md states the algorithm and why.
//
// Running a step is not this package's business: a Stepper does it
// (runstep's runs the profile on the same path as `meshperf run` and
// stores the result, for the CLI and the server). The search only chooses
// rates and judges what came back; this package does not depend on the
// engine.
package capacity

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/meshperf/meshperf/spec"
)

// Labels every step's result carries, besides the test's own.
const (
	LabelID    = "capacity"
	LabelStep  = "step"
	LabelRPS   = "rps"
	LabelPhase = "capacity_phase"
)

// StepSpec is one step to run: the test at a fixed rate.
type StepSpec struct {
	// N numbers the step from 1.
	N int
	// RPS is the fixed rate of the step.
	RPS float64
	// Phase is PhaseBracket, PhaseBisect or PhaseConfirm.
	Phase string
}

// Stepper runs one step and returns its result (and, if it stored it, the
// result's id in Result.ID). A result marked Interrupted ends the search.
type Stepper interface {
	Step(ctx context.Context, s StepSpec) (*spec.Result, error)
}

// StepperFunc adapts a function to a Stepper.
type StepperFunc func(ctx context.Context, s StepSpec) (*spec.Result, error)

// Step calls f.
func (f StepperFunc) Step(ctx context.Context, s StepSpec) (*spec.Result, error) { return f(ctx, s) }

var _ Stepper = StepperFunc(nil)

// Phases of the search.
const (
	PhaseBracket = "bracket"
	PhaseBisect  = "bisect"
	PhaseConfirm = "confirm"
	// PhaseRetry repeats a step on which the client was the limit, once.
	PhaseRetry = "retry"
)

// Bounds of Options.
const (
	MaxRate         = 10_000_000
	MinTolerance    = 0.001
	MaxTolerance    = 0.5
	MaxConfirm      = 10
	MaxStepsCap     = 200
	DefaultMaxSteps = 30
	MaxPause        = 10 * time.Minute
)

// Options configure a search.
type Options struct {
	// Min and Max bound the rates tried, in requests per second.
	Min, Max float64
	// Tolerance is the relative width at which bisection stops: the limit
	// lies between the answer and at most answer × (1 + Tolerance).
	Tolerance float64
	// Confirm is how many more times the answer's rate is run; every one
	// must meet the objectives.
	Confirm int
	// MaxSteps caps the number of steps, whatever happens.
	MaxSteps int
	// Pause is the idle time before every step but the first, so the
	// target recovers from the previous step (queues drain, rate windows
	// empty) and each step is judged on its own rate.
	Pause time.Duration
	// Objectives are judged on every step (spec.Check).
	Objectives []spec.Objective
	// Metrics are objectives on the profile's Prometheus queries.
	Metrics []MetricObjective
	// MaxProcs is the client's GOMAXPROCS, for the CPU part of the
	// saturated-client rule; 0 uses the result's own verdict only.
	MaxProcs int
}

// ErrNoObjective: a search needs at least one objective.
var ErrNoObjective = errors.New("objective: at least one is needed (e.g. p99<=50ms)")

// Validate reports every option out of bounds, naming it (objectives
// aside: Search checks there is one).
func (o Options) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if !(o.Min >= 1 && o.Min <= MaxRate) {
		bad("min: %v is not a rate from 1 to %d", o.Min, MaxRate)
	}
	if !(o.Max >= 1 && o.Max <= MaxRate) {
		bad("max: %v is not a rate from 1 to %d", o.Max, MaxRate)
	}
	if o.Max < o.Min {
		bad("max: %v is below min %v", o.Max, o.Min)
	}
	if !(o.Tolerance >= MinTolerance && o.Tolerance <= MaxTolerance) {
		bad("tolerance: %v is not from %v to %v", o.Tolerance, MinTolerance, MaxTolerance)
	}
	if o.Confirm < 0 || o.Confirm > MaxConfirm {
		bad("confirm: %d is not from 0 to %d", o.Confirm, MaxConfirm)
	}
	if o.Pause < 0 || o.Pause > MaxPause {
		bad("pause: %s is not from 0 to %s", o.Pause, MaxPause)
	}
	if o.MaxSteps < 1 || o.MaxSteps > MaxStepsCap {
		bad("max-steps: %d is not from 1 to %d", o.MaxSteps, MaxStepsCap)
	}
	return errors.Join(errs...)
}

// StepBound is the most steps a search with these options takes when the
// target answers consistently and the client is never the limit: the
// doublings from Min past Max, the bisections from a factor of two down to
// the tolerance, and the confirmations.
func (o Options) StepBound() int {
	bracket := 1 + int(math.Ceil(math.Log2(o.Max/o.Min)))
	bisect := int(math.Ceil(math.Log2(math.Log(2) / math.Log1p(o.Tolerance))))
	return bracket + max(bisect, 0) + o.Confirm
}

// Outcomes of a search.
const (
	// OutcomeFound: a rate met the objectives and a rate within the
	// tolerance above it broke them.
	OutcomeFound = "found"
	// OutcomeAboveMax: Max met the objectives; the limit is above it.
	OutcomeAboveMax = "above_max"
	// OutcomeBelowMin: Min broke the objectives.
	OutcomeBelowMin = "below_min"
	// OutcomeClientLimit: meshperf itself could not keep up at a rate
	// (twice), so the target's limit above it is unknown.
	OutcomeClientLimit = "client_limit"
	// OutcomeInterrupted: the search was stopped (Ctrl-C).
	OutcomeInterrupted = "interrupted"
	// OutcomeStepCap: MaxSteps ran out before the search converged.
	OutcomeStepCap = "step_cap"
	// OutcomeFailed: a step could not be run.
	OutcomeFailed = "failed"
)

// Search runs steps until it knows the highest rate meeting the
// objectives to within the tolerance, or cannot learn more. onStep, if not
// nil, is called after each step. What was measured is always reported: an
// error from the stepper or a cancelled ctx ends the search with the
// report so far and the error.
func Search(ctx context.Context, st Stepper, o Options, onStep func(Step)) (*Report, error) {
	return Resume(ctx, st, o, nil, onStep)
}

// Resume is Search continued from the steps of an earlier, interrupted
// search with the same options: the search takes the same path as long as
// the steps it would run are the ones stored (the same rate and phase, in
// order), using their judgement without running them again; onStep is
// called for the new steps only. Interrupted steps are left out: they are
// run again. A stored step the search would not run ends the replay there,
// and the steps after it are dropped.
func Resume(ctx context.Context, st Stepper, o Options, prior []Step, onStep func(Step)) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if len(o.Objectives)+len(o.Metrics) == 0 {
		return nil, ErrNoObjective
	}
	s := &search{o: o, st: st, onStep: onStep, rep: newReport(o), start: time.Now()}
	for _, p := range prior {
		if !p.Interrupted {
			s.prior = append(s.prior, p)
		}
	}
	err := s.run(ctx)
	s.rep.finish(time.Since(s.start), s.lo, s.hi)
	return s.rep, err
}

type search struct {
	o      Options
	st     Stepper
	onStep func(Step)
	rep    *Report
	start  time.Time
	// lo is the highest rate that met the objectives, 0 if none; hi the
	// lowest that broke them, 0 if none.
	lo, hi float64
	// prior are the stored steps still to replay (Resume).
	prior []Step
}

// errStop ends the search with the outcome already set.
var errStop = errors.New("stop")

func (s *search) run(ctx context.Context) error {
	r, phase := roundRate(s.o.Min), PhaseBracket
	for {
		ok, err := s.step(ctx, r, phase)
		if err != nil {
			return stopped(err)
		}
		if ok {
			s.lo = max(s.lo, r)
		} else if s.hi == 0 || r < s.hi {
			s.hi = r
		}
		// Choose the next rate; confirmations may move the bracket down
		// and send the choice round again.
		for {
			if s.hi == 0 { // still bracketing
				if r >= roundRate(s.o.Max) {
					s.rep.Outcome = OutcomeAboveMax
					return nil
				}
				r = min(roundRate(2*r), roundRate(s.o.Max))
				break
			}
			if s.lo == 0 {
				s.rep.Outcome = OutcomeBelowMin
				return nil
			}
			if !s.converged() {
				r, phase = roundRate(math.Sqrt(s.lo*s.hi)), PhaseBisect
				if r <= s.lo || r >= s.hi { // whole rates cannot split it further
					r = s.lo + 1
				}
				break
			}
			done, err := s.confirm(ctx)
			if err != nil {
				return stopped(err)
			}
			if done {
				return nil
			}
		}
	}
}

// stopped turns errStop (the outcome is set) into nil.
func stopped(err error) error {
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

// converged tells whether the bracket [lo, hi) is within the tolerance
// (or cannot be split in whole rates).
func (s *search) converged() bool {
	return s.hi-s.lo <= s.o.Tolerance*s.lo || s.hi-s.lo <= 1
}

// confirm runs the answer's rate Confirm more times. It reports done when
// all met the objectives; otherwise the answer's rate becomes the lowest
// broken one and lo falls back to the next rate below that met them.
func (s *search) confirm(ctx context.Context) (bool, error) {
	for range s.o.Confirm {
		ok, err := s.step(ctx, s.lo, PhaseConfirm)
		if err != nil {
			return false, err
		}
		if !ok {
			s.hi = s.lo
			s.lo = s.rep.highestMetBelow(s.hi)
			return false, nil
		}
	}
	s.rep.Outcome = OutcomeFound
	return true, nil
}

// step runs one step at r (and once more if the client was the limit),
// records it, and tells whether it met every objective. errStop means the
// outcome is decided (interrupted, client limit, step cap).
func (s *search) step(ctx context.Context, r float64, phase string) (bool, error) {
	for attempt := 0; ; attempt++ {
		if len(s.rep.Steps) >= s.o.MaxSteps {
			s.rep.Outcome = OutcomeStepCap
			return false, errStop
		}
		if err := ctx.Err(); err != nil {
			s.rep.Outcome = OutcomeInterrupted
			return false, errStop
		}
		st, err := s.measure(ctx, r, phase)
		if err != nil {
			return false, err
		}
		s.rep.Steps = append(s.rep.Steps, st)
		if s.onStep != nil {
			s.onStep(st)
		}
		switch {
		case st.Interrupted:
			s.rep.Outcome = OutcomeInterrupted
			return false, errStop
		case st.ClientLimited && attempt == 0:
			phase = PhaseRetry
			continue
		case st.ClientLimited:
			s.rep.Outcome = OutcomeClientLimit
			s.rep.ClientLimitRPS = r
			return false, errStop
		}
		return st.Met, nil
	}
}

// measure runs the next step at r, after the pause, and judges it; or,
// resuming, takes the next stored step when it is this one.
func (s *search) measure(ctx context.Context, r float64, phase string) (Step, error) {
	n := len(s.rep.Steps) + 1
	if len(s.prior) > 0 {
		p := s.prior[0]
		if p.RPS == r && p.Phase == phase {
			s.prior = s.prior[1:]
			return p, nil
		}
		s.prior = nil // the search went another way: run from here
	}
	if n > 1 && s.o.Pause > 0 {
		t := time.NewTimer(s.o.Pause)
		select {
		case <-ctx.Done():
			t.Stop()
			s.rep.Outcome = OutcomeInterrupted
			return Step{}, errStop
		case <-t.C:
		}
	}
	res, err := s.st.Step(ctx, StepSpec{N: n, RPS: r, Phase: phase})
	if err != nil {
		if ctx.Err() != nil {
			s.rep.Outcome = OutcomeInterrupted
			return Step{}, errStop
		}
		s.rep.Outcome = OutcomeFailed
		return Step{}, fmt.Errorf("step %d at %s rps: %w", n, fmtRate(r), err)
	}
	return judge(n, r, phase, res, s.o), nil
}

// roundRate makes r a whole rate of at least 1.
func roundRate(r float64) float64 { return max(1, math.Round(r)) }
