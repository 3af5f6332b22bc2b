package schedule

import (
	"errors"
	"testing"
	"time"
)

// FuzzParse checks that Parse never panics or hangs, that its errors are
// *SpecError, and that a parsed schedule's Next moves forward (or gives up
// with the zero Time) and survives a round trip through String.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"* * * * *", "*/15 * * * *", "10-50/10 * * * *", "5/20 1,2 * * *", "0 9 * * mon-fri",
		"0 0 13 * fri", "0 0 */2 * mon", "0 0 29 2 *", "0 0 30 2 *", "0 0 30 2 mon", "59 23 31 12 *",
		"30 2 * * *", "30 1 * * 7", "0 0 1 jan-dec sun-sat", "61 * * * *", "* * *", "*/0 * * * *",
		"5-1 * * * *", "1,,2 * * * *", "@hourly", "@daily", "@midnight", "@weekly", "@monthly",
		"@yearly", "@annually", "@sometimes", "every 5m", "every 90s", "every 2h", "every 15 minutes",
		"every 1 hour", "every 1h30m", "@every 1d", "every 9999999h", "every", "", "@", "-", "*/", "*-*",
	} {
		f.Add(s, int64(0))
	}
	f.Add("* * * * *", int64(-1e10))
	f.Add("0 0 29 2 *", int64(2_500_000_000))
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		f.Fatal(err)
	}
	fixed := []time.Time{
		time.Date(2026, 11, 21, 5, 40, 0, 0, time.UTC),
		time.Date(2026, 3, 8, 1, 59, 30, 0, ny),       // before the spring gap
		time.Date(2026, 11, 1, 1, 30, 0, 0, ny),       // in the fall-back overlap
		time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC), // the same local time, the second time
		time.Date(2027, 12, 31, 23, 59, 59, 999, time.UTC),
		time.Date(2028, 2, 28, 23, 0, 0, 0, time.UTC),
		time.Date(2099, 3, 1, 0, 0, 0, 0, time.UTC),
	}
	f.Fuzz(func(t *testing.T, spec string, offset int64) {
		s, err := Parse(spec, ny)
		if err != nil {
			var se *SpecError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %v is %T, want *SpecError", spec, err, err)
			}
			return
		}
		again, err := Parse(s.String(), ny)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q, which does not parse: %v", spec, s.String(), err)
		}
		_ = Describe(s)
		// Any time within about 300 years of 2000.
		base := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(offset%(1<<33)) * time.Second)
		for _, after := range append(fixed, base) {
			next := s.Next(after)
			if next.IsZero() {
				continue
			}
			if !next.After(after) {
				t.Fatalf("Parse(%q).Next(%s) = %s, not after it", spec, show(after), show(next))
			}
			if got := again.Next(after); !got.Equal(next) {
				t.Fatalf("round trip %q: Next(%s) = %s, want %s", s.String(), show(after), show(got), show(next))
			}
			if then := s.Next(next); !then.IsZero() && !then.After(next) {
				t.Fatalf("Parse(%q).Next(%s) = %s, not after it", spec, show(next), show(then))
			}
		}
	})
}
