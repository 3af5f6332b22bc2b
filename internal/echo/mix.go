package echo

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// SyntaxError says why a delay or status specification was rejected.
type SyntaxError struct {
	Kind  string // "delay" or "status"
	Input string // the specification as given
	Part  int    // 1-based index of the offending part of a mix; 0 when the error concerns the whole
	Err   error
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s %q: %s", e.Kind, e.Input, e.Reason())
}

// Reason is the error without the specification it concerns, for callers
// that name the input themselves (a flag, a query parameter).
func (e *SyntaxError) Reason() string {
	if e.Part > 0 {
		return fmt.Sprintf("part %d: %v", e.Part, e.Err)
	}
	return e.Err.Error()
}

func (e *SyntaxError) Unwrap() error { return e.Err }

// weightTolerance absorbs float rounding when weights such as 99.9% and
// 0.1% are added up.
const weightTolerance = 1e-9

// mix is a weighted choice among values: "95%:a,5%:b", or a single "a".
type mix[T any] struct {
	parts    []part[T]
	weighted bool // written with weights, kept so String gives them back
}

type part[T any] struct {
	weight float64 // percent
	cum    float64 // sum of the weights up to and including this part
	v      T
}

// parseMix reads s as one value or a comma-separated list of weight%:value
// parts whose weights add up to 100.
func parseMix[T any](kind, s string, parseValue func(string) (T, error)) (mix[T], error) {
	fields := strings.Split(s, ",")
	m := mix[T]{parts: make([]part[T], 0, len(fields))}
	var sum float64
	for i, f := range fields {
		f = strings.TrimSpace(f)
		ws, spec, weighted := cutWeight(f)
		n := i + 1
		if len(fields) == 1 && !weighted {
			n = 0 // a lone value: no part to name
		}
		fail := func(err error) (mix[T], error) {
			return mix[T]{}, &SyntaxError{Kind: kind, Input: s, Part: n, Err: err}
		}
		switch {
		case f == "":
			return fail(errors.New("empty"))
		case !weighted && (len(fields) > 1 || strings.Contains(f, "%")):
			return fail(fmt.Errorf("%q has no weight, want weight%%:value as in 90%%:%s", f, example(kind)))
		}
		w := 100.0
		if weighted {
			m.weighted = true
			var err error
			if w, err = parseWeight(ws); err != nil {
				return fail(err)
			}
		} else {
			spec = f
		}
		v, err := parseValue(strings.TrimSpace(spec))
		if err != nil {
			return fail(err)
		}
		sum += w
		m.parts = append(m.parts, part[T]{weight: w, cum: sum, v: v})
	}
	if math.Abs(sum-100) > weightTolerance {
		return mix[T]{}, &SyntaxError{Kind: kind, Input: s,
			Err: fmt.Errorf("weights add up to %s%%, want 100%%", formatWeight(sum))}
	}
	return m, nil
}

// cutWeight splits "90%:value" (spaces allowed around the colon) into
// "90" and "value".
func cutWeight(f string) (weight, value string, ok bool) {
	weight, rest, ok := strings.Cut(f, "%")
	if !ok {
		return "", f, false
	}
	value, ok = strings.CutPrefix(strings.TrimSpace(rest), ":")
	return weight, value, ok
}

func example(kind string) string {
	if kind == "status" {
		return "200"
	}
	return "1ms"
}

func parseWeight(s string) (float64, error) {
	w, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, fmt.Errorf("invalid weight %q", s+"%")
	}
	if !(w >= 0 && w <= 100) { // also rejects NaN
		return 0, fmt.Errorf("weight %s%% is outside 0%%–100%%", s)
	}
	return w, nil
}

func formatWeight(w float64) string {
	return strconv.FormatFloat(w, 'g', 10, 64)
}

// pick draws one value with the mix's weights; r nil uses math/rand/v2's
// top-level source, which is safe for concurrent use without a lock.
func (m mix[T]) pick(r *rand.Rand) T {
	if len(m.parts) == 1 {
		return m.parts[0].v
	}
	u := float64n(r) * m.parts[len(m.parts)-1].cum
	// First part whose cumulative weight passes u; zero-weight parts are
	// never chosen.
	lo, hi := 0, len(m.parts)-1
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if m.parts[mid].cum > u {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return m.parts[lo].v
}

func (m mix[T]) format(value func(T) string) string {
	if len(m.parts) == 1 && !m.weighted {
		return value(m.parts[0].v)
	}
	var b strings.Builder
	for i, p := range m.parts {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatFloat(p.weight, 'g', -1, 64))
		b.WriteString("%:")
		b.WriteString(value(p.v))
	}
	return b.String()
}

func float64n(r *rand.Rand) float64 {
	if r == nil {
		return rand.Float64()
	}
	return r.Float64()
}

func uint64n(r *rand.Rand, n uint64) uint64 {
	if r == nil {
		return rand.Uint64N(n)
	}
	return r.Uint64N(n)
}
