package spec

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Objective is one service-level objective a result must meet, such as
// "p99<=20ms" or "error_rate<0.1%".
type Objective struct {
	Metric string  `json:"metric"`
	Op     string  `json:"op"`
	Value  float64 `json:"value"` // ms for latencies, a fraction for rates, 1/s for rps
	Raw    string  `json:"raw"`
}

// Metrics an objective may name. Latency percentiles use the corrected
// latency of open-loop runs and the service time of closed-loop runs; the
// service_ forms always use service time.
var sloMetrics = map[string]string{
	"p50": "latency", "p75": "latency", "p90": "latency", "p95": "latency", "p99": "latency",
	"p99.9": "latency", "p99.99": "latency", "max": "latency", "mean": "latency",
	"error_rate": "ratio", "late_ratio": "ratio", "rps": "rate",
}

// ParseObjectives reads a comma-separated list of objectives, reporting every
// malformed one at once.
func ParseObjectives(s string) ([]Objective, error) {
	var out []Objective
	var errs []error
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		o, err := parseObjective(part)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, o)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(out) == 0 && strings.TrimSpace(s) != "" {
		return nil, fmt.Errorf("objective %q: empty", s)
	}
	return out, nil
}

func parseObjective(s string) (Objective, error) {
	i := strings.IndexAny(s, "<>=")
	if i <= 0 {
		return Objective{}, fmt.Errorf("objective %q: want METRIC OP VALUE, e.g. p99<=20ms", s)
	}
	o := Objective{Raw: s, Metric: strings.ToLower(strings.TrimSpace(s[:i]))}
	rest := s[i:]
	for _, op := range []string{"<=", ">=", "<", ">"} {
		if strings.HasPrefix(rest, op) {
			o.Op = op
			rest = strings.TrimSpace(rest[len(op):])
			break
		}
	}
	if o.Op == "" {
		return Objective{}, fmt.Errorf("objective %q: operator must be <, <=, > or >=", s)
	}
	kind, ok := sloMetrics[strings.TrimPrefix(o.Metric, "service_")]
	if !ok || (strings.HasPrefix(o.Metric, "service_") && kind != "latency") {
		return Objective{}, fmt.Errorf("objective %q: unknown metric %q (want p50, p75, p90, p95, p99, p99.9, p99.99, max, mean, their service_ forms, error_rate, late_ratio or rps)", s, o.Metric)
	}
	var err error
	switch kind {
	case "latency":
		var d time.Duration
		d, err = time.ParseDuration(rest)
		if err == nil && d < 0 {
			err = errors.New("negative")
		}
		o.Value = float64(d) / float64(time.Millisecond)
		if err != nil {
			return Objective{}, fmt.Errorf("objective %q: %q is not a duration such as 20ms", s, rest)
		}
	case "ratio":
		pct := strings.HasSuffix(rest, "%")
		o.Value, err = strconv.ParseFloat(strings.TrimSuffix(rest, "%"), 64)
		if pct {
			o.Value /= 100
		}
		if err != nil || o.Value < 0 || o.Value > 1 || math.IsNaN(o.Value) {
			return Objective{}, fmt.Errorf("objective %q: %q is not a ratio such as 0.1%% or 0.001", s, rest)
		}
	case "rate":
		o.Value, err = strconv.ParseFloat(strings.TrimSuffix(rest, "/s"), 64)
		if err != nil || o.Value < 0 || math.IsNaN(o.Value) || math.IsInf(o.Value, 0) {
			return Objective{}, fmt.Errorf("objective %q: %q is not a rate such as 1000", s, rest)
		}
	}
	return o, nil
}

// A verdict's status: met, broken, or not evaluated (the run did not go to
// its end, so its figures say nothing about the objective).
const (
	VerdictMet          = "met"
	VerdictBroken       = "broken"
	VerdictNotEvaluated = "not evaluated"
)

// Verdict is the outcome of one objective.
type Verdict struct {
	Objective Objective `json:"objective"`
	Actual    float64   `json:"actual"`
	Met       bool      `json:"met"`
	// Status is VerdictMet, VerdictBroken or VerdictNotEvaluated; a
	// verdict that is not evaluated is not met either.
	Status string `json:"status"`
	// Reason explains a verdict that could not be measured or evaluated.
	Reason string `json:"reason,omitempty"`
}

func (v Verdict) String() string {
	state := "met"
	switch {
	case v.Status == VerdictNotEvaluated:
		state = VerdictNotEvaluated
	case !v.Met:
		state = "BROKEN"
	}
	if v.Reason != "" {
		return fmt.Sprintf("%s: %s (%s)", v.Objective.Raw, state, v.Reason)
	}
	return fmt.Sprintf("%s: %s (actual %s)", v.Objective.Raw, state, v.Objective.format(v.Actual))
}

func (o Objective) format(v float64) string {
	switch sloMetrics[strings.TrimPrefix(o.Metric, "service_")] {
	case "latency":
		return time.Duration(v * float64(time.Millisecond)).String()
	case "ratio":
		return strconv.FormatFloat(v*100, 'g', 4, 64) + "%"
	default:
		return strconv.FormatFloat(v, 'f', 1, 64) + "/s"
	}
}

// Check evaluates objectives against a result. A result of a run stopped
// before its end (interrupted, cancelled) has its objectives not
// evaluated: a part of a run neither meets nor breaks them.
func Check(r *Result, objs []Objective) []Verdict {
	if r.Interrupted {
		return NotEvaluated(objs, "the run was stopped before its end")
	}
	out := make([]Verdict, 0, len(objs))
	for _, o := range objs {
		v := Verdict{Objective: o, Status: VerdictBroken}
		actual, ok, reason := r.metric(o.Metric)
		if !ok {
			v.Reason = reason
		} else {
			v.Actual = actual
			v.Met = compare(actual, o.Op, o.Value)
		}
		if v.Met {
			v.Status = VerdictMet
		}
		out = append(out, v)
	}
	return out
}

// NotEvaluated is objs, each not evaluated for reason (a run that failed,
// was cancelled or was interrupted).
func NotEvaluated(objs []Objective, reason string) []Verdict {
	out := make([]Verdict, 0, len(objs))
	for _, o := range objs {
		out = append(out, Verdict{Objective: o, Status: VerdictNotEvaluated, Reason: reason})
	}
	return out
}

func compare(a float64, op string, b float64) bool {
	switch op {
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	case ">=":
		return a >= b
	}
	return false
}

func (r *Result) metric(name string) (float64, bool, string) {
	switch name {
	case "error_rate":
		return r.Achieved.ErrorRate, true, ""
	case "late_ratio":
		return r.Achieved.LateRatio, true, ""
	case "rps":
		return r.Achieved.RPS, true, ""
	}
	d := r.Latency
	if d == nil || strings.HasPrefix(name, "service_") {
		d = r.ServiceTime
	}
	name = strings.TrimPrefix(name, "service_")
	if d == nil || d.Count == 0 {
		return 0, false, "no response was measured"
	}
	switch name {
	case "max":
		return d.MaxMs, true, ""
	case "mean":
		return d.MeanMs, true, ""
	}
	p, _ := strconv.ParseFloat(strings.TrimPrefix(name, "p"), 64)
	if v, ok := d.At(p); ok {
		return v, true, ""
	}
	return 0, false, "percentile not in the result"
}
