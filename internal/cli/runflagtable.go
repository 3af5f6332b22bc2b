package cli

import (
	"os"
	"strings"
	"time"

	"github.com/meshperf/meshperf/loadgen"
)

// runFlag is one flag of `meshperf run` (and `meshperf capacity`) and what
// it does to a plan. runFlags is the one declaration of flag ↔ plan field:
// apply, flagFor, the flags refused against a server and the flags of a
// capacity step all read it.
type runFlag struct {
	name string
	// also is a second flag that sets the same fields (--rate-shape with
	// --rps, --body-file with --body): set runs when either is given.
	also string
	// field is the Plan field set, as Plan.Validate names it ("" when
	// its problems are not reported by field).
	field string
	// local: the flag names a file or a setting of this machine, which a
	// profile cannot carry to a server. override: the flag changes a
	// profile's field, not supported against a server yet. capacity: the
	// flag shapes each step of a capacity search.
	local, override, capacity bool
	// set applies the flag to p, reporting a wrong value with bad; nil:
	// the flag is read elsewhere (or by its also's set).
	set func(o *runOptions, p *loadgen.Plan, set func(string) bool, bad func(format string, a ...any))
}

// runFlags in the order they apply: --rps after --duration, --requests
// and --warmup (a ramp spans them), --tcp-payload after --body.
var runFlags = []runFlag{
	{name: "name", override: true, capacity: true, set: func(o *runOptions, p *loadgen.Plan, _ func(string) bool, _ func(string, ...any)) {
		if o.name != "" {
			p.Name = o.name
		}
	}},
	{name: "method", field: "method", override: true, capacity: true, set: func(o *runOptions, p *loadgen.Plan, _ func(string) bool, _ func(string, ...any)) {
		if o.method != "" {
			p.Method = o.method
		}
	}},
	{name: "content-type", override: true, set: func(o *runOptions, p *loadgen.Plan, _ func(string) bool, _ func(string, ...any)) {
		if o.contentType != "" {
			p.ContentType = o.contentType
		}
	}},
	{name: "connections", field: "connections", override: true, capacity: true, set: func(o *runOptions, p *loadgen.Plan, _ func(string) bool, bad func(string, ...any)) {
		p.Connections = o.connections
		if o.connections < 1 {
			bad("--connections: must be >= 1, got %d", o.connections)
			p.Connections = 1
		}
	}},
	{name: "streams", field: "streams", override: true, capacity: true, set: func(o *runOptions, p *loadgen.Plan, _ func(string) bool, bad func(string, ...any)) {
		p.Streams = o.streams
		if o.streams < 1 {
			bad("--streams: must be >= 1, got %d", o.streams)
			p.Streams = 1
		}
	}},
	{name: "duration", field: "duration", override: true, set: func(o *runOptions, p *loadgen.Plan, _ func(string) bool, bad func(string, ...any)) {
		p.Duration = o.duration
		if o.duration < 0 {
			bad("--duration: must not be negative")
			p.Duration = 0
		}
	}},
	{name: "requests", field: "requests", override: true, set: func(o *runOptions, p *loadgen.Plan, _ func(string) bool, _ func(string, ...any)) {
		p.Requests = o.requests
		if o.requests > 0 && !o.durationGiven {
			p.Duration = 0 // -n without -d: run until the count is reached
		}
	}},
	{name: "warmup", field: "warmup", override: true, set: func(o *runOptions, p *loadgen.Plan, _ func(string) bool, _ func(string, ...any)) {
		p.Warmup = o.warmup
	}},
	{name: "connect-timeout", field: "connect_timeout", override: true, set: func(o *runOptions, p *loadgen.Plan, _ func(string) bool, _ func(string, ...any)) {
		p.ConnectTimeout = o.connectTimeout
	}},
	{name: "timeout", field: "timeout", override: true, capacity: true, set: func(o *runOptions, p *loadgen.Plan, _ func(string) bool, _ func(string, ...any)) {
		p.Timeout = o.timeout
	}},
	{name: "resolver", field: "resolver", local: true, set: func(o *runOptions, p *loadgen.Plan, _ func(string) bool, _ func(string, ...any)) {
		if o.resolver != "" {
			p.Resolver = o.resolver
		}
	}},
	{name: "queue", field: "queue", local: true, set: func(o *runOptions, p *loadgen.Plan, _ func(string) bool, _ func(string, ...any)) {
		p.QueueSize = o.queue
	}},
	{name: "threads", local: true, set: func(o *runOptions, p *loadgen.Plan, _ func(string) bool, _ func(string, ...any)) {
		p.Threads = o.threads
	}},
	{name: "interval-histograms", local: true, set: func(o *runOptions, p *loadgen.Plan, _ func(string) bool, _ func(string, ...any)) {
		p.IntervalHistograms = o.intervalHist
	}},
	{name: "insecure", override: true, capacity: true, set: func(o *runOptions, p *loadgen.Plan, _ func(string) bool, _ func(string, ...any)) {
		p.TLS.SkipVerify = o.insecure
	}},
	{name: "ca-cert", field: "tls.ca_file", local: true, set: func(o *runOptions, p *loadgen.Plan, _ func(string) bool, _ func(string, ...any)) {
		if o.caFile != "" {
			p.TLS.CAFile = o.caFile
		}
	}},
	{name: "cert", field: "tls.cert_file", local: true, set: func(o *runOptions, p *loadgen.Plan, _ func(string) bool, _ func(string, ...any)) {
		if o.certFile != "" {
			p.TLS.CertFile = o.certFile
		}
	}},
	{name: "key", field: "tls.key_file", local: true, set: func(o *runOptions, p *loadgen.Plan, _ func(string) bool, _ func(string, ...any)) {
		if o.keyFile != "" {
			p.TLS.KeyFile = o.keyFile
		}
	}},
	{name: "sni", override: true, set: func(o *runOptions, p *loadgen.Plan, _ func(string) bool, _ func(string, ...any)) {
		if o.sni != "" {
			p.TLS.ServerName = o.sni
		}
	}},
	{name: "tls-no-resumption", override: true, set: func(o *runOptions, p *loadgen.Plan, set func(string) bool, _ func(string, ...any)) {
		if set("tls-no-resumption") {
			p.TLS.NoResumption = o.noResumption
		}
	}},
	{name: "protocol", field: "protocol", override: true, set: setProtocol},
	{name: "http", field: "http_version", override: true, capacity: true, set: setHTTPVersion},
	{name: "rps", also: "rate-shape", field: "rate", override: true, set: func(o *runOptions, p *loadgen.Plan, _ func(string) bool, bad func(string, ...any)) {
		shape, err := loadgen.ParseShape(o.shape, o.rps, p.Duration+p.Warmup)
		if err != nil {
			bad("--rps/--rate-shape: %v", err)
		}
		p.Rate = shape
	}},
	{name: "rate-shape", override: true},
	{name: "header", override: true, capacity: true, set: func(o *runOptions, p *loadgen.Plan, _ func(string) bool, bad func(string, ...any)) {
		for _, h := range o.headers {
			name, value, ok := strings.Cut(h, ":")
			if !ok || strings.TrimSpace(name) == "" {
				bad("--header %q: want 'Name: value'", h)
				continue
			}
			p.Headers = setHeader(p.Headers, strings.TrimSpace(name), strings.TrimSpace(value))
		}
	}},
	{name: "cookie", override: true, set: func(o *runOptions, p *loadgen.Plan, _ func(string) bool, bad func(string, ...any)) {
		for _, c := range o.cookies {
			name, value, ok := strings.Cut(c, "=")
			if !ok || strings.TrimSpace(name) == "" {
				bad("--cookie %q: want 'name=value'", c)
				continue
			}
			p.Cookies = setHeader(p.Cookies, strings.TrimSpace(name), value)
		}
	}},
	{name: "body", also: "body-file", field: "body", override: true, capacity: true, set: setBody},
	{name: "body-file", override: true},
	{name: "proto-descriptor", field: "grpc.descriptor_set", local: true, set: func(o *runOptions, p *loadgen.Plan, _ func(string) bool, _ func(string, ...any)) {
		if o.protoDescriptor != "" {
			p.GRPC.DescriptorSet = o.protoDescriptor
		}
	}},
	{name: "tcp-payload", override: true, set: func(o *runOptions, p *loadgen.Plan, _ func(string) bool, bad func(string, ...any)) {
		if o.tcpPayload != "" {
			b, err := unescape(o.tcpPayload)
			if err != nil {
				bad("--tcp-payload: %v", err)
			}
			p.Body = b
		}
	}},
	{name: "tcp-expect-bytes", field: "tcp.expect_bytes", override: true, set: func(o *runOptions, p *loadgen.Plan, _ func(string) bool, _ func(string, ...any)) {
		if o.tcpExpect != 0 {
			p.TCP.ExpectBytes = o.tcpExpect
		}
	}},
	{name: "tcp-delimiter", field: "tcp.delimiter", override: true, set: func(o *runOptions, p *loadgen.Plan, _ func(string) bool, bad func(string, ...any)) {
		if o.tcpDelimiter != "" {
			b, err := unescape(o.tcpDelimiter)
			if err != nil {
				bad("--tcp-delimiter: %v", err)
			}
			p.TCP.Delimiter = b
		}
	}},
	{name: "resolution", override: true, set: setResolution},
	// Flags read elsewhere, listed for what they are against a server.
	{name: "no-save", local: true},
	{name: "generator", local: true},
	{name: "agents", override: true},
	{name: "agent-selector", override: true},
}

func setProtocol(o *runOptions, p *loadgen.Plan, _ func(string) bool, bad func(string, ...any)) {
	if o.protocol == "" {
		return // from the URL scheme
	}
	switch strings.ToLower(o.protocol) {
	case "http", "1", "https":
		p.Protocol = loadgen.ProtocolHTTP
	case "tcp", "2":
		p.Protocol = loadgen.ProtocolTCP
	case "grpc", "4":
		p.Protocol = loadgen.ProtocolGRPC
	default:
		bad("--protocol: unknown protocol %q (want http, grpc or tcp)", o.protocol)
		p.Protocol = loadgen.ProtocolHTTP
	}
}

func setHTTPVersion(o *runOptions, p *loadgen.Plan, _ func(string) bool, bad func(string, ...any)) {
	switch o.httpVersion {
	case "1.1", "1", "http/1.1":
		p.HTTPVersion = loadgen.HTTP1
	case "2", "h2", "2.0":
		p.HTTPVersion = loadgen.HTTP2
	case "h2c":
		p.HTTPVersion = loadgen.H2C
	default:
		bad("--http: unknown HTTP version %q (want 1.1, 2 or h2c)", o.httpVersion)
		p.HTTPVersion = loadgen.HTTP1
	}
}

// setBody reads --body, --body @FILE or --body-file.
func setBody(o *runOptions, p *loadgen.Plan, set func(string) bool, bad func(string, ...any)) {
	switch {
	case o.bodyFile != "" && o.body != "":
		bad("--body and --body-file: give one, not both")
	case set("body-file") && o.bodyFile != "" || set("body") && strings.HasPrefix(o.body, "@"):
		path := o.bodyFile
		if path == "" {
			path = o.body[1:]
		}
		b, err := os.ReadFile(path)
		if err != nil {
			bad("--body-file: %v", err)
		}
		p.Body = b
	case set("body") && o.body != "":
		p.Body = []byte(o.body)
	}
}

func setResolution(o *runOptions, p *loadgen.Plan, _ func(string) bool, bad func(string, ...any)) {
	switch o.resolution {
	case "auto", "":
		p.Resolution = 0
	case "exact", "0":
		p.Resolution = loadgen.ExactSchedule
	default:
		d, err := time.ParseDuration(o.resolution)
		if err != nil || d < 0 {
			bad("--resolution: want auto, exact or a duration such as 200us, not %q", o.resolution)
		}
		p.Resolution = d
	}
}
