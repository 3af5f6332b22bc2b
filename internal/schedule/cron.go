package schedule

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// cron is a parsed five-field spec. Each field is a bit set: bit v is set
// when the field matches value v.
type cron struct {
	spec                              string // as String returns it
	loc                               *time.Location
	minute, hour, day, month, weekday uint64
	// anyDay and anyWeekday are true when the field matches every value; when
	// both day fields are restricted, a day matching either counts.
	anyDay, anyWeekday bool
}

var _ Schedule = (*cron)(nil)

// horizonYears is how far ahead Next searches. February 29 can be eight
// years apart (2096, then 2104), so it must be more than eight.
const horizonYears = 10

// field describes one of the five cron fields.
type field struct {
	name     string
	min, max int // the values accepted
	// starMax is the top of "*" and of "a/n": 6 for weekday, where 7 is only
	// another name for Sunday.
	starMax  int
	names    []string // names[i] stands for the value nameBase+i
	nameBase int
}

var (
	minuteField  = field{name: "minute", min: 0, max: 59, starMax: 59}
	hourField    = field{name: "hour", min: 0, max: 23, starMax: 23}
	dayField     = field{name: "day", min: 1, max: 31, starMax: 31}
	monthField   = field{name: "month", min: 1, max: 12, starMax: 12, nameBase: 1, names: monthNames}
	weekdayField = field{name: "weekday", min: 0, max: 7, starMax: 6, nameBase: 0, names: weekdayNames}

	monthNames   = []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
	weekdayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
)

// all returns the set of every value "*" stands for.
func (f field) all() uint64 {
	return (1<<(f.starMax+1) - 1) &^ (1<<f.min - 1)
}

// parseCron parses the five fields of spec, already lower-cased and split.
func parseCron(spec string, fields []string, loc *time.Location) (*cron, error) {
	if len(fields) != 5 {
		return nil, &SpecError{Spec: spec, Kind: KindCron, Reason: fmt.Sprintf("want 5 fields (minute hour day month weekday), got %d", len(fields))}
	}
	c := &cron{spec: strings.Join(fields, " "), loc: loc}
	for i, f := range []struct {
		field
		set *uint64
	}{{minuteField, &c.minute}, {hourField, &c.hour}, {dayField, &c.day}, {monthField, &c.month}, {weekdayField, &c.weekday}} {
		set, err := f.parse(fields[i])
		if err != nil {
			return nil, &SpecError{Spec: spec, Kind: KindCron, Field: f.name, Reason: err.Error()}
		}
		*f.set = set
	}
	c.anyDay = c.day == dayField.all()
	c.anyWeekday = c.weekday == weekdayField.all()
	if !c.anyDay && c.anyWeekday && !c.dayOccurs() {
		return nil, &SpecError{Spec: spec, Kind: KindCron, Field: dayField.name,
			Reason: fmt.Sprintf("%s never occurs in month %s, so the schedule would never fire", fields[2], fields[3])}
	}
	return c, nil
}

// parse reads one field: a comma-separated list of "*", "v", "a-b", each
// optionally followed by "/step", or "a/step" (a to the top of the field).
func (f field) parse(text string) (uint64, error) {
	var set uint64
	for item := range strings.SplitSeq(text, ",") {
		if item == "" {
			return 0, fmt.Errorf("empty item in list %q", text)
		}
		rng, stepText, stepped := strings.Cut(item, "/")
		lo, hi := f.min, f.starMax
		if rng != "*" {
			loText, hiText, isRange := strings.Cut(rng, "-")
			var err error
			if lo, err = f.value(loText); err != nil {
				return 0, err
			}
			switch {
			case isRange:
				if hi, err = f.value(hiText); err != nil {
					return 0, err
				}
				if hi < lo {
					return 0, fmt.Errorf("range %s runs backwards", rng)
				}
			case !stepped:
				hi = lo
			}
		}
		step := 1
		if stepped {
			n, err := strconv.Atoi(stepText)
			if err != nil || !isDigits(stepText) || n < 1 {
				return 0, fmt.Errorf("step %q is not a whole number of at least 1", stepText)
			}
			step = min(n, f.max+1) // larger steps match lo alone, and cannot overflow
		}
		for v := lo; v <= hi; v += step {
			set |= 1 << v
		}
	}
	if f.name == weekdayField.name && set&(1<<7) != 0 { // 7 is Sunday
		set = set&^(1<<7) | 1
	}
	return set, nil
}

// value reads a number or a name.
func (f field) value(s string) (int, error) {
	if s == "" {
		return 0, errors.New("missing value")
	}
	if isDigits(s) {
		n, err := strconv.Atoi(s)
		if err != nil || n < f.min || n > f.max {
			return 0, fmt.Errorf("%s is out of range %d-%d", s, f.min, f.max)
		}
		return n, nil
	}
	for i, name := range f.names {
		if s == name {
			return f.nameBase + i, nil
		}
	}
	if f.names != nil {
		return 0, fmt.Errorf("%q is not a number or a name %s-%s", s, f.names[0], f.names[len(f.names)-1])
	}
	return 0, fmt.Errorf("%q is not a number", s)
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// daysIn is the most days each month can have, February 29 included.
var daysIn = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// dayOccurs reports whether some day in the day field falls in some month in
// the month field, in some year.
func (c *cron) dayOccurs() bool {
	for m := 1; m <= 12; m++ {
		if c.month&(1<<m) != 0 && c.day&(1<<(daysIn[m]+1)-1) != 0 {
			return true
		}
	}
	return false
}

func (c *cron) String() string { return c.spec }

// Next returns the first time after after that matches, in c's location.
// It walks civil dates from the local date of after, skipping months that do
// not match, for at most horizonYears.
func (c *cron) Next(after time.Time) time.Time {
	y, m, d := after.In(c.loc).Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC) // a civil date; UTC has no DST
	end := day.AddDate(horizonYears, 0, 0)
	for i := 0; i <= horizonYears*366 && !day.After(end); i++ {
		if c.month&(1<<day.Month()) == 0 {
			day = time.Date(day.Year(), day.Month()+1, 1, 0, 0, 0, 0, time.UTC)
			continue
		}
		if c.dayMatches(day) {
			if t, ok := c.firstOn(day, after); ok {
				return t
			}
		}
		day = day.AddDate(0, 0, 1)
	}
	return time.Time{}
}

// dayMatches applies cron's day rule to a civil date.
func (c *cron) dayMatches(day time.Time) bool {
	inDay := c.day&(1<<day.Day()) != 0
	inWeekday := c.weekday&(1<<day.Weekday()) != 0
	if c.anyDay || c.anyWeekday {
		return inDay && inWeekday
	}
	return inDay || inWeekday
}

// firstOn returns the first matching time on the civil date day that is
// after after. Matching instants rise with the local time of day (a repeated
// local time counts at its first occurrence), which lets it skip every hour
// whose last matching minute is not after after.
func (c *cron) firstOn(day, after time.Time) (time.Time, bool) {
	y, m, d := day.Date()
	last := 63 - bits.LeadingZeros64(c.minute)
	for hours := c.hour; hours != 0; hours &= hours - 1 {
		h := bits.TrailingZeros64(hours)
		if t, ok := c.at(y, m, d, h, last); ok && !t.After(after) {
			continue
		}
		for minutes := c.minute; minutes != 0; minutes &= minutes - 1 {
			if t, ok := c.at(y, m, d, h, bits.TrailingZeros64(minutes)); ok && t.After(after) {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// at returns the first instant at which the clock in c's location reads the
// given date and time, and false if it never does (a DST gap).
func (c *cron) at(y int, m time.Month, d, h, minute int) (time.Time, bool) {
	t := time.Date(y, m, d, h, minute, 0, 0, c.loc)
	if t.Minute() != minute || t.Hour() != h || t.Day() != d {
		return time.Time{}, false
	}
	// If the clock went back to reach t's zone period, the same reading may
	// have come earlier, in the period before; time.Date does not promise
	// which of the two it returns.
	start, _ := t.ZoneBounds()
	if start.IsZero() {
		return t, true
	}
	_, offset := t.Zone()
	_, before := start.Add(-time.Nanosecond).Zone()
	if before > offset {
		earlier := t.Add(-time.Duration(before-offset) * time.Second)
		if earlier.Before(start) && earlier.Minute() == minute && earlier.Hour() == h && earlier.Day() == d {
			return earlier, true
		}
	}
	return t, true
}
