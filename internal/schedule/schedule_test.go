package schedule

import (
	"errors"
	"testing"
	"time"
)

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, spec, want string
		field            string // SpecError.Field
	}{
		{"empty", "  ", `schedule "  ": empty spec, want five cron fields, a macro such as @daily, or "every 5m"`, ""},
		{"too few fields", "* * *", `cron "* * *": want 5 fields (minute hour day month weekday), got 3`, ""},
		{"too many fields", "* * * * * *", `cron "* * * * * *": want 5 fields (minute hour day month weekday), got 6`, ""},
		{"minute out of range", "61 * * * *", `cron "61 * * * *": minute: 61 is out of range 0-59`, "minute"},
		{"hour out of range", "0 24 * * *", `cron "0 24 * * *": hour: 24 is out of range 0-23`, "hour"},
		{"day 0", "0 0 0 * *", `cron "0 0 0 * *": day: 0 is out of range 1-31`, "day"},
		{"month 13", "0 0 * 13 *", `cron "0 0 * 13 *": month: 13 is out of range 1-12`, "month"},
		{"weekday 8", "0 0 * * 8", `cron "0 0 * * 8": weekday: 8 is out of range 0-7`, "weekday"},
		{"huge number", "99999999999999999999 * * * *", `cron "99999999999999999999 * * * *": minute: 99999999999999999999 is out of range 0-59`, "minute"},
		{"bad month name", "0 0 * foo *", `cron "0 0 * foo *": month: "foo" is not a number or a name jan-dec`, "month"},
		{"full month name", "0 0 * january *", `cron "0 0 * january *": month: "january" is not a number or a name jan-dec`, "month"},
		{"bad weekday name", "0 0 * * funday", `cron "0 0 * * funday": weekday: "funday" is not a number or a name sun-sat`, "weekday"},
		{"name in minute", "jan * * * *", `cron "jan * * * *": minute: "jan" is not a number`, "minute"},
		{"question mark", "0 0 ? * *", `cron "0 0 ? * *": day: "?" is not a number`, "day"},
		{"L", "0 0 L * *", `cron "0 0 L * *": day: "l" is not a number`, "day"},
		{"backwards range", "5-1 * * * *", `cron "5-1 * * * *": minute: range 5-1 runs backwards`, "minute"},
		{"backwards weekday range", "0 0 * * fri-mon", `cron "0 0 * * fri-mon": weekday: range fri-mon runs backwards`, "weekday"},
		{"step 0", "*/0 * * * *", `cron "*/0 * * * *": minute: step "0" is not a whole number of at least 1`, "minute"},
		{"step negative", "*/-1 * * * *", `cron "*/-1 * * * *": minute: step "-1" is not a whole number of at least 1`, "minute"},
		{"step signed", "*/+5 * * * *", `cron "*/+5 * * * *": minute: step "+5" is not a whole number of at least 1`, "minute"},
		{"step missing", "*/ * * * *", `cron "*/ * * * *": minute: step "" is not a whole number of at least 1`, "minute"},
		{"two steps", "*/5/2 * * * *", `cron "*/5/2 * * * *": minute: step "5/2" is not a whole number of at least 1`, "minute"},
		{"empty list item", "1,,2 * * * *", `cron "1,,2 * * * *": minute: empty item in list "1,,2"`, "minute"},
		{"open range", "1- * * * *", `cron "1- * * * *": minute: missing value`, "minute"},
		{"negative", "-1 * * * *", `cron "-1 * * * *": minute: missing value`, "minute"},
		{"star in range", "*-5 * * * *", `cron "*-5 * * * *": minute: "*" is not a number`, "minute"},
		{"three part range", "1-2-3 * * * *", `cron "1-2-3 * * * *": minute: "2-3" is not a number`, "minute"},

		{"feb 30", "0 0 30 2 *", `cron "0 0 30 2 *": day: 30 never occurs in month 2, so the schedule would never fire`, "day"},
		{"feb 30 and 31", "0 0 30,31 feb *", `cron "0 0 30,31 feb *": day: 30,31 never occurs in month feb, so the schedule would never fire`, "day"},
		{"31 in short months", "0 0 31 apr,jun,sep,nov *", `cron "0 0 31 apr,jun,sep,nov *": day: 31 never occurs in month apr,jun,sep,nov, so the schedule would never fire`, "day"},

		{"unknown macro", "@sometimes", `unknown macro "@sometimes"`, ""},
		{"macro with arguments", "@daily 5", `unknown macro "@daily 5"`, ""},

		{"every without interval", "every", `every: want an interval such as 5m, 2h or 15 minutes`, ""},
		{"every seconds", "every 90s", `every: interval must be whole minutes, at least 1m, got 90s`, ""},
		{"every seconds in words", "every 30 seconds", `every: interval must be whole minutes, at least 1m, got 30 seconds`, ""},
		{"every part minute", "every 1m30s", `every: interval must be whole minutes, at least 1m, got 1m30s`, ""},
		{"every zero", "every 0m", `every: interval must be whole minutes, at least 1m, got 0m`, ""},
		{"every negative", "every -5m", `every: interval must be whole minutes, at least 1m, got -5m`, ""},
		{"every unknown unit", "every 5 fortnights", `every: want an interval such as 5m, 2h or 15 minutes, got "5 fortnights"`, ""},
		{"every no number", "every minute", `every: want an interval such as 5m, 2h or 15 minutes, got "minute"`, ""},
		{"every too long", "every 99999999999999999999h", `every: interval 99999999999999999999h is too long`, ""},
		{"every overflow", "every 9999999h", `every: interval 9999999h is too long`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.spec, time.UTC)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want error %q", tc.spec, s, tc.want)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("Parse(%q) error\n got %s\nwant %s", tc.spec, got, tc.want)
			}
			var se *SpecError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error is %T, want *SpecError", tc.spec, err)
			}
			if se.Spec != tc.spec || se.Field != tc.field {
				t.Errorf("SpecError Spec, Field = %q, %q, want %q, %q", se.Spec, se.Field, tc.spec, tc.field)
			}
		})
	}
}

func TestParseString(t *testing.T) {
	for _, tc := range []struct{ name, spec, want string }{
		{"cron spacing and case", "  0  9 * *\tMON-FRI ", "0 9 * * mon-fri"},
		{"cron kept as written", "*/15 1-5,7 1 jan,3 0,7", "*/15 1-5,7 1 jan,3 0,7"},
		{"macro", "@Daily", "@daily"},
		{"macro alias", "@annually", "@annually"},
		{"feb 29 is possible", "0 0 29 2 *", "0 0 29 2 *"},
		{"feb 30 or a weekday is possible", "0 0 30 2 mon", "0 0 30 2 mon"},
		{"31 in some month", "0 0 31 2,3 *", "0 0 31 2,3 *"},
		{"every minutes", "every 5m", "every 5m"},
		{"every words", "every 15 minutes", "every 15m"},
		{"every one hour", "every 1 hour", "every 1h"},
		{"every hours", "every 2h", "every 2h"},
		{"every min", "every 10 min", "every 10m"},
		{"every 60 minutes", "every 60 minutes", "every 1h"},
		{"every 90 minutes", "every 90m", "every 90m"},
		{"every duration", "every 1h30m", "every 90m"},
		{"every spaced duration", "every 1h 30m", "every 90m"},
		{"every fraction", "every 1.5h", "every 90m"},
		{"every whole seconds", "every 120s", "every 2m"},
		{"every days", "every 2 days", "every 48h"},
		{"every day", "every 1d", "every 24h"},
		{"every upper case", "Every 5M", "every 5m"},
		{"at every", "@every 5m", "every 5m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.spec, nil)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tc.spec, err)
			}
			if got := s.String(); got != tc.want {
				t.Errorf("Parse(%q).String() = %q, want %q", tc.spec, got, tc.want)
			}
			again, err := Parse(s.String(), nil)
			if err != nil {
				t.Fatalf("Parse(%q) of String() error: %v", s.String(), err)
			}
			after := mustTime(t, "2026-11-21T05:40:00Z")
			if got, want := show(again.Next(after)), show(s.Next(after)); got != want {
				t.Errorf("round trip Next = %s, want %s", got, want)
			}
		})
	}
}

func TestParseNilLocationIsUTC(t *testing.T) {
	s, err := Parse("0 9 * * *", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := show(s.Next(mustTime(t, "2026-11-21T05:40:00-05:00"))), "2026-11-22T09:00:00Z"; got != want {
		t.Errorf("Next = %s, want %s", got, want)
	}
}

// stuck is a faulty Schedule whose Next does not move forward.
type stuck struct{ at time.Time }

func (s stuck) Next(time.Time) time.Time { return s.at }
func (s stuck) String() string           { return "stuck" }

func TestMissed(t *testing.T) {
	hourly, err := Parse("@hourly", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	quarter, err := Parse("every 15m", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	ny := mustLoad(t, "America/New_York")
	nyHourly, err := Parse("0 * * * *", ny)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		s         Schedule
		last, now string
		max       int
		want      []string
		wantMore  bool
	}{
		{"all", hourly, "2026-11-21T10:00:00Z", "2026-11-21T15:30:00Z", 10,
			[]string{"2026-11-21T11:00:00Z", "2026-11-21T12:00:00Z", "2026-11-21T13:00:00Z", "2026-11-21T14:00:00Z", "2026-11-21T15:00:00Z"}, false},
		{"capped", hourly, "2026-11-21T10:00:00Z", "2026-11-21T15:30:00Z", 3,
			[]string{"2026-11-21T11:00:00Z", "2026-11-21T12:00:00Z", "2026-11-21T13:00:00Z"}, true},
		{"cap exactly reached", hourly, "2026-11-21T10:00:00Z", "2026-11-21T15:30:00Z", 5,
			[]string{"2026-11-21T11:00:00Z", "2026-11-21T12:00:00Z", "2026-11-21T13:00:00Z", "2026-11-21T14:00:00Z", "2026-11-21T15:00:00Z"}, false},
		{"cap 1", hourly, "2026-11-21T10:00:00Z", "2026-11-21T15:30:00Z", 1, []string{"2026-11-21T11:00:00Z"}, true},
		{"cap 0 with some due", hourly, "2026-11-21T10:00:00Z", "2026-11-21T15:30:00Z", 0, nil, true},
		{"cap 0 with none due", hourly, "2026-11-21T10:00:00Z", "2026-11-21T10:30:00Z", 0, nil, false},
		{"negative cap", hourly, "2026-11-21T10:00:00Z", "2026-11-21T15:30:00Z", -1, nil, true},
		{"now is due", hourly, "2026-11-21T10:00:00Z", "2026-11-21T12:00:00Z", 10,
			[]string{"2026-11-21T11:00:00Z", "2026-11-21T12:00:00Z"}, false},
		{"last between runs", hourly, "2026-11-21T10:30:00Z", "2026-11-21T12:59:59Z", 10,
			[]string{"2026-11-21T11:00:00Z", "2026-11-21T12:00:00Z"}, false},
		{"none due", hourly, "2026-11-21T10:00:00Z", "2026-11-21T10:59:59Z", 10, nil, false},
		{"now equals last", hourly, "2026-11-21T10:00:00Z", "2026-11-21T10:00:00Z", 10, nil, false},
		{"now before last", hourly, "2026-11-21T12:00:00Z", "2026-11-21T10:00:00Z", 10, nil, false},
		{"interval", quarter, "2026-11-21T10:00:00Z", "2026-11-21T10:50:00Z", 10,
			[]string{"2026-11-21T10:15:00Z", "2026-11-21T10:30:00Z", "2026-11-21T10:45:00Z"}, false},
		{"long downtime capped", quarter, "2025-11-21T10:00:00Z", "2026-11-21T10:00:00Z", 2,
			[]string{"2025-11-21T10:15:00Z", "2025-11-21T10:30:00Z"}, true},
		{"fall back runs the repeated hour once", nyHourly, "2026-11-01T00:30:00-04:00", "2026-11-01T03:30:00-05:00", 10,
			[]string{"2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00", "2026-11-01T03:00:00-05:00"}, false},
		{"spring forward has no 2:00", nyHourly, "2026-03-08T00:30:00-05:00", "2026-03-08T04:30:00-04:00", 10,
			[]string{"2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T04:00:00-04:00"}, false},
		{"faulty schedule stuck", stuck{mustTime(t, "2026-11-21T11:00:00Z")}, "2026-11-21T10:00:00Z", "2026-11-21T15:00:00Z", 10,
			[]string{"2026-11-21T11:00:00Z"}, false},
		{"faulty schedule going back", stuck{mustTime(t, "2026-11-21T09:00:00Z")}, "2026-11-21T10:00:00Z", "2026-11-21T15:00:00Z", 10, nil, false},
		{"schedule that never fires", stuck{}, "2026-11-21T10:00:00Z", "2026-11-21T15:00:00Z", 10, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			times, more := Missed(tc.s, mustTime(t, tc.last), mustTime(t, tc.now), tc.max)
			var got []string
			for _, tm := range times {
				got = append(got, show(tm))
			}
			if !equal(got, tc.want) || more != tc.wantMore {
				t.Errorf("Missed = %q, %v\nwant %q, %v", got, more, tc.want, tc.wantMore)
			}
		})
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestMissedEveryMinuteForAYear bounds the cost of a long downtime.
func TestMissedEveryMinuteForAYear(t *testing.T) {
	s, err := Parse("* * * * *", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	times, more := Missed(s, mustTime(t, "2025-11-21T00:00:00Z"), mustTime(t, "2026-11-21T00:00:00Z"), 1000)
	if len(times) != 1000 || !more {
		t.Fatalf("Missed = %d times, more %v, want 1000, true", len(times), more)
	}
	if got, want := show(times[999]), "2025-11-21T16:40:00Z"; got != want {
		t.Errorf("last = %s, want %s", got, want)
	}
}

func TestParseIn(t *testing.T) {
	after := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, spec, tz string
		want           time.Time // the first due time after after
		wantErr        string    // "timezone" or "spec": the kind of error
	}{
		{"no zone is UTC", "0 3 * * *", "", time.Date(2026, 6, 2, 3, 0, 0, 0, time.UTC), ""},
		// 03:00 in Berlin is 01:00 UTC in summer time.
		{"cron read in the zone", "0 3 * * *", "Europe/Berlin", time.Date(2026, 6, 2, 1, 0, 0, 0, time.UTC), ""},
		{"unknown zone", "0 3 * * *", "Mars/Olympus", time.Time{}, "timezone"},
		{"bad spec in a known zone", "0 25 * * *", "Europe/Berlin", time.Time{}, "spec"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseIn(tc.spec, tc.tz)
			var tzErr *TimezoneError
			var specErr *SpecError
			switch tc.wantErr {
			case "":
				if err != nil {
					t.Fatalf("ParseIn(%q, %q): %v", tc.spec, tc.tz, err)
				}
				if got := s.Next(after); !got.Equal(tc.want) {
					t.Errorf("Next(%v) = %v, want %v", after, got.UTC(), tc.want)
				}
			case "timezone":
				if !errors.As(err, &tzErr) || tzErr.Name != tc.tz {
					t.Fatalf("ParseIn(%q, %q) error = %v, want a *TimezoneError naming %q", tc.spec, tc.tz, err, tc.tz)
				}
				if want := `timezone: unknown "Mars/Olympus" (want an IANA name such as Europe/Berlin)`; err.Error() != want {
					t.Errorf("error = %q, want %q", err, want)
				}
			case "spec":
				if !errors.As(err, &specErr) || errors.As(err, &tzErr) {
					t.Fatalf("ParseIn(%q, %q) error = %v (%T), want a *SpecError", tc.spec, tc.tz, err, err)
				}
			}
		})
	}
}
