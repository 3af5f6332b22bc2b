//go:build !linux

package procstat

import "time"

// cpuTime is not measured on this system.
func cpuTime() time.Duration { return 0 }

// rssReader does not measure on this system.
type rssReader struct{}

func openRSS() *rssReader      { return &rssReader{} }
func (*rssReader) read() int64 { return 0 }
func (*rssReader) close()      {}
