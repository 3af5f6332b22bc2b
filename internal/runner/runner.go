// Package runner runs a test made of one or more plans (a profile's
// clients) at once on the native engine and merges what they measured. The
// CLI and the server both run tests through it.
package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/meshperf/meshperf/internal/procstat"
	"github.com/meshperf/meshperf/loadgen"
	_ "github.com/meshperf/meshperf/loadgen/all" // every generator, registered
	"github.com/meshperf/meshperf/spec"
)

// Run runs every plan at once and merges their results. sink, if not nil,
// is asked for the Sink of each plan (client) by index.
func Run(ctx context.Context, version string, plans []*loadgen.Plan, sink func(i int) loadgen.Sink) (*spec.Result, error) {
	if len(plans) == 0 {
		return nil, errors.New("runner: nothing to run")
	}
	// Every plan's generator is found and checked before any load starts:
	// a field a generator cannot honour is an error naming both, never a
	// silently different test.
	gens := make([]loadgen.Generator, len(plans))
	var errs []error
	for i, p := range plans {
		gen, err := loadgen.NewGenerator(p.Generator, version)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if d, ok := gen.(loadgen.Describer); ok {
			if _, err := loadgen.Check(gen.Info().Name, d.Capabilities(), p, false); err != nil {
				errs = append(errs, err)
			}
		}
		gens[i] = gen
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	results := make([]*spec.Result, len(plans))
	runErrs := make([]error, len(plans))
	// The client's own CPU, memory and goroutines, so a saturated load
	// generator is not mistaken for a slow service.
	sampler := procstat.Start(0)
	defer sampler.Stop()
	var wg sync.WaitGroup
	for i, p := range plans {
		var s loadgen.Sink
		if sink != nil {
			s = sink(i)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], runErrs[i] = gens[i].Run(ctx, p, s)
		}()
	}
	wg.Wait()
	if err := errors.Join(runErrs...); err != nil {
		return nil, err
	}
	res, err := spec.Merge(results)
	if err != nil {
		return nil, err
	}
	if len(plans) > 1 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d clients ran at once; their histograms were added", len(plans)))
	}
	res.Process = sampler.Stop().Process(res.Achieved.LateRatio)
	if res.EndedEarly != "" {
		// Sends were late because connections backed off from a target
		// that refused them, not because the client was busy.
		res.Process.Saturated = false
	}
	return res, nil
}

// Combiner sums the progress of several clients into one, reported each
// time any of them reports.
type Combiner struct {
	mu      sync.Mutex
	clients []loadgen.Progress
	out     func(loadgen.Progress)
}

// NewCombiner makes a Combiner for n clients that calls out with the sum.
func NewCombiner(n int, out func(loadgen.Progress)) *Combiner {
	return &Combiner{clients: make([]loadgen.Progress, n), out: out}
}

// Sink returns the Sink of client i.
func (c *Combiner) Sink(i int) loadgen.Sink {
	return loadgen.SinkFunc(func(p loadgen.Progress) { c.update(i, p) })
}

func (c *Combiner) update(i int, p loadgen.Progress) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clients[i] = p
	var sum loadgen.Progress
	for _, cl := range c.clients {
		sum.Elapsed = max(sum.Elapsed, cl.Elapsed)
		sum.SoFar.Requests += cl.SoFar.Requests
		sum.SoFar.Errors += cl.SoFar.Errors
		sum.SoFar.RPS += cl.SoFar.RPS
		// Percentiles of separate clients cannot be added; the worst
		// client's is an upper bound of the whole's.
		sum.SoFar.P50 = max(sum.SoFar.P50, cl.SoFar.P50)
		sum.SoFar.P90 = max(sum.SoFar.P90, cl.SoFar.P90)
		sum.SoFar.P99 = max(sum.SoFar.P99, cl.SoFar.P99)
		iv := cl.Interval
		sum.Interval.Second = max(sum.Interval.Second, iv.Second)
		sum.Interval.Warmup = sum.Interval.Warmup || iv.Warmup
		sum.Interval.Seconds = max(sum.Interval.Seconds, iv.Seconds)
		sum.Interval.Requests += iv.Requests
		sum.Interval.Errors += iv.Errors
		sum.Interval.RequestedRPS += iv.RequestedRPS
		sum.Interval.AchievedRPS += iv.AchievedRPS
		sum.Interval.P50Ms = max(sum.Interval.P50Ms, iv.P50Ms)
		sum.Interval.P90Ms = max(sum.Interval.P90Ms, iv.P90Ms)
		sum.Interval.P99Ms = max(sum.Interval.P99Ms, iv.P99Ms)
	}
	c.out(sum)
}
