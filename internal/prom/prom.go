// Package prom evaluates named Prometheus queries over a run's measured
// window through the Prometheus HTTP API, and keeps what they returned in
// the result. A query that cannot be answered (Prometheus unreachable, a
// PromQL error, no data) is reported as missing with the reason; it never
// fails the run.
package prom

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"sort"
	"sync/atomic"
	"syscall"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/meshperf/meshperf/spec"
)

const (
	// DefaultStep is the resolution of range queries when none is given.
	DefaultStep = time.Second
	// maxPoints bounds the points per series a default step asks for
	// (Prometheus refuses more than 11,000).
	maxPoints = 10_000
	// queryTimeout bounds each query.
	queryTimeout = 15 * time.Second
	// maxWait bounds the wait for Prometheus to have scraped the end of
	// the window.
	maxWait = 10 * time.Second
)

// Window is the span of time queries are evaluated over.
type Window struct {
	Start, End time.Time
}

// MeasuredWindow is the part of res the queries cover: from the end of its
// warm-up to cooldown before its end.
func MeasuredWindow(res *spec.Result, cooldown time.Duration) Window {
	return Window{Start: res.StartTime.Add(res.Requested.Warmup.D()), End: res.EndTime.Add(-cooldown)}
}

// Step returns the step of cfg for a window of length d: cfg.Step if set,
// else DefaultStep, or the whole second that keeps a long window under
// maxPoints points.
func Step(cfg *spec.MetricsConfig, d time.Duration) time.Duration {
	if cfg != nil && cfg.Step != "" {
		if s, err := time.ParseDuration(cfg.Step); err == nil && s > 0 {
			return s
		}
	}
	step := DefaultStep
	if d/step > maxPoints {
		step = (d/maxPoints + time.Second - 1).Truncate(time.Second)
	}
	return step
}

// Cooldown returns cfg's cool-down, 0 when none or malformed (Validate
// reports that).
func Cooldown(cfg *spec.MetricsConfig) time.Duration {
	if cfg == nil || cfg.Cooldown == "" {
		return 0
	}
	d, err := time.ParseDuration(cfg.Cooldown)
	if err != nil || d < 0 {
		return 0
	}
	return d
}

// Fill evaluates cfg's queries over res's measured window (MeasuredWindow
// with cfg's cool-down) and stores them in res.Metrics. Nothing happens
// when cfg is nil.
func Fill(ctx context.Context, cfg *spec.MetricsConfig, res *spec.Result) {
	if cfg == nil || res == nil {
		return
	}
	res.Metrics = Collect(ctx, cfg, MeasuredWindow(res, Cooldown(cfg)))
}

// Collect evaluates every query of cfg over w, one spec.Metric per query in
// order. It first waits, up to a few seconds, until one step has passed
// after w.End, so that Prometheus has scraped the end of the window.
func Collect(ctx context.Context, cfg *spec.MetricsConfig, w Window) []spec.Metric {
	if cfg == nil {
		return nil
	}
	// Prometheus keeps milliseconds: the window is rounded inwards to
	// them, so every sample lies within it.
	if t := w.Start.Truncate(time.Millisecond); !t.Equal(w.Start) {
		w.Start = t.Add(time.Millisecond)
	}
	w.End = w.End.Truncate(time.Millisecond)
	out := make([]spec.Metric, len(cfg.Queries))
	for i, q := range cfg.Queries {
		out[i] = spec.Metric{Name: q.Name, Query: q.Query, Unit: q.Unit, Start: w.Start.UTC(), End: w.End.UTC()}
	}
	fail := func(reason string) []spec.Metric {
		for i := range out {
			out[i].Missing = reason
		}
		return out
	}
	if !w.End.After(w.Start) {
		return fail(fmt.Sprintf("the measured window is empty (%s to %s, after warm-up and cool-down)",
			w.Start.UTC().Format(time.RFC3339), w.End.UTC().Format(time.RFC3339)))
	}
	client, err := NewClient(cfg.Prometheus)
	if err != nil {
		return fail(fmt.Sprintf("prometheus %q: %v", cfg.Prometheus, err))
	}
	step := Step(cfg, w.End.Sub(w.Start))
	if wait := time.Until(w.End.Add(step)); wait > 0 {
		t := time.NewTimer(min(wait, maxWait))
		select {
		case <-ctx.Done():
			t.Stop()
			return fail("cancelled before Prometheus was queried")
		case <-t.C:
		}
	}
	r := v1.Range{Start: w.Start, End: w.End, Step: step}
	for i := range out {
		if ctx.Err() != nil {
			out[i].Missing = "cancelled before Prometheus was queried"
			continue
		}
		query(ctx, client, r, &out[i])
	}
	return out
}

// query evaluates one metric's query over r.
func query(ctx context.Context, c *Client, r v1.Range, m *spec.Metric) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	c.rt.status.Store(0)
	val, _, _, err := c.QueryRange(ctx, m.Query, r, v1.WithTimeout(queryTimeout))
	if err != nil {
		m.Missing = c.Reason(err)
		return
	}
	matrix, ok := val.(model.Matrix)
	if !ok {
		m.Missing = fmt.Sprintf("prometheus returned a %s, want a range (matrix)", val.Type())
		return
	}
	var sum float64
	var n, dropped int
	for _, ss := range matrix {
		s := spec.MetricSeries{Labels: labels(ss.Metric), Samples: make([]spec.Sample, 0, len(ss.Values))}
		for _, p := range ss.Values {
			v := float64(p.Value)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				dropped++ // JSON has no NaN; and it has no average
				continue
			}
			s.Samples = append(s.Samples, spec.Sample{T: p.Timestamp.Time().UTC(), V: v})
			sum += v
			n++
		}
		if len(s.Samples) > 0 {
			m.Series = append(m.Series, s)
		}
	}
	switch {
	case n > 0:
		m.Average = sum / float64(n)
	case dropped > 0:
		m.Missing = fmt.Sprintf("no data: the query's %d samples over the window were all NaN or infinite", dropped)
	default:
		m.Missing = "no data: the query returned no series over the window"
	}
}

// reason says why a query failed, in one line: the HTTP status and a short
// class, never what the remote server wrote (its body, or its error
// message), so that the server's fetching a URL cannot be used to read
// what lies behind it.
func reason(addr string, status int, err error) string {
	var perr *v1.Error
	var nerr net.Error
	var uerr *url.Error
	switch {
	case errors.Is(err, errTooLarge):
		return fmt.Sprintf("prometheus at %s: the answer was larger than %d bytes", addr, maxBody)
	case errors.As(err, &perr) && status != 0:
		return fmt.Sprintf("prometheus at %s refused the query: HTTP %d (%s)", addr, status, perr.Type)
	case errors.As(err, &perr):
		return fmt.Sprintf("prometheus at %s: %s", addr, perr.Type)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("prometheus at %s did not answer within %s", addr, queryTimeout)
	case errors.Is(err, context.Canceled):
		return "cancelled while Prometheus was queried"
	case errors.As(err, &nerr), errors.As(err, &uerr):
		return fmt.Sprintf("prometheus at %s unreachable (%s)", addr, netClass(err))
	}
	return fmt.Sprintf("prometheus at %s: the query failed", addr)
}

// netClass is a short class of a transport error.
func netClass(err error) string {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.As(err, &dnsErr):
		return "name not resolved"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.As(err, &opErr) && opErr.Timeout():
		return "timeout"
	case errors.As(err, &opErr):
		return opErr.Op + " failed"
	}
	return "transport error"
}

// maxBody bounds an answer from Prometheus (a variable for tests).
var maxBody int64 = 64 << 20

var errTooLarge = errors.New("answer too large")

// guardedTransport bounds the size of answers and remembers the status of
// the last one.
type guardedTransport struct {
	base   http.RoundTripper
	status atomic.Int32
}

func (t *guardedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	t.status.Store(int32(resp.StatusCode))
	resp.Body = &limitedBody{rc: resp.Body, left: maxBody}
	return resp, nil
}

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

func labels(m model.Metric) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[string(k)] = string(v)
	}
	return out
}

// Find returns the metric named name from ms, if it has a value.
func Find(ms []spec.Metric, name string) (spec.Metric, bool) {
	for _, m := range ms {
		if m.Name == name && m.Missing == "" {
			return m, true
		}
	}
	return spec.Metric{}, false
}

// Names lists the names of ms, sorted.
func Names(ms []spec.Metric) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Name)
	}
	sort.Strings(out)
	return out
}
