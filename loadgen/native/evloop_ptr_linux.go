//go:build linux

package native

import (
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// epollWait waits up to d with nanosecond precision (epoll_pwait2, Linux
// 5.11), falling back to epoll_wait's milliseconds.
func epollWait(ep int, events []unix.EpollEvent, d time.Duration) (int, error) {
	if !noPwait2.Load() {
		ts := unix.NsecToTimespec(int64(d))
		n, _, errno := unix.Syscall6(unix.SYS_EPOLL_PWAIT2, uintptr(ep), uintptr(unsafe.Pointer(&events[0])),
			uintptr(len(events)), uintptr(unsafe.Pointer(&ts)), 0, 0)
		if errno == 0 {
			return int(n), nil
		}
		if errno != unix.ENOSYS {
			return 0, errno
		}
		noPwait2.Store(true)
	}
	ms := int((d + time.Millisecond - 1) / time.Millisecond)
	return unix.EpollWait(ep, events, ms)
}

// noPwait2 is set once the kernel says it has no epoll_pwait2. Every event
// loop thread reads it, so it is atomic.
var noPwait2 atomic.Bool

func fmtSscan(s string, v *int) (int, error) { return fmt.Sscan(s, v) }
