package conformance

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/yaml"
)

// VerifyReport checks the per-test result against the suite's own
// account of the run, its ConformanceReport: the tests it counts failed
// are exactly those failed here, as many passed, and those it names
// skipped are skipped here. nil when r holds no report; an error naming
// every difference otherwise.
func VerifyReport(r *Result) error {
	if r.Report == "" {
		return nil
	}
	var rep confv1.ConformanceReport
	if err := yaml.Unmarshal([]byte(r.Report), &rep); err != nil {
		return fmt.Errorf("the suite's report: %w", err)
	}
	var failed, skipped []string
	passed := 0
	for _, pr := range rep.ProfileReports {
		if pr.Name != r.Profile {
			continue
		}
		for _, st := range []*confv1.Status{&pr.Core, extendedStatus(pr.Extended)} {
			if st == nil {
				continue
			}
			passed += int(st.Passed)
			failed = append(failed, st.FailedTests...)
			skipped = append(skipped, st.SkippedTests...)
		}
	}
	var ourFailed []string
	ourPassed := 0
	ourSkipped := map[string]bool{}
	for _, t := range r.Tests {
		switch t.Status {
		case Fail:
			ourFailed = append(ourFailed, t.Name)
		case Pass:
			ourPassed++
		case Skip:
			ourSkipped[t.Name] = true
		}
	}
	sort.Strings(failed)
	sort.Strings(ourFailed)
	var diffs []string
	if !slices.Equal(failed, ourFailed) {
		diffs = append(diffs, fmt.Sprintf("failed: the report has [%s], the result [%s]", strings.Join(failed, " "), strings.Join(ourFailed, " ")))
	}
	if passed != ourPassed {
		diffs = append(diffs, fmt.Sprintf("passed: the report counts %d, the result %d", passed, ourPassed))
	}
	for _, s := range skipped {
		if !ourSkipped[s] {
			diffs = append(diffs, fmt.Sprintf("%s: skipped in the report, not in the result", s))
		}
	}
	if len(diffs) > 0 {
		return fmt.Errorf("the result disagrees with the suite's report: %s", strings.Join(diffs, "; "))
	}
	return nil
}

func extendedStatus(e *confv1.ExtendedStatus) *confv1.Status {
	if e == nil {
		return nil
	}
	return &e.Status
}
