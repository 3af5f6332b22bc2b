package echo

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Delay is a distribution of response delays: none, fixed ("5ms"), uniform
// ("uniform:1ms-5ms"), or a weighted mix of those ("99%:1ms,1%:100ms").
// The zero Delay is no delay.
type Delay struct {
	m   mix[span]
	max time.Duration // longest delay the distribution can give
}

// span is a uniform range of durations; min == max is a fixed delay.
type span struct{ min, max time.Duration }

// ParseDelay reads a delay distribution; "" and "0" mean no delay.
func ParseDelay(s string) (Delay, error) {
	if t := strings.TrimSpace(s); t == "" || t == "0" {
		return Delay{}, nil
	}
	m, err := parseMix("delay", s, parseSpan)
	if err != nil {
		return Delay{}, err
	}
	d := Delay{m: m}
	for _, p := range m.parts {
		d.max = max(d.max, p.v.max)
	}
	return d, nil
}

// IsZero reports whether d never delays.
func (d Delay) IsZero() bool { return d.max == 0 }

// Sample draws one delay; r nil uses math/rand/v2's top-level source, which
// is safe for concurrent use.
func (d Delay) Sample(r *rand.Rand) time.Duration {
	if d.max == 0 {
		return 0
	}
	s := d.m.pick(r)
	if s.min == s.max {
		return s.min
	}
	return s.min + time.Duration(uint64n(r, uint64(s.max-s.min)+1))
}

// String gives d in the form ParseDelay reads.
func (d Delay) String() string {
	if len(d.m.parts) == 0 {
		return "0"
	}
	return d.m.format(span.String)
}

func (s span) String() string {
	if s.min == s.max {
		return s.min.String()
	}
	return "uniform:" + s.min.String() + "-" + s.max.String()
}

func parseSpan(s string) (span, error) {
	rest, ok := strings.CutPrefix(s, "uniform:")
	if !ok {
		d, err := parseDuration(s)
		return span{d, d}, err
	}
	lo, hi, ok := strings.Cut(rest, "-")
	if !ok {
		return span{}, fmt.Errorf("%q: want uniform:MIN-MAX, as in uniform:1ms-5ms", s)
	}
	a, err := parseDuration(lo)
	if err != nil {
		return span{}, err
	}
	b, err := parseDuration(hi)
	if err != nil {
		return span{}, err
	}
	if b < a {
		return span{}, fmt.Errorf("uniform range %q ends before it starts", rest)
	}
	return span{a, b}, nil
}

// parseDuration reads a non-negative Go duration; a bare "0" is allowed.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("negative duration %q", s)
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil && s != "" && strings.Trim(s, "0123456789.") == "":
		return 0, fmt.Errorf("duration %q has no unit, as in %sms", s, s)
	case err != nil:
		return 0, fmt.Errorf("invalid duration %q", s)
	case d < 0:
		return 0, fmt.Errorf("negative duration %q", s)
	}
	return d, nil
}

var errNotPositive = errors.New("want a positive duration such as 1s")

// parsePositiveDuration reads a duration that must be above zero.
func parsePositiveDuration(s string) (time.Duration, error) {
	d, err := parseDuration(s)
	if err != nil {
		return 0, err
	}
	if d <= 0 {
		return 0, errNotPositive
	}
	return d, nil
}
