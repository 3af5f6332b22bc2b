package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	// The YAML parser itself (go.yaml.in/yaml/v2 under the name
	// sigs.k8s.io/yaml ships it with), not sigs.k8s.io/yaml.YAMLToJSON:
	// that expands aliases into JSON text with no bound, so a few kilobytes
	// of anchors could ask for gigabytes. Here the expanded tree is measured
	// before anything is copied out of it.
	goyaml "sigs.k8s.io/yaml/goyaml.v2"
)

// JSON writes the profile as indented JSON: snake_case names in the order
// declared, protocols as numbers, smp_version filled in when empty.
func (p *Profile) JSON() ([]byte, error) {
	return p.encodeJSON("  ")
}

func (p *Profile) encodeJSON(indent string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(p.written()); err != nil {
		return nil, fmt.Errorf("encoding profile: %w", err)
	}
	return buf.Bytes(), nil
}

// writtenProfile is a profile as written: the SMP fields, then Meshery's
// mesh wrapper, {mesh: {type: N}}, the spelling Meshery and its SMP files
// use (meshperf.mesh_type is read too, and not written).
type writtenProfile struct {
	*Profile
	Mesh *meshRef `json:"mesh,omitempty"`
}

type meshRef struct {
	Type int `json:"type"`
}

func (p *Profile) written() writtenProfile {
	q := p.canonical()
	w := writtenProfile{Profile: q}
	if q.Meshperf != nil && q.Meshperf.MeshType != 0 {
		w.Mesh = &meshRef{Type: q.Meshperf.MeshType}
		x := *q.Meshperf
		x.MeshType = 0
		q.Meshperf = &x
		if reflect.ValueOf(x).IsZero() {
			q.Meshperf = nil
		}
	}
	return w
}

// canonical is a shallow copy of p as it is written: smp_version filled in,
// empty lists written as [] rather than null, empty extras left out.
func (p *Profile) canonical() *Profile {
	q := *p
	if q.SMPVersion == "" {
		q.SMPVersion = ProfileSchemaVersion
	}
	if q.Meshperf != nil && reflect.ValueOf(*q.Meshperf).IsZero() {
		q.Meshperf = nil
	}
	q.Clients = make([]Client, len(p.Clients))
	copy(q.Clients, p.Clients)
	for i := range q.Clients {
		c := &q.Clients[i]
		if c.EndpointURLs == nil {
			c.EndpointURLs = []string{}
		}
		if c.Meshperf != nil && *c.Meshperf == (ClientExtras{}) {
			c.Meshperf = nil
		}
	}
	return &q
}

// YAML writes the profile as YAML, with the same fields in the same order as
// JSON. Strings are left unquoted when YAML reads them back unchanged,
// multi-line ones (PEM certificates, bodies) are written as literal blocks.
func (p *Profile) YAML() ([]byte, error) {
	j, err := p.encodeJSON("")
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	n, err := readOrdered(dec)
	if err != nil {
		return nil, fmt.Errorf("encoding profile: %w", err)
	}
	var w yamlWriter
	w.mapping(n, 0, false)
	return w.buf.Bytes(), nil
}

// onode is a JSON value with the order of its keys kept.
type onode struct {
	kind  byte // '{', '[', '"' (string) or '0' (number, bool or null)
	text  string
	keys  []string
	items []*onode
}

func readOrdered(dec *json.Decoder) (*onode, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		n := &onode{kind: byte(t)}
		for dec.More() {
			if t == '{' {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k.(string))
			}
			item, err := readOrdered(dec)
			if err != nil {
				return nil, err
			}
			n.items = append(n.items, item)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		return n, nil
	case string:
		return &onode{kind: '"', text: t}, nil
	case json.Number:
		return &onode{kind: '0', text: t.String()}, nil
	case bool:
		return &onode{kind: '0', text: strconv.FormatBool(t)}, nil
	}
	return &onode{kind: '0', text: "null"}, nil
}

type yamlWriter struct{ buf bytes.Buffer }

func (w *yamlWriter) indent(n int) { w.buf.WriteString(strings.Repeat(" ", n)) }

// mapping writes n at indentation ind; inline means the first key goes
// where the writer stands (after a "- ").
func (w *yamlWriter) mapping(n *onode, ind int, inline bool) {
	for i, k := range n.keys {
		if i > 0 || !inline {
			w.indent(ind)
		}
		w.key(k, ind)
		v := n.items[i]
		switch {
		case v.kind == '{' && len(v.items) > 0:
			w.buf.WriteByte('\n')
			w.mapping(v, ind+2, false)
		case v.kind == '[' && len(v.items) > 0:
			w.buf.WriteByte('\n')
			w.sequence(v, ind, false)
		default:
			w.buf.WriteByte(' ')
			w.scalar(v, ind+2)
		}
	}
}

// key writes a mapping key and its colon. YAML limits implicit keys to 1024
// characters; longer ones are written as explicit "? key" entries.
func (w *yamlWriter) key(k string, ind int) {
	text := k
	if !plainSafe(k) {
		text = doubleQuoted(k)
	}
	if len(text) <= 1000 {
		w.buf.WriteString(text + ":")
		return
	}
	w.buf.WriteString("? " + text + "\n")
	w.indent(ind)
	w.buf.WriteByte(':')
}

func (w *yamlWriter) sequence(n *onode, ind int, inline bool) {
	for i, v := range n.items {
		if i > 0 || !inline {
			w.indent(ind)
		}
		w.buf.WriteString("- ")
		switch {
		case v.kind == '{' && len(v.items) > 0:
			w.mapping(v, ind+2, true)
		case v.kind == '[' && len(v.items) > 0:
			w.sequence(v, ind+2, true)
		default:
			w.scalar(v, ind+2)
		}
	}
}

// scalar writes a scalar or an empty collection and ends the line.
func (w *yamlWriter) scalar(v *onode, ind int) {
	switch v.kind {
	case '{':
		w.buf.WriteString("{}")
	case '[':
		w.buf.WriteString("[]")
	case '"':
		w.buf.WriteString(yamlString(v.text, ind))
	default:
		w.buf.WriteString(v.text)
	}
	w.buf.WriteByte('\n')
}

// yamlString writes s as a YAML scalar whose continuation lines, if any, are
// indented by ind: plain when it reads back as the same string, a literal
// block when it has several lines, single-quoted when it holds quotes or
// backslashes (JSON text), double-quoted otherwise.
func yamlString(s string, ind int) string {
	if plainSafe(s) {
		return s
	}
	if strings.Contains(s, "\n") {
		if b, ok := literalBlock(s, ind); ok {
			return b
		}
	}
	if strings.ContainsAny(s, `"\`) && !strings.Contains(s, "'") && !strings.ContainsFunc(s, func(r rune) bool { return !yamlPrintable(r) }) {
		return "'" + s + "'" // JSON text reads better without escapes
	}
	return doubleQuoted(s)
}

// plainSafe tells whether s can be written unquoted. It allows a
// conservative set of characters and asks the parser itself about the
// strings YAML might read as something else (numbers, times).
func plainSafe(s string) bool {
	if s == "" || strings.TrimSpace(s) != s || strings.HasSuffix(s, ":") || strings.Contains(s, ": ") || strings.Contains(s, "  ") {
		return false
	}
	for _, r := range s {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		case strings.ContainsRune(" -_./:@%+=~?&,;()*!$^<>", r):
		default:
			return false
		}
	}
	c := s[0]
	switch {
	case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		switch strings.ToLower(s) {
		case "y", "n", "yes", "no", "true", "false", "on", "off", "null":
			return false
		}
		return true
	case c == '/':
		return true
	case '0' <= c && c <= '9':
		return readsBack(s, s)
	}
	return false
}

// readsBack tells whether the YAML text, as a mapping value, reads as s.
func readsBack(text, s string) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	var m map[string]any
	if err := goyaml.Unmarshal([]byte("v: "+text+"\n"), &m); err != nil {
		return false
	}
	got, isString := m["v"].(string)
	return isString && got == s
}

// literalBlock writes s as a literal block scalar ("|") indented by ind.
func literalBlock(s string, ind int) (string, bool) {
	for _, r := range s {
		if r != '\n' && !yamlPrintable(r) {
			return "", false
		}
	}
	body := strings.TrimRight(s, "\n")
	trailing := len(s) - len(body)
	var b strings.Builder
	b.WriteByte('|')
	if strings.HasPrefix(body, " ") || strings.HasPrefix(body, "\n") {
		b.WriteByte('2')
	}
	switch trailing {
	case 0:
		b.WriteByte('-')
	case 1:
	default:
		b.WriteByte('+')
	}
	pad := strings.Repeat(" ", ind)
	for _, line := range strings.Split(body, "\n") {
		b.WriteByte('\n')
		if line != "" {
			b.WriteString(pad + line)
		}
	}
	for i := 1; i < trailing; i++ {
		b.WriteByte('\n')
	}
	// The block is checked in place of the value of a top-level key,
	// indented by 2, which is how it sits under any key.
	check := strings.ReplaceAll(b.String(), "\n"+pad, "\n  ")
	if !readsBack(check, s) {
		return "", false
	}
	return b.String(), true
}

// yamlPrintable tells whether r may appear as itself in a YAML scalar, as
// the parser sees it: no control characters, no line separators, no BOM.
func yamlPrintable(r rune) bool {
	switch {
	case r == utf8.RuneError, r == 0xFEFF, r == 0x2028, r == 0x2029:
		return false
	case r >= 0x20 && r <= 0x7E:
		return true
	case r >= 0xA0 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}

func doubleQuoted(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case yamlPrintable(r):
			b.WriteRune(r)
		case r <= 0xFFFF:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			fmt.Fprintf(&b, `\U%08X`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
