// Package runstep runs a capacity search's steps as meshperf runs them:
// the profile's plans at the step's rate through runs.Execute, stored as
// labelled results. It is the one capacity.Stepper of the CLI and the
// server; package capacity itself (the search, the judge, the report) does
// not depend on the engine, so the API's types can name its report.
package runstep

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/meshperf/meshperf/internal/capacity"
	"github.com/meshperf/meshperf/internal/runs"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

// ErrBadPlan wraps a step's plan that does not validate at the step's
// rate (the caller's input, not a failure of the target).
var ErrBadPlan = errors.New("capacity: step plan")

// Stepper runs a step on the same path as `meshperf run` and the
// server's runs: the plans at a fixed rate through runs.Execute, the
// profile's Prometheus queries, the labels, then Save. The CLI and the
// server's capacity runs both use it.
type Stepper struct {
	// Plans are the test's plans; each step runs them at its share of the
	// step's rate.
	Plans            []*loadgen.Plan
	Duration, Warmup time.Duration
	// Engine runs the plans (runs.Local when nil); Version names it.
	Engine  runs.Engine
	Version string
	// Agents, when set, runs each step on agents instead of Engine: the
	// server's distributed path (plans split over the agents Profile
	// selects, their histograms merged exactly). Profile is the profile
	// the plans came from; each step gives the agents a copy of it at the
	// step's rate, duration and warm-up.
	Agents  runs.Distributor
	Profile *spec.Profile
	Metrics *spec.MetricsConfig
	// After is the context of the Prometheus queries (see runs.Test).
	After context.Context
	// ID is the search's id (label capacity); Name and Labels the
	// results' own.
	ID, Name string
	Labels   map[string]string
	// Ref links the results to their stored profile.
	Ref store.ResultRef
	// Save stores a step's result; nil: not stored.
	Save func(ctx context.Context, res *spec.Result, ref store.ResultRef) (string, error)

	// SaveErr gathers the steps whose result was not saved.
	SaveErr error
}

var _ capacity.Stepper = (*Stepper)(nil)

// Step runs every plan at its share of s.RPS: in proportion to the rates
// the profile gave its clients, or evenly when it gave none.
func (c *Stepper) Step(ctx context.Context, s capacity.StepSpec) (*spec.Result, error) {
	var total float64
	for _, p := range c.Plans {
		if p.Rate != nil {
			total += p.Rate.RateAt(p.Warmup)
		}
	}
	plans := make([]*loadgen.Plan, len(c.Plans))
	for i, p := range c.Plans {
		q := *p
		share := 1 / float64(len(c.Plans))
		if total > 0 && p.Rate != nil {
			share = p.Rate.RateAt(p.Warmup) / total
		}
		q.Rate = loadgen.Constant(s.RPS * share)
		q.Duration, q.Warmup, q.Requests = c.Duration, c.Warmup, 0
		if err := q.Validate(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadPlan, err)
		}
		plans[i] = &q
	}
	labels := map[string]string{}
	for k, v := range c.Labels {
		labels[k] = v
	}
	labels[capacity.LabelID] = c.ID
	labels[capacity.LabelStep] = strconv.Itoa(s.N)
	labels[capacity.LabelRPS] = strconv.FormatFloat(s.RPS, 'f', -1, 64)
	labels[capacity.LabelPhase] = s.Phase
	engine := c.Engine
	if engine == nil {
		engine = runs.Local(c.Version)
	}
	if c.Agents != nil {
		prof, err := stepProfile(c.Profile, plans, c.Duration, c.Warmup)
		if err != nil {
			return nil, err
		}
		engine = c.distributed(s.N, prof)
	}
	t := runs.Test{Plans: plans, Engine: engine, Name: c.Name, Labels: labels, Metrics: c.Metrics, After: c.After,
		ProfileID: c.Ref.ProfileID, ProfileRevision: c.Ref.ProfileRevision}
	if c.Save != nil {
		t.Save = func(ctx context.Context, res *spec.Result) (string, error) {
			// Saving is not cancelled by the cancel that ended the step.
			return c.Save(context.WithoutCancel(ctx), res, c.Ref)
		}
	}
	out, err := runs.Execute(ctx, t)
	if err != nil {
		return nil, err
	}
	res := out.Result
	if out.SaveErr != nil {
		c.SaveErr = errors.Join(c.SaveErr, fmt.Errorf("step %d: the result was not saved: %w", s.N, out.SaveErr))
	} else if t.Save != nil {
		res.ID = out.ResultID
	}
	return res, nil
}

// distributed is the Engine of step n on the agents: the step's run id
// is the search's with the step's number. A step that lost part of its
// load (an agent dropped, failed or refused) or was aborted by the
// profile's on_drop was not run at the step's rate: it ends the search
// with the reason rather than be judged.
func (c *Stepper) distributed(n int, prof *spec.Profile) runs.Engine {
	return func(ctx context.Context, plans []*loadgen.Plan, _ func(int) loadgen.Sink) (*spec.Result, error) {
		res, out, err := c.Agents.Run(ctx, fmt.Sprintf("%s-step%d", c.ID, n), prof, plans, func(loadgen.Progress) {})
		switch {
		case err != nil:
			return nil, fmt.Errorf("step %d on agents: %w", n, err)
		case out.Aborted != "":
			return nil, fmt.Errorf("step %d on agents aborted: %s", n, out.Aborted)
		case out.Degraded != "" && ctx.Err() == nil:
			return nil, fmt.Errorf("step %d on agents lost part of its load: %s", n, out.Degraded)
		}
		return res, nil
	}
}

// stepProfile is prof as the agents run step plans: each client at its
// plan's constant rate (a fractional rate as a one-step rate shape), the
// step's duration and warm-up, no request count and no objectives (the
// search judges the merged result).
func stepProfile(prof *spec.Profile, plans []*loadgen.Plan, dur, warmup time.Duration) (*spec.Profile, error) {
	if prof == nil || len(prof.Clients) != len(plans) {
		return nil, fmt.Errorf("%w: a distributed step needs the profile of its %d plans", ErrBadPlan, len(plans))
	}
	if warmup%time.Second != 0 {
		return nil, fmt.Errorf("%w: warm-up %s on agents must be whole seconds", ErrBadPlan, warmup)
	}
	p := *prof
	p.Duration = dur.String()
	x := spec.ProfileExtras{}
	if prof.Meshperf != nil {
		x = *prof.Meshperf
	}
	x.Warmup, x.Requests, x.SLO = "", 0, nil
	if warmup > 0 {
		x.Warmup = warmup.String()
	}
	p.Meshperf = &x
	p.Clients = make([]spec.Client, len(prof.Clients))
	for i, cl := range prof.Clients {
		rate := plans[i].Rate.RateAt(0)
		ce := spec.ClientExtras{}
		if cl.Meshperf != nil {
			ce = *cl.Meshperf
		}
		ce.RateShape = ""
		if whole := math.Round(rate); whole == rate && whole >= 1 && whole <= math.MaxInt32 {
			cl.RPS = int64(whole)
		} else {
			cl.RPS = 0
			ce.RateShape = "steps:" + strconv.FormatFloat(rate, 'f', -1, 64) + "/" + (dur + warmup).String()
		}
		cl.Meshperf = &ce
		p.Clients[i] = cl
	}
	return &p, nil
}
