package loadgen

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Histogram fidelity of a generator's results.
const (
	FidelityHDR         = "hdr"         // every value in an HDR histogram
	FidelityBucketed    = "bucketed"    // coarser buckets (fortio)
	FidelityPercentiles = "percentiles" // a few percentiles only
)

// Capabilities says what a generator can honour of a Plan.
type Capabilities struct {
	Protocols    []string `json:"protocols"`
	HTTPVersions []string `json:"http_versions"`
	OpenLoop     bool     `json:"open_loop"`
	ClosedLoop   bool     `json:"closed_loop"`
	// Shapes lists the rate shapes it can follow: constant, ramp, steps.
	Shapes          []string `json:"shapes"`
	Headers         bool     `json:"headers"`
	Cookies         bool     `json:"cookies"`
	Body            bool     `json:"body"`
	SkipVerify      bool     `json:"tls_skip_verify"`
	CAFile          bool     `json:"tls_ca"`
	ClientCert      bool     `json:"tls_client_cert"`
	SNI             bool     `json:"tls_sni"`
	Warmup          bool     `json:"warmup"`
	RequestCount    bool     `json:"request_count"`
	MultipleTargets bool     `json:"multiple_targets"`
	// CorrectsCoordinatedOmission: latency measured from intended send times.
	CorrectsCoordinatedOmission bool   `json:"corrects_coordinated_omission"`
	Fidelity                    string `json:"fidelity"`
}

// Describer is a Generator that says what it can do. Generators that do not
// implement it are taken to honour every plan.
type Describer interface {
	Capabilities() Capabilities
}

// ErrUnsupported marks a plan a generator cannot run as asked.
var ErrUnsupported = errors.New("not supported by this generator")

// UnsupportedError names the field a generator cannot honour.
type UnsupportedError struct {
	Generator, Field, Reason string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("%s: %s cannot %s", e.Field, e.Generator, e.Reason)
}

func (e *UnsupportedError) Unwrap() error { return ErrUnsupported }

// Check compares a plan with what generator name can do. Every field it
// cannot honour is an error naming the field and the generator, or, when
// bestEffort, a warning: a test is never silently changed.
func Check(name string, c Capabilities, p *Plan, bestEffort bool) (warnings []string, err error) {
	var errs []error
	miss := func(field, reason string) {
		e := &UnsupportedError{Generator: name, Field: field, Reason: reason}
		if bestEffort {
			warnings = append(warnings, e.Error()+" (ignored: best effort)")
			return
		}
		errs = append(errs, e)
	}
	if !slices.Contains(c.Protocols, p.Protocol) {
		miss("protocol", fmt.Sprintf("speak %s (it speaks %s)", p.Protocol, strings.Join(c.Protocols, ", ")))
	}
	if p.Protocol == ProtocolHTTP && len(c.HTTPVersions) > 0 && !slices.Contains(c.HTTPVersions, p.HTTPVersion) {
		miss("http_version", fmt.Sprintf("send HTTP version %s (it sends %s)", p.HTTPVersion, strings.Join(c.HTTPVersions, ", ")))
	}
	switch {
	case p.Rate == nil && !c.ClosedLoop:
		miss("rps", "run closed loop (rps 0): it needs a fixed rate")
	case p.Rate != nil && !c.OpenLoop:
		miss("rps", "hold a fixed rate: it runs closed loop only (set rps 0)")
	case p.Rate != nil:
		shape := strings.Fields(p.Rate.String())[0]
		if !slices.Contains(c.Shapes, shape) {
			miss("rate_shape", fmt.Sprintf("follow a %s rate (it does %s)", shape, strings.Join(c.Shapes, ", ")))
		}
	}
	if len(p.Headers) > 0 && !c.Headers {
		miss("headers", "send request headers")
	}
	if len(p.Cookies) > 0 && !c.Cookies {
		miss("cookies", "send cookies")
	}
	if len(p.Body) > 0 && !c.Body {
		miss("body", "send a request body")
	}
	if p.TLS.SkipVerify && !c.SkipVerify {
		miss("insecure", "skip certificate verification")
	}
	if (p.TLS.CAFile != "" || len(p.TLS.CAPEM) > 0) && !c.CAFile {
		miss("ssl_certificate", "verify against a given CA")
	}
	if (len(p.TLS.CertPEM) > 0 || len(p.TLS.KeyPEM) > 0) && name != "meshperf" {
		miss("cert_pem", "take a client certificate inline (give cert_file and key_file)")
	}
	if len(p.GRPC.DescriptorSetBytes) > 0 && name != "meshperf" {
		miss("grpc_descriptor_set_base64", "take a descriptor set inline")
	}
	if p.TLS.CertFile != "" && !c.ClientCert {
		miss("cert_file", "present a client certificate")
	}
	if p.TLS.NoResumption && name != "meshperf" {
		miss("tls_no_resumption", "turn TLS session resumption off")
	}
	if p.TLS.ServerName != "" && !c.SNI {
		miss("sni", "set the TLS server name")
	}
	if p.Warmup > 0 && !c.Warmup {
		miss("warmup", "keep a warm-up out of its summary")
	}
	if p.Requests > 0 && !c.RequestCount {
		miss("requests", "stop after a request count")
	}
	if len(p.Targets) > 1 && !c.MultipleTargets {
		miss("endpoint_urls", "load several URLs in one run")
	}
	return warnings, errors.Join(errs...)
}
