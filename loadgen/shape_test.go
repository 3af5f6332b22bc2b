package loadgen

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestShapeTimeAndCountAgree(t *testing.T) {
	shapes := map[string]Shape{
		"constant":  Constant(1000),
		"ramp up":   Ramp{From: 100, To: 1000, Over: 10 * time.Second},
		"ramp down": Ramp{From: 1000, To: 100, Over: 5 * time.Second},
		"from zero": Ramp{From: 0, To: 500, Over: 4 * time.Second},
		"steps":     Steps{{Rate: 100, Duration: 2 * time.Second}, {Rate: 1000, Duration: 3 * time.Second}, {Rate: 50, Duration: time.Second}},
	}
	for name, s := range shapes {
		t.Run(name, func(t *testing.T) {
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			prev := time.Duration(-1)
			for n := int64(0); n < 8000; n++ {
				at := s.Time(n)
				if at < prev {
					t.Fatalf("Time(%d) = %v < Time(%d) = %v: not monotonic", n, at, n-1, prev)
				}
				prev = at
				// Count(Time(n)) counts request n itself (n+1 requests),
				// allowing for requests at the very same instant.
				if c := s.Count(at); c < n+1 || c > n+2 {
					t.Fatalf("Count(Time(%d)=%v) = %d, want %d", n, at, c, n+1)
				}
			}
		})
	}
}

func TestShapeRates(t *testing.T) {
	tests := []struct {
		name  string
		shape Shape
		from  time.Duration
		to    time.Duration
		want  float64 // requests intended in [from, to)
	}{
		{"constant 1000/s for 10s", Constant(1000), 0, 10 * time.Second, 10000},
		{"ramp 100→1000 over 10s", Ramp{From: 100, To: 1000, Over: 10 * time.Second}, 0, 10 * time.Second, 5500},
		{"ramp holds after", Ramp{From: 100, To: 1000, Over: 10 * time.Second}, 10 * time.Second, 12 * time.Second, 2000},
		{"steps", Steps{{100, 2 * time.Second}, {1000, 3 * time.Second}}, 0, 5 * time.Second, 3200},
		{"steps hold the last", Steps{{100, 2 * time.Second}, {1000, 3 * time.Second}}, 5 * time.Second, 6 * time.Second, 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := float64(tc.shape.Count(tc.to-1) - tc.shape.Count(tc.from-1))
			if math.Abs(got-tc.want) > 1 {
				t.Errorf("requests in [%v,%v) = %v, want %v", tc.from, tc.to, got, tc.want)
			}
		})
	}
}

func TestParseShape(t *testing.T) {
	tests := []struct {
		spec    string
		rps     float64
		want    string
		wantErr string
	}{
		{"", 0, "<nil>", ""},
		{"", 500, "constant 500/s", ""},
		{"constant", 20, "constant 20/s", ""},
		{"ramp:10-100", 0, "ramp 10/s to 100/s over 30s", ""},
		{"ramp:10-100/5s", 0, "ramp 10/s to 100/s over 5s", ""},
		{"steps:100/10s,200/5s", 0, "steps 100/s for 10s, 200/s for 5s", ""},
		{"constant", 0, "", "needs a rate above 0"},
		{"ramp:10", 0, "", "want ramp:FROM-TO"},
		{"ramp:x-100", 0, "", `invalid rate "x"`},
		{"ramp:0-0", 0, "", "needs a rate above 0"},
		{"steps:100", 0, "", "want RATE/DURATION"},
		{"steps:100/zz", 0, "", `invalid duration "zz"`},
		{"steps:0/1s", 0, "", "rate must be > 0"},
		{"sine:1", 0, "", `unknown rate shape "sine"`},
		{"", -5, "", "rate must be >= 0"},
	}
	for _, tc := range tests {
		t.Run(tc.spec+"@"+fmtRate(tc.rps), func(t *testing.T) {
			got, err := ParseShape(tc.spec, tc.rps, 30*time.Second)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s := "<nil>"
			if got != nil {
				s = got.String()
			}
			if s != tc.want {
				t.Errorf("got %q, want %q", s, tc.want)
			}
		})
	}
}

func FuzzParseShape(f *testing.F) {
	for _, s := range []string{"", "constant", "ramp:1-2/3s", "steps:1/1s,2/2s", "ramp:-", "steps:,,"} {
		f.Add(s, 10.0)
	}
	f.Fuzz(func(t *testing.T, spec string, rps float64) {
		s, err := ParseShape(spec, rps, 10*time.Second)
		if err != nil || s == nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("ParseShape(%q) returned an invalid shape: %v", spec, err)
		}
		for n := int64(0); n < 50; n++ {
			if at := s.Time(n); at < 0 {
				t.Fatalf("Time(%d) = %v < 0 for %q", n, at, spec)
			}
		}
	})
}
