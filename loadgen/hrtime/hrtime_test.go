package hrtime

import (
	"context"
	"slices"
	"testing"
	"time"
)

// The point of the package: waits end close to when they were asked to,
// not on the next millisecond. Checked on the median of many waits, since
// the machine is shared.
func TestSleepIsPrecise(t *testing.T) {
	s := New()
	defer s.Close()
	if s.fine == nil {
		t.Fatal("no fine timer on this system")
	}
	for _, d := range []time.Duration{300 * time.Microsecond, 1500 * time.Microsecond, 4700 * time.Microsecond} {
		var over []time.Duration
		for i := 0; i < 40; i++ {
			start := time.Now()
			if !s.Sleep(context.Background(), d) {
				t.Fatal("Sleep returned false without cancellation")
			}
			got := time.Since(start)
			if got < d {
				t.Fatalf("Sleep(%v) returned after %v: early", d, got)
			}
			over = append(over, got-d)
		}
		slices.Sort(over)
		if med := over[len(over)/2]; med > 400*time.Microsecond {
			t.Errorf("Sleep(%v): median oversleep %v, want under 400µs", d, med)
		}
	}
}

func TestSleepCancelled(t *testing.T) {
	s := New()
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	start := time.Now()
	if s.Sleep(ctx, 5*time.Second) {
		t.Fatal("Sleep reported success after cancellation")
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("cancellation took %v", el)
	}
}

func BenchmarkSleep100us(b *testing.B) {
	s := New()
	defer s.Close()
	for b.Loop() {
		s.Sleep(context.Background(), 100*time.Microsecond)
	}
}
