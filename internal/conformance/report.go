package conformance

import (
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// WriteText writes the run's summary: one line per test, the failure and
// not-run messages under it, and the totals.
func WriteText(w io.Writer, r *Result) error {
	impl := "no mesh detected"
	if r.Implementation.Mesh != "" {
		impl = r.Implementation.Mesh
		if r.Implementation.Version != "" {
			impl += " " + r.Implementation.Version
		}
		if r.Implementation.Detected {
			impl += " (detected)"
		}
	}
	fmt.Fprintf(w, "conformance %s, Gateway API suite %s, %s\n", r.Profile, r.SuiteVersion, impl)
	if r.ID != "" {
		fmt.Fprintf(w, "result %s\n", r.ID)
	}
	if r.Cluster != "" {
		gw := r.GatewayAPI
		if gw == "" {
			gw = "unknown"
		}
		fmt.Fprintf(w, "cluster %s, Gateway API %s %s\n", r.Cluster, gw, r.GatewayAPIChannel)
	}
	fmt.Fprintf(w, "supported features: %s\n", listOrNone(r.SupportedFeatures))
	fmt.Fprintf(w, "unsupported features: %s\n\n", listOrNone(r.UnsupportedFeatures))
	for _, t := range r.Tests {
		dur := "–"
		if t.Status == Pass || t.Status == Fail {
			dur = roundDuration(t.Duration).String()
		}
		fmt.Fprintf(w, "%-7s %-52s %s\n", strings.ToUpper(string(t.Status)), t.Name, dur)
		if t.Message != "" && t.Status != Pass {
			for _, l := range strings.Split(wrapMessage(t.Message), "\n") {
				fmt.Fprintf(w, "        %s\n", l)
			}
		}
	}
	c := r.Counts
	fmt.Fprintf(w, "\n%s: %d passed, %d failed, %d skipped, %d not run in %s\n",
		r.Outcome, c.Passed, c.Failed, c.Skipped, c.NotRun, roundDuration(r.Finished.Sub(r.Started)))
	if r.Reason != "" {
		fmt.Fprintf(w, "reason: %s\n", r.Reason)
	}
	if r.ReportMismatch != "" {
		fmt.Fprintf(w, "warning: %s\n", r.ReportMismatch)
	}
	if len(r.Cleanup) > 0 {
		fmt.Fprintf(w, "deleted namespaces: %s\n", strings.Join(r.Cleanup, ", "))
	}
	if r.CleanupError != "" {
		fmt.Fprintf(w, "cleanup: %s\n", r.CleanupError)
	}
	return nil
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func roundDuration(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}

// wrapMessage keeps a long message readable: at most 10 lines of 1000
// characters.
func wrapMessage(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if len(l) > 1000 {
			l = l[:1000] + "..."
		}
		out = append(out, l)
	}
	if len(out) > 10 {
		out = append(out[:10], fmt.Sprintf("[%d more lines]", len(out)-10))
	}
	return strings.Join(out, "\n")
}

// JUnit XML, the shape CI systems read (Jenkins, GitLab, GitHub actions).
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      float64     `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Props     []junitProp `xml:"properties>property"`
	Cases     []junitCase `xml:"testcase"`
}

type junitProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      float64       `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure"`
	Error     *junitMessage `xml:"error"`
	Skipped   *junitMessage `xml:"skipped"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the run as JUnit XML: a failed test is a failure, a
// test that could not run an error, a skipped test skipped.
func WriteJUnit(w io.Writer, r *Result) error {
	s := junitSuite{
		Name:      "gateway-api-conformance/" + r.Profile,
		Tests:     len(r.Tests),
		Failures:  r.Counts.Failed,
		Errors:    r.Counts.NotRun,
		Skipped:   r.Counts.Skipped,
		Time:      r.Finished.Sub(r.Started).Seconds(),
		Timestamp: r.Started.UTC().Format(time.RFC3339),
		Props: []junitProp{
			{"profile", r.Profile}, {"suiteVersion", r.SuiteVersion},
			{"mesh", r.Implementation.Mesh}, {"meshVersion", r.Implementation.Version},
			{"outcome", r.Outcome}, {"reason", r.Reason},
		},
	}
	for _, t := range r.Tests {
		c := junitCase{Name: t.Name, Classname: "gateway-api-conformance." + r.Profile, Time: t.Duration.Seconds()}
		msg := &junitMessage{Message: firstLine(t.Message), Text: t.Message}
		switch t.Status {
		case Fail:
			c.Failure = msg
			msg.Text = t.Output
		case NotRun:
			c.Error = msg
		case Skip:
			c.Skipped = msg
		}
		s.Cases = append(s.Cases, c)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{s}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	if len(l) > 300 {
		l = l[:300] + "..."
	}
	return l
}

// Change is one test whose status differs between two results.
type Change struct {
	Name string `json:"name"`
	A    Status `json:"a"` // "" when the test is not in A
	B    Status `json:"b"`
	// Message is B's message (or A's when B has none).
	Message string `json:"message,omitempty"`
}

// Comparison of two results: what passes in one and not the other.
type Comparison struct {
	A, B      *Result  `json:"-"`
	OnlyA     []Change `json:"passOnlyInA"` // pass in A, not in B
	OnlyB     []Change `json:"passOnlyInB"` // pass in B, not in A
	Other     []Change `json:"otherChanges"`
	SamePass  int      `json:"bothPass"`
	SameOther int      `json:"sameOtherwise"`
}

// Compare compares two results test by test.
func Compare(a, b *Result) Comparison {
	c := Comparison{A: a, B: b}
	names := map[string]bool{}
	for _, t := range a.Tests {
		names[t.Name] = true
	}
	for _, t := range b.Tests {
		names[t.Name] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		ta, _ := a.Test(n)
		tb, _ := b.Test(n)
		ch := Change{Name: n, A: ta.Status, B: tb.Status, Message: tb.Message}
		if ch.Message == "" {
			ch.Message = ta.Message
		}
		switch {
		case ta.Status == tb.Status && ta.Status == Pass:
			c.SamePass++
		case ta.Status == tb.Status:
			c.SameOther++
		case ta.Status == Pass:
			c.OnlyA = append(c.OnlyA, ch)
		case tb.Status == Pass:
			c.OnlyB = append(c.OnlyB, ch)
		default:
			c.Other = append(c.Other, ch)
		}
	}
	return c
}

// WriteComparison writes a comparison as text.
func WriteComparison(w io.Writer, c Comparison) error {
	label := func(r *Result) string {
		s := r.ID
		if len(s) > 12 {
			s = s[:12]
		}
		m := r.Implementation.Mesh
		if m == "" {
			m = "no mesh"
		}
		return fmt.Sprintf("%s (%s %s %s, %s)", s, m, r.Implementation.Version, r.Profile, r.Started.Format("2006-01-02 15:04"))
	}
	fmt.Fprintf(w, "A: %s\nB: %s\n", label(c.A), label(c.B))
	if c.A.SuiteVersion != c.B.SuiteVersion {
		fmt.Fprintf(w, "note: different suite versions (%s, %s)\n", c.A.SuiteVersion, c.B.SuiteVersion)
	}
	section := func(title string, chs []Change) {
		fmt.Fprintf(w, "\n%s: %d\n", title, len(chs))
		for _, ch := range chs {
			fmt.Fprintf(w, "  %-60s A %-8s B %s\n", ch.Name, orAbsent(ch.A), orAbsent(ch.B))
			if ch.Message != "" {
				fmt.Fprintf(w, "      %s\n", firstLine(ch.Message))
			}
		}
	}
	section("pass in A only", c.OnlyA)
	section("pass in B only", c.OnlyB)
	section("other changes", c.Other)
	fmt.Fprintf(w, "\nunchanged: %d pass in both, %d otherwise the same\n", c.SamePass, c.SameOther)
	return nil
}

func orAbsent(s Status) string {
	if s == "" {
		return "absent"
	}
	return string(s)
}
