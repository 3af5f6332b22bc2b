//go:build linux

package native

import (
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Event loops on several threads wait while one of them learns that the
// kernel has no epoll_pwait2 (ENOSYS) and sets noPwait2: under -race a
// plain bool read and written this way was a data race. The fallback
// (epoll_wait's whole milliseconds) still times out; a kernel older than
// 5.11 is the only other place that path runs.
func TestEpollWaitFallbackConcurrent(t *testing.T) {
	was := noPwait2.Load()
	t.Cleanup(func() { noPwait2.Store(was) })
	const loops = 4
	var wg sync.WaitGroup
	errs := make(chan error, loops*2)
	for i := 0; i < loops; i++ {
		ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(ep) })
		wg.Add(2)
		go func() { // a loop waiting, pwait2 or not
			defer wg.Done()
			events := make([]unix.EpollEvent, 1)
			for j := 0; j < 20; j++ {
				start := time.Now()
				n, err := epollWait(ep, events, 200*time.Microsecond)
				if err == unix.EINTR {
					continue
				}
				if err != nil || n != 0 {
					errs <- err
					return
				}
				if time.Since(start) > time.Second {
					errs <- unix.ETIMEDOUT
					return
				}
			}
		}()
		go func() { // what epollWait does on ENOSYS
			defer wg.Done()
			noPwait2.Store(true)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("epollWait on an empty epoll set: %v, want a timeout with no events", err)
	}
	if !noPwait2.Load() {
		t.Fatal("noPwait2 not set")
	}
	// After the fallback, a wait of under a millisecond is rounded up to
	// one, never to zero (a busy loop).
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ep)
	start := time.Now()
	_, err = epollWait(ep, make([]unix.EpollEvent, 1), 100*time.Microsecond)
	if err == unix.EINTR {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 900*time.Microsecond {
		t.Errorf("fallback wait of 100µs took %v, want epoll_wait's 1 ms", d)
	}
}
