package procstat

import (
	"bytes"
	"os"
	"syscall"
	"time"
)

// cpuTime is the user+system time of the process and of the children it
// has waited for (RUSAGE_CHILDREN), so an external generator's process
// counts too once it has exited.
func cpuTime() time.Duration {
	var total time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if err := syscall.Getrusage(who, &ru); err != nil {
			continue
		}
		total += time.Duration(ru.Utime.Nano()) + time.Duration(ru.Stime.Nano())
	}
	return total
}

// rssReader reads the resident set size from /proc/self/statm, kept open
// and read into a fixed buffer: sampling every second makes no garbage, so
// a long run's heap does not grow from measuring it.
type rssReader struct {
	f   *os.File
	buf [128]byte
}

func openRSS() *rssReader {
	f, err := os.Open("/proc/self/statm")
	if err != nil {
		return &rssReader{}
	}
	return &rssReader{f: f}
}

// read returns the resident bytes; 0 if they cannot be read.
func (r *rssReader) read() int64 {
	if r.f == nil {
		return 0
	}
	n, _ := r.f.ReadAt(r.buf[:], 0) // io.EOF with n > 0 is the normal end
	return parseStatm(r.buf[:n], int64(os.Getpagesize()))
}

func (r *rssReader) close() {
	if r.f != nil {
		r.f.Close()
	}
}

// parseStatm reads the second field of /proc/PID/statm ("size resident
// shared text lib data dt", in pages) as bytes.
func parseStatm(statm []byte, pageSize int64) int64 {
	_, rest, ok := bytes.Cut(statm, []byte(" "))
	if !ok {
		return 0
	}
	field, _, _ := bytes.Cut(rest, []byte(" "))
	var n int64
	for _, c := range field {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int64(c-'0')
	}
	if len(field) == 0 {
		return 0
	}
	return n * pageSize
}
