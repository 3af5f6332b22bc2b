package schedule

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Describe returns a short English description of s, such as
// "at 09:00 on Mon-Fri (America/New_York)" or "every 15 minutes". For a
// Schedule from another package it returns s.String().
func Describe(s Schedule) string {
	switch s := s.(type) {
	case *cron:
		return s.describe()
	case every:
		return s.describe()
	}
	return s.String()
}

func (c *cron) describe() string {
	parts := []string{c.describeTime()}
	days := c.describeDays()
	if days == "" && strings.HasPrefix(parts[0], "at ") {
		days = "every day"
	}
	if days != "" {
		parts = append(parts, days)
	}
	if c.month != monthField.all() {
		parts = append(parts, "in "+monthField.list(c.month))
	}
	return strings.Join(parts, " ") + " (" + c.loc.String() + ")"
}

func (c *cron) describeTime() string {
	allMinutes, allHours := c.minute == minuteField.all(), c.hour == hourField.all()
	nm, nh := bits.OnesCount64(c.minute), bits.OnesCount64(c.hour)
	first := bits.TrailingZeros64(c.minute)
	hourStep, hourStride := stride(c.hour, 24)
	switch {
	case allMinutes && allHours:
		return "every minute"
	case allHours && nm == 1:
		return fmt.Sprintf("every hour at :%02d", first)
	case allHours:
		if k, ok := stride(c.minute, 60); ok {
			return fmt.Sprintf("every %d minutes", k)
		}
		return "every hour at minutes " + minuteField.list(c.minute)
	case allMinutes:
		return "every minute of hours " + hourField.list(c.hour)
	case nm == 1 && hourStride:
		return fmt.Sprintf("every %d hours at :%02d", hourStep, first)
	case nm*nh <= 4:
		var times []string
		for hours := c.hour; hours != 0; hours &= hours - 1 {
			for minutes := c.minute; minutes != 0; minutes &= minutes - 1 {
				times = append(times, fmt.Sprintf("%02d:%02d", bits.TrailingZeros64(hours), bits.TrailingZeros64(minutes)))
			}
		}
		return "at " + strings.Join(times, ", ")
	}
	return fmt.Sprintf("at minutes %s of hours %s", minuteField.list(c.minute), hourField.list(c.hour))
}

func (c *cron) describeDays() string {
	days := "on day " + dayField.list(c.day) + " of the month"
	if bits.OnesCount64(c.day) > 1 {
		days = "on days " + dayField.list(c.day) + " of the month"
	}
	weekdays := "on " + weekdayField.list(c.weekday)
	switch {
	case c.anyDay && c.anyWeekday:
		return ""
	case c.anyDay:
		return weekdays
	case c.anyWeekday:
		return days
	}
	return days + " or " + weekdays
}

// stride reports whether set is 0, k, 2k... up to n, for a k > 1 dividing n.
func stride(set uint64, n int) (int, bool) {
	if set&1 == 0 || bits.OnesCount64(set) < 2 {
		return 0, false
	}
	k := bits.TrailingZeros64(set &^ 1)
	if n%k != 0 {
		return 0, false
	}
	var want uint64
	for v := 0; v < n; v += k {
		want |= 1 << v
	}
	return k, set == want
}

// list writes a set as values and ranges, "1-5,7", with capitalised names
// for months and weekdays.
func (f field) list(set uint64) string {
	name := func(v int) string {
		if f.names == nil {
			return strconv.Itoa(v)
		}
		n := f.names[v-f.nameBase]
		return strings.ToUpper(n[:1]) + n[1:]
	}
	var parts []string
	for v := f.min; v <= f.starMax; v++ {
		if set&(1<<v) == 0 {
			continue
		}
		end := v
		for end < f.starMax && set&(1<<(end+1)) != 0 {
			end++
		}
		switch end - v {
		case 0:
			parts = append(parts, name(v))
		case 1:
			parts = append(parts, name(v), name(end))
		default:
			parts = append(parts, name(v)+"-"+name(end))
		}
		v = end
	}
	return strings.Join(parts, ",")
}

func (e every) describe() string {
	var s string
	switch {
	case e.interval == time.Hour:
		s = "every hour"
	case e.interval%time.Hour == 0:
		s = fmt.Sprintf("every %d hours", e.interval/time.Hour)
	case e.interval == time.Minute:
		s = "every minute"
	default:
		s = fmt.Sprintf("every %d minutes", e.interval/time.Minute)
	}
	if floorMod(e.anchor.Unix(), int64(e.interval/time.Second)) != 0 || e.anchor.Nanosecond() != 0 {
		s += " from " + e.anchor.Format("2006-01-02 15:04:05 MST")
	}
	return s
}
