package bench

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
)

var (
	h2loadFinishedRe = regexp.MustCompile(`(?m)^finished in ([0-9.]+)(ms|s), ([0-9.]+) req/s`)
	h2loadRequestsRe = regexp.MustCompile(`(?m)^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout`)
	h2loadCodesRe    = regexp.MustCompile(`(?m)^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx`)
)

// parseH2load reads h2load's (nghttp2) text report.
func parseH2load(out string) (toolResult, error) {
	var r toolResult
	m := h2loadFinishedRe.FindStringSubmatch(out)
	if m == nil {
		return r, errors.New("h2load: no \"finished in\" line in output")
	}
	d, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return r, fmt.Errorf("h2load: duration %q: %v", m[1], err)
	}
	if m[2] == "ms" {
		d /= 1000
	}
	r.Duration = d
	if r.RPS, err = strconv.ParseFloat(m[3], 64); err != nil {
		return r, fmt.Errorf("h2load: rate %q: %v", m[3], err)
	}
	q := h2loadRequestsRe.FindStringSubmatch(out)
	if q == nil {
		return r, errors.New("h2load: no \"requests:\" line in output")
	}
	n := func(s string) int64 { v, _ := strconv.ParseInt(s, 10, 64); return v }
	r.Requests = n(q[3]) // done: every response received
	r.Errors = n(q[6]) + n(q[7])
	if c := h2loadCodesRe.FindStringSubmatch(out); c != nil {
		r.Non2xx = n(c[3]) + n(c[4])
	}
	if r.Requests == 0 {
		return r, errors.New("h2load: no request done")
	}
	return r, nil
}
