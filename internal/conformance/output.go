package conformance

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"time"
)

// The suite's child runs with -test.v=test2json: the testing package then
// starts every framing line (=== RUN, === PAUSE, === CONT, === NAME,
// --- PASS/FAIL/SKIP) with the byte 0x16, so a test's own output can never
// be taken for one, and names the test whose output follows whenever it
// changes. This file reads that stream into per-test outcomes.

const (
	frameMark = '\x16'
	// maxOutput bounds what is kept of one test's output (its tail).
	maxOutput = 64 << 10
	// maxLine bounds one line; the rest of a longer line is dropped.
	maxLine = 64 << 10
	// maxTests bounds how many distinct test names are kept.
	maxTests = 20000
)

// testOutput is what the stream said about one test (or subtest).
type testOutput struct {
	name     string
	status   Status // "" until its --- line
	duration time.Duration
	out      strings.Builder
	cut      bool // out lost its head to maxOutput
}

func (t *testOutput) write(line string) {
	t.out.WriteString(line)
	t.out.WriteByte('\n')
	if t.out.Len() > maxOutput {
		// Keep the newest half.
		s := t.out.String()
		t.out.Reset()
		t.out.WriteString(s[len(s)-maxOutput/2:])
		t.cut = true
	}
}

// output returns the kept output, marked when its head was cut.
func (t *testOutput) output() string {
	if t.cut {
		return "[... earlier output cut]\n" + t.out.String()
	}
	return t.out.String()
}

// streamParser reads the child's -test.v=test2json output.
type streamParser struct {
	tests   map[string]*testOutput
	order   []string
	current string
	// onDone is called when a test's --- line arrives (progress).
	onDone func(*testOutput)
}

func newStreamParser() *streamParser {
	return &streamParser{tests: map[string]*testOutput{}}
}

// Read consumes r to its end.
func (p *streamParser) Read(r io.Reader) error {
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

// readLine returns one line without its newline, at most maxLine bytes of
// it.
func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(b) < maxLine {
			b = append(b, frag[:min(len(frag), maxLine-len(b))]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		s := strings.TrimSuffix(string(b), "\n")
		return s, err
	}
}

func (p *streamParser) get(name string) *testOutput {
	if t, ok := p.tests[name]; ok {
		return t
	}
	if len(p.tests) >= maxTests {
		return nil
	}
	t := &testOutput{name: name}
	p.tests[name] = t
	p.order = append(p.order, name)
	return t
}

func (p *streamParser) line(line string) {
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
	for _, s := range []Status{Pass, Fail, Skip} {
		prefix := "--- " + strings.ToUpper(string(s)) + ": "
		if rest, ok := strings.CutPrefix(frame, prefix); ok {
			name, dur := splitDone(rest)
			t := p.get(name)
			if t == nil {
				return
			}
			t.status, t.duration = s, dur
			if p.onDone != nil {
				p.onDone(t)
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

// failureMessage picks the suite's reason out of a test's output: the
// Error and Messages fields of testify's report when there is one (the
// suite fails through require), else the last line the test logged.
func failureMessage(out string) string {
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
		entry := []string{stripTime(stripSource(strings.TrimSpace(l)))}
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

// stripSource drops a "file.go:123: " prefix the testing package adds.
func stripSource(s string) string {
	if i := strings.Index(s, ".go:"); i > 0 && !strings.Contains(s[:i], " ") {
		rest := s[i+4:]
		num, after, ok := strings.Cut(rest, ":")
		if _, err := strconv.Atoi(num); ok && err == nil {
			return strings.TrimSpace(after)
		}
	}
	return s
}
