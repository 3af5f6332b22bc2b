package echo

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

func itoa(n int) string { return strconv.Itoa(n) }

func FuzzParseDelay(f *testing.F) {
	for _, s := range []string{"", "0", "5ms", "uniform:1ms-5ms", "99%:1ms,1%:100ms",
		"99.9%:1ms,0.1%:1s", "50%:uniform:0-1s,50%:0", "99%:1xs", "1e2%:1ms", "0x1p6%:1ms,36%:2ms",
		"uniform:-1ms-1ms", ",", "%:", "100%:uniform:9223372036854775807ns-9223372036854775807ns"} {
		f.Add(s)
	}
	r := rand.New(rand.NewPCG(1, 1))
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDelay(s)
		if err != nil {
			return
		}
		for range 10 {
			if got := d.Sample(r); got < 0 || got > d.max {
				t.Fatalf("ParseDelay(%q).Sample() = %v, want within [0, %v]", s, got, d.max)
			}
		}
		again, err := ParseDelay(d.String())
		if err != nil {
			t.Fatalf("ParseDelay(%q).String() = %q, which does not parse: %v", s, d.String(), err)
		}
		if again.String() != d.String() {
			t.Fatalf("round trip of %q: %q became %q", s, d.String(), again.String())
		}
	})
}

func FuzzParseStatus(f *testing.F) {
	for _, s := range []string{"", "200", "95%:200,5%:503", "99.9%:200,0.1%:500", "600", "99%:20x", "100%:100"} {
		f.Add(s)
	}
	r := rand.New(rand.NewPCG(2, 2))
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseStatus(s)
		if err != nil {
			return
		}
		for range 10 {
			if got := m.Sample(r); got < 100 || got > 599 {
				t.Fatalf("ParseStatus(%q).Sample() = %d, want 100-599", s, got)
			}
		}
		again, err := ParseStatus(m.String())
		if err != nil || again.String() != m.String() {
			t.Fatalf("round trip of %q: %q gave %q, %v", s, m.String(), again.String(), err)
		}
	})
}

func FuzzOverride(f *testing.F) {
	for _, s := range []string{"delay=10ms&status=503&size=1024", "size=%zz", "a=b&&=&delay", "status=95%25:200,5%25:503"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		var b behaviour
		if err := b.override(q); err != nil {
			return
		}
		if b.size < 0 || b.size > MaxSize {
			t.Fatalf("override(%q): size %d out of range", q, b.size)
		}
	})
}

// The --grpc-code mix is user input: parsed or refused, never a panic.
func FuzzParseCodes(f *testing.F) {
	for _, s := range []string{"OK", "UNAVAILABLE", "99%:OK,1%:UNAVAILABLE", "14", "50%:OK,50%:4", "101%:OK", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := ParseCodes(s); err != nil && err.Error() == "" {
			t.Fatal("an error with no message")
		}
	})
}
