package loadgen

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/meshperf/meshperf/spec"
)

// PlansFromProfile makes one Plan per client of the profile, normalized and
// validated. Every problem of every client is reported at once, each a
// *spec.FieldError naming the profile path (e.g.
// "clients[1].meshperf.rate_shape"). The profile is validated first.
//
// AdditionalOptions is for other load generators and is not used here.
func PlansFromProfile(p *spec.Profile) ([]*Plan, error) { return PlansWithin(p, Ceiling) }

// PlansWithin is PlansFromProfile with every number and size checked
// against l, per client and over all clients (each problem naming the
// field and the limit), as a server checks what its API callers ask.
func PlansWithin(p *spec.Profile, l Limits) ([]*Plan, error) {
	if p == nil {
		return nil, errors.New("no profile")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	// Validate has checked these parse.
	dur, _ := parseOptionalDuration(p.Duration)
	var warmup time.Duration
	var requests int64
	if x := p.Meshperf; x != nil {
		warmup, _ = parseOptionalDuration(x.Warmup)
		requests = x.Requests
	}
	var errs []error
	seen := map[string]bool{}
	add := func(err error) {
		if !seen[err.Error()] { // profile-wide problems would repeat per client
			seen[err.Error()] = true
			errs = append(errs, err)
		}
	}
	plans := make([]*Plan, 0, len(p.Clients))
	for i := range p.Clients {
		path := fmt.Sprintf("clients[%d]", i)
		plan, err := planFromClient(p, &p.Clients[i], path, dur, warmup, requests, l)
		for _, e := range unjoin(err) {
			add(e)
		}
		plans = append(plans, plan)
	}
	for _, e := range unjoin(l.checkTotals(len(p.Clients), plans)) {
		add(e)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return plans, nil
}

func planFromClient(p *spec.Profile, c *spec.Client, path string, dur, warmup time.Duration, requests int64, l Limits) (*Plan, error) {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, &spec.FieldError{Path: path + "." + field, Reason: fmt.Sprintf(format, a...)})
	}
	x := c.Meshperf
	if x == nil {
		x = &spec.ClientExtras{}
	}
	plan := &Plan{
		Name:        p.Name,
		Targets:     slices.Clone(c.EndpointURLs),
		Protocol:    ProtocolHTTP,
		HTTPVersion: x.HTTPVersion,
		Method:      x.Method,
		Headers:     sortedHeaders(c.Headers),
		Cookies:     sortedHeaders(c.Cookies),
		ContentType: c.ContentType,
		Connections: int(c.Connections),
		Streams:     x.Streams,
		Duration:    dur,
		Warmup:      warmup,
		Requests:    requests,
		TLS: TLS{
			SkipVerify: x.Insecure,
			CertFile:   x.CertFile,
			KeyFile:    x.KeyFile,
			ServerName: x.SNI,
			// NoResumption: TLS session resumption is on unless the profile says.
			NoResumption: x.TLSNoResumption,
		},
	}
	if c.Body != "" {
		plan.Body = []byte(c.Body)
	}
	if c.SSLCertificate != "" {
		plan.TLS.CAPEM = []byte(c.SSLCertificate)
	}
	switch g := strings.ToLower(c.LoadGenerator); {
	case g == "" || g == "meshperf" || g == "native":
		plan.Generator = ""
	case slices.Contains(GeneratorNames(), g):
		plan.Generator = g
	default:
		bad("load_generator", "%q is not available (known: %s)", c.LoadGenerator, strings.Join(GeneratorNames(), ", "))
	}
	if c.Internal {
		bad("internal", "running the load generator inside the cluster is not available yet")
	}
	switch c.Protocol {
	case spec.ProtocolTCP:
		plan.Protocol = ProtocolTCP
	case spec.ProtocolGRPC:
		plan.Protocol = ProtocolGRPC
	}
	plan.GRPC.DescriptorSet = x.GRPCDescriptorSet
	if x.GRPCDescriptorSetBase64 != "" {
		plan.GRPC.DescriptorSetBytes, _ = base64.StdEncoding.DecodeString(x.GRPCDescriptorSetBase64) // validated
	}
	if x.CertPEM != "" {
		plan.TLS.CertPEM = []byte(x.CertPEM)
	}
	if x.KeyPEM != "" {
		plan.TLS.KeyPEM = []byte(x.KeyPEM)
	}
	plan.TCP.ExpectBytes = x.TCPExpectBytes
	if x.TCPDelimiter != "" {
		plan.TCP.Delimiter = []byte(x.TCPDelimiter)
	}
	plan.Timeout, _ = parseOptionalDuration(x.Timeout)
	plan.ConnectTimeout, _ = parseOptionalDuration(x.ConnectTimeout)
	switch x.Resolution {
	case "", "auto":
	case "exact":
		plan.Resolution = ExactSchedule
	default:
		plan.Resolution, _ = time.ParseDuration(x.Resolution)
		if plan.Resolution == 0 {
			plan.Resolution = ExactSchedule // as --resolution 0
		}
	}
	rate, err := ParseShape(x.RateShape, float64(c.RPS), dur+warmup)
	if err != nil {
		field := "rps"
		if x.RateShape != "" {
			field = "meshperf.rate_shape"
		}
		bad(field, "%v", err)
	}
	if rate != nil {
		plan.Rate = rate
	}
	plan.Normalize()
	for _, e := range unjoin(plan.ValidateWithin(l)) {
		var fe *FieldError
		if !errors.As(e, &fe) {
			errs = append(errs, fmt.Errorf("%s: %w", path, e))
			continue
		}
		errs = append(errs, &spec.FieldError{Path: profilePath(path, fe.Field, plan, x), Reason: fe.Reason})
	}
	return plan, errors.Join(errs...)
}

// profilePath names, in the profile, the field behind a Plan field.
func profilePath(client, field string, plan *Plan, x *spec.ClientExtras) string {
	if rest, ok := strings.CutPrefix(field, "targets"); ok {
		return client + ".endpoint_urls" + rest
	}
	if rest, ok := strings.CutPrefix(field, "headers["); ok {
		var i int
		if _, err := fmt.Sscanf(rest, "%d]", &i); err == nil && i >= 0 && i < len(plan.Headers) {
			return client + ".headers." + plan.Headers[i].Name
		}
		return client + ".headers"
	}
	switch field {
	case "duration":
		return "duration"
	case "requests":
		return "meshperf.requests"
	case "warmup":
		return "meshperf.warmup"
	case "protocol", "connections":
		return client + "." + field
	case "rate":
		if x.RateShape == "" {
			return client + ".rps"
		}
		return client + ".meshperf.rate_shape"
	case "tls":
		return client + ".meshperf.cert_file"
	case "body":
		return client + ".body"
	case "headers":
		return client + ".headers"
	case "targets":
		return client + ".endpoint_urls"
	case "streams":
		return client + ".meshperf.streams"
	case "tls.cert_file", "tls.key_file":
		return client + ".meshperf." + strings.TrimPrefix(field, "tls.")
	case "tls.ca_file":
		return client + ".ssl_certificate"
	case "grpc.descriptor_set":
		return client + ".meshperf.grpc_descriptor_set"
	case "tcp.expect_bytes":
		return client + ".meshperf.tcp_expect_bytes"
	case "tcp.delimiter", "tcp":
		return client + ".meshperf.tcp_delimiter"
	}
	return client + ".meshperf." + field
}

func sortedHeaders(m map[string]string) []Header {
	if len(m) == 0 {
		return nil
	}
	out := make([]Header, 0, len(m))
	for name, value := range m {
		out = append(out, Header{Name: name, Value: value})
	}
	slices.SortFunc(out, func(a, b Header) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func parseOptionalDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	return time.ParseDuration(s)
}

// unjoin splits an errors.Join error into its parts.
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
