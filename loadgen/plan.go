// Package loadgen describes a load test (the Plan), how its rate changes over
// time (Shape), what runs it (Generator) and how results are aggregated
// (Recorder). Pacing, doing and aggregating are kept apart: a Shape only
// computes intended send times, a Generator only sends, the Recorder only
// counts.
package loadgen

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/meshperf/meshperf/spec"
)

// Protocols a Plan may name.
const (
	ProtocolHTTP = "http"
	ProtocolGRPC = "grpc"
	ProtocolTCP  = "tcp"
)

// HTTP versions for ProtocolHTTP.
const (
	HTTP1 = "1.1"
	HTTP2 = "2"   // over TLS via ALPN; over http:// the same as H2C
	H2C   = "h2c" // HTTP/2 over cleartext with prior knowledge
)

// Plan is everything a generator needs to run one test.
type Plan struct {
	Name string
	// Generator names the load generator to run the plan ("" or
	// "meshperf": the native engine).
	Generator string
	Targets   []string // one or more URLs, used in turn
	// Protocol is "http" (the default), "grpc" or "tcp".
	Protocol    string
	HTTPVersion string // "1.1" (default), "2" or "h2c"
	Method      string // default GET, or POST when a body is given
	Headers     []Header
	Cookies     []Header
	Body        []byte
	ContentType string
	TLS         TLS

	// Resolver is the address (host:port) of a DNS server to use instead
	// of the system's.
	Resolver string

	ConnectTimeout time.Duration // default 5s
	Timeout        time.Duration // per request, default 30s

	// Connections is the number of concurrent connections (and so the
	// maximum number of requests in flight).
	Connections int
	// Threads is the number of event-loop threads for plain HTTP/1.1;
	// 0 chooses from the connections and the machine.
	Threads int
	// Streams is the number of concurrent requests per HTTP/2 connection.
	Streams int
	// Rate shapes the request rate; nil means closed loop (as fast as the
	// connections allow).
	Rate Shape
	// Duration is the measured time, after Warmup. Zero with Requests > 0
	// means run until Requests are done.
	Duration time.Duration
	// Requests, when > 0, ends the run after this many measured requests.
	Requests int64
	// Warmup is run before Duration and kept out of the summary; whole
	// seconds.
	Warmup time.Duration
	// QueueSize bounds the requests waiting for a free connection in an
	// open-loop run; past it, requests are dropped and counted.
	QueueSize int
	// IntervalHistograms keeps each second's encoded histograms in the
	// result's timeline (they always go to the Sink). Off by default: they
	// make a result grow with the length of the run.
	IntervalHistograms bool
	// Resolution is how closely the event loop follows the schedule: when
	// the next request is not yet due it waits until that request's time
	// plus Resolution, and sends every request due by then together. Each
	// is at most Resolution late, and that lateness counts in its latency.
	// Batching the wake-ups cuts the CPU a fixed-rate run costs. Zero
	// chooses automatically (ResolutionAt); ExactSchedule sends each
	// request at its own time.
	Resolution time.Duration
	// LateThreshold is how far after its intended time a request may be
	// sent before it counts as late.
	LateThreshold time.Duration

	// GRPC configures gRPC plans (Protocol "grpc").
	GRPC GRPC
	// TCP configures TCP plans (Protocol "tcp").
	TCP TCP
}

// GRPC configures the calls of a gRPC plan. A target grpc://host:port calls
// the health check (grpc.health.v1.Health/Check); grpc://host:port/pkg.Service/Method
// calls that unary method with the plan's Body, JSON, as its request;
// grpcs:// is the same over TLS. Headers are sent as metadata.
type GRPC struct {
	// DescriptorSet is a file holding a FileDescriptorSet (as protoc
	// --descriptor_set_out --include_imports writes) that describes the
	// method; when empty the method is looked up by server reflection.
	DescriptorSet string
	// DescriptorSetBytes is a FileDescriptorSet given inline, instead of
	// DescriptorSet.
	DescriptorSetBytes []byte
}

// TCP says what one request of a TCP plan is: the plan's Body is written,
// then a response is read up to ExpectBytes or the Delimiter (when
// neither is set, as many bytes as were written, as from an echo server).
type TCP struct {
	// ExpectBytes is the length of a response.
	ExpectBytes int
	// Delimiter ends a response (it is part of it).
	Delimiter []byte
}

// ExactSchedule, as a Plan's Resolution, sends every request at its own
// intended time.
const ExactSchedule time.Duration = -1

// AutoWakeups is how many batches a second the automatic resolution aims
// for: up to this rate every request goes at its own time; above it,
// requests due within a window of 1/AutoWakeups minus one interval go
// together.
const AutoWakeups = 1000

// ResolutionAt is the resolution in force at time t of the run.
func (p *Plan) ResolutionAt(t time.Duration) time.Duration {
	switch {
	case p.Resolution > 0:
		return p.Resolution
	case p.Resolution < 0 || p.Rate == nil:
		return 0
	}
	r := p.Rate.RateAt(t)
	if r <= AutoWakeups {
		return 0
	}
	return time.Second/AutoWakeups - time.Duration(float64(time.Second)/r)
}

// Header is one name/value pair; order is kept.
type Header struct{ Name, Value string }

// TLS configures the client side of TLS.
type TLS struct {
	SkipVerify bool
	CAFile     string
	// CAPEM holds CA certificates inline (SMP's ssl_certificate), in
	// addition to CAFile.
	CAPEM    []byte
	CertFile string
	KeyFile  string
	// CertPEM and KeyPEM are a client certificate and its key given inline
	// (PEM), instead of CertFile and KeyFile.
	CertPEM, KeyPEM []byte
	ServerName      string // SNI; default the target's host
	// NoResumption makes every new connection a full handshake. By
	// default a connection offers the session (ticket) of an earlier one
	// to the same server, as Envoy's upstream connections and browsers
	// do, so reconnects cost what they cost a mesh's clients.
	NoResumption bool
}

// HasClientCert tells whether a client certificate is given, by file or
// inline.
func (t *TLS) HasClientCert() bool {
	return t.CertFile != "" || t.KeyFile != "" || len(t.CertPEM) > 0 || len(t.KeyPEM) > 0
}

// Defaults used when a Plan leaves a field zero.
const (
	DefaultConnectTimeout = 5 * time.Second
	DefaultTimeout        = 30 * time.Second
	DefaultLateThreshold  = time.Millisecond
	DefaultConnections    = 10
	// DefaultRPS is the rate of `meshperf run URL` without --rps: open
	// loop at a modest fixed rate, so a first run measures latency as
	// users feel it and does not flood a target it knows nothing about.
	DefaultRPS = 100
)

// FieldError is one problem with a Plan, naming the field.
type FieldError struct {
	Field, Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Normalize fills defaults in place.
func (p *Plan) Normalize() {
	if p.Protocol == "" {
		p.Protocol = protocolOf(p.Targets)
	}
	if p.HTTPVersion == "" {
		p.HTTPVersion = HTTP1
	}
	if p.Method == "" {
		p.Method = "GET"
		if len(p.Body) > 0 {
			p.Method = "POST"
		}
	}
	p.Method = strings.ToUpper(p.Method)
	if p.ConnectTimeout == 0 {
		p.ConnectTimeout = DefaultConnectTimeout
	}
	if p.Timeout == 0 {
		p.Timeout = DefaultTimeout
	}
	if p.Connections == 0 {
		p.Connections = DefaultConnections
	}
	if p.Streams == 0 {
		p.Streams = 1
	}
	if p.LateThreshold == 0 {
		p.LateThreshold = DefaultLateThreshold
	}
	if p.QueueSize == 0 {
		p.QueueSize = 100_000
	}
}

// Requested is what the plan asks for, as a result records it.
func (p *Plan) Requested() spec.Requested {
	q := spec.Requested{
		Targets:     append([]string(nil), p.Targets...),
		Method:      p.Method,
		Protocol:    p.Protocol,
		HTTPVersion: p.HTTPVersion,
		Connections: p.Connections,
		OpenLoop:    p.OpenLoop(),
		Duration:    spec.Duration(p.Duration),
		Requests:    p.Requests,
		Warmup:      spec.Duration(p.Warmup),
		Timeout:     spec.Duration(p.Timeout),
		Shape:       "closed loop",
	}
	if p.Rate != nil {
		q.RPS = p.Rate.RateAt(p.Warmup)
		q.Shape = p.Rate.String()
	}
	if p.Protocol != ProtocolHTTP { // the method is in the gRPC target's path
		q.Method, q.HTTPVersion = "", ""
	}
	return q
}

// OpenLoop tells whether requests follow a rate shape.
func (p *Plan) OpenLoop() bool { return p.Rate != nil }

// Validate reports every problem at once, each naming its field; numbers
// and sizes are checked against Ceiling.
func (p *Plan) Validate() error { return p.ValidateWithin(Ceiling) }

// ValidateWithin is Validate with numbers and sizes checked against l.
func (p *Plan) ValidateWithin(l Limits) error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, &FieldError{Field: field, Reason: fmt.Sprintf(format, a...)})
	}
	if len(p.Targets) == 0 {
		bad("targets", "at least one target URL is required")
	}
	for i, t := range p.Targets {
		if err := validateURL(p.Protocol, t); err != nil {
			bad(fmt.Sprintf("targets[%d]", i), "%v", err)
		}
	}
	switch p.Protocol {
	case ProtocolHTTP, ProtocolGRPC, ProtocolTCP:
	default:
		bad("protocol", "unknown protocol %q (want http, grpc or tcp)", p.Protocol)
	}
	switch p.HTTPVersion {
	case HTTP1, HTTP2, H2C:
	default:
		bad("http_version", "unknown HTTP version %q (want 1.1, 2 or h2c)", p.HTTPVersion)
	}
	if p.Connections < 1 {
		bad("connections", "must be >= 1, got %d", p.Connections)
	}
	if p.Streams < 1 {
		bad("streams", "must be >= 1, got %d", p.Streams)
	}
	if p.Duration < 0 {
		bad("duration", "must not be negative")
	}
	if p.Requests < 0 {
		bad("requests", "must not be negative")
	}
	if p.Duration == 0 && p.Requests == 0 {
		bad("duration", "a duration or a request count is required")
	}
	if p.Warmup < 0 {
		bad("warmup", "must not be negative")
	} else if p.Warmup%time.Second != 0 {
		bad("warmup", "must be whole seconds, got %s", p.Warmup)
	}
	if p.Timeout < 0 {
		bad("timeout", "must not be negative")
	}
	if p.ConnectTimeout < 0 {
		bad("connect_timeout", "must not be negative")
	}
	if p.Resolver != "" {
		if _, _, err := net.SplitHostPort(p.Resolver); err != nil {
			bad("resolver", "%q is not host:port", p.Resolver)
		}
	}
	if p.QueueSize < 0 {
		bad("queue", "must not be negative")
	}
	if (p.TLS.CertFile == "" && len(p.TLS.CertPEM) == 0) != (p.TLS.KeyFile == "" && len(p.TLS.KeyPEM) == 0) {
		bad("tls", "a client certificate needs both a cert file and a key file")
	}
	if (p.TLS.CertFile != "" && len(p.TLS.CertPEM) > 0) || (p.TLS.KeyFile != "" && len(p.TLS.KeyPEM) > 0) {
		bad("tls", "give the client certificate and key as files or inline (PEM), not both")
	}
	for _, f := range []struct{ field, path string }{
		{"tls.ca_file", p.TLS.CAFile}, {"tls.cert_file", p.TLS.CertFile}, {"tls.key_file", p.TLS.KeyFile},
	} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			bad(f.field, "cannot read %s: %v", f.path, errors.Unwrap(err))
		}
	}
	if p.Rate != nil {
		if err := p.Rate.Validate(); err != nil {
			bad("rate", "%v", err)
		}
	}
	for i, h := range p.Headers {
		if h.Name == "" || strings.ContainsAny(h.Name, " \t\r\n:") {
			bad(fmt.Sprintf("headers[%d]", i), "invalid header name %q", h.Name)
		}
		if strings.ContainsAny(h.Value, "\r\n") {
			bad(fmt.Sprintf("headers[%d]", i), "header %q: value must not contain a line break", h.Name)
		}
	}
	if strings.ContainsAny(p.Method, " \t\r\n") || p.Method == "" {
		bad("method", "invalid method %q", p.Method)
	}
	p.validateGRPCTCP(bad)
	// Whoever runs it, a plan stays within the values the engine's
	// arithmetic is safe up to.
	for _, e := range unjoin(l.CheckPlan(p)) {
		var le *LimitError
		if errors.As(e, &le) {
			bad(le.Field, "%s", strings.TrimPrefix(le.Error(), le.Field+": "))
		}
	}
	return errors.Join(errs...)
}

// protocolOf infers a plan's protocol from the scheme of its first target.
func protocolOf(targets []string) string {
	if len(targets) > 0 {
		switch scheme, _, _ := strings.Cut(targets[0], "://"); strings.ToLower(scheme) {
		case "grpc", "grpcs":
			return ProtocolGRPC
		case "tcp":
			return ProtocolTCP
		}
	}
	return ProtocolHTTP
}

// validateGRPCTCP checks the fields of gRPC and TCP plans.
func (p *Plan) validateGRPCTCP(bad func(field, format string, a ...any)) {
	if p.GRPC.DescriptorSet != "" && len(p.GRPC.DescriptorSetBytes) > 0 {
		bad("grpc.descriptor_set", "give the descriptor set as a file or inline, not both")
	}
	if len(p.GRPC.DescriptorSetBytes) > 0 && p.Protocol != ProtocolGRPC {
		bad("grpc.descriptor_set", "is for gRPC targets, not %s", p.Protocol)
	}
	if p.GRPC.DescriptorSet != "" {
		if p.Protocol != ProtocolGRPC {
			bad("grpc.descriptor_set", "is for gRPC targets, not %s", p.Protocol)
		} else if _, err := os.Stat(p.GRPC.DescriptorSet); err != nil {
			bad("grpc.descriptor_set", "cannot read %s: %v", p.GRPC.DescriptorSet, errors.Unwrap(err))
		}
	}
	if p.TCP.ExpectBytes != 0 || p.TCP.Delimiter != nil {
		if p.Protocol != ProtocolTCP {
			bad("tcp", "expected bytes and delimiters are for TCP targets, not %s", p.Protocol)
		}
	}
	if p.TCP.ExpectBytes < 0 {
		bad("tcp.expect_bytes", "must not be negative, got %d", p.TCP.ExpectBytes)
	}
	if p.TCP.Delimiter != nil && len(p.TCP.Delimiter) == 0 {
		bad("tcp.delimiter", "must not be empty")
	}
	if p.TCP.ExpectBytes > 0 && len(p.TCP.Delimiter) > 0 {
		bad("tcp", "give a number of bytes to expect or a delimiter, not both")
	}
	if p.Protocol == ProtocolTCP && len(p.Body) == 0 && p.TCP.ExpectBytes == 0 && len(p.TCP.Delimiter) == 0 {
		bad("body", "a TCP request needs a payload to send or a response to wait for")
	}
}

func validateURL(protocol, raw string) error {
	if !strings.Contains(raw, "//") {
		// "127.0.0.1:8080" or "localhost:8080/x": a scheme forgotten.
		scheme := map[string]string{ProtocolGRPC: "grpc", ProtocolTCP: "tcp"}[protocol]
		if scheme == "" {
			scheme = "http"
		}
		return fmt.Errorf("%q has no scheme: add %s:// (%s://%s)", raw, scheme, scheme, strings.TrimPrefix(raw, "//"))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("invalid URL %q: %v", raw, errors.Unwrap(err))
	}
	switch protocol {
	case ProtocolHTTP, "":
		if u.Scheme != "http" && u.Scheme != "https" {
			return fmt.Errorf("invalid URL %q: scheme must be http or https", raw)
		}
	case ProtocolGRPC:
		if u.Scheme != "grpc" && u.Scheme != "grpcs" {
			return fmt.Errorf("invalid URL %q: scheme must be grpc or grpcs", raw)
		}
		if path := strings.Trim(u.Path, "/"); path != "" {
			svc, method, ok := strings.Cut(path, "/")
			if !ok || svc == "" || method == "" || strings.Contains(method, "/") {
				return fmt.Errorf("invalid URL %q: the path must be /package.Service/Method", raw)
			}
		}
	case ProtocolTCP:
		if u.Scheme != "tcp" {
			return fmt.Errorf("invalid URL %q: scheme must be tcp", raw)
		}
		if u.Path != "" && u.Path != "/" {
			return fmt.Errorf("invalid URL %q: a TCP target has no path", raw)
		}
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("invalid URL %q: no host", raw)
	}
	if port := u.Port(); port != "" {
		var n int
		if _, err := fmt.Sscanf(port, "%d", &n); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("invalid URL %q: port must be 1-65535", raw)
		}
	}
	return nil
}
