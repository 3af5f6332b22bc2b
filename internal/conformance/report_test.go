package conformance

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/yaml"
)

func sampleResult() *Result {
	start := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	r := &Result{
		ID: "0123456789abcdef0123", Kind: "gateway-api", Profile: "MESH-HTTP", SuiteVersion: SuiteVersion,
		Implementation: Implementation{Mesh: "Istio", Version: "1.23.2", Detected: true},
		Started:        start, Finished: start.Add(2 * time.Minute),
		Tests: []TestResult{
			{Name: "MeshBasic", Status: Pass, Duration: 1500 * time.Millisecond},
			{Name: "MeshHTTPRouteMatching", Status: Fail, Duration: time.Second, Message: "expected 200, got 503 <&>", Output: "    x.go:1: expected 200, got 503 <&>\n"},
			{Name: "MeshHTTPRouteRewritePath", Status: Skip, Message: "not declared supported: MeshHTTPRouteRewritePath (--supported-features)"},
			{Name: "MeshTrafficSplit", Status: NotRun, Message: "the run was cancelled before this test ended"},
		},
	}
	r.Count()
	return r
}

func TestCount(t *testing.T) {
	r := sampleResult()
	if r.Counts != (Counts{Passed: 1, Failed: 1, Skipped: 1, NotRun: 1}) || r.Outcome != OutcomeFailed {
		t.Fatalf("counts %+v outcome %s", r.Counts, r.Outcome)
	}
	for _, tc := range []struct {
		statuses []Status
		outcome  string
	}{
		{[]Status{Pass, Skip}, OutcomePassed},
		{[]Status{Skip}, OutcomeNotRun},
		{[]Status{Pass, NotRun}, OutcomeNotRun},
		{[]Status{NotRun, Fail}, OutcomeFailed},
	} {
		r := &Result{}
		for _, s := range tc.statuses {
			r.Tests = append(r.Tests, TestResult{Status: s})
		}
		r.Count()
		if r.Outcome != tc.outcome {
			t.Errorf("%v: outcome %s, want %s", tc.statuses, r.Outcome, tc.outcome)
		}
	}
	c := &Result{Outcome: OutcomeCancelled, Tests: []TestResult{{Status: Pass}}}
	c.Count()
	if c.Outcome != OutcomeCancelled {
		t.Errorf("a cancelled run became %s", c.Outcome)
	}
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := WriteText(&b, sampleResult()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"conformance MESH-HTTP, Gateway API suite v1.6.3, Istio 1.23.2 (detected)",
		"PASS    MeshBasic",
		"FAIL    MeshHTTPRouteMatching",
		"        expected 200, got 503 <&>",
		"NOT-RUN MeshTrafficSplit",
		"        the run was cancelled before this test ended",
		"failed: 1 passed, 1 failed, 1 skipped, 1 not run in 2m0s",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
}

func TestWriteJUnit(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJUnit(&b, sampleResult()); err != nil {
		t.Fatal(err)
	}
	var got junitSuites
	if err := xml.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("not XML: %v\n%s", err, b.String())
	}
	if len(got.Suites) != 1 {
		t.Fatalf("%d suites", len(got.Suites))
	}
	s := got.Suites[0]
	if s.Tests != 4 || s.Failures != 1 || s.Errors != 1 || s.Skipped != 1 {
		t.Errorf("suite counts %+v", s)
	}
	byName := map[string]junitCase{}
	for _, c := range s.Cases {
		byName[c.Name] = c
	}
	if c := byName["MeshHTTPRouteMatching"]; c.Failure == nil || c.Failure.Message != "expected 200, got 503 <&>" || c.Time != 1 {
		t.Errorf("failed case %+v", c)
	}
	if c := byName["MeshTrafficSplit"]; c.Error == nil || !strings.Contains(c.Error.Message, "cancelled") {
		t.Errorf("not-run case %+v", c)
	}
	if c := byName["MeshBasic"]; c.Failure != nil || c.Error != nil || c.Skipped != nil {
		t.Errorf("passed case %+v", c)
	}
}

func TestCompare(t *testing.T) {
	a := sampleResult()
	b := sampleResult()
	b.Tests = []TestResult{
		{Name: "MeshBasic", Status: Fail, Message: "503"},
		{Name: "MeshHTTPRouteMatching", Status: Pass},
		{Name: "MeshHTTPRouteRewritePath", Status: Skip},
		{Name: "MeshHTTPRouteRedirectPort", Status: Pass},
	}
	c := Compare(a, b)
	names := func(chs []Change) string {
		var s []string
		for _, ch := range chs {
			s = append(s, ch.Name+":"+string(ch.A)+">"+string(ch.B))
		}
		return strings.Join(s, " ")
	}
	if got := names(c.OnlyA); got != "MeshBasic:pass>fail" {
		t.Errorf("pass only in A: %s", got)
	}
	if got := names(c.OnlyB); got != "MeshHTTPRouteMatching:fail>pass MeshHTTPRouteRedirectPort:>pass" {
		t.Errorf("pass only in B: %s", got)
	}
	if got := names(c.Other); got != "MeshTrafficSplit:not-run>" {
		t.Errorf("other: %s", got)
	}
	if c.SameOther != 1 || c.SamePass != 0 {
		t.Errorf("unchanged: %d pass, %d other", c.SamePass, c.SameOther)
	}
	var out bytes.Buffer
	if err := WriteComparison(&out, c); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pass in A only: 1", "MeshBasic", "A pass     B fail", "      503", "pass in B only: 2", "B pass", "absent"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("comparison lacks %q:\n%s", want, out.String())
		}
	}
}

func TestVerifyReport(t *testing.T) {
	official := func(passed uint32, failed, skipped []string) string {
		rep := confv1.ConformanceReport{ProfileReports: []confv1.ProfileReport{
			{Name: "GATEWAY-HTTP", Core: confv1.Status{Statistics: confv1.Statistics{Passed: 99}}},
			{Name: "MESH-HTTP", Core: confv1.Status{Statistics: confv1.Statistics{Passed: passed}, FailedTests: failed},
				Extended: &confv1.ExtendedStatus{Status: confv1.Status{SkippedTests: skipped}}},
		}}
		b, err := yaml.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, tc := range []struct {
		name, report, want string
	}{
		{"agrees", official(1, []string{"MeshHTTPRouteMatching"}, []string{"MeshHTTPRouteRewritePath"}), ""},
		{"no report", "", ""},
		{"another failure", official(1, []string{"MeshBasic"}, nil), "failed: the report has [MeshBasic], the result [MeshHTTPRouteMatching]"},
		{"pass count", official(2, []string{"MeshHTTPRouteMatching"}, nil), "passed: the report counts 2, the result 1"},
		{"skip", official(1, []string{"MeshHTTPRouteMatching"}, []string{"MeshTrafficSplit"}), "MeshTrafficSplit: skipped in the report, not in the result"},
		{"not YAML", "{", "the suite's report"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := sampleResult()
			r.Report = tc.report
			err := VerifyReport(r)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}
