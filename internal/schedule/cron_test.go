package schedule

import (
	"testing"
	"time"
)

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// show formats a time with its offset, so a test also checks the location
// it comes back in.
func show(t time.Time) string {
	if t.IsZero() {
		return "zero"
	}
	return t.Format(time.RFC3339Nano)
}

func TestCronNext(t *testing.T) {
	const sat = "2026-11-21T05:40:00Z" // a Saturday
	for _, tc := range []struct {
		name, spec, zone, after, want string
	}{
		{"every minute", "* * * * *", "", sat, "2026-11-21T05:41:00Z"},
		{"every minute mid-minute", "* * * * *", "", "2026-11-21T05:40:30Z", "2026-11-21T05:41:00Z"},
		{"strictly after", "40 5 * * *", "", sat, "2026-11-22T05:40:00Z"},
		{"value", "0 * * * *", "", sat, "2026-11-21T06:00:00Z"},
		{"hour and minute", "5 4 * * *", "", sat, "2026-11-22T04:05:00Z"},
		{"list", "10,20,50 * * * *", "", sat, "2026-11-21T05:50:00Z"},
		{"range", "15-17 3 * * *", "", sat, "2026-11-22T03:15:00Z"},
		{"range inside", "15-17 3 * * *", "", "2026-11-22T03:15:00Z", "2026-11-22T03:16:00Z"},
		{"step", "*/15 * * * *", "", sat, "2026-11-21T05:45:00Z"},
		{"range step includes top", "10-50/10 * * * *", "", "2026-11-21T05:45:00Z", "2026-11-21T05:50:00Z"},
		{"range step wraps hour", "10-50/10 * * * *", "", "2026-11-21T05:50:00Z", "2026-11-21T06:10:00Z"},
		{"start step", "5/20 * * * *", "", sat, "2026-11-21T05:45:00Z"},
		{"step beyond field", "*/100 * * * *", "", sat, "2026-11-21T06:00:00Z"},
		{"list of ranges and steps", "0 1-2,20-23/2 * * *", "", sat, "2026-11-21T20:00:00Z"},
		{"month name", "0 0 1 jan *", "", sat, "2027-01-01T00:00:00Z"},
		{"month name range", "0 0 1 mar-may *", "", sat, "2027-03-01T00:00:00Z"},
		{"month number", "0 0 1 3 *", "", sat, "2027-03-01T00:00:00Z"},
		{"weekday name", "0 9 * * mon", "", sat, "2026-11-23T09:00:00Z"},
		{"weekday range", "0 9 * * mon-fri", "", sat, "2026-11-23T09:00:00Z"},
		{"weekday 0 is sunday", "0 9 * * 0", "", sat, "2026-11-22T09:00:00Z"},
		{"weekday 7 is sunday", "0 9 * * 7", "", sat, "2026-11-22T09:00:00Z"},
		{"weekday range to 7", "0 9 * * 5-7", "", sat, "2026-11-21T09:00:00Z"},
		{"weekday step", "0 9 * * */3", "", "2026-11-21T10:00:00Z", "2026-11-22T09:00:00Z"}, // sun, wed, sat
		{"upper case names", "0 9 * * MON", "", sat, "2026-11-23T09:00:00Z"},
		{"weekday in month", "0 0 * feb mon", "", sat, "2027-02-01T00:00:00Z"},

		// Day and weekday both restricted: either counts.
		{"day or weekday, weekday first", "0 0 13 * fri", "", sat, "2026-11-27T00:00:00Z"},
		{"day or weekday, day first", "0 0 13 * fri", "", "2026-12-12T00:00:00Z", "2026-12-13T00:00:00Z"},
		{"day only", "0 0 13 * *", "", sat, "2026-12-13T00:00:00Z"},
		{"stepped day is restricted", "0 0 */2 * mon", "", "2026-11-23T01:00:00Z", "2026-11-25T00:00:00Z"},
		{"full day range is not restricted", "0 0 1-31 * mon", "", sat, "2026-11-23T00:00:00Z"},
		{"full weekday range is not restricted", "0 0 13 * 0-6", "", sat, "2026-12-13T00:00:00Z"},

		// Rollover.
		{"skips short month", "0 0 31 * *", "", "2026-04-01T00:00:00Z", "2026-05-31T00:00:00Z"},
		{"skips february", "0 0 30 * *", "", "2026-02-01T00:00:00Z", "2026-03-30T00:00:00Z"},
		{"last minute of the year", "59 23 31 12 *", "", "2026-12-31T23:59:00Z", "2027-12-31T23:59:00Z"},
		{"new year", "0 0 1 1 *", "", "2026-12-31T23:59:30Z", "2027-01-01T00:00:00Z"},
		{"minute into new year", "* * * * *", "", "2026-12-31T23:59:59.5Z", "2027-01-01T00:00:00Z"},
		{"day 31 in next year", "0 0 31 jan *", "", "2026-02-01T00:00:00Z", "2027-01-31T00:00:00Z"},

		// Leap years.
		{"feb 29", "0 0 29 2 *", "", "2026-01-01T00:00:00Z", "2028-02-29T00:00:00Z"},
		{"feb 29 again", "0 0 29 2 *", "", "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"},
		{"feb 29 skips 2100", "0 0 29 2 *", "", "2096-03-01T00:00:00Z", "2104-02-29T00:00:00Z"},
		{"feb 29 or monday", "0 12 29 2 mon", "", "2027-01-01T00:00:00Z", "2027-02-01T12:00:00Z"},
		{"feb 28 then mar 1", "0 0 28,1 2,3 *", "", "2027-02-28T00:00:00Z", "2027-03-01T00:00:00Z"},

		// Macros.
		{"hourly", "@hourly", "", sat, "2026-11-21T06:00:00Z"},
		{"daily", "@daily", "", sat, "2026-11-22T00:00:00Z"},
		{"midnight", "@midnight", "", sat, "2026-11-22T00:00:00Z"},
		{"weekly", "@weekly", "", sat, "2026-11-22T00:00:00Z"},
		{"monthly", "@monthly", "", sat, "2026-12-01T00:00:00Z"},
		{"yearly", "@yearly", "", sat, "2027-01-01T00:00:00Z"},
		{"annually", "@annually", "", sat, "2027-01-01T00:00:00Z"},
		{"macro upper case", "@DAILY", "", sat, "2026-11-22T00:00:00Z"},

		// Locations.
		{"half-hour offset", "0 9 * * *", "Asia/Kolkata", sat, "2026-11-22T09:00:00+05:30"},
		{"after in another zone", "0 9 * * *", "America/New_York", sat, "2026-11-21T09:00:00-05:00"},
		{"local date differs from UTC date", "0 23 * * *", "America/New_York", "2026-11-22T03:00:00Z", "2026-11-21T23:00:00-05:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc := time.UTC
			if tc.zone != "" {
				loc = mustLoad(t, tc.zone)
			}
			s, err := Parse(tc.spec, loc)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tc.spec, err)
			}
			if got := show(s.Next(mustTime(t, tc.after))); got != tc.want {
				t.Errorf("Parse(%q).Next(%s) = %s, want %s", tc.spec, tc.after, got, tc.want)
			}
		})
	}
}

// TestCronNextImpossible checks that Next gives up, with the zero Time, on
// a schedule Parse would refuse, built here by narrowing the month after.
func TestCronNextImpossible(t *testing.T) {
	for _, tc := range []struct {
		name, spec string
		month      time.Month
	}{
		{"feb 30", "0 0 30 * *", time.February},
		{"apr 31", "0 0 31 * *", time.April},
		{"feb 31 at any minute", "* * 31 * *", time.February},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.spec, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			c := s.(*cron)
			c.month = 1 << tc.month
			start := time.Now()
			if got := c.Next(mustTime(t, "2026-11-21T05:40:00Z")); !got.IsZero() {
				t.Errorf("Next = %s, want zero", show(got))
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("Next took %v, want it to give up quickly", d)
			}
		})
	}
}
