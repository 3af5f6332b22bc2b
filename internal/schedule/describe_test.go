package schedule

import (
	"testing"
	"time"
)

func TestDescribe(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	for _, tc := range []struct {
		name, spec string
		loc        *time.Location
		want       string
	}{
		{"every minute", "* * * * *", time.UTC, "every minute (UTC)"},
		{"minute step", "*/15 * * * *", time.UTC, "every 15 minutes (UTC)"},
		{"uneven minute step", "*/7 * * * *", time.UTC, "every hour at minutes 0,7,14,21,28,35,42,49,56 (UTC)"},
		{"hourly", "@hourly", time.UTC, "every hour at :00 (UTC)"},
		{"daily", "@daily", time.UTC, "at 00:00 every day (UTC)"},
		{"weekdays", "0 9 * * mon-fri", ny, "at 09:00 on Mon-Fri (America/New_York)"},
		{"weekend", "0,30 9,17 * * sat,sun", time.UTC, "at 09:00, 09:30, 17:00, 17:30 on Sun,Sat (UTC)"},
		{"day or weekday", "0 0 13 * fri", time.UTC, "at 00:00 on day 13 of the month or on Fri (UTC)"},
		{"days", "0 0 1,15 * *", time.UTC, "at 00:00 on days 1,15 of the month (UTC)"},
		{"hour step", "30 */6 * * *", time.UTC, "every 6 hours at :30 (UTC)"},
		{"hour range", "* 9-17 * * *", time.UTC, "every minute of hours 9-17 (UTC)"},
		{"months", "0 0 1 jan,jul *", time.UTC, "at 00:00 on day 1 of the month in Jan,Jul (UTC)"},
		{"month range", "0 0 1 1-3,12 *", time.UTC, "at 00:00 on day 1 of the month in Jan-Mar,Dec (UTC)"},
		{"many times", "5,10 1-5 * * *", time.UTC, "at minutes 5,10 of hours 1-5 every day (UTC)"},
		{"interval minutes", "every 5m", time.UTC, "every 5 minutes"},
		{"interval minute", "every 1m", time.UTC, "every minute"},
		{"interval hour", "every 60m", time.UTC, "every hour"},
		{"interval hours", "every 2h", time.UTC, "every 2 hours"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.spec, tc.loc)
			if err != nil {
				t.Fatal(err)
			}
			if got := Describe(s); got != tc.want {
				t.Errorf("Describe(%q) = %q, want %q", tc.spec, got, tc.want)
			}
		})
	}
	t.Run("anchored interval", func(t *testing.T) {
		s, err := ParseEvery("every 1h", mustTime(t, "2026-11-21T10:03:00Z"))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := Describe(s), "every hour from 2026-11-21 10:03:00 UTC"; got != want {
			t.Errorf("Describe = %q, want %q", got, want)
		}
	})
	t.Run("other schedule", func(t *testing.T) {
		if got, want := Describe(stuck{}), "stuck"; got != want {
			t.Errorf("Describe = %q, want %q", got, want)
		}
	})
}
