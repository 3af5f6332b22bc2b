//go:build !linux

package hrtime

import "time"

// fineTimer falls back to Go's timers where there is no timerfd.
type fineTimer struct{}

func newFineTimer() (*fineTimer, error) { return &fineTimer{}, nil }

func (t *fineTimer) sleep(d time.Duration) error {
	time.Sleep(d)
	return nil
}

func (t *fineTimer) close() {}
