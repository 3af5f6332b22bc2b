// Package result is what a conformance run found (internal/conformance's
// Result and its tests), apart from the suite itself, so that the API and
// the server can name it without linking the Gateway API suite (a meshperf
// built with -tags noconformance has neither).
package result

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/meshperf/meshperf/store"
)

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

// LabelID is the label of a conformance run queued on the server (its
// run's id, also the stored result's).
const LabelID = "conformance"

// Record is r as the store keeps it: the columns listings filter on and
// r as JSON.
func (r *Result) Record() (*store.Conformance, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	return &store.Conformance{
		ID: r.ID, Kind: r.Kind, Profile: r.Profile, SuiteVersion: r.SuiteVersion,
		Mesh: r.Implementation.Mesh, MeshVersion: r.Implementation.Version, Outcome: r.Outcome,
		Passed: r.Counts.Passed, Failed: r.Counts.Failed, Skipped: r.Counts.Skipped, NotRun: r.Counts.NotRun,
		Started: r.Started, Finished: r.Finished, Body: body,
	}, nil
}

// FromRecord reads a stored result back.
func FromRecord(c *store.Conformance) (*Result, error) {
	var r Result
	if err := json.Unmarshal(c.Body, &r); err != nil {
		return nil, fmt.Errorf("conformance result %s: %w", c.ID, err)
	}
	r.ID = c.ID
	return &r, nil
}

// Summary is one line on r: "MESH-HTTP failed: 9 passed, 2 failed, 3 skipped, 0 not run".
func (r *Result) Summary() string {
	return fmt.Sprintf("%s %s: %d passed, %d failed, %d skipped, %d not run", r.Profile, r.Outcome,
		r.Counts.Passed, r.Counts.Failed, r.Counts.Skipped, r.Counts.NotRun)
}
