package echo

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Capacity makes the echo target degrade above a known request rate, so a
// capacity search has a limit to find.
//
// The model: arrivals are counted over a sliding window of one second (100
// buckets of 10 ms). A request that arrives while that count, itself
// included, is above RPS is over capacity, and:
//
//   - with OverloadDelay (mode delay), it waits an extra
//     Delay × (1 + 10 × (count − RPS) / RPS) before its answer: Delay just
//     above the limit, twice that at 10% over, eleven times at twice the
//     limit (at most MaxOverloadDelay). Every arrival counts, as a server
//     that slows down under load still receives every request.
//   - with OverloadReject (mode reject), it is answered 503 at once and is
//     not counted: only admitted requests fill the window, so the target
//     serves RPS requests a second and refuses the rest, like a rate
//     limiter.
//
// Below the limit nothing changes. The window starts empty, so the first
// second of a burst above the limit is served normally; a search that
// pauses a second between steps judges each step on its own rate.
type Capacity struct {
	// RPS is the rate sustained; 0 turns the mode off.
	RPS int
	// Mode is OverloadDelay or OverloadReject.
	Mode string
	// Delay is the extra delay at the limit (mode delay).
	Delay time.Duration
}

// Overload modes.
const (
	OverloadDelay  = "delay"
	OverloadReject = "reject"
)

// Bounds of the capacity mode's settings.
const (
	// MaxCapacityRPS is the largest rate Capacity.RPS may name.
	MaxCapacityRPS = 10_000_000
	// MaxOverloadDelay bounds the extra delay of an over-capacity request,
	// and Capacity.Delay.
	MaxOverloadDelay = 10 * time.Second
	// DefaultOverloadDelay is Capacity.Delay when none is given.
	DefaultOverloadDelay = 20 * time.Millisecond
)

// Validate reports a setting out of bounds, naming it.
func (c Capacity) Validate() error {
	switch {
	case c.RPS < 0 || c.RPS > MaxCapacityRPS:
		return fmt.Errorf("capacity: %d is not a rate from 0 to %d requests per second", c.RPS, MaxCapacityRPS)
	case c.RPS == 0:
		return nil
	case c.Mode != OverloadDelay && c.Mode != OverloadReject:
		return fmt.Errorf("overload mode: %q is not %s or %s", c.Mode, OverloadDelay, OverloadReject)
	case c.Mode == OverloadDelay && (c.Delay <= 0 || c.Delay > MaxOverloadDelay):
		return fmt.Errorf("overload delay: %s is not a duration above 0 and at most %s", c.Delay, MaxOverloadDelay)
	}
	return nil
}

// String describes the mode as `meshperf echo` prints it.
func (c Capacity) String() string {
	if c.RPS == 0 {
		return "off"
	}
	if c.Mode == OverloadReject {
		return fmt.Sprintf("%d/s then 503", c.RPS)
	}
	return fmt.Sprintf("%d/s then +%s growing with the excess", c.RPS, c.Delay)
}

// ParseOverload reads an --overload value: "delay", "delay:30ms" or
// "reject".
func ParseOverload(s string) (mode string, delay time.Duration, err error) {
	s = strings.TrimSpace(s)
	name, arg, hasArg := strings.Cut(s, ":")
	switch name {
	case OverloadReject:
		if hasArg {
			return "", 0, fmt.Errorf("overload %q: reject takes no argument", s)
		}
		return OverloadReject, 0, nil
	case OverloadDelay:
		if !hasArg {
			return OverloadDelay, DefaultOverloadDelay, nil
		}
		d, err := time.ParseDuration(arg)
		if err != nil || d <= 0 || d > MaxOverloadDelay {
			return "", 0, fmt.Errorf("overload %q: %q is not a duration above 0 and at most %s", s, arg, MaxOverloadDelay)
		}
		return OverloadDelay, d, nil
	}
	return "", 0, fmt.Errorf("overload %q: want delay, delay:DURATION or reject", s)
}

// window buckets: 100 of 10 ms make the one-second window.
const (
	windowBuckets = 100
	bucketWidth   = time.Second / windowBuckets
)

// rateWindow counts events over the last second.
type rateWindow struct {
	mu      sync.Mutex
	buckets [windowBuckets]int64
	last    int64 // index (time / bucketWidth) of the newest bucket
	sum     int64
}

// advance drops the buckets older than a second before tick.
func (w *rateWindow) advance(tick int64) {
	if tick <= w.last {
		return
	}
	if tick-w.last >= windowBuckets {
		w.buckets = [windowBuckets]int64{}
		w.sum = 0
	} else {
		for t := w.last + 1; t <= tick; t++ {
			i := t % windowBuckets
			w.sum -= w.buckets[i]
			w.buckets[i] = 0
		}
	}
	w.last = tick
}

// add counts one event at now and returns the count over the last second,
// the new one included.
func (w *rateWindow) add(now time.Time) int64 {
	tick := now.UnixNano() / int64(bucketWidth)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.advance(tick)
	w.buckets[tick%windowBuckets]++
	w.sum++
	return w.sum
}

// addBelow counts one event at now only if fewer than limit were counted
// over the last second, and reports whether it did.
func (w *rateWindow) addBelow(now time.Time, limit int64) bool {
	tick := now.UnixNano() / int64(bucketWidth)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.advance(tick)
	if w.sum >= limit {
		return false
	}
	w.buckets[tick%windowBuckets]++
	w.sum++
	return true
}

// limiter applies a Capacity to requests.
type limiter struct {
	c Capacity
	w rateWindow
}

// admit decides what happens to a request arriving at now: reject is set
// when it must be answered 503, extra is the delay it gets on top of its
// own.
func (l *limiter) admit(now time.Time) (extra time.Duration, reject bool) {
	if l == nil {
		return 0, false
	}
	limit := int64(l.c.RPS)
	if l.c.Mode == OverloadReject {
		return 0, !l.w.addBelow(now, limit)
	}
	n := l.w.add(now)
	if n <= limit {
		return 0, false
	}
	return overloadDelay(l.c.Delay, n, limit), false
}

// overloadDelay is d × (1 + 10 × (n − limit) / limit), at most
// MaxOverloadDelay.
func overloadDelay(d time.Duration, n, limit int64) time.Duration {
	f := 1 + 10*float64(n-limit)/float64(limit)
	x := float64(d) * f
	if x >= float64(MaxOverloadDelay) {
		return MaxOverloadDelay
	}
	return time.Duration(x)
}

// rejectOverload answers an over-capacity request in reject mode.
func rejectOverload(w http.ResponseWriter) {
	w.Header()["Retry-After"] = []string{"1"}
	w.Header()["Content-Type"] = []string{"text/plain; charset=utf-8"}
	w.Header()["Content-Length"] = []string{strconv.Itoa(len(overloadBody))}
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(overloadBody))
}

const overloadBody = "over capacity\n"
