// Package smi is meshperf's own conformance test set for the Service Mesh
// Interface (SMI): for each SMI API group the cluster serves
// (split.smi-spec.io TrafficSplit, access.smi-spec.io TrafficTarget,
// specs.smi-spec.io HTTPRouteGroup), at the newest version it serves, it
// sends requests from client pods through an echo harness (Istio's echo
// app, the image the Gateway API suite's mesh tests use) and checks that
// the mesh did what the resources say: weights honoured within a binomial
// bound, access allowed and denied, routes matched by path, method and
// header. What it found is a result.Result (profile SMI), stored and
// reported as the Gateway API suite's results are.
//
// The SMI project is archived; the specifications covered and their
// versions are listed in docs/conformance.md ("SMI").
package smi

import "errors"

// Profile is the name the SMI test set runs under (meshperf conformance
// run --profile SMI).
const Profile = "SMI"

// Kind is the result's kind (the Gateway API suite's is "gateway-api").
const Kind = "smi"

// SetVersion is the version of this test set; a result's suite version
// is it with the SMI versions tested ("meshperf-smi/1 split/v1alpha4 ...").
const SetVersion = "meshperf-smi/1"

// RunLabel marks the namespace a run creates with the run's random id
// (the same label as the Gateway API suite's runs, internal/conformance).
const RunLabel = "meshperf.io/conformance-run"

// Sentinel errors, matched with errors.Is by callers choosing an exit
// status.
var (
	// ErrInput: wrong options (nothing was started).
	ErrInput = errors.New("invalid SMI conformance options")
	// ErrNoSMI: the cluster serves no SMI API group at a version this
	// test set knows.
	ErrNoSMI = errors.New("SMI CRDs missing")
)
