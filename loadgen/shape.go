package loadgen

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Shape gives every request of an open-loop run its intended send time.
// Request n (from 0) is intended at Time(n) after the start of the run,
// warm-up included; Time is non-decreasing in n. Because send times come from
// the shape and not from when a connection happened to be free, a stall of
// the target shows in the latency of every request it delayed.
type Shape interface {
	// Time is the intended send time of request n.
	Time(n int64) time.Duration
	// Count is how many requests are intended at or before t.
	Count(t time.Duration) int64
	// RateAt is the intended rate, in requests per second, at t.
	RateAt(t time.Duration) float64
	// Validate tells whether the shape can be run.
	Validate() error
	String() string
}

var (
	_ Shape = Constant(0)
	_ Shape = Ramp{}
	_ Shape = Steps{}
)

// Constant is a fixed rate in requests per second.
type Constant float64

// Time implements Shape.
func (c Constant) Time(n int64) time.Duration {
	return secs(float64(n) / float64(c))
}

// Count implements Shape.
func (c Constant) Count(t time.Duration) int64 {
	if t < 0 {
		return 0
	}
	return countOf(t.Seconds() * float64(c))
}

// RateAt implements Shape.
func (c Constant) RateAt(time.Duration) float64 { return float64(c) }

// Validate implements Shape.
func (c Constant) Validate() error {
	if !(c > 0) || math.IsInf(float64(c), 0) {
		return fmt.Errorf("rate must be > 0, got %v", float64(c))
	}
	return nil
}

func (c Constant) String() string { return "constant " + fmtRate(float64(c)) + "/s" }

// Ramp changes the rate linearly from From to To over Over, then holds To.
type Ramp struct {
	From, To float64
	Over     time.Duration
}

func (r Ramp) accel() float64 { return (r.To - r.From) / r.Over.Seconds() }

// hits is the (fractional) number of requests intended in [0, t].
func (r Ramp) hits(t float64) float64 {
	T := r.Over.Seconds()
	if t <= T {
		return r.From*t + r.accel()*t*t/2
	}
	return r.From*T + r.accel()*T*T/2 + r.To*(t-T)
}

// Time implements Shape.
func (r Ramp) Time(n int64) time.Duration {
	x := float64(n)
	T := r.Over.Seconds()
	a := r.accel()
	if x >= r.hits(T) {
		return secs(T + (x-r.hits(T))/r.To)
	}
	if math.Abs(a) < 1e-12 {
		return secs(x / r.From)
	}
	// Solve a/2 t² + From t - x = 0 for the smallest t >= 0.
	disc := r.From*r.From + 2*a*x
	if disc < 0 {
		disc = 0
	}
	return secs((-r.From + math.Sqrt(disc)) / a)
}

// Count implements Shape.
func (r Ramp) Count(t time.Duration) int64 {
	if t < 0 {
		return 0
	}
	return countOf(r.hits(t.Seconds()))
}

// RateAt implements Shape.
func (r Ramp) RateAt(t time.Duration) float64 {
	if t >= r.Over {
		return r.To
	}
	return r.From + r.accel()*t.Seconds()
}

// Validate implements Shape.
func (r Ramp) Validate() error {
	switch {
	case r.From < 0 || r.To < 0:
		return errors.New("ramp rates must not be negative")
	case r.From == 0 && r.To == 0:
		return errors.New("ramp needs a rate above 0")
	case r.To == 0:
		return errors.New("ramp must not end at rate 0")
	case r.Over <= 0:
		return errors.New("ramp needs a duration above 0")
	}
	return nil
}

func (r Ramp) String() string {
	return fmt.Sprintf("ramp %s/s to %s/s over %s", fmtRate(r.From), fmtRate(r.To), r.Over)
}

// Step holds Rate for Duration.
type Step struct {
	Rate     float64
	Duration time.Duration
}

// Steps runs each step in turn, then holds the last rate.
type Steps []Step

// Time implements Shape.
func (s Steps) Time(n int64) time.Duration {
	x := float64(n)
	var start float64
	for i, st := range s {
		d := st.Duration.Seconds()
		h := st.Rate * d
		if x < h-1e-9 || i == len(s)-1 {
			return secs(start + x/st.Rate)
		}
		x -= h
		start += d
	}
	return 0
}

// Count implements Shape.
func (s Steps) Count(t time.Duration) int64 {
	if t < 0 {
		return 0
	}
	ts := t.Seconds()
	var hits, start float64
	for i, st := range s {
		d := st.Duration.Seconds()
		if ts < start+d || i == len(s)-1 {
			hits += st.Rate * (ts - start)
			break
		}
		hits += st.Rate * d
		start += d
	}
	return countOf(hits)
}

// RateAt implements Shape.
func (s Steps) RateAt(t time.Duration) float64 {
	var start time.Duration
	for i, st := range s {
		if t < start+st.Duration || i == len(s)-1 {
			return st.Rate
		}
		start += st.Duration
	}
	return 0
}

// Validate implements Shape.
func (s Steps) Validate() error {
	if len(s) == 0 {
		return errors.New("steps: at least one step is required")
	}
	for i, st := range s {
		if !(st.Rate > 0) {
			return fmt.Errorf("step %d: rate must be > 0", i+1)
		}
		if st.Duration <= 0 && i < len(s)-1 {
			return fmt.Errorf("step %d: duration must be > 0", i+1)
		}
	}
	return nil
}

func (s Steps) String() string {
	parts := make([]string, len(s))
	for i, st := range s {
		parts[i] = fmt.Sprintf("%s/s for %s", fmtRate(st.Rate), st.Duration)
	}
	return "steps " + strings.Join(parts, ", ")
}

// ParseShape reads a rate shape as written on the command line:
//
//	"" with rps > 0         constant rps
//	"constant"              constant rps
//	"ramp:100-1000"         linear ramp over the whole run (dur)
//	"ramp:100-1000/30s"     linear ramp over 30 s, then hold
//	"steps:100/10s,500/10s" each rate for its time, then hold the last
//
// It returns nil (closed loop) when spec is empty and rps is 0.
func ParseShape(spec string, rps float64, dur time.Duration) (Shape, error) {
	spec = strings.TrimSpace(spec)
	if rps < 0 || math.IsNaN(rps) || math.IsInf(rps, 0) {
		return nil, fmt.Errorf("rate must be >= 0, got %v", rps)
	}
	kind, arg, _ := strings.Cut(spec, ":")
	switch kind {
	case "", "constant":
		if rps == 0 {
			if kind == "constant" {
				return nil, errors.New("constant shape needs a rate above 0")
			}
			return nil, nil
		}
		return Constant(rps), nil
	case "ramp":
		rates, over, hasOver := strings.Cut(arg, "/")
		from, to, ok := strings.Cut(rates, "-")
		if !ok {
			return nil, fmt.Errorf("ramp %q: want ramp:FROM-TO or ramp:FROM-TO/DURATION", arg)
		}
		r := Ramp{Over: dur}
		var err error
		if r.From, err = parseRate(from); err != nil {
			return nil, fmt.Errorf("ramp: %w", err)
		}
		if r.To, err = parseRate(to); err != nil {
			return nil, fmt.Errorf("ramp: %w", err)
		}
		if hasOver {
			if r.Over, err = time.ParseDuration(over); err != nil {
				return nil, fmt.Errorf("ramp: invalid duration %q", over)
			}
		}
		if err := r.Validate(); err != nil {
			return nil, err
		}
		return r, nil
	case "steps":
		var s Steps
		for i, part := range strings.Split(arg, ",") {
			rate, d, ok := strings.Cut(strings.TrimSpace(part), "/")
			if !ok {
				return nil, fmt.Errorf("steps: step %d %q: want RATE/DURATION", i+1, part)
			}
			var st Step
			var err error
			if st.Rate, err = parseRate(rate); err != nil {
				return nil, fmt.Errorf("steps: step %d: %w", i+1, err)
			}
			if st.Duration, err = time.ParseDuration(d); err != nil {
				return nil, fmt.Errorf("steps: step %d: invalid duration %q", i+1, d)
			}
			s = append(s, st)
		}
		if err := s.Validate(); err != nil {
			return nil, err
		}
		return s, nil
	default:
		return nil, fmt.Errorf("unknown rate shape %q (want constant, ramp:FROM-TO[/DURATION] or steps:RATE/DURATION,...)", kind)
	}
}

func parseRate(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("invalid rate %q", s)
	}
	return v, nil
}

// MaxCount is the most Count returns: far above what a plan within Ceiling
// asks for, and far enough from the int64 limit that counters and
// differences built on it cannot overflow.
const MaxCount = 1 << 60

// countOf is the Count of h intended requests (fractional): saturating at
// MaxCount, never negative, NaN read as none.
func countOf(h float64) int64 {
	switch {
	case !(h >= 0): // negative or NaN
		return 0
	case h >= MaxCount-1:
		return MaxCount
	}
	return int64(math.Floor(h+1e-9)) + 1
}

func secs(s float64) time.Duration {
	if !(s >= 0) {
		return 0
	}
	if s > float64(math.MaxInt64)/1e9 {
		return time.Duration(math.MaxInt64)
	}
	// Round up, so that Count(Time(n)) always includes request n.
	return time.Duration(math.Ceil(s * 1e9))
}

func fmtRate(r float64) string { return strconv.FormatFloat(r, 'f', -1, 64) }
