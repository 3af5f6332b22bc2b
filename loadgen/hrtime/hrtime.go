// Package hrtime sleeps with microsecond precision.
//
// Go's timers wake an idle process through epoll, whose timeout is whole
// milliseconds: time.Sleep(1500 * time.Microsecond) often returns after 2 ms
// or more. A load generator that sends late adds that lateness to every
// latency it corrects for coordinated omission, and an echo target that
// delays late reports a distribution it was not asked for. A Sleeper leaves
// the bulk of a long wait to a Go timer and the last two milliseconds to a
// Linux timerfd, which fires on the kernel's high-resolution clock and wakes
// the goroutine through the same netpoller: no OS thread sleeps, no P is
// held. Elsewhere it falls back to Go's timers.
package hrtime

import (
	"context"
	"time"
)

// fineSpan is how much of a wait the fine timer takes.
const fineSpan = 2 * time.Millisecond

// Sleeper sleeps precisely. It is not safe for concurrent use; give each
// goroutine its own (or pool them).
type Sleeper struct {
	timer *time.Timer
	fine  *fineTimer
}

// New returns a Sleeper. If the fine timer cannot be made (no timerfd, out
// of file descriptors), it still works with Go's timers alone.
func New() *Sleeper {
	f, err := newFineTimer()
	if err != nil {
		f = nil
	}
	return &Sleeper{fine: f}
}

// Sleep waits for d and reports whether it did; false if ctx ended first.
func (s *Sleeper) Sleep(ctx context.Context, d time.Duration) bool {
	return s.Until(ctx, time.Now().Add(d))
}

// Until waits until the time t and reports whether it did; false if ctx
// ended first. The last fineSpan of the wait is not interrupted by ctx.
func (s *Sleeper) Until(ctx context.Context, t time.Time) bool {
	for {
		wait := time.Until(t)
		if wait <= 0 {
			return ctx.Err() == nil
		}
		if wait <= fineSpan && s.fine != nil {
			if err := s.fine.sleep(wait); err != nil {
				s.fine.close()
				s.fine = nil // fall back to Go timers
				continue
			}
			return ctx.Err() == nil
		}
		if s.fine != nil {
			wait -= fineSpan - fineSpan/4
		}
		if s.timer == nil {
			s.timer = time.NewTimer(wait)
		} else {
			s.timer.Reset(wait)
		}
		select {
		case <-s.timer.C:
		case <-ctx.Done():
			s.timer.Stop()
			return false
		}
	}
}

// Close releases the Sleeper's timers.
func (s *Sleeper) Close() {
	if s.timer != nil {
		s.timer.Stop()
	}
	if s.fine != nil {
		s.fine.close()
		s.fine = nil
	}
}
