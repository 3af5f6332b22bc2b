package echo

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestParseDelay(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // String() of the result
		wantMax  time.Duration
	}{
		{"empty", "", "0", 0},
		{"zero", "0", "0", 0},
		{"zero with unit", "0s", "0s", 0},
		{"fixed", "5ms", "5ms", 5 * time.Millisecond},
		{"spaces", " 5ms ", "5ms", 5 * time.Millisecond},
		{"uniform", "uniform:1ms-5ms", "uniform:1ms-5ms", 5 * time.Millisecond},
		{"uniform of one value", "uniform:2ms-2ms", "2ms", 2 * time.Millisecond},
		{"mix", "99%:1ms,1%:100ms", "99%:1ms,1%:100ms", 100 * time.Millisecond},
		{"mix with spaces", "99% : 1ms, 1%:100ms", "99%:1ms,1%:100ms", 100 * time.Millisecond},
		{"mix of fractions", "99.9%:1ms,0.1%:1s", "99.9%:1ms,0.1%:1s", time.Second},
		{"mix with uniform", "50%:uniform:1ms-3ms,50%:0", "50%:uniform:1ms-3ms,50%:0s", 3 * time.Millisecond},
		{"weighted single", "100%:7ms", "100%:7ms", 7 * time.Millisecond},
		{"zero weight", "0%:1s,100%:1ms", "0%:1s,100%:1ms", time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseDelay(tt.in)
			if err != nil {
				t.Fatalf("ParseDelay(%q): %v", tt.in, err)
			}
			if got := d.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if d.max != tt.wantMax {
				t.Errorf("max = %v, want %v", d.max, tt.wantMax)
			}
		})
	}
}

func TestParseDelayErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     string
		wantPart int
	}{
		{"bad duration in mix", "99%:1xs", `delay "99%:1xs": part 1: invalid duration "1xs"`, 1},
		{"bad duration", "1xs", `delay "1xs": invalid duration "1xs"`, 0},
		{"no unit", "5", `delay "5": duration "5" has no unit, as in 5ms`, 0},
		{"negative", "-5ms", `delay "-5ms": negative duration "-5ms"`, 0},
		{"weights short", "50%:1ms,40%:2ms", `delay "50%:1ms,40%:2ms": weights add up to 90%, want 100%`, 0},
		{"weights over", "60%:1ms,60%:2ms", `delay "60%:1ms,60%:2ms": weights add up to 120%, want 100%`, 0},
		{"missing weight", "50%:1ms,2ms", `delay "50%:1ms,2ms": part 2: "2ms" has no weight, want weight%:value as in 90%:1ms`, 2},
		{"weight without colon", "50%1ms", `delay "50%1ms": "50%1ms" has no weight, want weight%:value as in 90%:1ms`, 0},
		{"empty part", "100%:1ms,", `delay "100%:1ms,": part 2: empty`, 2},
		{"bad weight", "x%:1ms", `delay "x%:1ms": part 1: invalid weight "x%"`, 1},
		{"NaN weight", "NaN%:1ms", `delay "NaN%:1ms": part 1: weight NaN% is outside 0%–100%`, 1},
		{"negative weight", "-10%:1ms,110%:2ms", `delay "-10%:1ms,110%:2ms": part 1: weight -10% is outside 0%–100%`, 1},
		{"uniform without range", "uniform:1ms", `delay "uniform:1ms": "uniform:1ms": want uniform:MIN-MAX, as in uniform:1ms-5ms`, 0},
		{"uniform backwards", "uniform:5ms-1ms", `delay "uniform:5ms-1ms": uniform range "5ms-1ms" ends before it starts`, 0},
		{"uniform bad end", "uniform:1ms-", `delay "uniform:1ms-": invalid duration ""`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDelay(tt.in)
			if err == nil {
				t.Fatalf("ParseDelay(%q) succeeded, want error %q", tt.in, tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error = %q\nwant    %q", got, tt.want)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error is %T, want *SyntaxError", err)
			}
			if se.Part != tt.wantPart {
				t.Errorf("Part = %d, want %d", se.Part, tt.wantPart)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // String() of the result, or the error
		wantErr  bool
	}{
		{"empty is 200", "", "200", false},
		{"single", "503", "503", false},
		{"mix", "95%:200,5%:503", "95%:200,5%:503", false},
		{"fractions", "99.9%:200,0.1%:500", "99.9%:200,0.1%:500", false},
		{"lowest", "100", "100", false},
		{"highest", "599", "599", false},
		{"too low", "99", `status "99": invalid status code "99", want 100-599`, true},
		{"too high", "600", `status "600": invalid status code "600", want 100-599`, true},
		{"sign", "+200", `status "+200": invalid status code "+200", want 100-599`, true},
		{"not a number", "ok", `status "ok": invalid status code "ok", want 100-599`, true},
		{"bad code in mix", "50%:200,50%:2000", `status "50%:200,50%:2000": part 2: invalid status code "2000", want 100-599`, true},
		{"weights", "95%:200,4%:503", `status "95%:200,4%:503": weights add up to 99%, want 100%`, true},
		{"missing weight", "95%:200,503", `status "95%:200,503": part 2: "503" has no weight, want weight%:value as in 90%:200`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseStatus(tt.in)
			var got string
			if err != nil {
				got = err.Error()
			} else {
				got = s.String()
			}
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseStatus(%q) = %q (error: %v), want %q (error: %v)", tt.in, got, err != nil, tt.want, tt.wantErr)
			}
		})
	}
}

// within reports whether got is within k standard deviations of the count
// a binomial(n, p) draw is expected to give.
func within(got, n int, p, k float64) bool {
	mean := float64(n) * p
	sd := math.Sqrt(float64(n) * p * (1 - p))
	return math.Abs(float64(got)-mean) <= k*sd
}

func TestDelaySampleMix(t *testing.T) {
	d, err := ParseDelay("99%:1ms,1%:100ms")
	if err != nil {
		t.Fatal(err)
	}
	const n = 100_000
	for _, tc := range []struct {
		name string
		r    *rand.Rand
	}{
		{"seeded source", rand.New(rand.NewPCG(1, 2))},
		{"top-level source", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slow := 0
			for range n {
				switch got := d.Sample(tc.r); got {
				case 100 * time.Millisecond:
					slow++
				case time.Millisecond:
				default:
					t.Fatalf("Sample() = %v, want 1ms or 100ms", got)
				}
			}
			if !within(slow, n, 0.01, 5) {
				t.Errorf("100ms drawn %d times in %d, want about %d", slow, n, n/100)
			}
		})
	}
}

func TestDelaySampleUniform(t *testing.T) {
	d, err := ParseDelay("uniform:1ms-2ms")
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	const n = 10_000
	low := 0
	for range n {
		got := d.Sample(r)
		if got < time.Millisecond || got > 2*time.Millisecond {
			t.Fatalf("Sample() = %v, want within [1ms, 2ms]", got)
		}
		if got < 1500*time.Microsecond {
			low++
		}
	}
	if !within(low, n, 0.5, 5) {
		t.Errorf("%d of %d samples below 1.5ms, want about half", low, n)
	}
}

func TestDelaySampleHuge(t *testing.T) {
	d, err := ParseDelay("uniform:0s-2562047h47m16.854775807s") // the longest Duration
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Sample(nil); got < 0 {
		t.Errorf("Sample() = %v, want >= 0", got)
	}
}

func TestStatusSampleMix(t *testing.T) {
	s, err := ParseStatus("90%:200,0%:418,10%:503")
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	const n = 100_000
	counts := map[int]int{}
	for range n {
		counts[s.Sample(r)]++
	}
	if counts[418] != 0 {
		t.Errorf("418 drawn %d times, want never (weight 0%%)", counts[418])
	}
	if !within(counts[503], n, 0.1, 5) {
		t.Errorf("503 drawn %d times in %d, want about %d", counts[503], n, n/10)
	}
	if got, want := counts[200]+counts[503], n; got != want {
		t.Errorf("200 and 503 drawn %d times, want %d", got, want)
	}
}

func TestOverride(t *testing.T) {
	tests := []struct {
		name, query string
		want        string // error, or "delay status size" when none
	}{
		{"none", "a=1&b", "0 200 0"},
		{"all", "delay=10ms&status=503&size=1024", "10ms 503 1024"},
		{"escaped", "delay=99%25%3A1ms%2C1%25%3A5ms&status=95%25:200,5%25:503", "99%:1ms,1%:5ms 95%:200,5%:503 0"},
		{"last wins", "size=1&size=2", "0 200 2"},
		{"bad delay", "delay=1xs", `query parameter "delay": invalid duration "1xs"`},
		{"bad delay part", "delay=50%25:1ms,50%25:1xs", `query parameter "delay": part 2: invalid duration "1xs"`},
		{"bad status", "status=600", `query parameter "status": invalid status code "600", want 100-599`},
		{"bad size", "size=-1", `query parameter "size": size "-1": want a whole number of bytes from 0 to 1073741824`},
		{"too big", "size=1073741825", `query parameter "size": size "1073741825": want a whole number of bytes from 0 to 1073741824`},
		{"bad escaping", "status=%zz", `query parameter "status": bad escaping in "%zz"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b behaviour
			var got string
			if err := b.override(tt.query); err != nil {
				got = err.Error()
			} else {
				got = b.delay.String() + " " + b.status.String() + " " + itoa(b.size)
			}
			if got != tt.want {
				t.Errorf("override(%q) = %q, want %q", tt.query, got, tt.want)
			}
		})
	}
}
