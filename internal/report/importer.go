package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/meshperf/meshperf/loadgen/fortio"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/spec/smp"
)

// ImportFormats are the formats Import reads ("auto" detects them).
var ImportFormats = []string{"auto", "json", "smp", "fortio", "meshery"}

// Import reads a result in one of ImportFormats: meshperf's JSON, SMP (YAML
// or JSON, snake_case, camelCase or protobuf's JSON form), fortio's JSON
// (and Nighthawk's fortio-format output), or a result Meshery stored (its
// runner_results, fortio's JSON each). "auto" tells them apart by their
// fields.
func Import(data []byte, format string) (*spec.Result, error) {
	switch format {
	case "json":
		var r spec.Result
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, fmt.Errorf("not a meshperf result: %w", err)
		}
		if r.ServiceTime == nil && r.Latency == nil {
			return nil, errors.New("not a meshperf result: no service_time")
		}
		return &r, nil
	case "smp":
		return smp.ParseResult(data)
	case "fortio":
		return fortio.Parse(data)
	case "meshery":
		return ParseMeshery(data)
	case "auto", "":
		return ParseOtherResult(data)
	}
	return nil, fmt.Errorf("format: want one of %s, not %q", strings.Join(ImportFormats, ", "), format)
}

// ParseOtherResult is Import with the format detected.
func ParseOtherResult(data []byte) (*spec.Result, error) {
	s := string(data)
	has := func(keys ...string) bool {
		for _, k := range keys {
			if strings.Contains(s, k) {
				return true
			}
		}
		return false
	}
	switch {
	case has(`"schema"`) && has(spec.ResultSchema):
		return Import(data, "json")
	case has(`"runner_results"`):
		return Import(data, "meshery")
	case has("DurationHistogram"):
		return Import(data, "fortio")
	case has("latencies_ms", "latenciesMs", "actual_qps", "actualQps"):
		return Import(data, "smp")
	}
	return nil, errors.New("not a result meshperf can read (meshperf JSON, SMP, fortio or Nighthawk fortio-format JSON, a Meshery result); name one with --format")
}

// mesheryResult is a result as Meshery stores it: its runner's results
// (fortio's JSON, with Meshery's "load-generator" key) and its ids.
type mesheryResult struct {
	MesheryID          string            `json:"meshery_id"`
	Name               string            `json:"name"`
	Mesh               json.RawMessage   `json:"mesh"`
	PerformanceProfile string            `json:"performance_profile"`
	TestID             *string           `json:"test_id"`
	RunnerResults      []json.RawMessage `json:"runner_results"`
}

// maxRunnerResults bounds the runner results of one Meshery result.
const maxRunnerResults = 64

// ParseMeshery reads a result Meshery stored: each of its runner_results is
// read as fortio's JSON (fortio.Parse) and, when there are several (several
// load generator clients), merged. Its name, Meshery id and test id are
// kept (the ids as SMP's id and test_id).
func ParseMeshery(data []byte) (*spec.Result, error) {
	var m mesheryResult
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("meshery: not a Meshery result: %w", err)
	}
	switch n := len(m.RunnerResults); {
	case n == 0:
		return nil, errors.New("meshery: runner_results is empty: the result holds no measurement")
	case n > maxRunnerResults:
		return nil, fmt.Errorf("meshery: %d runner_results, more than %d", n, maxRunnerResults)
	}
	var rs []*spec.Result
	for i, raw := range m.RunnerResults {
		r, err := fortio.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("meshery: runner_results[%d]: %w", i, err)
		}
		var gen struct {
			LoadGenerator string `json:"load-generator"`
		}
		if json.Unmarshal(raw, &gen) == nil && gen.LoadGenerator != "" && gen.LoadGenerator != r.Generator.Name && len(gen.LoadGenerator) < 64 {
			r.Notes = append(r.Notes, "Meshery ran it with its "+gen.LoadGenerator+" load generator")
		}
		rs = append(rs, r)
	}
	r, err := spec.Merge(rs)
	if err != nil {
		return nil, fmt.Errorf("meshery: %w", err)
	}
	if m.Name != "" {
		r.Name = m.Name
	}
	refs := spec.SMPRefs{ID: m.MesheryID}
	if m.TestID != nil {
		refs.TestID = *m.TestID
	}
	if len(m.Mesh) > 0 && string(m.Mesh) != "null" {
		if n, err := spec.ParseMeshType(m.Mesh); err == nil {
			refs.MeshType = n
		} else {
			r.Notes = append(r.Notes, fmt.Sprintf("Meshery's mesh %s is not an SMP mesh type: %v", m.Mesh, err))
		}
	}
	if refs != (spec.SMPRefs{}) {
		r.SMP = &refs
	}
	r.Notes = append(r.Notes, fmt.Sprintf("imported from a result Meshery stored (%d runner result(s), performance profile %s)", len(rs), orNone(m.PerformanceProfile)))
	return r, nil
}
