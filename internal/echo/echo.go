// Package echo is the HTTP server meshperf measures against: a target whose
// delay, status codes and body size are chosen by the user, so that a run
// against it shows what the load generator (and any mesh in between) adds.
//
// One port serves HTTP/1.1 and h2c with prior knowledge (or, with TLS,
// HTTP/1.1 and h2). Query parameters override the configured behaviour per
// request (?delay=10ms, ?status=503, ?size=1024), and admin endpoints under
// /admin/ are never delayed or stalled.
package echo

import (
	"log/slog"
)

// DefaultAddr is where the server listens when Options.Addr is empty.
const DefaultAddr = "127.0.0.1:8080"

// MaxSize is the largest response body, in bytes, that Options.Size or a
// ?size= override may ask for.
const MaxSize = 1 << 30

// Options configures the echo server.
type Options struct {
	// Addr is the TCP address to listen on; DefaultAddr when empty.
	Addr string
	// Delay is how long to wait before answering each request.
	Delay Delay
	// Status is the mix of status codes to answer with; 200 when zero.
	Status StatusMix
	// Size is the response body length in bytes; 0 sends an empty body.
	Size int
	// TLS serves HTTPS (HTTP/1.1 and h2) with a self-signed certificate
	// for 127.0.0.1, ::1 and localhost, made when the server starts.
	TLS bool
	// Capacity makes the server degrade above a request rate (see
	// Capacity); off when its RPS is 0.
	Capacity Capacity
	// Logger receives server events, never one line per request; nil
	// discards them.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	o.Size = min(max(o.Size, 0), MaxSize)
	if o.Capacity.RPS > 0 && o.Capacity.Mode == "" {
		o.Capacity.Mode = OverloadDelay
	}
	if o.Capacity.Mode == OverloadDelay && o.Capacity.Delay == 0 {
		o.Capacity.Delay = DefaultOverloadDelay
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Log attribute keys.
const (
	logKeyAddr = "addr"
	logKeyErr  = "err"
)
