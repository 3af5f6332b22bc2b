package schedule

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestEveryNext(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	created := "2026-11-21T10:03:00Z"
	for _, tc := range []struct {
		name, spec string
		loc        *time.Location
		anchor     string // for ParseEvery; empty to use Parse
		after      string
		want       string
	}{
		{"epoch grid", "every 5m", time.UTC, "", "2026-11-21T05:41:10Z", "2026-11-21T05:45:00Z"},
		{"epoch grid strictly after", "every 5m", time.UTC, "", "2026-11-21T05:45:00Z", "2026-11-21T05:50:00Z"},
		{"even hours", "every 2h", time.UTC, "", "2026-11-21T05:40:00Z", "2026-11-21T06:00:00Z"},
		{"even hours next", "every 2h", time.UTC, "", "2026-11-21T06:00:00Z", "2026-11-21T08:00:00Z"},
		{"odd interval", "every 7m", time.UTC, "", "2026-11-21T05:40:00Z", "2026-11-21T05:47:00Z"},
		{"returned in loc", "every 1h", ny, "", "2026-11-21T05:40:00Z", "2026-11-21T01:00:00-05:00"},
		{"before 1970", "every 1h", time.UTC, "", "1969-07-20T20:17:40Z", "1969-07-20T21:00:00Z"},
		{"year 1", "every 1h", time.UTC, "", "0001-01-01T00:30:00Z", "0001-01-01T01:00:00Z"},

		{"anchored at creation", "every 1h", time.UTC, created, created, "2026-11-21T11:03:00Z"},
		{"anchored, just before anchor", "every 1h", time.UTC, created, "2026-11-21T10:02:00Z", "2026-11-21T10:03:00Z"},
		{"anchored, grid runs before anchor", "every 1h", time.UTC, created, "2026-11-21T07:00:00Z", "2026-11-21T07:03:00Z"},
		{"anchored, a day later", "every 90 minutes", time.UTC, created, "2026-11-22T10:03:00Z", "2026-11-22T11:33:00Z"},
		{"anchored, fraction of second", "every 1h", time.UTC, "2026-11-21T10:03:00.25Z", "2026-11-21T10:03:00.25Z", "2026-11-21T11:03:00.25Z"},
		{"anchored, just before fraction", "every 1h", time.UTC, "2026-11-21T10:03:00.25Z", "2026-11-21T10:03:00.2Z", "2026-11-21T10:03:00.25Z"},
		{"anchor's location", "every 1h", time.UTC, "2026-11-21T05:03:00-05:00", "2026-11-21T12:00:00Z", "2026-11-21T07:03:00-05:00"},

		// Elapsed time: DST does not move the grid.
		{"fall back, first 1:00", "every 1h", ny, "", "2026-11-01T00:30:00-04:00", "2026-11-01T01:00:00-04:00"},
		{"fall back, second 1:00", "every 1h", ny, "", "2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00"},
		{"spring forward", "every 1h", ny, "", "2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s Schedule
			var err error
			if tc.anchor == "" {
				s, err = Parse(tc.spec, tc.loc)
			} else {
				s, err = ParseEvery(tc.spec, mustTime(t, tc.anchor))
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := show(s.Next(mustTime(t, tc.after))); got != tc.want {
				t.Errorf("Next(%s) = %s, want %s", tc.after, got, tc.want)
			}
		})
	}
}

func TestEvery(t *testing.T) {
	anchor := mustTime(t, "2026-11-21T10:03:00Z")
	for _, tc := range []struct {
		name    string
		d       time.Duration
		want    string // String, or the error
		wantErr bool
	}{
		{"minute", time.Minute, "every 1m", false},
		{"90 minutes", 90 * time.Minute, "every 90m", false},
		{"day", 24 * time.Hour, "every 24h", false},
		{"seconds", 30 * time.Second, "every: interval must be whole minutes, at least 1m, got 30s", true},
		{"part minute", 61 * time.Second, "every: interval must be whole minutes, at least 1m, got 1m1s", true},
		{"zero", 0, "every: interval must be whole minutes, at least 1m, got 0s", true},
		{"negative", -time.Hour, "every: interval must be whole minutes, at least 1m, got -1h0m0s", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Every(tc.d, anchor)
			if tc.wantErr {
				if err == nil || err.Error() != tc.want {
					t.Errorf("Every(%v) error = %v, want %s", tc.d, err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			if got, want := show(s.Next(anchor)), show(anchor.Add(tc.d)); got != want {
				t.Errorf("Next(anchor) = %s, want %s", got, want)
			}
		})
	}
}

func TestParseEveryRefusesOtherSpecs(t *testing.T) {
	for _, spec := range []string{"", "0 * * * *", "@hourly", "5m"} {
		t.Run(spec, func(t *testing.T) {
			if s, err := ParseEvery(spec, time.Time{}); err == nil {
				t.Errorf("ParseEvery(%q) = %v, want error", spec, s)
			}
		})
	}
}

// TestEveryGrid checks Next against its definition for random anchors,
// intervals and times within a century of each other.
func TestEveryGrid(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	const century = 100 * 365 * 24 * time.Hour
	base := mustTime(t, "2026-01-01T00:00:00Z")
	for range 2000 {
		d := time.Duration(1+r.IntN(3000)) * time.Minute
		anchor := base.Add(time.Duration(r.Int64N(int64(2*century))) - century).Add(time.Duration(r.IntN(1e9)))
		after := base.Add(time.Duration(r.Int64N(int64(2*century))) - century).Add(time.Duration(r.IntN(1e9)))
		s, err := Every(d, anchor)
		if err != nil {
			t.Fatal(err)
		}
		got := s.Next(after)
		if !got.After(after) || got.Sub(after) > d || got.Sub(anchor)%d != 0 {
			t.Fatalf("Every(%v, %s).Next(%s) = %s, want the first anchor+k*%v after it", d, show(anchor), show(after), show(got), d)
		}
	}
}
