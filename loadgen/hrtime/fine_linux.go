package hrtime

import (
	"encoding/binary"
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// fineTimer waits with microsecond precision without holding a thread.
// Go's own timers wake the process through epoll, whose timeout is whole
// milliseconds, so a request would leave up to 1 ms late; in an open-loop
// run that lateness counts in its latency. A timerfd fires on the kernel's
// high-resolution clock and wakes the waiting goroutine through the same
// netpoller, so no OS thread sleeps and no P is held while waiting.
type fineTimer struct {
	f   *os.File
	fd  int
	buf [8]byte
}

func newFineTimer() (*fineTimer, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return &fineTimer{f: os.NewFile(uintptr(fd), "timerfd"), fd: fd}, nil
}

// sleep waits for d.
func (t *fineTimer) sleep(d time.Duration) error {
	if d <= 0 {
		return nil
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	if err := unix.TimerfdSettime(t.fd, 0, &spec, nil); err != nil {
		return err
	}
	for {
		n, err := t.f.Read(t.buf[:])
		if err != nil {
			return err
		}
		if n == 8 && binary.NativeEndian.Uint64(t.buf[:]) > 0 {
			return nil
		}
		if n != 8 {
			return errors.New("timerfd: short read")
		}
	}
}

func (t *fineTimer) close() { _ = t.f.Close() }
