package experiment

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"time"

	"github.com/meshperf/meshperf/internal/runs"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

// Errors Run and Open return; callers branch on them with errors.Is.
var (
	// ErrInterrupted: the context ended mid-way; the cells stored so far
	// are kept, and running the experiment again resumes it.
	ErrInterrupted = errors.New("experiment interrupted")
	// ErrChanged: an unfinished experiment of that name was started from
	// a different definition, so its cells would not compare.
	ErrChanged = errors.New("the experiment file changed")
)

// Open returns the experiment to run def in: the newest experiment of
// def's name if it is unfinished and has the same definition (resumed),
// or a new one. A finished one, or fresh, starts a new one; an unfinished
// one with another definition is ErrChanged.
func Open(ctx context.Context, st store.Store, def *Definition, fresh bool) (exp *store.Experiment, resumed bool, err error) {
	body, err := def.Body()
	if err != nil {
		return nil, false, err
	}
	cells := len(def.File.Cells())
	if !fresh {
		old, err := st.GetExperiment(ctx, def.File.Name)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return nil, false, fmt.Errorf("experiment %s: %w", def.File.Name, err)
		case old.Name != def.File.Name || old.State == store.ExperimentDone:
			// Done (or an ID that happens to equal the name): a new one.
		case !bytes.Equal(old.Body, body):
			return nil, false, fmt.Errorf("experiment %s (%s, %d of %d cells stored): %w since it started; run it with --new to start a new experiment",
				old.Name, old.ID, old.Done, old.Cells, ErrChanged)
		default:
			return old, true, nil
		}
	}
	exp = &store.Experiment{Name: def.File.Name, State: store.ExperimentRunning, Body: body, Cells: cells}
	if err := st.CreateExperiment(ctx, exp); err != nil {
		return nil, false, fmt.Errorf("experiment %s: %w", def.File.Name, err)
	}
	return exp, false, nil
}

// Stored returns the results stored for the cells of experiment id, by
// cell key: the oldest when a cell was stored twice.
func Stored(ctx context.Context, st store.ResultStore, id string) (map[Key]store.ResultSummary, error) {
	out := map[Key]store.ResultSummary{}
	f := store.ResultFilter{Labels: map[string]string{LabelExperiment: id}, Limit: store.MaxLimit}
	for {
		page, err := st.ListResults(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("experiment %s: listing its results: %w", id, err)
		}
		for _, s := range page.Results {
			out[KeyOf(s.Labels)] = s // newest first: the oldest wins
		}
		if page.Next == "" {
			return out, nil
		}
		f.Cursor = page.Next
	}
}

// Runner runs the cells of an experiment and stores each as a result.
type Runner struct {
	Store   store.Store
	Version string
	// Log gets one line per cell; nil for none.
	Log io.Writer
	// RunPlans runs a cell's plans; runs.Local (internal/runner) when nil.
	RunPlans func(ctx context.Context, plans []*loadgen.Plan) (*spec.Result, error)
}

func (r *Runner) logf(format string, a ...any) {
	if r.Log != nil {
		fmt.Fprintf(r.Log, format+"\n", a...)
	}
}

// Run runs the cells of exp that are not stored yet, in def's order, each
// stored as a result labelled experiment, variant, rps, connections and
// repeat, and keeps exp's state and count of cells done. A cell cut short
// by ctx is not stored (it runs again on resume) and Run returns
// ErrInterrupted; a cell that cannot run stops the experiment as failed.
func (r *Runner) Run(ctx context.Context, exp *store.Experiment, def *Definition) error {
	bg := context.WithoutCancel(ctx)
	cells := def.File.Cells()
	stored, err := Stored(ctx, r.Store, exp.ID)
	if err != nil {
		return err
	}
	var todo []Cell
	for _, c := range cells {
		if _, ok := stored[c.Key()]; !ok {
			todo = append(todo, c)
		}
	}
	exp.Cells, exp.Done, exp.State, exp.Error = len(cells), len(cells)-len(todo), store.ExperimentRunning, ""
	if err := r.Store.UpdateExperiment(bg, exp); err != nil {
		return fmt.Errorf("experiment %s: %w", exp.Name, err)
	}
	if len(todo) < len(cells) && len(todo) > 0 {
		r.logf("experiment %s (%s): resuming, %d of %d cells already stored", exp.Name, exp.ID, exp.Done, exp.Cells)
	}
	stop := func(state, msg string, err error) error {
		exp.State, exp.Error = state, msg
		if uerr := r.Store.UpdateExperiment(bg, exp); uerr != nil {
			err = errors.Join(err, fmt.Errorf("experiment %s: saving its state: %w", exp.Name, uerr))
		}
		return err
	}
	engine := runs.Local(r.Version)
	if r.RunPlans != nil {
		engine = func(ctx context.Context, plans []*loadgen.Plan, _ func(int) loadgen.Sink) (*spec.Result, error) {
			return r.RunPlans(ctx, plans)
		}
	}
	for i, c := range todo {
		if i > 0 {
			if err := sleep(ctx, def.Pause()); err != nil {
				return stop(store.ExperimentInterrupted, "interrupted between cells", ErrInterrupted)
			}
		}
		if ctx.Err() != nil {
			return stop(store.ExperimentInterrupted, "interrupted between cells", ErrInterrupted)
		}
		plans, err := def.Plans(c)
		if err != nil {
			return stop(store.ExperimentFailed, err.Error(), err)
		}
		out, err := runs.Execute(ctx, r.cellTest(ctx, def, exp, c, plans, engine))
		if err != nil && ctx.Err() != nil { // cut short, not stored
			return stop(store.ExperimentInterrupted, fmt.Sprintf("interrupted in cell %d; it runs again on resume", c.Index+1), ErrInterrupted)
		}
		var nr *runs.NoResponseError
		switch {
		case errors.As(err, &nr):
			err := fmt.Errorf("cell %d (%s at %s rps): %v; it was not stored", c.Index+1, c.Variant, FormatRPS(c.Point.RPS), nr)
			return stop(store.ExperimentFailed, err.Error(), err)
		case err != nil:
			err = fmt.Errorf("cell %d (%s at %s rps, %d connections, repeat %d): %w", c.Index+1, c.Variant, FormatRPS(c.Point.RPS), c.Point.Connections, c.Repeat, err)
			return stop(store.ExperimentFailed, err.Error(), err)
		case out.SaveErr != nil:
			err = fmt.Errorf("cell %d: the result was not saved: %w", c.Index+1, out.SaveErr)
			return stop(store.ExperimentFailed, err.Error(), err)
		}
		res, id := out.Result, out.ResultID
		exp.Done++
		if err := r.Store.UpdateExperiment(bg, exp); err != nil {
			return fmt.Errorf("experiment %s: %w", exp.Name, err)
		}
		r.logf("cell %d/%d  %-12s rps %-6s c %-4d repeat %d  p50 %s  p99 %s  %.1f/s  errors %.2f%%  -> %s",
			exp.Done, exp.Cells, c.Variant, FormatRPS(c.Point.RPS), c.Point.Connections, c.Repeat,
			msOf(pct(res, 50)), msOf(pct(res, 99)), res.Achieved.RPS, res.Achieved.ErrorRate*100, id)
	}
	if err := stop(store.ExperimentDone, "", nil); err != nil {
		return err
	}
	return nil
}

// cellTest is cell c as the run service executes it: named and labelled
// as the cell, its Prometheus queries, stored with no profile. A cell cut
// short, or with no response (a wrong target would fail every cell alike),
// is not stored: it runs again on resume.
func (r *Runner) cellTest(ctx context.Context, def *Definition, exp *store.Experiment, c Cell, plans []*loadgen.Plan, engine runs.Engine) runs.Test {
	return runs.Test{Plans: plans, Engine: engine,
		Check: func(res *spec.Result) error {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if nr := runs.NoResponse(res); nr != nil {
				return nr
			}
			return nil
		},
		Metrics: def.MetricsConfig(c),
		Name:    def.File.Name + "/" + c.Variant,
		Labels:  cellLabels(def, exp.ID, c),
		Save: func(ctx context.Context, res *spec.Result) (string, error) {
			return r.Store.SaveResult(context.WithoutCancel(ctx), res, store.ResultRef{})
		},
	}
}

// cellLabels are the file's labels and the cell's.
func cellLabels(def *Definition, id string, c Cell) map[string]string {
	l := maps.Clone(def.File.Labels)
	if l == nil {
		l = map[string]string{}
	}
	k := c.Key()
	l[LabelExperiment] = id
	l[LabelVariant] = k.Variant
	l[LabelRPS] = k.RPS
	l[LabelConnections] = k.Connections
	l[LabelRepeat] = k.Repeat
	return l
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func msOf(v float64, ok bool) string {
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.3fms", v)
}
