// Package conformance runs the Gateway API's official conformance suite
// (sigs.k8s.io/gateway-api/conformance, compiled in at SuiteVersion)
// against the cluster of a kubeconfig, and describes what happened as a
// Result: each test of the profile passed, failed, skipped or not run,
// with its duration and the suite's own failure message, next to the
// official ConformanceReport YAML the suite wrote.
//
// The suite is written as Go tests (it needs a *testing.T), so it runs in
// a child process of meshperf under testing.Main (child.go); run.go
// starts it, reads its verbose test output (output.go) and cleans up the
// namespaces it created however it ends.
package conformance

import "time"

// Status of one test.
type Status string

const (
	Pass   Status = "pass"
	Fail   Status = "fail"
	Skip   Status = "skip"    // the suite skipped it (a feature not declared supported, or skipped by name)
	NotRun Status = "not-run" // it should have run and did not: setup failed, the run was cancelled or timed out
)

// Outcome of a whole run.
const (
	OutcomePassed    = "passed"    // every test that ran passed, and at least one ran
	OutcomeFailed    = "failed"    // at least one test failed
	OutcomeNotRun    = "not-run"   // no test could run (the suite's setup failed); Reason says why
	OutcomeCancelled = "cancelled" // stopped by the caller or the overall timeout
)

// Result is one conformance run.
type Result struct {
	ID             string         `json:"id,omitempty"`
	Kind           string         `json:"kind"` // "gateway-api" (the official suite)
	Profile        string         `json:"profile"`
	SuiteVersion   string         `json:"suiteVersion"`
	Implementation Implementation `json:"implementation"`
	Cluster        string         `json:"cluster,omitempty"`
	// GatewayAPI is the Gateway API release and channel installed in the
	// cluster (the CRDs' bundle-version and channel annotations).
	GatewayAPI          string       `json:"gatewayAPI,omitempty"`
	GatewayAPIChannel   string       `json:"gatewayAPIChannel,omitempty"`
	GatewayClass        string       `json:"gatewayClass,omitempty"`
	Started             time.Time    `json:"started"`
	Finished            time.Time    `json:"finished"`
	Outcome             string       `json:"outcome"`
	Reason              string       `json:"reason,omitempty"`
	SupportedFeatures   []string     `json:"supportedFeatures"`
	UnsupportedFeatures []string     `json:"unsupportedFeatures"`
	Counts              Counts       `json:"counts"`
	Tests               []TestResult `json:"tests"`
	// Cleanup lists the namespaces the run created and meshperf deleted
	// after it (the suite deletes its own when it ends normally).
	Cleanup []string `json:"cleanup,omitempty"`
	// CleanupError says what could not be deleted.
	CleanupError string `json:"cleanupError,omitempty"`
	// ReportMismatch says where the per-test results disagree with the
	// suite's own report (VerifyReport); empty when they agree.
	ReportMismatch string `json:"reportMismatch,omitempty"`
	// Report is the official ConformanceReport YAML, byte for byte as
	// the suite's Report() marshalled it; empty when the suite never got
	// to write it.
	Report string `json:"report,omitempty"`
}

// Implementation is what was tested.
type Implementation struct {
	Mesh    string `json:"mesh,omitempty"`
	Version string `json:"version,omitempty"`
	// Detected says whether Mesh and Version came from the cluster's
	// inventory (internal/cluster) rather than from flags.
	Detected     bool     `json:"detected"`
	Organization string   `json:"organization,omitempty"`
	Project      string   `json:"project,omitempty"`
	URL          string   `json:"url,omitempty"`
	Contact      []string `json:"contact,omitempty"`
}

// Counts of a run's tests by status.
type Counts struct {
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
	NotRun  int `json:"notRun"`
}

// TestResult is one test of the profile.
type TestResult struct {
	Name        string        `json:"name"`
	Description string        `json:"description,omitempty"`
	Features    []string      `json:"features,omitempty"`
	Provisional bool          `json:"provisional,omitempty"`
	Status      Status        `json:"status"`
	Duration    time.Duration `json:"durationNs"`
	// Message is why it failed, was skipped or did not run: the suite's
	// own words (testify's Error and Messages fields when it used them).
	Message string `json:"message,omitempty"`
	// Output is the test's log as the suite wrote it, cut to its last
	// maxOutput bytes.
	Output string `json:"output,omitempty"`
}

// Count recomputes r.Counts and r.Outcome from r.Tests, keeping a
// cancelled outcome.
func (r *Result) Count() {
	var c Counts
	for _, t := range r.Tests {
		switch t.Status {
		case Pass:
			c.Passed++
		case Fail:
			c.Failed++
		case Skip:
			c.Skipped++
		case NotRun:
			c.NotRun++
		}
	}
	r.Counts = c
	if r.Outcome == OutcomeCancelled {
		return
	}
	switch {
	case c.Failed > 0:
		r.Outcome = OutcomeFailed
	case c.NotRun > 0 || c.Passed == 0:
		r.Outcome = OutcomeNotRun
	default:
		r.Outcome = OutcomePassed
	}
}

// Test returns the test named name.
func (r *Result) Test(name string) (TestResult, bool) {
	for _, t := range r.Tests {
		if t.Name == name {
			return t, true
		}
	}
	return TestResult{}, false
}
