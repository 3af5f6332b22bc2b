// Package agentshare is what both ends of the agent stream compute alike:
// the estimate of an agent's clock offset from the stream's round trips
// (the server times each share's start by it) and a share's rate, scaled
// from its client's.
package agentshare

import (
	"sync"
	"time"
)

// ClockSample is one round trip of a Ping/Pong exchange: T0 when the server
// sent the Ping (server clock), T1 when the agent received it and T2 when it
// answered (agent clock), T3 when the server received the Pong (server
// clock).
type ClockSample struct {
	T0, T1, T2, T3 time.Time
}

// Offset is the agent's clock minus the server's, estimated NTP-style on
// the assumption that both legs of the round trip took as long.
func (s ClockSample) Offset() time.Duration {
	return (s.T1.Sub(s.T0) + s.T2.Sub(s.T3)) / 2
}

// RTT is the round trip, less the time the agent held the Ping.
func (s ClockSample) RTT() time.Duration {
	return s.T3.Sub(s.T0) - s.T2.Sub(s.T1)
}

// ClockEstimator keeps the best of the clock samples it is given: the one
// with the smallest round trip, whose offset is the least uncertain (the
// error of an estimate is at most half its round trip). It is safe for
// concurrent use.
type ClockEstimator struct {
	mu     sync.Mutex
	have   bool
	offset time.Duration
	rtt    time.Duration
	maxRTT time.Duration
	n      int
}

// Add takes one sample; samples with a negative round trip (clock steps
// during the exchange) are ignored.
func (e *ClockEstimator) Add(s ClockSample) {
	rtt := s.RTT()
	if rtt < 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	e.maxRTT = max(e.maxRTT, rtt)
	if !e.have || rtt < e.rtt {
		e.have, e.offset, e.rtt = true, s.Offset(), rtt
	}
}

// Estimate returns the offset (agent minus server) and the round trip of
// the sample it came from; ok is false before the first sample.
func (e *ClockEstimator) Estimate() (offset, rtt time.Duration, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.offset, e.rtt, e.have
}

// MaxRTT is the largest round trip seen.
func (e *ClockEstimator) MaxRTT() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.maxRTT
}

// Samples is the number of samples taken.
func (e *ClockEstimator) Samples() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n
}
