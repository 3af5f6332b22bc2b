package schedule

import (
	"testing"
	_ "time/tzdata" // so the zones load where the system has no tz database
)

// TestCronDST follows Next through daylight saving changes: a local time in
// the spring-forward gap is skipped that day, and a local time that occurs
// twice fires once, at its first occurrence.
//
// America/New_York, 2026: 02:00 EST becomes 03:00 EDT on 8 March; 02:00 EDT
// becomes 01:00 EST on 1 November. Europe/Berlin, 2026: 02:00 CET becomes
// 03:00 CEST on 29 March; 03:00 CEST becomes 02:00 CET on 25 October.
func TestCronDST(t *testing.T) {
	for _, tc := range []struct {
		name, zone, spec, after string
		want                    []string // successive Next times
	}{
		{"ny gap skipped for the day", "America/New_York", "30 2 * * *", "2026-03-07T12:00:00-05:00",
			[]string{"2026-03-09T02:30:00-04:00", "2026-03-10T02:30:00-04:00"}},
		{"ny gap hourly", "America/New_York", "0 * * * *", "2026-03-08T00:30:00-05:00",
			[]string{"2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T04:00:00-04:00"}},
		{"ny gap every minute", "America/New_York", "* * * * *", "2026-03-08T01:58:00-05:00",
			[]string{"2026-03-08T01:59:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T03:01:00-04:00"}},
		{"ny 3:00 exists on the gap day", "America/New_York", "0 3 8 3 *", "2026-03-01T00:00:00-05:00",
			[]string{"2026-03-08T03:00:00-04:00", "2027-03-08T03:00:00-05:00"}},
		{"ny overlap fires once", "America/New_York", "30 1 * * *", "2026-10-31T12:00:00-04:00",
			[]string{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
		{"ny overlap half-hourly", "America/New_York", "*/30 * * * *", "2026-11-01T00:45:00-04:00",
			[]string{"2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01T02:00:00-05:00"}},
		{"ny after inside the repeat", "America/New_York", "*/30 * * * *", "2026-11-01T01:10:00-05:00",
			[]string{"2026-11-01T02:00:00-05:00"}},
		{"ny every minute skips the repeat", "America/New_York", "* * * * *", "2026-11-01T01:59:00-04:00",
			[]string{"2026-11-01T02:00:00-05:00"}},
		{"ny 2:00 after overlap", "America/New_York", "0 2 * * *", "2026-10-31T12:00:00-04:00",
			[]string{"2026-11-01T02:00:00-05:00", "2026-11-02T02:00:00-05:00"}},

		{"berlin gap skipped for the day", "Europe/Berlin", "30 2 * * *", "2026-03-28T12:00:00+01:00",
			[]string{"2026-03-30T02:30:00+02:00"}},
		{"berlin 3:00 exists on the gap day", "Europe/Berlin", "0 3 * * *", "2026-03-28T12:00:00+01:00",
			[]string{"2026-03-29T03:00:00+02:00", "2026-03-30T03:00:00+02:00"}},
		{"berlin gap every minute", "Europe/Berlin", "* * * * *", "2026-03-29T01:59:00+01:00",
			[]string{"2026-03-29T03:00:00+02:00"}},
		{"berlin overlap fires once", "Europe/Berlin", "30 2 * * *", "2026-10-24T12:00:00+02:00",
			[]string{"2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"}},
		{"berlin overlap half-hourly", "Europe/Berlin", "0,30 * * * *", "2026-10-25T01:45:00+02:00",
			[]string{"2026-10-25T02:00:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-25T03:00:00+01:00"}},
		{"berlin weekly across the change", "Europe/Berlin", "0 9 * * sun", "2026-10-18T10:00:00+02:00",
			[]string{"2026-10-25T09:00:00+01:00", "2026-11-01T09:00:00+01:00"}},

		// Lord Howe Island moves its clocks by half an hour.
		{"half-hour gap", "Australia/Lord_Howe", "*/15 2 * * *", "2026-10-04T01:50:00+10:30",
			[]string{"2026-10-04T02:30:00+11:00", "2026-10-04T02:45:00+11:00", "2026-10-05T02:00:00+11:00"}},
		{"half-hour overlap", "Australia/Lord_Howe", "*/15 1 * * *", "2026-04-05T01:20:00+11:00",
			[]string{"2026-04-05T01:30:00+11:00", "2026-04-05T01:45:00+11:00", "2026-04-06T01:00:00+10:30"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.spec, mustLoad(t, tc.zone))
			if err != nil {
				t.Fatal(err)
			}
			after := mustTime(t, tc.after)
			for i, want := range tc.want {
				got := s.Next(after)
				if show(got) != want {
					t.Fatalf("Next #%d after %s = %s, want %s", i+1, show(after), show(got), want)
				}
				after = got
			}
		})
	}
}

// TestCronAtOverlap checks the first occurrence is chosen whichever one
// time.Date returns, for every minute of both repeated hours.
func TestCronAtOverlap(t *testing.T) {
	for _, tc := range []struct {
		zone  string
		date  string // the day of the change
		hour  int    // the repeated hour
		first int    // its UTC offset the first time (in the period before), in hours
	}{
		{"America/New_York", "2026-11-01", 1, -4},
		{"Europe/Berlin", "2026-10-25", 2, 2},
		{"Australia/Lord_Howe", "2026-04-05", 1, 11}, // goes back half an hour: 01:30-01:59 repeats
	} {
		t.Run(tc.zone, func(t *testing.T) {
			loc := mustLoad(t, tc.zone)
			c := &cron{loc: loc}
			day := mustTime(t, tc.date+"T00:00:00Z")
			for m := range 60 {
				got, ok := c.at(day.Year(), day.Month(), day.Day(), tc.hour, m)
				if !ok {
					t.Fatalf("%02d:%02d: does not exist", tc.hour, m)
				}
				if _, off := got.Zone(); off != tc.first*3600 {
					t.Errorf("%02d:%02d = %s, want the first occurrence, at offset %dh", tc.hour, m, show(got), tc.first)
				}
			}
		})
	}
}
