package echo

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRateWindowSlides(t *testing.T) {
	var w rateWindow
	t0 := time.Unix(1_000_000, 0)
	// 10 events every 10 ms for one second: 1,000 in the window.
	var n int64
	for i := range 100 {
		for range 10 {
			n = w.add(t0.Add(time.Duration(i) * 10 * time.Millisecond))
		}
	}
	if n != 1000 {
		t.Fatalf("after one second: got %d in the window, want 1000", n)
	}
	// At 1.5 s the window is the buckets of (0.5 s, 1.5 s]: those from
	// 0.51 s to 0.99 s (49 × 10) and the new event.
	if got := w.add(t0.Add(1500 * time.Millisecond)); got != 491 {
		t.Errorf("1.5 s: got %d, want 491", got)
	}
	// Long after, only the new event is left.
	if got := w.add(t0.Add(10 * time.Second)); got != 1 {
		t.Errorf("10 s: got %d, want 1", got)
	}
	// A clock that steps back counts into the newest bucket, never panics.
	if got := w.add(t0); got != 2 {
		t.Errorf("clock back: got %d, want 2", got)
	}
}

func TestLimiterDelayGrowsWithExcess(t *testing.T) {
	l := &limiter{c: Capacity{RPS: 100, Mode: OverloadDelay, Delay: 20 * time.Millisecond}}
	t0 := time.Unix(2_000_000, 0)
	for i := range 100 {
		if extra, rej := l.admit(t0.Add(time.Duration(i) * 5 * time.Millisecond)); extra != 0 || rej {
			t.Fatalf("request %d (within capacity): extra %s reject %v, want none", i+1, extra, rej)
		}
	}
	tests := []struct {
		name string
		want time.Duration
	}{
		{"101st: 1% over", 22 * time.Millisecond},
		{"102nd: 2% over", 24 * time.Millisecond},
	}
	for _, tc := range tests {
		extra, rej := l.admit(t0.Add(600 * time.Millisecond))
		if rej || extra != tc.want {
			t.Errorf("%s: got extra %s reject %v, want %s", tc.name, extra, rej, tc.want)
		}
	}
	if got := overloadDelay(20*time.Millisecond, 200, 100); got != 220*time.Millisecond {
		t.Errorf("twice the limit: got %s, want 220ms", got)
	}
	if got := overloadDelay(time.Second, 1_000_000, 100); got != MaxOverloadDelay {
		t.Errorf("far over: got %s, want the cap %s", got, MaxOverloadDelay)
	}
}

func TestLimiterRejectAdmitsOnlyCapacity(t *testing.T) {
	l := &limiter{c: Capacity{RPS: 50, Mode: OverloadReject}}
	t0 := time.Unix(3_000_000, 0)
	// 200 requests a second for 3 s: 50 a second admitted, whatever the
	// offered rate.
	admitted := map[int]int{}
	for i := range 600 {
		at := time.Duration(i) * 5 * time.Millisecond
		if _, rej := l.admit(t0.Add(at)); !rej {
			admitted[int(at/time.Second)]++
		}
	}
	for s := range 3 {
		if admitted[s] != 50 {
			t.Errorf("second %d: %d admitted, want 50", s, admitted[s])
		}
	}
}

func TestParseOverload(t *testing.T) {
	tests := []struct {
		in      string
		mode    string
		delay   time.Duration
		wantErr string
	}{
		{"delay", OverloadDelay, DefaultOverloadDelay, ""},
		{"delay:30ms", OverloadDelay, 30 * time.Millisecond, ""},
		{"reject", OverloadReject, 0, ""},
		{"reject:1s", "", 0, "no argument"},
		{"delay:0s", "", 0, "not a duration"},
		{"delay:11s", "", 0, "not a duration"},
		{"delay:x", "", 0, "not a duration"},
		{"drop", "", 0, "want delay"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			mode, d, err := ParseOverload(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || mode != tc.mode || d != tc.delay {
				t.Fatalf("got %q %s %v, want %q %s", mode, d, err, tc.mode, tc.delay)
			}
		})
	}
}

func TestCapacityValidate(t *testing.T) {
	for _, c := range []Capacity{
		{RPS: -1}, {RPS: MaxCapacityRPS + 1}, {RPS: 10, Mode: "x"},
		{RPS: 10, Mode: OverloadDelay}, {RPS: 10, Mode: OverloadDelay, Delay: time.Minute},
	} {
		if c.Validate() == nil {
			t.Errorf("%+v: no error", c)
		}
	}
	for _, c := range []Capacity{{}, {RPS: 10, Mode: OverloadReject}, {RPS: 10, Mode: OverloadDelay, Delay: time.Millisecond}} {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

// TestServeCapacityReject sends a burst above the limit through a real
// server: the first RPS requests of the second are answered 200, the rest
// 503 at once.
func TestServeCapacityReject(t *testing.T) {
	url, h := startServer(t, Options{Capacity: Capacity{RPS: 20, Mode: OverloadReject}})
	c := http1Client(t)
	codes := map[int]int{}
	for range 30 {
		resp, err := c.Get(url + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes[resp.StatusCode]++
	}
	// 30 sequential requests take well under a second here; should the
	// machine stall past a second, more would be admitted, never fewer.
	if codes[http.StatusOK] < 20 || codes[http.StatusOK]+codes[http.StatusServiceUnavailable] != 30 {
		t.Errorf("codes %v: want at least 20 × 200 and the rest 503", codes)
	}
	if codes[http.StatusServiceUnavailable] == 0 {
		t.Errorf("codes %v: no 503 for a burst of 30 over a capacity of 20/s", codes)
	}
	if s := h.Stats(); s.ByStatus[http.StatusServiceUnavailable] != uint64(codes[http.StatusServiceUnavailable]) {
		t.Errorf("stats by status %v, client saw %v", s.ByStatus, codes)
	}
}

// TestServeCapacityDelay: above the limit, answers come late.
func TestServeCapacityDelay(t *testing.T) {
	url, _ := startServer(t, Options{Capacity: Capacity{RPS: 5, Delay: 50 * time.Millisecond}})
	c := http1Client(t)
	var slow int
	for i := range 8 {
		start := time.Now()
		resp, err := c.Get(url + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		took := time.Since(start)
		if i < 5 && took >= 50*time.Millisecond {
			t.Errorf("request %d within capacity took %s", i+1, took)
		}
		if i >= 5 && took >= 50*time.Millisecond {
			slow++
		}
	}
	if slow != 3 {
		t.Errorf("%d of the 3 requests over capacity were delayed ≥ 50ms, want 3", slow)
	}
}

func FuzzParseOverload(f *testing.F) {
	for _, s := range []string{"delay", "delay:30ms", "reject", "delay:", "delay:-1s", "reject:x", ":", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		mode, d, err := ParseOverload(s)
		if err != nil {
			return
		}
		c := Capacity{RPS: 1, Mode: mode, Delay: d}
		if mode == OverloadReject {
			c.Delay = 0
		}
		if verr := c.Validate(); verr != nil {
			t.Fatalf("%q parsed to %+v, which Validate refuses: %v", s, c, verr)
		}
	})
}
