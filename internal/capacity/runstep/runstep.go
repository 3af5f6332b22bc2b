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
