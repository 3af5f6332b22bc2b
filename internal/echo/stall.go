package echo

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// staller holds responses back until a chosen time. Waiters block on a
// channel that one timer closes at the stall's end; a later stall that
// ends later moves the timer and keeps the channel, so every waiter wakes
// once, at the latest end.
type staller struct {
	// until is the stall's end in Unix nanoseconds, 0 when none is on:
	// the only thing the request path reads when nothing is stalled.
	until atomic.Int64
	count atomic.Uint64 // stalls started

	mu    sync.Mutex
	end   time.Time
	done  chan struct{} // closed when the stall ends; nil when none is on
	timer *time.Timer
	gen   uint64 // bumped by every extension, so a superseded timer does nothing
}

// stall holds responses until now+d unless a stall already ends later, and
// returns the end of the stall now in force.
func (s *staller) stall(d time.Duration) time.Time {
	now := time.Now()
	end := now.Add(d)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.done == nil && d <= 0:
		return time.Time{}
	case s.done != nil && !end.After(s.end):
		return s.end
	}
	s.count.Add(1)
	if s.done == nil {
		s.done = make(chan struct{})
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	s.gen++
	gen := s.gen
	s.end = end
	s.until.Store(end.UnixNano())
	s.timer = time.AfterFunc(d, func() { s.release(gen) })
	return end
}

func (s *staller) release(gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if gen != s.gen || s.done == nil {
		return // extended since this timer was set
	}
	s.until.Store(0)
	close(s.done)
	s.done, s.timer = nil, nil
}

// wait returns when no stall is on, or ctx's error if ctx ends first.
func (s *staller) wait(ctx context.Context) error {
	if s.until.Load() == 0 {
		return nil
	}
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stalledUntil is the end of the stall in force, or the zero time.
func (s *staller) stalledUntil() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done == nil {
		return time.Time{}
	}
	return s.end
}
