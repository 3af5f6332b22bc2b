package spec

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ProfileSchemaVersion is the smp_version written when a profile names none.
const ProfileSchemaVersion = "v0.0.1"

// Limits on what ParseProfile reads.
const (
	// MaxProfileSize is the largest profile, in bytes, ParseProfile reads.
	MaxProfileSize = 1 << 20
	// MaxProfileClients is the most clients a profile may have.
	MaxProfileClients = 1000
	// MaxProfileURLs is the most endpoint URLs a profile may have, over all
	// its clients.
	MaxProfileURLs = 10_000
	// MaxProfileDepth is the deepest nesting of mappings and lists.
	MaxProfileDepth = 32
)

// Profile is an SMP PerformanceTestConfig plus meshperf's extras.
type Profile struct {
	SMPVersion string            `json:"smp_version,omitempty"`
	ID         string            `json:"id,omitempty"`
	Name       string            `json:"name,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	Duration   string            `json:"duration,omitempty"` // Go duration, e.g. "30s"
	Clients    []Client          `json:"clients"`
	// Meshperf holds what SMP has no field for; plain SMP readers ignore it.
	Meshperf *ProfileExtras `json:"meshperf,omitempty"`
	// Agents runs every client on agents (see AgentSelection); a client's
	// own Agents takes precedence.
	Agents *AgentSelection `json:"agents,omitempty"`
	// Metrics are Prometheus queries evaluated over each run's measured
	// window (see MetricsConfig).
	Metrics *MetricsConfig `json:"metrics,omitempty"`
}

// ProfileExtras are the profile-wide settings SMP has no field for.
type ProfileExtras struct {
	Warmup   string   `json:"warmup,omitempty"`    // whole seconds, e.g. "5s"
	Requests int64    `json:"requests,omitempty"`  // end after this many measured requests
	SLO      []string `json:"slo,omitempty"`       // objectives, e.g. "p99<=20ms" (parse with ParseObjectives)
	MeshType int      `json:"mesh_type,omitempty"` // ServiceMesh enum, from Meshery's mesh: {type: N}
	// AllowUnknownFields lets meshperf run run the profile although it has
	// fields meshperf does not know (ignored); otherwise they are errors.
	AllowUnknownFields bool `json:"allow_unknown_fields,omitempty"`
	// Designs are stored designs `meshperf run` puts on the cluster of
	// its kubeconfig before the run and takes off after it, in reverse
	// order (docs/designs.md). A server refuses them: it puts nothing on
	// a cluster.
	Designs []DesignRef `json:"designs,omitempty"`
}

// Client is one group of load: SMP's Client plus meshperf's extras.
type Client struct {
	Internal          bool              `json:"internal,omitempty"`
	LoadGenerator     string            `json:"load_generator,omitempty"`
	Protocol          Protocol          `json:"protocol,omitempty"`
	Connections       int32             `json:"connections,omitempty"`
	RPS               int64             `json:"rps"`
	Headers           map[string]string `json:"headers,omitempty"`
	Cookies           map[string]string `json:"cookies,omitempty"`
	Body              string            `json:"body,omitempty"`
	ContentType       string            `json:"content_type,omitempty"`
	EndpointURLs      []string          `json:"endpoint_urls"`
	SSLCertificate    string            `json:"ssl_certificate,omitempty"`    // CA PEM
	AdditionalOptions string            `json:"additional_options,omitempty"` // generator options, JSON text
	Meshperf          *ClientExtras     `json:"meshperf,omitempty"`
	// Agents runs this client on agents; nil uses the profile's.
	Agents *AgentSelection `json:"agents,omitempty"`
}

// ClientExtras are the per-client settings SMP has no field for.
type ClientExtras struct {
	RateShape      string `json:"rate_shape,omitempty"`   // as loadgen.ParseShape: constant, ramp:FROM-TO[/D], steps:R/D,...
	HTTPVersion    string `json:"http_version,omitempty"` // 1.1, 2, h2c
	Method         string `json:"method,omitempty"`
	Streams        int    `json:"streams,omitempty"`
	Timeout        string `json:"timeout,omitempty"`
	ConnectTimeout string `json:"connect_timeout,omitempty"`
	Insecure       bool   `json:"insecure,omitempty"`
	CertFile       string `json:"cert_file,omitempty"` // client cert (PEM file) for mTLS
	KeyFile        string `json:"key_file,omitempty"`
	SNI            string `json:"sni,omitempty"`
	// TLSNoResumption makes every new connection a full TLS handshake
	// (by default a reconnection resumes an earlier session).
	TLSNoResumption bool   `json:"tls_no_resumption,omitempty"`
	Resolution      string `json:"resolution,omitempty"` // auto, exact, or a duration
	// GRPCDescriptorSet is a FileDescriptorSet file describing the gRPC
	// method called (default: server reflection).
	GRPCDescriptorSet string `json:"grpc_descriptor_set,omitempty"`
	// CertPEM and KeyPEM are the client certificate and its key inline
	// (PEM text), instead of cert_file and key_file; GRPCDescriptorSetBase64
	// is the FileDescriptorSet inline (standard base64), instead of
	// grpc_descriptor_set. A server reads files named by a profile only
	// from the directories its operator allows (--allow-files).
	CertPEM                 string `json:"cert_pem,omitempty"`
	KeyPEM                  string `json:"key_pem,omitempty"`
	GRPCDescriptorSetBase64 string `json:"grpc_descriptor_set_base64,omitempty"`
	// TCPExpectBytes and TCPDelimiter say where a TCP response ends: after
	// so many bytes, or after the delimiter (default: as many bytes as sent).
	TCPExpectBytes int    `json:"tcp_expect_bytes,omitempty"`
	TCPDelimiter   string `json:"tcp_delimiter,omitempty"`
}

// Protocol is SMP's enum: 0 invalid, 1 HTTP, 2 TCP, 3 UDP, 4 GRPC. Read from
// an int or a name (case-insensitive "http", "tcp", "udp", "grpc"); written
// as the int. meshperf reads 0 (unset) as HTTP.
type Protocol int

// SMP protocols.
const (
	ProtocolInvalid Protocol = 0
	ProtocolHTTP    Protocol = 1
	ProtocolTCP     Protocol = 2
	ProtocolUDP     Protocol = 3
	ProtocolGRPC    Protocol = 4
)

var protocolNames = map[Protocol]string{
	ProtocolInvalid: "INVALID", ProtocolHTTP: "HTTP", ProtocolTCP: "TCP", ProtocolUDP: "UDP", ProtocolGRPC: "GRPC",
}

func (p Protocol) String() string {
	if s, ok := protocolNames[p]; ok {
		return s
	}
	return "Protocol(" + strconv.Itoa(int(p)) + ")"
}

// ParseProtocol reads a protocol from its number or its name, in any case.
func ParseProtocol(s string) (Protocol, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 32); err == nil {
		return Protocol(n), nil
	}
	// The enum's own names, as protobuf's JSON writes them: PROTOCOL_HTTP.
	if len(s) > len("PROTOCOL_") && strings.EqualFold(s[:len("PROTOCOL_")], "PROTOCOL_") {
		s = s[len("PROTOCOL_"):]
	}
	for p, name := range protocolNames {
		if strings.EqualFold(s, name) {
			return p, nil
		}
	}
	if strings.EqualFold(s, "https") {
		return ProtocolHTTP, nil
	}
	return 0, fmt.Errorf("unknown protocol %q (want 1 or http, 2 or tcp, 3 or udp, 4 or grpc)", s)
}

// UnmarshalJSON reads a protocol from a number or a name.
func (p *Protocol) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		s = string(b)
	}
	v, err := ParseProtocol(s)
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// meshTypes are SMP's ServiceMesh enum names, by number.
var meshTypes = []string{
	"INVALID_MESH", "APP_MESH", "CONSUL", "ISTIO", "KUMA", "LINKERD", "TRAEFIK_MESH", "OCTARINE",
	"NETWORK_SERVICE_MESH", "TANZU", "OPEN_SERVICE_MESH", "NGINX_SERVICE_MESH", "CILIUM_SERVICE_MESH",
}

// MeshTypeName names a ServiceMesh enum value, e.g. 3 → "ISTIO".
func MeshTypeName(n int) string {
	if n >= 0 && n < len(meshTypes) {
		return meshTypes[n]
	}
	return "MESH(" + strconv.Itoa(n) + ")"
}

// ParseMeshType reads SMP's ServiceMesh.Type as JSON: a number (3), a
// quoted number ("3") or the enum's name ("ISTIO"); it must be one SMP
// defines.
func ParseMeshType(raw []byte) (int, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, fmt.Errorf("want a service mesh type (a number or a name such as ISTIO), got %s", raw)
	}
	s, isStr := v.(string)
	if f, ok := v.(float64); ok {
		s = strconv.FormatFloat(f, 'f', -1, 64)
	} else if !isStr {
		return 0, fmt.Errorf("want a service mesh type (a number or a name such as ISTIO), got %s", raw)
	}
	if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
		if n < 0 || n >= len(meshTypes) {
			return 0, fmt.Errorf("unknown service mesh type %d (SMP defines 0-%d)", n, len(meshTypes)-1)
		}
		return n, nil
	}
	for i, name := range meshTypes {
		if normName(s) == normName(name) || normName(s+"_mesh") == normName(name) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown service mesh type %q (want a number or a name such as ISTIO)", s)
}

// FieldError is one problem with a profile, naming its path, e.g.
// "clients[0].endpoint_urls[2]".
type FieldError struct {
	Path, Reason string
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Reason }

// Validate reports every problem of the profile at once, each a
// *FieldError joined with errors.Join. It checks what can be checked without
// running anything: rate shapes are only checked for their form here (the
// loadgen package checks them whole), and files named by the profile are not
// opened.
func (p *Profile) Validate() error {
	v := &validator{}
	for k := range p.Labels {
		if k == "" {
			v.bad("labels", "a label needs a non-empty key")
		}
	}
	var requests int64
	if x := p.Meshperf; x != nil {
		requests = x.Requests
		if x.Requests < 0 {
			v.bad("meshperf.requests", "must be >= 0")
		}
		if x.Warmup != "" {
			if d, ok := v.duration("meshperf.warmup", x.Warmup); ok && d%time.Second != 0 {
				v.bad("meshperf.warmup", "must be whole seconds, got %s", d)
			}
		}
		for i, s := range x.SLO {
			if _, err := ParseObjectives(s); err != nil {
				v.bad(fmt.Sprintf("meshperf.slo[%d]", i), "%s", strings.ReplaceAll(err.Error(), "\n", "; "))
			}
		}
		if x.MeshType < 0 || x.MeshType >= len(meshTypes) {
			v.bad("meshperf.mesh_type", "unknown service mesh type %d (SMP defines 0-%d)", x.MeshType, len(meshTypes)-1)
		}
		v.designs("meshperf.designs", x.Designs)
	}
	switch d, ok := v.duration("duration", p.Duration); {
	case !ok:
	case d == 0 && requests <= 0:
		v.bad("duration", "required unless meshperf.requests is set")
	}
	switch {
	case len(p.Clients) == 0:
		v.bad("clients", "at least one client is required")
	case len(p.Clients) > MaxProfileClients:
		v.bad("clients", "more than %d clients", MaxProfileClients)
	}
	urls := 0
	for i := range p.Clients {
		urls += len(p.Clients[i].EndpointURLs)
		v.client(fmt.Sprintf("clients[%d]", i), &p.Clients[i])
	}
	if urls > MaxProfileURLs {
		v.bad("clients", "more than %d endpoint URLs in all", MaxProfileURLs)
	}
	v.agents(p)
	v.metrics("metrics", p.Metrics)
	return errors.Join(v.errs...)
}

type validator struct{ errs []error }

func (v *validator) bad(path, format string, a ...any) {
	v.errs = append(v.errs, &FieldError{Path: path, Reason: fmt.Sprintf(format, a...)})
}

// duration checks an optional duration: ok is false when it is malformed or
// negative (and reported).
func (v *validator) duration(path, s string) (time.Duration, bool) {
	if s == "" {
		return 0, true
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		v.bad(path, "invalid duration %q (want e.g. 30s or 1m30s)", s)
		return 0, false
	}
	if d < 0 {
		v.bad(path, "must not be negative, got %s", s)
		return 0, false
	}
	return d, true
}

func (v *validator) client(path string, c *Client) {
	switch c.Protocol {
	case ProtocolInvalid, ProtocolHTTP, ProtocolTCP, ProtocolGRPC:
	case ProtocolUDP:
		v.bad(path+".protocol", "%d (%s) is not supported (1 HTTP, 2 TCP and 4 GRPC are)", c.Protocol, c.Protocol)
	default:
		v.bad(path+".protocol", "unknown protocol %d (want 1 HTTP, 2 TCP, 3 UDP or 4 GRPC)", c.Protocol)
	}
	if c.Connections < 0 {
		v.bad(path+".connections", "must be >= 0 (0 means the default), got %d", c.Connections)
	}
	if c.RPS < 0 {
		v.bad(path+".rps", "must be >= 0 (0 means as fast as possible), got %d", c.RPS)
	}
	for _, name := range sortedKeys(c.Headers) {
		p := keyPath(path+".headers", name)
		if !isToken(name) {
			v.bad(p, "invalid header name %q", name)
		}
		if strings.ContainsAny(c.Headers[name], "\r\n\x00") {
			v.bad(p, "value must not contain a line break or NUL")
		}
	}
	for _, name := range sortedKeys(c.Cookies) {
		p := keyPath(path+".cookies", name)
		if !isToken(name) {
			v.bad(p, "invalid cookie name %q", name)
		}
		if strings.ContainsAny(c.Cookies[name], ";\r\n\x00") {
			v.bad(p, "value must not contain ';', a line break or NUL")
		}
	}
	if strings.ContainsAny(c.ContentType, "\r\n\x00") {
		v.bad(path+".content_type", "must not contain a line break or NUL")
	}
	if len(c.EndpointURLs) == 0 {
		v.bad(path+".endpoint_urls", "at least one URL is required")
	}
	httpOnly := c.Protocol == ProtocolInvalid || c.Protocol == ProtocolHTTP
	for i, u := range c.EndpointURLs {
		if err := checkURL(u, httpOnly); err != nil {
			v.bad(fmt.Sprintf("%s.endpoint_urls[%d]", path, i), "%v", err)
		}
	}
	if c.SSLCertificate != "" {
		if err := checkPEM(c.SSLCertificate); err != nil {
			v.bad(path+".ssl_certificate", "%v", err)
		}
	}
	if c.AdditionalOptions != "" && !json.Valid([]byte(c.AdditionalOptions)) {
		v.bad(path+".additional_options", "not valid JSON text")
	}
	if c.Meshperf != nil {
		v.clientExtras(path+".meshperf", c.Meshperf, c.RPS)
	}
}

func (v *validator) clientExtras(path string, x *ClientExtras, rps int64) {
	if x.RateShape != "" {
		kind, arg, _ := strings.Cut(strings.TrimSpace(x.RateShape), ":")
		switch {
		case kind == "constant" && rps <= 0:
			v.bad(path+".rate_shape", "constant needs rps above 0")
		case kind == "constant":
		case (kind == "ramp" || kind == "steps") && strings.TrimSpace(arg) == "":
			v.bad(path+".rate_shape", "%s needs its rates, e.g. ramp:100-1000/30s or steps:100/10s,500/10s", kind)
		case kind == "ramp" || kind == "steps":
		default:
			v.bad(path+".rate_shape", "unknown rate shape %q (want constant, ramp:FROM-TO[/DURATION] or steps:RATE/DURATION,...)", x.RateShape)
		}
	}
	switch x.HTTPVersion {
	case "", "1.1", "2", "h2c":
	default:
		v.bad(path+".http_version", "unknown HTTP version %q (want 1.1, 2 or h2c)", x.HTTPVersion)
	}
	if x.Method != "" && !isToken(x.Method) {
		v.bad(path+".method", "invalid method %q", x.Method)
	}
	if x.Streams < 0 {
		v.bad(path+".streams", "must be >= 0 (0 means 1), got %d", x.Streams)
	}
	for _, f := range []struct{ name, value string }{{"timeout", x.Timeout}, {"connect_timeout", x.ConnectTimeout}} {
		if d, ok := v.duration(path+"."+f.name, f.value); ok && f.value != "" && d == 0 {
			v.bad(path+"."+f.name, "must be above 0 (leave it out for the default)")
		}
	}
	switch {
	case x.CertFile != "" && x.KeyFile == "" && x.KeyPEM == "":
		v.bad(path+".key_file", "required with cert_file (a client certificate needs both)")
	case x.KeyFile != "" && x.CertFile == "" && x.CertPEM == "":
		v.bad(path+".cert_file", "required with key_file (a client certificate needs both)")
	case x.CertPEM != "" && x.KeyPEM == "" && x.KeyFile == "":
		v.bad(path+".key_pem", "required with cert_pem (a client certificate needs both)")
	case x.KeyPEM != "" && x.CertPEM == "" && x.CertFile == "":
		v.bad(path+".cert_pem", "required with key_pem (a client certificate needs both)")
	}
	if x.CertFile != "" && x.CertPEM != "" {
		v.bad(path+".cert_pem", "give cert_file or cert_pem, not both")
	}
	if x.KeyFile != "" && x.KeyPEM != "" {
		v.bad(path+".key_pem", "give key_file or key_pem, not both")
	}
	if x.CertPEM != "" {
		if err := checkPEM(x.CertPEM); err != nil {
			v.bad(path+".cert_pem", "%v", err)
		}
	}
	if x.KeyPEM != "" {
		if b, _ := pem.Decode([]byte(x.KeyPEM)); b == nil || !strings.HasSuffix(b.Type, "PRIVATE KEY") {
			v.bad(path+".key_pem", "no PEM private key found (want -----BEGIN PRIVATE KEY----- ...)")
		}
	}
	if x.GRPCDescriptorSetBase64 != "" {
		if x.GRPCDescriptorSet != "" {
			v.bad(path+".grpc_descriptor_set_base64", "give grpc_descriptor_set or grpc_descriptor_set_base64, not both")
		}
		if _, err := base64.StdEncoding.DecodeString(x.GRPCDescriptorSetBase64); err != nil {
			v.bad(path+".grpc_descriptor_set_base64", "not standard base64: %v", err)
		}
	}
	if strings.ContainsAny(x.SNI, " \t\r\n\x00/") {
		v.bad(path+".sni", "invalid server name %q", x.SNI)
	}
	if x.TCPExpectBytes < 0 {
		v.bad(path+".tcp_expect_bytes", "must not be negative, got %d", x.TCPExpectBytes)
	}
	if x.TCPExpectBytes > 0 && x.TCPDelimiter != "" {
		v.bad(path+".tcp_delimiter", "give tcp_expect_bytes or tcp_delimiter, not both")
	}
	switch x.Resolution {
	case "", "auto", "exact":
	default:
		if d, err := time.ParseDuration(x.Resolution); err != nil || d < 0 {
			v.bad(path+".resolution", "want auto, exact or a duration such as 200us, not %q", x.Resolution)
		}
	}
}

// checkURL checks one endpoint URL; httpOnly asks for an http or https URL.
func checkURL(raw string, httpOnly bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("invalid URL %q: %v", raw, err)
	}
	if httpOnly && u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("invalid URL %q: scheme must be http or https", raw)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("invalid URL %q: no host", raw)
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("invalid URL %q: port must be 1-65535", raw)
		}
	}
	return nil
}

// checkPEM checks that s holds at least one PEM certificate and that every
// certificate in it parses.
func checkPEM(s string) error {
	rest := []byte(s)
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		n++
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("certificate %d: %v", n, err)
		}
	}
	if n == 0 {
		return errors.New("no PEM certificate found (want the CA certificate's text, -----BEGIN CERTIFICATE----- ...)")
	}
	return nil
}

// isToken tells whether s is an HTTP token (RFC 9110), as header names,
// cookie names and methods must be.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// keyPath names a map entry: base.key, or base["key"] when the key is not a
// plain word.
func keyPath(base, key string) string {
	plain := key != ""
	for i := 0; i < len(key) && plain; i++ {
		c := key[i]
		plain = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
	}
	switch {
	case !plain:
		return base + "[" + strconv.Quote(key) + "]"
	case base == "":
		return key
	}
	return base + "." + key
}
