package loadgen

import (
	"context"
	"time"

	"github.com/meshperf/meshperf/spec"
)

// Generator runs a Plan and returns what it measured. Run returns a result
// whenever anything was measured, even when ctx is cancelled part way (the
// result is then marked interrupted); an error without a result means the
// plan could not be run at all.
type Generator interface {
	Info() Info
	Run(ctx context.Context, p *Plan, sink Sink) (*spec.Result, error)
}

// Info names a generator and its version.
type Info struct {
	Name    string
	Version string
}

// Progress is what a running test reports every second.
type Progress struct {
	// Elapsed is the time since the start of the run, warm-up included.
	Elapsed  time.Duration
	Interval spec.Interval
	// SoFar sums the measured part of the run up to now (the warm-up
	// while it lasts).
	SoFar Totals
}

// Totals are running figures of a test.
type Totals struct {
	Requests      int64
	Errors        int64
	RPS           float64
	P50, P90, P99 time.Duration
}

// Sink receives progress as a test runs. Calls come from one goroutine.
type Sink interface {
	Progress(Progress)
}

// HistogramSink is a Sink that wants each second's histograms encoded in
// Progress.Interval (to merge them elsewhere, as a distributed run does).
// Without it they are not encoded, unless the plan keeps them.
type HistogramSink interface {
	Sink
	WantsHistograms() bool
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(Progress)

// Progress implements Sink.
func (f SinkFunc) Progress(p Progress) { f(p) }

var _ Sink = SinkFunc(nil)
