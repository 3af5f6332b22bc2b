package loadgen

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meshperf/meshperf/spec"
)

// Limits bound every number and size of a test, per client (one Plan) and
// over all the clients of a profile. A server checks every run, profile
// and schedule against its Limits (DefaultLimits unless its operator
// raised them, never past Ceiling); every Plan is checked against Ceiling,
// the values the engine's arithmetic is safe up to.
type Limits struct {
	Connections      int64         // per client
	TotalConnections int64         // over all clients
	Streams          int64         // per HTTP/2 connection
	InFlight         int64         // connections × streams, per client
	RPS              float64       // peak rate of a client's shape
	TotalRPS         float64       // sum of the clients' peak rates
	Duration         time.Duration // measured time (warm-up and each ramp or step counted apart)
	Warmup           time.Duration
	Requests         int64 // a profile's request count
	Targets          int64 // endpoint URLs per client
	TotalTargets     int64
	Clients          int64
	Headers          int64 // headers and cookies per client
	HeaderBytes      int64 // their names and values, per client
	Body             int64 // request body or TCP payload, bytes
	TCPExpectBytes   int64
	TCPDelimiter     int64 // bytes
	Timeout          time.Duration
	ConnectTimeout   time.Duration
	QueueSize        int64
	Threads          int64
	Resolution       time.Duration
	Steps            int64 // steps of a steps: rate shape
	FileSize         int64 // a file a profile names (--allow-files), bytes
}

// DefaultLimits are a server's bounds unless its operator raises them:
// enough for a large test from one machine, small enough that one request
// cannot take the server's memory.
var DefaultLimits = Limits{
	Connections: 10_000, TotalConnections: 20_000, Streams: 1_000, InFlight: 100_000,
	RPS: 200_000, TotalRPS: 500_000,
	Duration: 24 * time.Hour, Warmup: time.Hour, Requests: 1_000_000_000,
	Targets: 100, TotalTargets: 1_000, Clients: 100,
	Headers: 100, HeaderBytes: 64 << 10, Body: 1 << 20, TCPExpectBytes: 1 << 20, TCPDelimiter: 1 << 10,
	Timeout: 5 * time.Minute, ConnectTimeout: time.Minute, QueueSize: 1_000_000, Threads: 256,
	Resolution: time.Second, Steps: 1_000, FileSize: 1 << 20,
}

// Ceiling is the most any limit may be raised to, and what every Plan is
// checked against whoever runs it: the engine's counts and times stay far
// from overflowing at these values (rate × time < 2^53).
var Ceiling = Limits{
	Connections: 1_000_000, TotalConnections: 4_000_000, Streams: 100_000, InFlight: 10_000_000,
	RPS: 100_000_000, TotalRPS: 1_000_000_000,
	Duration: 30 * 24 * time.Hour, Warmup: 24 * time.Hour, Requests: 1_000_000_000_000_000,
	Targets: spec.MaxProfileURLs, TotalTargets: spec.MaxProfileURLs, Clients: spec.MaxProfileClients,
	Headers: 10_000, HeaderBytes: 16 << 20, Body: 256 << 20, TCPExpectBytes: 256 << 20, TCPDelimiter: 1 << 20,
	Timeout: 24 * time.Hour, ConnectTimeout: time.Hour, QueueSize: 100_000_000, Threads: 4096,
	Resolution: time.Minute, Steps: 1_000, FileSize: 256 << 20,
}

// limitField is one limit: its name (as --limit NAME=VALUE and in
// messages), how it reads and prints, and where it lives in Limits.
type limitField struct {
	name, doc string
	i         func(*Limits) *int64
	f         func(*Limits) *float64
	d         func(*Limits) *time.Duration
}

var limitFields = []limitField{
	{name: "connections", doc: "connections per client", i: func(l *Limits) *int64 { return &l.Connections }},
	{name: "total_connections", doc: "connections over all clients", i: func(l *Limits) *int64 { return &l.TotalConnections }},
	{name: "streams", doc: "concurrent streams per HTTP/2 connection", i: func(l *Limits) *int64 { return &l.Streams }},
	{name: "in_flight", doc: "connections × streams per client", i: func(l *Limits) *int64 { return &l.InFlight }},
	{name: "rps", doc: "peak requests per second of a client", f: func(l *Limits) *float64 { return &l.RPS }},
	{name: "total_rps", doc: "sum of the clients' peak rates", f: func(l *Limits) *float64 { return &l.TotalRPS }},
	{name: "duration", doc: "measured duration (and each ramp or step)", d: func(l *Limits) *time.Duration { return &l.Duration }},
	{name: "warmup", doc: "warm-up", d: func(l *Limits) *time.Duration { return &l.Warmup }},
	{name: "requests", doc: "request count (meshperf.requests)", i: func(l *Limits) *int64 { return &l.Requests }},
	{name: "targets", doc: "endpoint URLs per client", i: func(l *Limits) *int64 { return &l.Targets }},
	{name: "total_targets", doc: "endpoint URLs over all clients", i: func(l *Limits) *int64 { return &l.TotalTargets }},
	{name: "clients", doc: "clients per profile", i: func(l *Limits) *int64 { return &l.Clients }},
	{name: "headers", doc: "headers and cookies per client", i: func(l *Limits) *int64 { return &l.Headers }},
	{name: "header_bytes", doc: "bytes of header and cookie names and values per client", i: func(l *Limits) *int64 { return &l.HeaderBytes }},
	{name: "body", doc: "request body or TCP payload, bytes", i: func(l *Limits) *int64 { return &l.Body }},
	{name: "tcp_expect_bytes", doc: "TCP response length, bytes", i: func(l *Limits) *int64 { return &l.TCPExpectBytes }},
	{name: "tcp_delimiter", doc: "TCP delimiter, bytes", i: func(l *Limits) *int64 { return &l.TCPDelimiter }},
	{name: "timeout", doc: "request timeout", d: func(l *Limits) *time.Duration { return &l.Timeout }},
	{name: "connect_timeout", doc: "connect timeout", d: func(l *Limits) *time.Duration { return &l.ConnectTimeout }},
	{name: "queue", doc: "requests waiting for a free connection", i: func(l *Limits) *int64 { return &l.QueueSize }},
	{name: "threads", doc: "event-loop threads", i: func(l *Limits) *int64 { return &l.Threads }},
	{name: "resolution", doc: "schedule resolution", d: func(l *Limits) *time.Duration { return &l.Resolution }},
	{name: "steps", doc: "steps of a steps: rate shape", i: func(l *Limits) *int64 { return &l.Steps }},
	{name: "file_size", doc: "a file a profile names (--allow-files), bytes", i: func(l *Limits) *int64 { return &l.FileSize }},
}

// LimitNames lists the names Set takes, in order.
func LimitNames() []string {
	out := make([]string, len(limitFields))
	for i, f := range limitFields {
		out[i] = f.name
	}
	return out
}

// Describe lists every limit, one "name: value (what)" line each.
func (l Limits) Describe() []string {
	out := make([]string, len(limitFields))
	for i, f := range limitFields {
		out[i] = fmt.Sprintf("%s: %s (%s; at most %s)", f.name, f.get(&l), f.doc, f.get(&Ceiling))
	}
	return out
}

func (f limitField) get(l *Limits) string {
	switch {
	case f.i != nil:
		return strconv.FormatInt(*f.i(l), 10)
	case f.f != nil:
		return strconv.FormatFloat(*f.f(l), 'f', -1, 64)
	}
	return f.d(l).String()
}

// Set changes one limit from NAME=VALUE (as the server's --limit flag
// gives it): a whole number, a rate (1e6 is allowed) or a duration; never
// above Ceiling.
func (l *Limits) Set(kv string) error {
	name, value, ok := strings.Cut(kv, "=")
	name = strings.TrimSpace(strings.ToLower(name))
	value = strings.TrimSpace(value)
	if !ok || name == "" || value == "" {
		return fmt.Errorf("want NAME=VALUE, e.g. connections=100000, not %q", kv)
	}
	i := slices.IndexFunc(limitFields, func(f limitField) bool { return f.name == name })
	if i < 0 {
		return fmt.Errorf("unknown limit %q (known: %s)", name, strings.Join(LimitNames(), ", "))
	}
	f := limitFields[i]
	switch {
	case f.d != nil:
		d, err := time.ParseDuration(value)
		if err != nil || d <= 0 {
			return fmt.Errorf("%s: want a duration above 0 such as 48h, not %q", name, value)
		}
		if d > *f.d(&Ceiling) {
			return fmt.Errorf("%s: at most %s, not %s", name, *f.d(&Ceiling), d)
		}
		*f.d(l) = d
	default:
		v, err := strconv.ParseFloat(value, 64)
		if err != nil || !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("%s: want a number above 0, not %q", name, value)
		}
		if f.f != nil {
			if v > *f.f(&Ceiling) {
				return fmt.Errorf("%s: at most %s, not %s", name, f.get(&Ceiling), value)
			}
			*f.f(l) = v
			return nil
		}
		if v != math.Trunc(v) {
			return fmt.Errorf("%s: want a whole number, not %q", name, value)
		}
		if v > float64(*f.i(&Ceiling)) {
			return fmt.Errorf("%s: at most %s, not %s", name, f.get(&Ceiling), value)
		}
		*f.i(l) = int64(v)
	}
	return nil
}

// LimitError is a value above a limit; Field names the field, Limit the
// limit (as Set names it).
type LimitError struct {
	Field, Limit string
	Value, Max   string
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s: %s is above the limit of %s (limit %q)", e.Field, e.Value, e.Max, e.Limit)
}

// checker collects the limits a plan breaks.
type checker struct {
	l    *Limits
	errs []error
	// field names a plan field where the problem is reported.
	field func(string) string
}

func (c *checker) int(field, limit string, v int64) {
	f := limitFields[slices.IndexFunc(limitFields, func(f limitField) bool { return f.name == limit })]
	if max := *f.i(c.l); v > max {
		c.errs = append(c.errs, &LimitError{Field: c.field(field), Limit: limit, Value: strconv.FormatInt(v, 10), Max: f.get(c.l)})
	}
}

func (c *checker) float(field, limit string, v float64) {
	f := limitFields[slices.IndexFunc(limitFields, func(f limitField) bool { return f.name == limit })]
	if max := *f.f(c.l); v > max || math.IsNaN(v) {
		c.errs = append(c.errs, &LimitError{Field: c.field(field), Limit: limit, Value: strconv.FormatFloat(v, 'f', -1, 64), Max: f.get(c.l)})
	}
}

func (c *checker) dur(field, limit string, v time.Duration) {
	f := limitFields[slices.IndexFunc(limitFields, func(f limitField) bool { return f.name == limit })]
	if max := *f.d(c.l); v > max {
		c.errs = append(c.errs, &LimitError{Field: c.field(field), Limit: limit, Value: v.String(), Max: f.get(c.l)})
	}
}

// plan checks one plan's own numbers; fields are the Plan's (as
// FieldError names them).
func (c *checker) plan(p *Plan) {
	c.int("connections", "connections", int64(p.Connections))
	c.int("streams", "streams", int64(p.Streams))
	if int64(p.Connections) <= c.l.Connections && int64(p.Streams) <= c.l.Streams {
		c.int("streams", "in_flight", int64(p.Connections)*int64(p.Streams))
	}
	c.dur("duration", "duration", p.Duration)
	c.dur("warmup", "warmup", p.Warmup)
	c.int("requests", "requests", p.Requests)
	c.int("targets", "targets", int64(len(p.Targets)))
	var hb int64
	for _, h := range append(slices.Clip(p.Headers), p.Cookies...) {
		hb += int64(len(h.Name) + len(h.Value))
	}
	c.int("headers", "headers", int64(len(p.Headers)+len(p.Cookies)))
	c.int("headers", "header_bytes", hb)
	c.int("body", "body", int64(len(p.Body)))
	c.int("tcp.expect_bytes", "tcp_expect_bytes", int64(p.TCP.ExpectBytes))
	c.int("tcp.delimiter", "tcp_delimiter", int64(len(p.TCP.Delimiter)))
	c.dur("timeout", "timeout", p.Timeout)
	c.dur("connect_timeout", "connect_timeout", p.ConnectTimeout)
	c.int("queue", "queue", int64(p.QueueSize))
	c.int("threads", "threads", int64(p.Threads))
	c.dur("resolution", "resolution", p.Resolution)
	c.int("tls", "file_size", int64(max(len(p.TLS.CAPEM), len(p.TLS.CertPEM), len(p.TLS.KeyPEM))))
	c.int("grpc.descriptor_set", "file_size", int64(len(p.GRPC.DescriptorSetBytes)))
	switch r := p.Rate.(type) {
	case nil:
	case Constant:
		c.float("rate", "rps", float64(r))
	case Ramp:
		c.float("rate", "rps", max(r.From, r.To))
		c.dur("rate", "duration", r.Over)
	case Steps:
		c.int("rate", "steps", int64(len(r)))
		for _, st := range r {
			c.float("rate", "rps", st.Rate)
			c.dur("rate", "duration", st.Duration)
		}
	default:
		c.float("rate", "rps", p.Rate.RateAt(p.Warmup))
	}
}

// PeakRate is the highest rate a shape asks for; 0 for closed loop.
func PeakRate(s Shape) float64 {
	switch r := s.(type) {
	case nil:
		return 0
	case Constant:
		return float64(r)
	case Ramp:
		return max(r.From, r.To)
	case Steps:
		var m float64
		for _, st := range r {
			m = max(m, st.Rate)
		}
		return m
	}
	return s.RateAt(0)
}

// CheckPlan reports every number of p above l, each a *LimitError naming
// the plan's field.
func (l Limits) CheckPlan(p *Plan) error {
	c := &checker{l: &l, field: func(f string) string { return f }}
	c.plan(p)
	return errors.Join(c.errs...)
}

// checkTotals checks what adds up over the clients of a profile; each
// problem is a *spec.FieldError on "clients".
func (l Limits) checkTotals(clients int, plans []*Plan) error {
	c := &checker{l: &l, field: func(f string) string { return f }}
	c.int("clients", "clients", int64(clients))
	var conns, targets int64
	var rps float64
	for _, p := range plans {
		if p == nil {
			continue
		}
		conns += int64(min(max(p.Connections, 0), math.MaxInt32))
		targets += int64(len(p.Targets))
		rps += PeakRate(p.Rate)
	}
	c.int("clients", "total_connections", conns)
	c.int("clients", "total_targets", targets)
	c.float("clients", "total_rps", rps)
	errs := c.errs
	for i, e := range errs {
		var le *LimitError
		if errors.As(e, &le) {
			errs[i] = &spec.FieldError{Path: le.Field, Reason: strings.TrimPrefix(le.Error(), le.Field+": ")}
		}
	}
	return errors.Join(errs...)
}
