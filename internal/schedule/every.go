package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// every fires at anchor + k·interval for every whole k.
type every struct {
	interval time.Duration // whole minutes, at least one
	anchor   time.Time
}

var _ Schedule = every{}

// Every returns a schedule firing every d, on the grid through anchor:
// at anchor + k·d for every whole k, so anchor is the phase, not a start.
// Times are returned in anchor's location. d must be whole minutes, at least
// one minute.
func Every(d time.Duration, anchor time.Time) (Schedule, error) {
	if err := checkInterval(d.String(), d.String(), d); err != nil {
		return nil, err
	}
	return every{interval: d, anchor: anchor}, nil
}

// ParseEvery parses an interval spec such as "every 5m" or "every 1 hour"
// and anchors it at anchor, typically the time the schedule was created:
// created at 10:03, "every 1h" fires at 11:03, 12:03 and so on.
func ParseEvery(spec string, anchor time.Time) (Schedule, error) {
	words := strings.Fields(strings.ToLower(spec))
	if len(words) == 0 || (words[0] != "every" && words[0] != "@every") {
		return nil, &SpecError{Spec: spec, Kind: KindEvery, Reason: fmt.Sprintf(`want "every <interval>", got %q`, spec)}
	}
	d, err := parseInterval(spec, words[1:])
	if err != nil {
		return nil, err
	}
	return every{interval: d, anchor: anchor}, nil
}

// units are the interval units accepted after a whole number, with or
// without a space: "15m", "15 min", "15 minutes".
var units = map[string]time.Duration{
	"s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hrs": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
}

// parseInterval reads the words after "every": a whole number and a unit, or
// anything time.ParseDuration accepts, such as "1h30m".
func parseInterval(spec string, words []string) (time.Duration, error) {
	text := strings.Join(words, "")
	if text == "" {
		return 0, &SpecError{Spec: spec, Kind: KindEvery, Reason: "want an interval such as 5m, 2h or 15 minutes"}
	}
	digits := len(text) - len(strings.TrimLeft(text, "0123456789"))
	if unit, ok := units[text[digits:]]; ok && digits > 0 {
		n, err := strconv.ParseInt(text[:digits], 10, 64)
		if err != nil || n > int64(maxDuration/unit) {
			return 0, &SpecError{Spec: spec, Kind: KindEvery, Reason: fmt.Sprintf("interval %s is too long", strings.Join(words, " "))}
		}
		d := time.Duration(n) * unit
		return d, checkInterval(spec, strings.Join(words, " "), d)
	}
	d, err := time.ParseDuration(text)
	if err != nil {
		return 0, &SpecError{Spec: spec, Kind: KindEvery, Reason: fmt.Sprintf("want an interval such as 5m, 2h or 15 minutes, got %q", strings.Join(words, " "))}
	}
	return d, checkInterval(spec, strings.Join(words, " "), d)
}

const maxDuration = time.Duration(1<<63 - 1)

// checkInterval refuses d unless it is whole minutes, at least one; shown is
// the interval as the user wrote it.
func checkInterval(spec, shown string, d time.Duration) error {
	if d < time.Minute || d%time.Minute != 0 {
		return &SpecError{Spec: spec, Kind: KindEvery, Reason: "interval must be whole minutes, at least 1m, got " + shown}
	}
	return nil
}

func (e every) Next(after time.Time) time.Time {
	iv := int64(e.interval / time.Second)
	phase := floorMod(e.anchor.Unix(), iv)
	ns := int64(e.anchor.Nanosecond())
	s := after.Unix()
	// c is the last second on the grid at or before s.
	c := s - floorMod(floorMod(s, iv)-phase, iv)
	t := time.Unix(c, ns)
	if !t.After(after) {
		t = time.Unix(c+iv, ns)
	}
	return t.In(e.anchor.Location())
}

func floorMod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// String returns the interval in hours when it is whole hours, otherwise in
// minutes: "every 2h", "every 90m". The anchor is not part of it.
func (e every) String() string {
	if e.interval%time.Hour == 0 {
		return fmt.Sprintf("every %dh", e.interval/time.Hour)
	}
	return fmt.Sprintf("every %dm", e.interval/time.Minute)
}
