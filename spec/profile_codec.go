package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	// The YAML parser itself (go.yaml.in/yaml/v2 under the name
	// sigs.k8s.io/yaml ships it with), not sigs.k8s.io/yaml.YAMLToJSON:
	// that expands aliases into JSON text with no bound, so a few kilobytes
	// of anchors could ask for gigabytes. Here the expanded tree is measured
	// before anything is copied out of it.
	goyaml "sigs.k8s.io/yaml/goyaml.v2"
)

// Bounds on the tree a profile decodes to, YAML aliases expanded.
const (
	maxProfileValues   = MaxProfileSize / 2
	maxProfileExpanded = 4 * MaxProfileSize
)

var (
	errEmptyProfile = errors.New("empty profile")
	errJSONTrailing = errors.New("more data after the top-level value")
	errTooDeep      = fmt.Errorf("profile: nested deeper than %d levels", MaxProfileDepth)
)

// ParseProfile reads a profile in YAML or JSON: SMP's snake_case form, the
// camelCase names of Meshery's newer schemas, or Meshery's file form
// {test: {...}, mesh: {type: N}}. Protocols may be numbers or names, and
// integers may be quoted (as protobuf's JSON writes int64).
//
// Unknown fields are not an error here: each comes back as a warning naming
// its path, e.g. "clients[0].rsp: unknown field (ignored); did you mean
// rps?"; the caller decides (meshperf run refuses them unless allowed, see
// ProfileExtras.AllowUnknownFields and UnknownFieldError). A value of the wrong
// type is an error naming its path and the type wanted; every such error is
// reported at once. ParseProfile does not call Validate.
//
// Input larger than MaxProfileSize, nested deeper than MaxProfileDepth, with
// more than MaxProfileClients clients or MaxProfileURLs endpoint URLs, or
// that YAML aliases expand past a few megabytes, is refused.
func ParseProfile(data []byte) (*Profile, []string, error) {
	tree, err := decodeProfileTree(data)
	if err != nil {
		return nil, nil, err
	}
	top, ok := tree.(map[string]any)
	if !ok {
		return nil, nil, fmt.Errorf("profile: want a mapping (an SMP test configuration) at the top level, got %s", describe(tree))
	}
	d := &profileDecoder{}
	p := &Profile{}
	var meshPath string
	var meshType int
	mesh := func(path string, v any) {
		d.object(path, v, []field{{"type", func(path string, v any) {
			meshPath, meshType = path, d.meshTypeValue(path, v)
		}}})
	}
	if hasField(top, "test") {
		// Meshery's file form.
		d.object("", top, []field{
			{"test", func(path string, v any) { d.object(path, v, d.profileFields(p)) }},
			{"mesh", mesh},
		})
	} else {
		d.object("", top, append(d.profileFields(p), field{"mesh", mesh}))
	}
	if meshType != 0 {
		if p.Meshperf == nil {
			p.Meshperf = &ProfileExtras{}
		}
		if m := p.Meshperf.MeshType; m != 0 && m != meshType {
			d.fail(meshPath, "%d conflicts with meshperf.mesh_type %d", meshType, m)
		}
		p.Meshperf.MeshType = meshType
	}
	if len(d.errs) > 0 {
		return nil, d.warnings, errors.Join(d.errs...)
	}
	return p, d.warnings, nil
}

// unknownSuffix ends the warning of an unknown field.
const unknownSuffix = ": unknown field (ignored)"

// UnknownFieldError turns a warning of ParseProfile about an unknown field
// into the error of a caller that refuses them ("clients[0].conections:
// unknown field; did you mean connections?"); other warnings come back as
// they are.
func UnknownFieldError(warning string) error {
	return errors.New(strings.Replace(warning, unknownSuffix, ": unknown field", 1))
}

// decodeProfileTree parses data into maps, lists, strings, bools, nils and
// json.Numbers, within the size, depth and expansion limits.
func decodeProfileTree(data []byte) (any, error) {
	if len(data) > MaxProfileSize {
		return nil, fmt.Errorf("profile: %d bytes is more than the limit of %d (1 MiB)", len(data), MaxProfileSize)
	}
	text := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	if len(text) == 0 {
		return nil, errEmptyProfile
	}
	var raw any
	var err error
	if text[0] == '{' || text[0] == '[' {
		if raw, err = decodeJSON(text); errors.Is(err, errJSONTrailing) || errors.Is(err, errTooDeep) {
			return nil, err
		} else if err != nil {
			// Flow-style YAML starts the same way; if that does not
			// parse either, the JSON error is the one that helps.
			var yerr error
			if raw, yerr = decodeYAML(data); yerr != nil {
				return nil, err
			}
		}
	} else if raw, err = decodeYAML(data); err != nil {
		return nil, err
	}
	n := &normalizer{}
	tree, err := n.value(raw, "", 0)
	if err != nil {
		return nil, err
	}
	if tree == nil {
		return nil, errEmptyProfile
	}
	return tree, nil
}

func decodeJSON(text []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			return nil, fmt.Errorf("invalid JSON: line %d: %w", lineAt(text, dec.InputOffset()), errJSONTrailing)
		}
		return v, nil
	}
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se) && strings.Contains(se.Error(), "exceeded max depth"):
		return nil, errTooDeep
	case errors.As(err, &se):
		return nil, fmt.Errorf("invalid JSON: line %d: %s", lineAt(text, se.Offset), se.Error())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil, fmt.Errorf("invalid JSON: line %d: unexpected end of input (truncated?)", lineAt(text, int64(len(text))))
	}
	return nil, fmt.Errorf("invalid JSON: %v", err)
}

// lineAt is the 1-based line of byte offset off.
func lineAt(text []byte, off int64) int {
	off = min(max(off, 0), int64(len(text)))
	return 1 + bytes.Count(text[:off], []byte("\n"))
}

func decodeYAML(data []byte) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("invalid YAML: the parser failed: %v", r)
		}
	}()
	// Strict only refuses duplicate keys, here: there are no structs.
	if err := goyaml.UnmarshalStrict(data, &v); err != nil {
		var te *goyaml.TypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("invalid YAML: %s", strings.Join(te.Errors, "; "))
		}
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if strings.Contains(msg, "exceeded max depth") {
			return nil, errTooDeep
		}
		return nil, fmt.Errorf("invalid YAML: %s", msg)
	}
	return v, nil
}

// normalizer copies a decoded YAML or JSON value into the profile tree,
// counting what it copies so that aliases cannot expand without bound.
type normalizer struct {
	values, bytes int
}

func (n *normalizer) value(v any, path string, depth int) (any, error) {
	n.values++
	if n.values > maxProfileValues || n.bytes > maxProfileExpanded {
		return nil, fmt.Errorf("profile: more than %d values or %d bytes once YAML aliases are expanded", maxProfileValues, maxProfileExpanded)
	}
	switch v := v.(type) {
	case nil, bool, json.Number:
		return v, nil
	case string:
		n.bytes += len(v)
		return v, nil
	case int:
		return json.Number(strconv.Itoa(v)), nil
	case int64:
		return json.Number(strconv.FormatInt(v, 10)), nil
	case uint64:
		return json.Number(strconv.FormatUint(v, 10)), nil
	case float64:
		return json.Number(strconv.FormatFloat(v, 'g', -1, 64)), nil
	case []byte:
		n.bytes += len(v)
		return string(v), nil
	case []any:
		if depth >= MaxProfileDepth {
			return nil, deepError(path)
		}
		out := make([]any, len(v))
		for i, e := range v {
			var err error
			if out[i], err = n.value(e, fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]any:
		return n.mapping(len(v), func(yield func(string, any) bool) {
			for k, e := range v {
				if !yield(k, e) {
					return
				}
			}
		}, path, depth)
	case map[any]any:
		return n.mapping(len(v), func(yield func(string, any) bool) {
			for k, e := range v {
				if !yield(keyString(k), e) {
					return
				}
			}
		}, path, depth)
	}
	s := fmt.Sprint(v)
	n.bytes += len(s)
	return s, nil
}

func (n *normalizer) mapping(size int, entries func(func(string, any) bool), path string, depth int) (any, error) {
	if depth >= MaxProfileDepth {
		return nil, deepError(path)
	}
	out := make(map[string]any, size)
	var err error
	for k, e := range entries {
		n.bytes += len(k)
		if out[k], err = n.value(e, keyPath(path, k), depth+1); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func deepError(path string) error {
	if path == "" {
		path = "profile"
	}
	return fmt.Errorf("%s: nested deeper than %d levels", path, MaxProfileDepth)
}

func keyString(k any) string {
	if k == nil {
		return "null"
	}
	if s, ok := k.(string); ok {
		return s
	}
	return fmt.Sprint(k)
}

// field is one known field of a mapping: its canonical (snake_case) name
// and what to do with its value, which is never nil.
type field struct {
	name string
	set  func(path string, v any)
}

type profileDecoder struct {
	warnings []string
	errs     []error
	urls     int
}

func (d *profileDecoder) fail(path, format string, a ...any) {
	d.errs = append(d.errs, &FieldError{Path: path, Reason: fmt.Sprintf(format, a...)})
}

// normName folds the ways a field name is written (snake_case, camelCase,
// kebab-case, any letter case) into one form.
func normName(s string) string {
	return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s))
}

func hasField(m map[string]any, name string) bool {
	for k := range m {
		if normName(k) == name {
			return true
		}
	}
	return false
}

// object decodes a mapping field by field, in key order. Unknown keys become
// warnings; the same field given twice (say endpoint_urls and endpointUrls)
// is an error.
func (d *profileDecoder) object(path string, v any, fields []field) {
	m, ok := v.(map[string]any)
	if !ok {
		d.fail(path, "want a mapping, got %s", describe(v))
		return
	}
	byName := make(map[string]field, len(fields))
	for _, f := range fields {
		byName[normName(f.name)] = f
	}
	seen := map[string]string{}
	for _, k := range sortedKeys(m) {
		p := keyPath(path, k)
		f, ok := byName[normName(k)]
		if !ok {
			msg := p + unknownSuffix
			if s := suggest(k, fields); s != "" {
				msg += "; did you mean " + s + "?"
			}
			d.warnings = append(d.warnings, msg)
			continue
		}
		if prev, dup := seen[f.name]; dup {
			d.fail(p, "the same field as %s; give it once", prev)
			continue
		}
		seen[f.name] = k
		if m[k] != nil {
			f.set(p, m[k])
		}
	}
}

// suggest names the known field closest to an unknown key, if one is close:
// one edit away for short names, two for longer ones.
func suggest(key string, fields []field) string {
	k := normName(key)
	limit := 1
	if len(k) > 5 {
		limit = 2
	}
	best, bestDist := "", limit+1
	for _, f := range fields {
		if d := editDistance(k, normName(f.name)); d < bestDist {
			best, bestDist = f.name, d
		}
	}
	return best
}

// Nearest returns the name in names closest to s, if it is close enough to
// be a typo of it (one edit away for short names, two for longer ones), or
// "". Case is ignored.
func Nearest(s string, names []string) string {
	k := strings.ToLower(s)
	limit := 1
	if len(k) > 5 {
		limit = 2
	}
	best, bestDist := "", limit+1
	for _, n := range names {
		if d := editDistance(k, strings.ToLower(n)); d > 0 && d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// editDistance counts the insertions, deletions, substitutions and swaps
// of neighbours that turn a into b (optimal string alignment).
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return math.MaxInt
	}
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

func (d *profileDecoder) profileFields(p *Profile) []field {
	return []field{
		{"smp_version", func(path string, v any) { p.SMPVersion = d.str(path, v) }},
		{"id", func(path string, v any) { p.ID = d.str(path, v) }},
		{"name", func(path string, v any) { p.Name = d.str(path, v) }},
		{"labels", func(path string, v any) { p.Labels = d.strMap(path, v) }},
		{"duration", func(path string, v any) { p.Duration = d.duration(path, v) }},
		{"clients", func(path string, v any) { p.Clients = d.clients(path, v) }},
		{"agents", func(path string, v any) { p.Agents = d.agentSelection(path, v) }},
		{"metrics", func(path string, v any) { p.Metrics = d.metricsConfig(path, v) }},
		{"meshperf", func(path string, v any) {
			x := &ProfileExtras{}
			d.object(path, v, []field{
				{"warmup", func(path string, v any) { x.Warmup = d.duration(path, v) }},
				{"requests", func(path string, v any) { x.Requests = d.integer(path, v, math.MinInt64, math.MaxInt64) }},
				{"slo", func(path string, v any) {
					if s, ok := v.(string); ok {
						x.SLO = []string{s} // one comma-separated list, as --slo takes
						return
					}
					x.SLO = d.strList(path, v)
				}},
				{"mesh_type", func(path string, v any) { x.MeshType = d.meshTypeValue(path, v) }},
				{"allow_unknown_fields", func(path string, v any) { x.AllowUnknownFields = d.boolean(path, v) }},
				{"designs", func(path string, v any) { x.Designs = d.designRefs(path, v) }},
			})
			if x.Warmup != "" || x.Requests != 0 || len(x.SLO) > 0 || x.MeshType != 0 || x.AllowUnknownFields || len(x.Designs) > 0 {
				p.Meshperf = x
			}
		}},
	}
}

func (d *profileDecoder) meshTypeValue(path string, v any) int {
	if s, ok := v.(string); ok {
		if _, err := strconv.Atoi(s); err != nil {
			for i, name := range meshTypes {
				if normName(s) == normName(name) || normName(s+"_mesh") == normName(name) {
					return i
				}
			}
			d.fail(path, "want a service mesh type (a number or a name such as ISTIO), got %s", describe(v))
			return 0
		}
	}
	return int(d.integer(path, v, math.MinInt32, math.MaxInt32))
}

func (d *profileDecoder) clients(path string, v any) []Client {
	list, ok := v.([]any)
	if !ok {
		d.fail(path, "want a list of clients, got %s", describe(v))
		return nil
	}
	if len(list) > MaxProfileClients {
		d.fail(path, "%d clients is more than the limit of %d", len(list), MaxProfileClients)
		return nil
	}
	var out []Client
	for i, e := range list {
		out = append(out, d.client(fmt.Sprintf("%s[%d]", path, i), e))
	}
	return out
}

func (d *profileDecoder) client(path string, v any) Client {
	var c Client
	x := &ClientExtras{}
	d.object(path, v, []field{
		{"internal", func(path string, v any) { c.Internal = d.boolean(path, v) }},
		{"load_generator", func(path string, v any) { c.LoadGenerator = d.str(path, v) }},
		{"protocol", func(path string, v any) { c.Protocol = d.protocol(path, v) }},
		{"connections", func(path string, v any) { c.Connections = int32(d.integer(path, v, math.MinInt32, math.MaxInt32)) }},
		{"rps", func(path string, v any) { c.RPS = d.integer(path, v, math.MinInt64, math.MaxInt64) }},
		{"headers", func(path string, v any) { c.Headers = d.strMap(path, v) }},
		{"cookies", func(path string, v any) { c.Cookies = d.strMap(path, v) }},
		{"body", func(path string, v any) { c.Body = d.str(path, v) }},
		{"content_type", func(path string, v any) { c.ContentType = d.str(path, v) }},
		{"endpoint_urls", func(path string, v any) {
			list, ok := v.([]any)
			if ok && d.urls+len(list) > MaxProfileURLs {
				d.fail(path, "more than %d endpoint URLs in the profile", MaxProfileURLs)
				return
			}
			d.urls += len(list)
			c.EndpointURLs = d.strList(path, v)
		}},
		{"ssl_certificate", func(path string, v any) { c.SSLCertificate = d.str(path, v) }},
		{"additional_options", func(path string, v any) { c.AdditionalOptions = d.jsonText(path, v) }},
		{"agents", func(path string, v any) { c.Agents = d.agentSelection(path, v) }},
		{"meshperf", func(path string, v any) {
			d.object(path, v, []field{
				{"rate_shape", func(path string, v any) { x.RateShape = d.str(path, v) }},
				{"http_version", func(path string, v any) { x.HTTPVersion = d.text(path, v) }},
				{"method", func(path string, v any) { x.Method = d.str(path, v) }},
				{"streams", func(path string, v any) { x.Streams = int(d.integer(path, v, math.MinInt32, math.MaxInt32)) }},
				{"timeout", func(path string, v any) { x.Timeout = d.duration(path, v) }},
				{"connect_timeout", func(path string, v any) { x.ConnectTimeout = d.duration(path, v) }},
				{"insecure", func(path string, v any) { x.Insecure = d.boolean(path, v) }},
				{"cert_file", func(path string, v any) { x.CertFile = d.str(path, v) }},
				{"key_file", func(path string, v any) { x.KeyFile = d.str(path, v) }},
				{"sni", func(path string, v any) { x.SNI = d.str(path, v) }},
				{"tls_no_resumption", func(path string, v any) { x.TLSNoResumption = d.boolean(path, v) }},
				{"resolution", func(path string, v any) { x.Resolution = d.text(path, v) }},
				{"grpc_descriptor_set", func(path string, v any) { x.GRPCDescriptorSet = d.str(path, v) }},
				{"tcp_expect_bytes", func(path string, v any) { x.TCPExpectBytes = int(d.integer(path, v, math.MinInt32, math.MaxInt32)) }},
				{"tcp_delimiter", func(path string, v any) { x.TCPDelimiter = d.str(path, v) }},
				{"cert_pem", func(path string, v any) { x.CertPEM = d.str(path, v) }},
				{"key_pem", func(path string, v any) { x.KeyPEM = d.str(path, v) }},
				{"grpc_descriptor_set_base64", func(path string, v any) { x.GRPCDescriptorSetBase64 = d.str(path, v) }},
			})
		}},
	})
	if *x != (ClientExtras{}) {
		c.Meshperf = x
	}
	return c
}

// agentSelection reads agents: {count, selector, on_drop}.
func (d *profileDecoder) agentSelection(path string, v any) *AgentSelection {
	a := &AgentSelection{}
	d.object(path, v, []field{
		{"count", func(path string, v any) { a.Count = int(d.integer(path, v, math.MinInt32, math.MaxInt32)) }},
		{"selector", func(path string, v any) { a.Selector = d.str(path, v) }},
		{"on_drop", func(path string, v any) { a.OnDrop = d.str(path, v) }},
	})
	return a
}

// str reads a string. Numbers and booleans are refused rather than turned
// into text: YAML reads 1.10 as 1.1 and yes as true, so a quiet conversion
// could change the value.
func (d *profileDecoder) str(path string, v any) string {
	s, ok := v.(string)
	if !ok {
		d.fail(path, "want a string, got %s%s", describe(v), quoteHint(v))
	}
	return s
}

func quoteHint(v any) string {
	switch v.(type) {
	case json.Number, bool:
		return " (put it in quotes)"
	}
	return ""
}

// text reads a string or a number, for fields such as http_version where
// YAML reads 2 and 1.1 as numbers.
func (d *profileDecoder) text(path string, v any) string {
	if n, ok := v.(json.Number); ok {
		return n.String()
	}
	return d.str(path, v)
}

// duration reads a Go duration string, or a number of seconds as
// spec.Duration does, written back as a duration string.
func (d *profileDecoder) duration(path string, v any) string {
	n, ok := v.(json.Number)
	if !ok {
		s, ok := v.(string)
		if !ok {
			d.fail(path, "want a duration such as \"30s\", got %s", describe(v))
		}
		return s
	}
	secs, err := n.Float64()
	if err != nil || math.IsNaN(secs) || math.Abs(secs) > math.MaxInt64/1e9 {
		d.fail(path, "want a duration such as \"30s\", got %s", describe(v))
		return ""
	}
	return time.Duration(secs * float64(time.Second)).String()
}

// integer reads an integer in [lo, hi]: a number, or a string of digits
// (protobuf's JSON writes 64-bit integers as strings).
func (d *profileDecoder) integer(path string, v any, lo, hi int64) int64 {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = string(v)
	case string:
		s = strings.TrimSpace(v)
	default:
		d.fail(path, "want an integer, got %s", describe(v))
		return 0
	}
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// 1e3, 2.0, or digits past the int64 range.
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil && !errors.Is(ferr, strconv.ErrRange) || f != math.Trunc(f) {
			d.fail(path, "want an integer, got %s", describe(v))
			return 0
		}
		if f < float64(lo) || f >= float64(hi)+1 {
			d.fail(path, "want an integer from %d to %d, got %s", lo, hi, describe(v))
			return 0
		}
		i = int64(f)
	}
	if i < lo || i > hi {
		d.fail(path, "want an integer from %d to %d, got %s", lo, hi, describe(v))
		return 0
	}
	return i
}

func (d *profileDecoder) boolean(path string, v any) bool {
	b, ok := v.(bool)
	if !ok {
		d.fail(path, "want true or false, got %s", describe(v))
	}
	return b
}

func (d *profileDecoder) protocol(path string, v any) Protocol {
	if s, ok := v.(string); ok {
		p, err := ParseProtocol(s)
		if err != nil {
			d.fail(path, "want a protocol (1 or http, 2 or tcp, 3 or udp, 4 or grpc), got %s", describe(v))
		}
		return p
	}
	return Protocol(d.integer(path, v, math.MinInt32, math.MaxInt32))
}

// strMap reads a mapping of strings; an empty one reads as nil.
func (d *profileDecoder) strMap(path string, v any) map[string]string {
	m, ok := v.(map[string]any)
	if !ok {
		d.fail(path, "want a mapping of names to strings, got %s", describe(v))
		return nil
	}
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for _, k := range sortedKeys(m) {
		out[k] = d.str(keyPath(path, k), m[k])
	}
	return out
}

// strList reads a list of strings; an empty one reads as nil.
func (d *profileDecoder) strList(path string, v any) []string {
	list, ok := v.([]any)
	if !ok {
		d.fail(path, "want a list of strings, got %s", describe(v))
		return nil
	}
	var out []string
	for i, e := range list {
		out = append(out, d.str(fmt.Sprintf("%s[%d]", path, i), e))
	}
	return out
}

// jsonText reads additional_options: JSON text as SMP has it, or, as a
// convenience, a mapping or list written in place, kept as compact JSON.
func (d *profileDecoder) jsonText(path string, v any) string {
	switch v.(type) {
	case map[string]any, []any:
		b, err := json.Marshal(v)
		if err != nil {
			d.fail(path, "cannot be written as JSON: %v", err)
			return ""
		}
		return string(b)
	}
	return d.str(path, v)
}

// describe shows a decoded value in an error message.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		if len(v) > 40 {
			v = v[:37] + "..."
		}
		return strconv.Quote(v)
	case json.Number:
		return string(v)
	case bool:
		return strconv.FormatBool(v)
	case []any:
		return "a list"
	case map[string]any, map[any]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
