package report

import (
	"encoding/json"
	"fmt"

	"github.com/meshperf/meshperf/spec"
)

// smpStrictResult is SMP's PerformanceTestResult exactly as the official
// .proto defines it (service-mesh-performance/protos/
// service_mesh_performance.proto), in protobuf's JSON form: lowerCamelCase
// names, timestamps in RFC 3339. Nothing else: a reader that refuses
// unknown fields reads it.
type smpStrictResult struct {
	SMPVersion   string             `json:"smpVersion"`
	ID           string             `json:"id,omitempty"`
	Labels       map[string]string  `json:"labels,omitempty"`
	StartTime    string             `json:"startTime,omitempty"`
	EndTime      string             `json:"endTime,omitempty"`
	LatenciesMs  smpStrictLatencies `json:"latenciesMs"`
	ActualQPS    float64            `json:"actualQps"`
	DetailsURI   string             `json:"detailsUri,omitempty"`
	TestID       string             `json:"testId,omitempty"`
	MeshConfigID string             `json:"meshConfigId,omitempty"`
	EnvID        string             `json:"envId,omitempty"`
}

type smpStrictLatencies struct {
	Min     float64 `json:"min"`
	Average float64 `json:"average"`
	P50     float64 `json:"p50"`
	P90     float64 `json:"p90"`
	P99     float64 `json:"p99"`
	Max     float64 `json:"max"`
}

// SMPResultStrict writes r as an SMP PerformanceTestResult with only the
// official proto's fields, in protobuf's JSON form (export format
// "smp-strict"). The figures are the ones SMPResult writes (the same
// percentile list); what SMP has no field for (the histogram, the requested
// load, status codes, Meshery's mesh wrapper) is left out: SMPResult's form
// carries it.
func SMPResultStrict(r *spec.Result, meta SMPMeta) ([]byte, error) {
	f, err := smpFiguresOf(r)
	if err != nil {
		return nil, err
	}
	meta, id := smpMeta(r, meta)
	doc := smpStrictResult{
		SMPVersion:   SMPVersion,
		ID:           id,
		Labels:       r.Labels,
		StartTime:    smpTime(r.StartTime),
		EndTime:      smpTime(r.EndTime),
		LatenciesMs:  smpStrictLatencies{Min: f.min, Average: f.mean, P50: f.p50, P90: f.p90, P99: f.p99, Max: f.max},
		ActualQPS:    r.Achieved.RPS,
		DetailsURI:   meta.DetailsURI,
		TestID:       meta.ProfileID,
		MeshConfigID: meta.MeshConfigID,
		EnvID:        meta.EnvID,
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("smp: %w", err)
	}
	return append(b, '\n'), nil
}
