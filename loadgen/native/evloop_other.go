//go:build !linux

package native

import (
	"context"
	"errors"
	"time"

	"github.com/meshperf/meshperf/loadgen"
)

// Without epoll the goroutine engine serves every plan.

type evTarget struct{}

type evLoop struct {
	last          time.Duration
	read, written int64
}

func evTargets(context.Context, *loadgen.Plan, string, *tlsStats) ([]*evTarget, bool) {
	return nil, false
}

func newEvLoop(*run, []*evTarget, []int) (*evLoop, error) {
	return nil, errors.New("event loop: not on this system")
}

func (l *evLoop) loop(context.Context) time.Duration { return 0 }
func (l *evLoop) close()                             {}
