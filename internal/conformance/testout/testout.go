// Package testout reads the verbose output of a Go test binary run with
// -test.v=test2json: the testing package starts every framing line
// (=== RUN, === PAUSE, === CONT, === NAME, --- PASS/FAIL/SKIP) with the
// byte 0x16, so a test's own output can never be taken for one, and names
// the test whose output follows whenever it changes. It has no
// dependency beyond the standard library, so its fuzz target builds fast.
package testout

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"time"
)

// A test's status.
const (
	Pass = "pass"
	Fail = "fail"
	Skip = "skip"
)

const (
	frameMark = '\x16'
	// MaxOutput bounds what is kept of one test's output (its tail).
	MaxOutput = 64 << 10
	// MaxLine bounds one line; the rest of a longer line is dropped.
	MaxLine = 64 << 10
	// MaxTests bounds how many distinct test names are kept.
	MaxTests = 20000
)

// Test is what the stream said about one test (or subtest).
type Test struct {
	Name     string
	Status   string // Pass, Fail or Skip; "" until its --- line
	Duration time.Duration
	out      strings.Builder
	cut      bool // out lost its head to MaxOutput
}

func (t *Test) write(line string) {
	t.out.WriteString(line)
	t.out.WriteByte('\n')
	if t.out.Len() > MaxOutput {
		// Keep the newest half.
		s := t.out.String()
		t.out.Reset()
		t.out.WriteString(s[len(s)-MaxOutput/2:])
		t.cut = true
	}
}

// Len is the size of the kept output.
func (t *Test) Len() int { return t.out.Len() }

// Output returns the kept output, marked when its head was cut.
func (t *Test) Output() string {
	if t.cut {
		return "[... earlier output cut]\n" + t.out.String()
	}
	return t.out.String()
}

// Parser reads -test.v=test2json output.
type Parser struct {
	Tests   map[string]*Test
	Order   []string
	current string
	// OnDone is called when a test's --- line arrives (progress).
	OnDone func(*Test)
}

func New() *Parser {
	return &Parser{Tests: map[string]*Test{}}
}

// Read consumes r to its end.
func (p *Parser) Read(r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := readLine(br)
		if len(line) > 0 || err == nil {
			p.line(line)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// readLine returns one line without its newline, at most MaxLine bytes of
// it.
func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(b) < MaxLine {
			b = append(b, frag[:min(len(frag), MaxLine-len(b))]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		s := strings.TrimSuffix(string(b), "\n")
		return s, err
	}
}

func (p *Parser) get(name string) *Test {
	if t, ok := p.Tests[name]; ok {
		return t
	}
	if len(p.Tests) >= MaxTests {
		return nil
	}
	t := &Test{Name: name}
	p.Tests[name] = t
	p.Order = append(p.Order, name)
	return t
}

func (p *Parser) line(line string) {
	if len(line) == 0 || line[0] != frameMark {
		if t := p.get(p.current); t != nil && p.current != "" {
			t.write(line)
		}
		return
	}
	frame := line[1:]
	for _, prefix := range []string{"=== RUN   ", "=== CONT  ", "=== NAME  ", "=== PAUSE "} {
		if name, ok := strings.CutPrefix(frame, prefix); ok {
			name = strings.TrimSpace(name)
			if prefix != "=== PAUSE " {
				p.current = name
			}
			if name != "" {
				p.get(name)
			}
			return
		}
	}
	for _, s := range []string{Pass, Fail, Skip} {
		prefix := "--- " + strings.ToUpper(s) + ": "
		if rest, ok := strings.CutPrefix(frame, prefix); ok {
			name, dur := splitDone(rest)
			t := p.get(name)
			if t == nil {
				return
			}
			t.Status, t.Duration = s, dur
			if p.OnDone != nil {
				p.OnDone(t)
			}
			return
		}
	}
	// PASS, FAIL, ok ... : the binary's last lines; nothing to attribute.
}

// splitDone splits "Name (1.23s)" into the name and the duration.
func splitDone(rest string) (string, time.Duration) {
	i := strings.LastIndex(rest, " (")
	if i < 0 || !strings.HasSuffix(rest, "s)") {
		return strings.TrimSpace(rest), 0
	}
	secs, err := strconv.ParseFloat(rest[i+2:len(rest)-2], 64)
	if err != nil || secs < 0 || secs > 1e6 {
		return strings.TrimSpace(rest[:i]), 0
	}
	return rest[:i], time.Duration(secs * float64(time.Second))
}

// FailureMessage picks a test's reason out of a test's output: the
// Error and Messages fields of testify's report when there is one (the
// suite fails through require), else the last line the test logged.
func FailureMessage(out string) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	var msg []string
	field := ""
	for _, l := range lines {
		body, ok := strings.CutPrefix(l, "        \t")
		if !ok {
			field = ""
			continue
		}
		if body != "" && body[0] != ' ' && body[0] != '\t' {
			label, value, _ := strings.Cut(body, ":")
			field = label
			body = value
		}
		if v := strings.TrimSpace(body); v != "" && (field == "Error" || field == "Messages") {
			msg = append(msg, v)
		}
	}
	if len(msg) > 0 {
		return strings.Join(msg, " ")
	}
	// The last entry logged: its first line (source position and the
	// suite's timestamp dropped) and its continuation lines.
	for i := len(lines) - 1; i >= 0; i-- {
		l := lines[i]
		if !strings.HasPrefix(l, "    ") || strings.HasPrefix(l, "     ") {
			continue
		}
		entry := []string{StripTime(StripSource(strings.TrimSpace(l)))}
		for _, c := range lines[i+1:] {
			if c = strings.TrimSpace(c); c != "" {
				entry = append(entry, c)
			}
		}
		return strings.TrimSpace(strings.Join(entry, "\n"))
	}
	for i := len(lines) - 1; i >= 0; i-- {
		if t := strings.TrimSpace(lines[i]); t != "" {
			return t
		}
	}
	return ""
}

// StripSource drops a "file.go:123: " prefix the testing package adds.
func StripSource(s string) string {
	if i := strings.Index(s, ".go:"); i > 0 && !strings.Contains(s[:i], " ") {
		rest := s[i+4:]
		num, after, ok := strings.Cut(rest, ":")
		if _, err := strconv.Atoi(num); ok && err == nil {
			return strings.TrimSpace(after)
		}
	}
	return s
}

// LastLogged is the last line a test logged itself before its first
// failure report (testify's Error Trace block), without the source
// position and the suite's timestamp.
func LastLogged(out string) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	end := len(lines)
	for i, l := range lines {
		if strings.HasPrefix(l, "        \tError Trace:") {
			end = i
			break
		}
	}
	for i := end - 1; i >= 0; i-- {
		l := lines[i]
		if strings.HasPrefix(l, "    ") && !strings.HasPrefix(l, "     ") {
			if s := StripTime(StripSource(strings.TrimSpace(l))); s != "" {
				return s
			}
		}
	}
	return ""
}

// StripTime drops the RFC 3339 timestamp the suite's tlog puts first.
func StripTime(s string) string {
	stamp, rest, ok := strings.Cut(s, ": ")
	if !ok {
		return s
	}
	if _, err := time.Parse(time.RFC3339Nano, stamp); err == nil {
		return rest
	}
	return s
}
