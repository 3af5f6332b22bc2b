package echo

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// StatusMix is a weighted mix of HTTP status codes: "200", or
// "95%:200,5%:503". The zero StatusMix always answers 200.
type StatusMix struct {
	m mix[int]
}

// ParseStatus reads a status mix; "" means always 200. Codes must be
// 100–599.
func ParseStatus(s string) (StatusMix, error) {
	if strings.TrimSpace(s) == "" {
		return StatusMix{}, nil
	}
	m, err := parseMix("status", s, parseCode)
	if err != nil {
		return StatusMix{}, err
	}
	return StatusMix{m: m}, nil
}

// Sample draws one status code; r nil uses math/rand/v2's top-level
// source, which is safe for concurrent use.
func (s StatusMix) Sample(r *rand.Rand) int {
	if len(s.m.parts) == 0 {
		return 200
	}
	return s.m.pick(r)
}

// String gives s in the form ParseStatus reads.
func (s StatusMix) String() string {
	if len(s.m.parts) == 0 {
		return "200"
	}
	return s.m.format(strconv.Itoa)
}

func parseCode(s string) (int, error) {
	bad := fmt.Errorf("invalid status code %q, want 100-599", s)
	if len(s) != 3 || strings.Trim(s, "0123456789") != "" {
		return 0, bad
	}
	c, _ := strconv.Atoi(s)
	if c < 100 || c > 599 {
		return 0, bad
	}
	return c, nil
}
