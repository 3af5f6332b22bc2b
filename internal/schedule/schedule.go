// Package schedule says when scheduled runs are due.
//
// A spec is one of:
//
//   - five cron fields, "minute hour day month weekday", each "*", a value,
//     a range "1-5", a list "1,5,9", or a step "*/15", "10-50/10", "5/15"
//     (from 5 to the top of the field); months may be named jan-dec and
//     weekdays sun-sat, and 0 and 7 are both Sunday;
//   - a macro: @hourly, @daily (@midnight), @weekly, @monthly, @yearly
//     (@annually);
//   - an interval: "every 5m", "every 2h", "every 1h30m", "every 15 minutes",
//     "every 1 hour", "every 2 days" ("@every 5m" is accepted too).
//
// Specs are case-insensitive. Parse and the other constructors return a
// *SpecError for any spec they refuse.
//
// # Cron rules
//
// Cron fields are read in the location given to Parse (UTC when nil).
// As in cron, when both the day and the weekday field are restricted, a day
// matching either one counts: "0 0 13 * fri" fires on every 13th and every
// Friday. A field is restricted when it leaves out some value, whatever its
// spelling, so "*/2" is restricted and "1-31" is not (Vixie cron looks at a
// leading '*' instead).
//
// Daylight saving time: a local time that does not exist on a day (it falls
// in the spring-forward gap) is skipped for that day; the run is not moved
// to the next valid minute. A local time that occurs twice (fall back) fires
// once, at its first occurrence. So "30 2 * * *" in America/New_York does
// not fire on the day clocks jump from 02:00 to 03:00, and "30 1 * * *" fires
// once, in daylight time, on the day clocks go back.
//
// Parse rejects a spec that can never fire, such as "0 0 30 2 *" (there is no
// February 30). Next still searches at most ten years ahead and returns the
// zero Time if it finds nothing, which the search limit makes possible only
// for local times that fall in a DST gap on every day they could fire.
//
// # Intervals
//
// An interval schedule fires at anchor + k·interval for every whole k,
// positive or negative: the anchor fixes the phase of the grid, not the start.
// Intervals are elapsed time and ignore DST: "every 1h" fires at both 01:00s
// of a fall-back night. Parse anchors intervals at the Unix epoch
// (1970-01-01T00:00:00Z), which needs no stored state and gives the same
// times after a restart: "every 15m" fires at :00, :15, :30 and :45, "every
// 2h" at even hours UTC. To count from somewhere else, such as the time the
// schedule was created, use ParseEvery or Every.
package schedule

import (
	"fmt"
	"strings"
	"time"
)

// Schedule is when a run is due.
type Schedule interface {
	// Next returns the first due time strictly after after, or the zero
	// Time if there is none within the search horizon.
	Next(after time.Time) time.Time
	// String returns the spec in a form Parse accepts.
	String() string
}

// ParseIn parses spec as Parse does, in the IANA time zone named tz (UTC
// when tz is empty), as a stored schedule keeps them. A zone it does not
// know is a *TimezoneError; a spec it refuses, a *SpecError.
func ParseIn(spec, tz string) (Schedule, error) {
	loc := time.UTC
	if tz != "" {
		var err error
		if loc, err = time.LoadLocation(tz); err != nil {
			return nil, &TimezoneError{Name: tz}
		}
	}
	return Parse(spec, loc)
}

// Parse parses a cron spec, a macro or an interval (see the package
// documentation). Cron fields are read in loc, UTC when loc is nil; an
// interval is anchored at the Unix epoch and returns times in loc.
func Parse(spec string, loc *time.Location) (Schedule, error) {
	if loc == nil {
		loc = time.UTC
	}
	norm := strings.ToLower(strings.TrimSpace(spec))
	fields := strings.Fields(norm)
	switch {
	case len(fields) == 0:
		return nil, &SpecError{Spec: spec, Reason: `empty spec, want five cron fields, a macro such as @daily, or "every 5m"`}
	case fields[0] == "every" || fields[0] == "@every":
		d, err := parseInterval(spec, fields[1:])
		if err != nil {
			return nil, err
		}
		return every{interval: d, anchor: time.Unix(0, 0).In(loc)}, nil
	case strings.HasPrefix(norm, "@"):
		expansion, ok := macros[norm]
		if !ok {
			return nil, &SpecError{Spec: spec, Kind: KindMacro, Reason: "unknown macro"}
		}
		c, err := parseCron(expansion, strings.Fields(expansion), loc)
		if err != nil {
			return nil, fmt.Errorf("macro %s: %w", norm, err) // a broken table, caught by the tests
		}
		c.spec = norm
		return c, nil
	}
	return parseCron(spec, fields, loc)
}

// macros maps each macro to the cron spec it stands for.
var macros = map[string]string{
	"@hourly":   "0 * * * *",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@weekly":   "0 0 * * 0",
	"@monthly":  "0 0 1 * *",
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
}

// Missed returns the due times of s in (last, now], oldest first: the runs
// that were due after the last one and up to now, for example while the
// server was down. It returns at most max of them and reports in more whether
// there were others after those; with max <= 0 it returns none and more says
// whether any were due. A time equal to now is included, so the caller
// decides whether that one is run or recorded as missed.
//
// Missed stops early if s.Next does not move forward, so a faulty Schedule
// cannot make it loop.
func Missed(s Schedule, last, now time.Time, max int) (times []time.Time, more bool) {
	for t := s.Next(last); !t.IsZero() && !t.After(now) && t.After(last); t = s.Next(t) {
		if len(times) >= max {
			return times, true
		}
		times = append(times, t)
		last = t
	}
	return times, false
}
