package cli

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

// plan turns the flags into a Plan for the given targets, naming every wrong
// flag at once.
func (o *runOptions) plan(targets []string) (*loadgen.Plan, error) {
	p := &loadgen.Plan{Targets: targets}
	if err := o.apply(p, func(string) bool { return true }); err != nil {
		return nil, err
	}
	return p, nil
}

// apply sets the fields of p that the flags for which set is true name:
// every flag for a plan made from the command line, only those given for a
// plan from a profile (flags override profile fields). It normalizes and
// validates p, naming every wrong flag at once.
func (o *runOptions) apply(p *loadgen.Plan, set func(flag string) bool) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if set("name") && o.name != "" {
		p.Name = o.name
	}
	if set("method") && o.method != "" {
		p.Method = o.method
	}
	if set("content-type") && o.contentType != "" {
		p.ContentType = o.contentType
	}
	if set("connections") {
		p.Connections = o.connections
		if o.connections < 1 {
			bad("--connections: must be >= 1, got %d", o.connections)
			p.Connections = 1
		}
	}
	if set("streams") {
		p.Streams = o.streams
		if o.streams < 1 {
			bad("--streams: must be >= 1, got %d", o.streams)
			p.Streams = 1
		}
	}
	if set("duration") {
		p.Duration = o.duration
		if o.duration < 0 {
			bad("--duration: must not be negative")
			p.Duration = 0
		}
	}
	if set("requests") {
		p.Requests = o.requests
		if o.requests > 0 && !o.durationGiven {
			p.Duration = 0 // -n without -d: run until the count is reached
		}
	}
	if set("warmup") {
		p.Warmup = o.warmup
	}
	if set("connect-timeout") {
		p.ConnectTimeout = o.connectTimeout
	}
	if set("timeout") {
		p.Timeout = o.timeout
	}
	if set("resolver") && o.resolver != "" {
		p.Resolver = o.resolver
	}
	if set("queue") {
		p.QueueSize = o.queue
	}
	if set("threads") {
		p.Threads = o.threads
	}
	if set("interval-histograms") {
		p.IntervalHistograms = o.intervalHist
	}
	if set("insecure") {
		p.TLS.SkipVerify = o.insecure
	}
	if set("ca-cert") && o.caFile != "" {
		p.TLS.CAFile = o.caFile
	}
	if set("cert") && o.certFile != "" {
		p.TLS.CertFile = o.certFile
	}
	if set("key") && o.keyFile != "" {
		p.TLS.KeyFile = o.keyFile
	}
	if set("sni") && o.sni != "" {
		p.TLS.ServerName = o.sni
	}
	if set("protocol") && o.protocol != "" { // "": from the URL scheme
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
	if set("http") {
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
	if set("rps") || set("rate-shape") {
		shape, err := loadgen.ParseShape(o.shape, o.rps, p.Duration+p.Warmup)
		if err != nil {
			bad("--rps/--rate-shape: %v", err)
		}
		p.Rate = shape
	}
	if set("header") {
		for _, h := range o.headers {
			name, value, ok := strings.Cut(h, ":")
			if !ok || strings.TrimSpace(name) == "" {
				bad("--header %q: want 'Name: value'", h)
				continue
			}
			p.Headers = setHeader(p.Headers, strings.TrimSpace(name), strings.TrimSpace(value))
		}
	}
	if set("cookie") {
		for _, c := range o.cookies {
			name, value, ok := strings.Cut(c, "=")
			if !ok || strings.TrimSpace(name) == "" {
				bad("--cookie %q: want 'name=value'", c)
				continue
			}
			p.Cookies = setHeader(p.Cookies, strings.TrimSpace(name), value)
		}
	}
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
	o.applyProto(p, set, bad)
	if set("resolution") {
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
	if o.output != "text" && o.output != "json" {
		bad("--output: unknown format %q (want text or json)", o.output)
	}
	switch o.progress {
	case "auto", "always", "never":
	default:
		bad("--progress: want auto, always or never, not %q", o.progress)
	}
	for _, l := range o.labels {
		if k, _, ok := strings.Cut(l, "="); !ok || k == "" {
			bad("--label %q: want key=value", l)
		}
	}
	p.Normalize()
	if err := p.Validate(); err != nil {
		var fe *loadgen.FieldError
		for _, e := range unjoin(err) {
			if errors.As(e, &fe) {
				bad("%s: %s", flagFor(fe.Field), fe.Reason)
			} else {
				bad("%v", e)
			}
		}
	}
	if len(errs) > 0 {
		return &UsageError{Err: errors.Join(errs...)}
	}
	return nil
}

// defaultLoop makes the default open loop closed for a generator that
// cannot hold a rate (wrk), saying so, rather than refusing a run the user
// asked nothing special of.
func (o *runOptions) defaultLoop(stdio IO, p *loadgen.Plan) {
	g, err := loadgen.NewGenerator(o.generator, Version)
	if err != nil {
		return // the run reports the unknown generator
	}
	if d, ok := g.(loadgen.Describer); ok && !d.Capabilities().OpenLoop {
		p.Rate = nil
		fmt.Fprintf(stdio.Err, "meshperf: %s runs closed loop only, so this run is closed loop (the default, open loop at %d/s, is meshperf's)\n", o.generator, loadgen.DefaultRPS)
	}
}

// maxAgents bounds --agents.
const maxAgents = 10_000

// agentSelection is what --agents and --agent-selector ask for, nil when
// neither is given.
func (o *runOptions) agentSelection() (*spec.AgentSelection, error) {
	if o.agents == 0 && o.agentSelector == "" {
		return nil, nil
	}
	if o.agents < 0 || o.agents > maxAgents {
		return nil, usageErrorf("--agents: want 1 to %d agents, got %d", maxAgents, o.agents)
	}
	if _, err := spec.ParseSelector(o.agentSelector); err != nil {
		return nil, usageErrorf("--agent-selector: %v", err)
	}
	return &spec.AgentSelection{Count: o.agents, Selector: o.agentSelector}, nil
}

// setHeader replaces the value of name (case-insensitively) or adds it.
func setHeader(hs []loadgen.Header, name, value string) []loadgen.Header {
	for i, h := range hs {
		if strings.EqualFold(h.Name, name) {
			hs[i].Value = value
			return hs
		}
	}
	return append(hs, loadgen.Header{Name: name, Value: value})
}

// protoFlags are the flags of gRPC and TCP runs.
type protoFlags struct {
	protoDescriptor string
	tcpPayload      string
	tcpExpect       int
	tcpDelimiter    string
}

func (o *protoFlags) register(f *pflag.FlagSet) {
	f.StringVar(&o.protoDescriptor, "proto-descriptor", "", "gRPC: FileDescriptorSet describing the method (protoc --descriptor_set_out=FILE --include_imports); default: server reflection")
	f.StringVar(&o.tcpPayload, "tcp-payload", "", `TCP: bytes to send per request, with escapes such as \n, \r, \t, \x00 (default: --body)`)
	f.IntVar(&o.tcpExpect, "tcp-expect-bytes", 0, "TCP: a response is this many bytes (default: as many as sent)")
	f.StringVar(&o.tcpDelimiter, "tcp-delimiter", "", `TCP: a response ends with these bytes, with escapes such as \n`)
}

// applyProto sets the gRPC and TCP fields of p.
func (o *protoFlags) applyProto(p *loadgen.Plan, set func(string) bool, bad func(format string, a ...any)) {
	if set("proto-descriptor") && o.protoDescriptor != "" {
		p.GRPC.DescriptorSet = o.protoDescriptor
	}
	if set("tcp-payload") && o.tcpPayload != "" {
		b, err := unescape(o.tcpPayload)
		if err != nil {
			bad("--tcp-payload: %v", err)
		}
		p.Body = b
	}
	if set("tcp-expect-bytes") && o.tcpExpect != 0 {
		p.TCP.ExpectBytes = o.tcpExpect
	}
	if set("tcp-delimiter") && o.tcpDelimiter != "" {
		b, err := unescape(o.tcpDelimiter)
		if err != nil {
			bad("--tcp-delimiter: %v", err)
		}
		p.TCP.Delimiter = b
	}
}

// unescape reads the escapes \n, \r, \t, \0, \\ and \xHH in s.
func unescape(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i+1 == len(s) {
			return nil, fmt.Errorf("%q ends with a lone backslash (write \\\\ for one)", s)
		}
		i++
		switch s[i] {
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case '0':
			out = append(out, 0)
		case '\\':
			out = append(out, '\\')
		case 'x':
			if i+3 > len(s) {
				return nil, fmt.Errorf("%q: \\x needs two hex digits", s)
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return nil, fmt.Errorf("%q: \\x needs two hex digits, not %q", s, s[i+1:i+3])
			}
			out = append(out, byte(v))
			i += 2
		default:
			return nil, fmt.Errorf("%q: unknown escape \\%c (known: \\n \\r \\t \\0 \\\\ \\xHH)", s, s[i])
		}
	}
	return out, nil
}
