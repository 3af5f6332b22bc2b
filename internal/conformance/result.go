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

import "github.com/meshperf/meshperf/internal/conformance/result"

// The result's types live in package result (no suite linked); these
// names are the ones this package and its callers use.
type (
	Status         = result.Status
	Result         = result.Result
	Implementation = result.Implementation
	Counts         = result.Counts
	TestResult     = result.TestResult
)

const (
	Pass   = result.Pass
	Fail   = result.Fail
	Skip   = result.Skip
	NotRun = result.NotRun

	OutcomePassed    = result.OutcomePassed
	OutcomeFailed    = result.OutcomeFailed
	OutcomeNotRun    = result.OutcomeNotRun
	OutcomeCancelled = result.OutcomeCancelled
)
