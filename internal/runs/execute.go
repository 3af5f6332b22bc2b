// Package runs is meshperf's run service. Execute runs one test from its
// plans to a saved, judged result; the CLI's local mode, capacity steps,
// experiments and the server's runs all go through it. Service is the
// server's side: the queue and its workers, each run's event history and
// fan-out (hub.go), saves while a test runs and this instance's heartbeat
// (durable.go), and the schedules (schedule.go).
package runs

import (
	"context"
	"fmt"
	"time"

	"github.com/meshperf/meshperf/internal/prom"
	"github.com/meshperf/meshperf/internal/runner"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

// Engine runs a test's plans at once and merges what they measured; sink,
// if not nil, gives the Sink of each plan (client) by index.
type Engine func(ctx context.Context, plans []*loadgen.Plan, sink func(i int) loadgen.Sink) (*spec.Result, error)

// Local is the Engine of this process: every plan on its generator
// (internal/runner).
func Local(version string) Engine {
	return func(ctx context.Context, plans []*loadgen.Plan, sink func(i int) loadgen.Sink) (*spec.Result, error) {
		return runner.Run(ctx, version, plans, sink)
	}
}

// MeshTraffic adds to mc what the mesh reported about its targets over
// [start, end]; meshmetrics.FillRun is one.
type MeshTraffic func(ctx context.Context, mc *spec.MeshContext, start, end time.Time)

// Test is one test to execute.
type Test struct {
	Plans  []*loadgen.Plan
	Engine Engine
	// Sink, when set, gives each plan's Sink (progress, checkpoints).
	Sink func(i int) loadgen.Sink
	// Check, when set, decides whether the result is kept: an error ends
	// Execute before Prometheus and the save, and is what it returns
	// (experiments keep neither a cell cut short nor one with no response).
	Check func(res *spec.Result) error
	// Metrics are the Prometheus queries run over the measured window; a
	// query that fails is a metric marked missing, never a failed run.
	// After is their context (a context that outlives ctx when nil: the
	// Ctrl-C or cancel that ended a run does not end its queries).
	Metrics *spec.MetricsConfig
	After   context.Context
	// Name names the result; Labels, when not empty, replace its labels.
	Name   string
	Labels map[string]string
	// ProfileID and ProfileRevision link the result to its stored profile.
	ProfileID       string
	ProfileRevision int
	// MeshType, when not 0, is the mesh under test, written back as
	// Meshery's mesh: {type: N} in the SMP export.
	MeshType int
	// Mesh, when set, is the cluster's mesh context taken at the test's
	// start, recorded in the result.
	Mesh *spec.MeshContext
	// MeshTraffic, when set with Mesh, adds to it what the mesh itself
	// reported about the targets over the measured window (After's
	// context); it never fails the test.
	MeshTraffic MeshTraffic
	// Save stores the result and returns its id; nil: not stored.
	Save func(ctx context.Context, res *spec.Result) (string, error)
}

// Outcome is what an executed test left.
type Outcome struct {
	Result *spec.Result
	// ResultID is the stored result's id ("" when not stored; with
	// SaveErr, the last partial result's, if any was saved).
	ResultID string
	SaveErr  error
	// NoResponse is set when requests were sent and none got a response.
	NoResponse *NoResponseError
}

// Execute runs t: the plans on its engine, the checks, the Prometheus
// queries, the result named and labelled, then saved. An error is a test
// that produced no result (or that Check refused); a failed save is the
// outcome's SaveErr, the result kept.
func Execute(ctx context.Context, t Test) (*Outcome, error) {
	res, err := t.Engine(ctx, t.Plans, t.Sink)
	if err != nil {
		return nil, err
	}
	if t.Check != nil {
		if err := t.Check(res); err != nil {
			return nil, err
		}
	}
	after := t.After
	if after == nil {
		after = context.WithoutCancel(ctx)
	}
	prom.Fill(after, t.Metrics, res)
	if t.Name != "" {
		res.Name = t.Name
	}
	if len(t.Labels) > 0 {
		res.Labels = t.Labels
	}
	if t.ProfileID != "" {
		res.ProfileID, res.ProfileRevision = t.ProfileID, t.ProfileRevision
	}
	if t.MeshType != 0 {
		res.SMP = &spec.SMPRefs{MeshType: t.MeshType}
	}
	if t.Mesh != nil {
		res.Mesh = t.Mesh
		if t.MeshTraffic != nil {
			w := prom.MeasuredWindow(res, 0)
			t.MeshTraffic(after, t.Mesh, w.Start, w.End)
		}
	}
	out := &Outcome{Result: res, NoResponse: NoResponse(res)}
	if t.Save != nil {
		// Saving is not cancelled by what ended the run.
		out.ResultID, out.SaveErr = t.Save(context.WithoutCancel(ctx), res)
	}
	return out, nil
}

// NoResponseError says that none of a test's requests got a response: the
// target is wrong or down, whatever the objectives say.
type NoResponseError struct {
	Requests int64
	// Class and Example are the first error class and one of its
	// examples, if any.
	Class, Example string
	classed        bool // the result recorded an error class
}

// NoResponse is the one "no request got a response" rule: requests were
// sent and none was answered. Nil otherwise.
func NoResponse(res *spec.Result) *NoResponseError {
	if res == nil || res.Achieved.Requests == 0 || res.Achieved.Responses != 0 {
		return nil
	}
	e := &NoResponseError{Requests: res.Achieved.Requests}
	if len(res.Errors) > 0 {
		e.Class, e.classed = res.Errors[0].Class, true
		if len(res.Errors[0].Examples) > 0 {
			e.Example = res.Errors[0].Examples[0]
		}
	}
	return e
}

// Cause is the first error class and its example: ": class (example)",
// or "" when the result recorded no error.
func (e *NoResponseError) Cause() string {
	switch {
	case !e.classed:
		return ""
	case e.Example == "":
		return ": " + e.Class
	}
	return fmt.Sprintf(": %s (%s)", e.Class, e.Example)
}

func (e *NoResponseError) Error() string {
	return fmt.Sprintf("none of %d requests got a response%s", e.Requests, e.Cause())
}
