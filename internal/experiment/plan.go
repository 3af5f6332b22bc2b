package experiment

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

// Labels every cell's result carries.
const (
	LabelExperiment  = "experiment"
	LabelVariant     = "variant"
	LabelRPS         = "rps"
	LabelConnections = "connections"
	LabelRepeat      = "repeat"
)

var reservedLabels = map[string]bool{
	LabelExperiment: true, LabelVariant: true, LabelRPS: true, LabelConnections: true, LabelRepeat: true,
}

// Point is one point of the sweep: a total rate (0 = closed loop) and a
// total number of connections.
type Point struct {
	RPS         float64 `json:"rps"`
	Connections int     `json:"connections"`
}

// Cell is one run of the experiment: a variant at a sweep point, in one
// repeat (from 1).
type Cell struct {
	Index   int    `json:"index"`
	Variant string `json:"variant"`
	Point   Point  `json:"point"`
	Repeat  int    `json:"repeat"`
}

// Key identifies a cell by what its result's labels say.
type Key struct {
	Variant     string
	RPS         string
	Connections string
	Repeat      string
}

// Key returns the labels that identify c.
func (c Cell) Key() Key {
	return Key{c.Variant, FormatRPS(c.Point.RPS), strconv.Itoa(c.Point.Connections), strconv.Itoa(c.Repeat)}
}

// KeyOf returns the cell key of a result's labels.
func KeyOf(labels map[string]string) Key {
	return Key{labels[LabelVariant], labels[LabelRPS], labels[LabelConnections], labels[LabelRepeat]}
}

// FormatRPS writes a rate as labels and reports show it: 100, 2.5.
func FormatRPS(r float64) string { return strconv.FormatFloat(r, 'f', -1, 64) }

// Repeats is f's number of repeats (1 when left out).
func (f *File) repeats() int { return max(1, f.Repeats) }

// Points lists the sweep points: every rate with every connection count,
// rates outermost, in the order the file gives them.
func (f *File) Points() []Point {
	rates := f.Sweep.RPS
	if len(rates) == 0 {
		rates = []float64{0}
		if f.RPS != nil {
			rates[0] = *f.RPS
		}
	}
	conns := f.Sweep.Connections
	if len(conns) == 0 {
		conns = []int{loadgen.DefaultConnections}
		if f.Connections > 0 {
			conns[0] = f.Connections
		}
	}
	var out []Point
	for _, r := range rates {
		for _, c := range conns {
			out = append(out, Point{RPS: r, Connections: c})
		}
	}
	return out
}

// Cells lists every cell in the order they run. For each repeat, for each
// sweep point, every variant runs once; the order of the variants is
// rotated by one at each point and each repeat (offset = repeat-1 + point
// index), so no variant always goes first, or always right after another,
// and slow drift of the machine is spread over all of them.
func (f *File) Cells() []Cell {
	points := f.Points()
	nv := len(f.Variants)
	var out []Cell
	for r := 1; r <= f.repeats(); r++ {
		for pi, pt := range points {
			for k := range nv {
				v := f.Variants[(k+r-1+pi)%nv]
				out = append(out, Cell{Index: len(out), Variant: v.Name, Point: pt, Repeat: r})
			}
		}
	}
	return out
}

// variant returns the variant named name.
func (f *File) variant(name string) (Variant, bool) {
	for _, v := range f.Variants {
		if v.Name == name {
			return v, true
		}
	}
	return Variant{}, false
}

// Plans returns the plans of cell c: the variant's profile (or a plain GET
// of its targets) with the variant's targets, the file's duration and
// warm-up, and the point's rate and connections. A profile with several
// clients shares the point's totals among them: the rate in proportion to
// their own rps (evenly when none has one), the connections evenly (at
// least one each).
func (d *Definition) Plans(c Cell) ([]*loadgen.Plan, error) {
	f := &d.File
	v, ok := f.variant(c.Variant)
	if !ok {
		return nil, fmt.Errorf("experiment: no variant %q", c.Variant)
	}
	prof := d.Profiles[v.Name]
	if prof == nil {
		prof = &spec.Profile{Name: f.Name, Duration: f.Duration, Clients: []spec.Client{{EndpointURLs: v.Targets}}}
	}
	plans, err := loadgen.PlansFromProfile(prof)
	if err != nil {
		return nil, fmt.Errorf("variant %s: %w", v.Name, err)
	}
	dur, _ := time.ParseDuration(f.Duration)
	warm, _ := time.ParseDuration(f.Warmup)
	var weights []float64
	var total float64
	for i := range prof.Clients {
		w := float64(prof.Clients[i].RPS)
		weights = append(weights, w)
		total += w
	}
	var errs []error
	n := len(plans)
	for i, p := range plans {
		if len(v.Targets) > 0 {
			p.Targets = append([]string(nil), v.Targets...)
		}
		if dur > 0 {
			p.Duration = dur
		}
		p.Requests = 0 // every cell measures for the same time
		if f.Warmup != "" {
			p.Warmup = warm
		}
		share := 1 / float64(n)
		if total > 0 {
			share = weights[i] / total
		}
		if r := c.Point.RPS * share; r > 0 {
			p.Rate = loadgen.Constant(r)
		} else {
			p.Rate = nil
		}
		conns := c.Point.Connections / n
		if i < c.Point.Connections%n {
			conns++
		}
		p.Connections = max(1, conns)
		if err := p.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("variant %s, cell %d: %w", v.Name, c.Index+1, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return plans, nil
}

// MetricsConfig returns the metrics to collect for cell c: the file's, else
// the variant's profile's; the file's cool-down applies to either. Nil when
// there are none.
func (d *Definition) MetricsConfig(c Cell) *spec.MetricsConfig {
	m := d.File.Metrics
	if m == nil {
		if p := d.Profiles[c.Variant]; p != nil {
			m = p.Metrics
		}
	}
	if m == nil {
		return nil
	}
	cp := *m
	if d.File.Cooldown != "" {
		cp.Cooldown = d.File.Cooldown
	}
	return &cp
}

// Pause is the idle time between cells.
func (d *Definition) Pause() time.Duration {
	p, _ := time.ParseDuration(d.File.Pause)
	return max(0, p)
}
