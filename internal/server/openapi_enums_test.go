package server_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/meshperf/meshperf/internal/agents"
	"github.com/meshperf/meshperf/internal/auth"
	"github.com/meshperf/meshperf/internal/meshmetrics"
	"github.com/meshperf/meshperf/internal/server"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

// goEnum is the values a Go enum has, each with the name of its constant.
type goEnum map[string]string

func enumOf(names ...string) func(values ...string) goEnum {
	return func(values ...string) goEnum {
		e := goEnum{}
		for i, v := range values {
			e[v] = names[i]
		}
		return e
	}
}

// add adds the values of o that e lacks (a code two packages both define
// is one value).
func (e goEnum) add(o goEnum) goEnum {
	for v, name := range o {
		if _, ok := e[v]; !ok {
			e[v] = name
		}
	}
	return e
}

// docEnums finds every enum in the document, each named by where it is:
// "Run.state" for a component's property, "GET /api/v1/runs ?state" for a
// parameter.
func docEnums(doc map[string]any) map[string][]string {
	out := map[string][]string{}
	var walk func(label string, v any)
	walk = func(label string, v any) {
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		if e, ok := m["enum"].([]any); ok {
			for _, x := range e {
				out[label] = append(out[label], fmt.Sprint(x))
			}
		}
		if props, ok := m["properties"].(map[string]any); ok {
			for k, p := range props {
				walk(label+"."+k, p)
			}
		}
		for _, k := range []string{"items", "additionalProperties", "schema"} {
			walk(label, m[k])
		}
		for _, k := range []string{"allOf", "anyOf", "oneOf"} {
			l, _ := m[k].([]any)
			for _, s := range l {
				walk(label, s)
			}
		}
	}
	components, _ := doc["components"].(map[string]any)
	schemas, _ := components["schemas"].(map[string]any)
	for name, s := range schemas {
		walk(name, s)
	}
	paths, _ := doc["paths"].(map[string]any)
	for path, v := range paths {
		methods, _ := v.(map[string]any)
		for method, op := range methods {
			o, _ := op.(map[string]any)
			params, _ := o["parameters"].([]any)
			for _, p := range params {
				pm, _ := p.(map[string]any)
				walk(fmt.Sprintf("%s %s ?%v", strings.ToUpper(method), path, pm["name"]), pm)
			}
		}
	}
	return out
}

// TestOpenAPIEnums checks each enum written by hand in openapi.json against
// the Go constants it stands for: a value in Go and not in the document, or
// in the document and not in Go, fails with its name. An enum in the
// document that the table below does not name fails too, so a new one is
// either tied to its constants or listed as having none.
func TestOpenAPIEnums(t *testing.T) {
	runStates := enumOf("store.RunQueued", "store.RunRunning", "store.RunSucceeded", "store.RunDegraded",
		"store.RunFailed", "store.RunCancelled", "store.RunInterrupted", "store.RunMissed")(
		store.RunQueued, store.RunRunning, store.RunSucceeded, store.RunDegraded,
		store.RunFailed, store.RunCancelled, store.RunInterrupted, store.RunMissed)
	if len(runStates) != len(store.RunStates) {
		t.Fatalf("store.RunStates has %d states, this test names %d: name the new one here", len(store.RunStates), len(runStates))
	}
	errorCodes := enumOf("server.CodeBadRequest", "server.CodeInvalid", "server.CodeNotFound", "server.CodeConflict",
		"server.CodeForbidden", "server.CodeTooLarge", "server.CodeMethodNotAllowed", "server.CodeInternal", "server.CodeUnavailable")(
		server.CodeBadRequest, server.CodeInvalid, server.CodeNotFound, server.CodeConflict,
		server.CodeForbidden, server.CodeTooLarge, server.CodeMethodNotAllowed, server.CodeInternal, server.CodeUnavailable,
	).add(enumOf("auth.CodeUnauthenticated", "auth.CodeInvalidCredentials", "auth.CodeTokenExpired", "auth.CodeTokenRevoked",
		"auth.CodeTokenReused", "auth.CodeForbidden", "auth.CodeConflict", "auth.CodeNotFound", "auth.CodeInvalidArgument",
		"auth.CodeRateLimited", "auth.CodeInternal")(
		auth.CodeUnauthenticated, auth.CodeInvalidCredentials, auth.CodeTokenExpired, auth.CodeTokenRevoked,
		auth.CodeTokenReused, auth.CodeForbidden, auth.CodeConflict, auth.CodeNotFound, auth.CodeInvalidArgument,
		auth.CodeRateLimited, auth.CodeInternal))
	exportFormats := goEnum{}
	for _, f := range server.ExportFormats() {
		exportFormats[f] = "server's exportFormats[" + f + "]"
	}

	meshSets := goEnum{}
	for _, q := range meshmetrics.QuerySets {
		meshSets[q.Mesh] = "meshmetrics.QuerySets[" + q.Mesh + "]"
	}

	want := map[string]goEnum{
		"GET /api/v1/cluster/metrics ?mesh":       meshSets,
		"Run.state":                               runStates,
		"GET /api/v1/runs ?state":                 runStates,
		"ErrorDetail.code":                        errorCodes,
		"AgentView.state":                         enumOf("agents.StateIdle", "agents.StateBusy", "agents.StateDisconnected")(agents.StateIdle, agents.StateBusy, agents.StateDisconnected),
		"Experiment.state":                        enumOf("store.ExperimentRunning", "store.ExperimentDone", "store.ExperimentFailed", "store.ExperimentInterrupted")(store.ExperimentRunning, store.ExperimentDone, store.ExperimentFailed, store.ExperimentInterrupted),
		"Verdict.status":                          enumOf("spec.VerdictMet", "spec.VerdictBroken", "spec.VerdictNotEvaluated")(spec.VerdictMet, spec.VerdictBroken, spec.VerdictNotEvaluated),
		"Me.via":                                  enumOf("auth.ViaJWT", "auth.ViaAPIToken")(auth.ViaJWT, auth.ViaAPIToken),
		"GET /api/v1/results/{id}/export ?format": exportFormats,
	}
	// Enums whose values are string literals in the code, with no constants
	// to compare them with.
	noConstants := []string{"Event.type", "Info.mode", "VerdictsResponse.source", "ExperimentReport.latency", "GET /api/v1/cluster/metrics ?format"}

	got := docEnums(readDoc(t))
	for label, values := range got {
		w, ok := want[label]
		if !ok {
			if !slices.Contains(noConstants, label) {
				t.Errorf("%s: an enum in openapi.json that this test does not tie to Go constants", label)
			}
			continue
		}
		for _, v := range values {
			if _, ok := w[v]; !ok {
				t.Errorf("%s: %q in openapi.json, not a Go constant", label, v)
			}
		}
		var missing []string
		for v, name := range w {
			if !slices.Contains(values, v) {
				missing = append(missing, fmt.Sprintf("%s: %q (%s) in Go, missing from openapi.json", label, v, name))
			}
		}
		sort.Strings(missing)
		for _, m := range missing {
			t.Error(m)
		}
	}
	for label := range want {
		if _, ok := got[label]; !ok {
			t.Errorf("%s: no enum in openapi.json", label)
		}
	}
}
