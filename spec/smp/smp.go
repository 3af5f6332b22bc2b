// Package smp is the Service Mesh Performance result format: the
// PerformanceTestResult document (with meshperf's extension block, which
// plain SMP readers ignore) and ParseResult, which reads it in every
// spelling into a spec.Result. internal/report writes it (SMPResult and
// the strict form) and imports it through ParseResult.
package smp

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"sigs.k8s.io/yaml"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/spec"
)

// Version is the Service Mesh Performance version meshperf writes.
const Version = "v0.0.1"

// Result is SMP's PerformanceTestResult, plus meshperf's extension block.
type Result struct {
	SMPVersion   string            `json:"smp_version"`
	ID           string            `json:"id,omitempty"`
	TestID       string            `json:"test_id,omitempty"`
	MeshConfigID string            `json:"mesh_config_id,omitempty"`
	EnvID        string            `json:"env_id,omitempty"`
	DetailsURI   string            `json:"details_uri,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	StartTime    string            `json:"start_time,omitempty"`
	EndTime      string            `json:"end_time,omitempty"`
	LatenciesMs  *Latencies        `json:"latencies_ms"`
	ActualQPS    FlexFloat         `json:"actual_qps"`
	// MeshConfig is SMP's ServiceMeshConfig figures, from metrics with
	// well-known names (internal/report's smp_mesh.go).
	MeshConfig *MeshConfig `json:"mesh_config,omitempty"`
	// Mesh is Meshery's wrapper naming the service mesh: {type: 3}.
	Mesh     *Mesh      `json:"mesh,omitempty"`
	Meshperf *Extension `json:"meshperf,omitempty"`
}

// Mesh is Meshery's mesh: {type: N}, N being SMP's ServiceMesh.Type
// (a number; its name, such as ISTIO, is read too).
type Mesh struct {
	Type json.RawMessage `json:"type,omitempty"`
}

type Latencies struct {
	Min     FlexFloat `json:"min"`
	Average FlexFloat `json:"average"`
	P50     FlexFloat `json:"p50"`
	P90     FlexFloat `json:"p90"`
	P99     FlexFloat `json:"p99"`
	Max     FlexFloat `json:"max"`
}

// FlexFloat is a double as protobuf's JSON form may write it: a number, or
// a string holding one.
type FlexFloat float64

func (f *FlexFloat) UnmarshalJSON(b []byte) error {
	var v float64
	if err := json.Unmarshal(b, &v); err == nil {
		*f = FlexFloat(v)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a number, got %s", b)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("want a number, got %s", b)
	}
	*f = FlexFloat(v)
	return nil
}

// Extension is what SMP has no field for. Plain SMP readers ignore it.
type Extension struct {
	Schema      string             `json:"schema"`
	Name        string             `json:"name,omitempty"`
	Generator   spec.GeneratorInfo `json:"generator"`
	Requested   spec.Requested     `json:"requested"`
	Achieved    spec.Achieved      `json:"achieved"`
	StatusCodes map[int]int64      `json:"status_codes,omitempty"`
	Errors      []spec.ErrorClass  `json:"errors,omitempty"`
	Interrupted bool               `json:"interrupted,omitempty"`
	Notes       []string           `json:"notes,omitempty"`
	Process     *spec.ProcessStats `json:"process,omitempty"`
	Metrics     []spec.Metric      `json:"metrics,omitempty"`
	Mesh        *spec.MeshContext  `json:"mesh,omitempty"`

	// HistogramOf says which distribution latencies_ms and the histogram
	// describe: "latency" (open loop) or "service_time".
	HistogramOf string   `json:"histogram_of"`
	Count       int64    `json:"count"`
	StdDevMs    float64  `json:"stddev_ms"`
	P99_9Ms     *float64 `json:"p99_9_ms,omitempty"`
	// Percentiles is the whole percentile list (spec.Distribution's), so a
	// result comes back with every figure it had.
	Percentiles   []spec.Percentile `json:"percentiles,omitempty"`
	Histogram     string            `json:"histogram,omitempty"`
	HistogramUnit string            `json:"histogram_unit,omitempty"`
	Saturated     int64             `json:"saturated,omitempty"`
	// ServiceTime is the service-time distribution when the main one is
	// latency, so an open-loop result comes back whole.
	ServiceTime *spec.Distribution `json:"service_time,omitempty"`
}

// MeshConfig is the part of SMP's ServiceMeshConfig meshperf can fill.
type MeshConfig struct {
	Sidecar          *Resources `json:"sidecar,omitempty"`
	IngressGateway   *Resources `json:"ingress_gateway,omitempty"`
	MeshControlPlane *Resources `json:"mesh_control_plane,omitempty"`
	// MeshType and MTLSEnabled come from the cluster's mesh context
	// recorded at the run's start (spec.MeshContext).
	MeshType    int   `json:"mesh_type,omitempty"`
	MTLSEnabled *bool `json:"mtls_enabled,omitempty"`
}

// Resources is SMP's per-component figures.
type Resources struct {
	Count     *float64 `json:"count,omitempty"`
	CPUMcores *float64 `json:"cpu_mcores,omitempty"`
	MemMB     *float64 `json:"mem_mb,omitempty"`
}

// ParseResult reads an SMP PerformanceTestResult, in YAML or JSON, with
// snake_case or camelCase field names. A file written by SMPResult comes back
// with its histogram whole and its fidelity; a plain SMP result becomes a
// Result of fidelity "percentiles" whose service-time distribution holds only
// the latencies_ms figures.
func ParseResult(data []byte) (*spec.Result, error) {
	var raw any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("smp: malformed result: %w", err)
	}
	top, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("smp: not an SMP result: want a mapping at the top level, got %s", kindOf(raw))
	}
	norm, err := json.Marshal(snakeKeys(top))
	if err != nil {
		return nil, fmt.Errorf("smp: %w", err)
	}
	var doc Result
	if err := json.Unmarshal(norm, &doc); err != nil {
		return nil, fmt.Errorf("smp: not an SMP result: %w", err)
	}
	if doc.LatenciesMs == nil {
		return nil, errors.New("smp: not an SMP performance test result: no latencies_ms")
	}
	r := &spec.Result{
		Schema: spec.ResultSchema,
		ID:     doc.ID,
		Labels: doc.Labels,
	}
	for _, t := range []struct {
		field string
		s     string
		to    *time.Time
	}{{"start_time", doc.StartTime, &r.StartTime}, {"end_time", doc.EndTime, &r.EndTime}} {
		if t.s == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339Nano, t.s)
		if err != nil {
			return nil, fmt.Errorf("smp: %s: %w", t.field, err)
		}
		*t.to = v.UTC()
	}
	l := doc.LatenciesMs
	for _, v := range []struct {
		name string
		v    FlexFloat
	}{{"min", l.Min}, {"average", l.Average}, {"p50", l.P50}, {"p90", l.P90}, {"p99", l.P99}, {"max", l.Max}, {"actual_qps", doc.ActualQPS}} {
		if v.v < 0 || math.IsNaN(float64(v.v)) || math.IsInf(float64(v.v), 0) {
			return nil, fmt.Errorf("smp: latencies_ms.%s is %v: want a number of at least 0", v.name, float64(v.v))
		}
	}
	d := &spec.Distribution{MinMs: float64(l.Min), MeanMs: float64(l.Average), MaxMs: float64(l.Max)}
	refs := spec.SMPRefs{ID: doc.ID, TestID: doc.TestID, MeshConfigID: doc.MeshConfigID, EnvID: doc.EnvID, DetailsURI: doc.DetailsURI}
	if doc.Mesh != nil && len(doc.Mesh.Type) > 0 {
		n, err := spec.ParseMeshType(doc.Mesh.Type)
		if err != nil {
			return nil, fmt.Errorf("smp: mesh.type: %w", err)
		}
		refs.MeshType = n
	}
	if refs != (spec.SMPRefs{}) {
		r.SMP = &refs
	}

	ext := doc.Meshperf
	if ext == nil {
		r.Generator = spec.GeneratorInfo{Name: "unknown", Fidelity: "percentiles"}
		if gen := doc.Labels["load_generator"]; gen != "" && len(gen) < 64 {
			r.Generator.Name = gen
		}
		r.Achieved.RPS = float64(doc.ActualQPS)
		if !r.StartTime.IsZero() && r.EndTime.After(r.StartTime) {
			r.Achieved.Duration = spec.Duration(r.EndTime.Sub(r.StartTime))
		}
		if l.Max > 0 || l.P50 > 0 {
			d.Percentiles = spec.PercentilesOf(nil, map[float64]float64{50: float64(l.P50), 90: float64(l.P90), 99: float64(l.P99)}, float64(l.Max))
		}
		r.ServiceTime = d
		r.Notes = append(r.Notes, "imported from a plain SMP result: only min, average, p50, p90, p99 and max are known, with no histogram")
		return r, nil
	}

	r.Schema = ext.Schema
	if r.Schema == "" {
		r.Schema = spec.ResultSchema
	}
	r.Name = ext.Name
	r.Generator = ext.Generator
	r.Requested = ext.Requested
	r.Achieved = ext.Achieved
	r.Achieved.RPS = float64(doc.ActualQPS) // SMP's own field wins if they were edited apart
	r.StatusCodes = ext.StatusCodes
	r.Errors = ext.Errors
	r.Interrupted = ext.Interrupted
	r.Notes = ext.Notes
	r.Process, r.Metrics, r.Mesh = ext.Process, ext.Metrics, ext.Mesh
	d.Count, d.StdDevMs, d.Saturated = ext.Count, ext.StdDevMs, ext.Saturated
	d.Histogram, d.HistogramUnit = ext.Histogram, ext.HistogramUnit
	var h *hist.Histogram
	if d.Histogram != "" {
		if d.HistogramUnit != "" && d.HistogramUnit != hist.Unit {
			return nil, fmt.Errorf("smp: meshperf.histogram_unit %q, want %q", d.HistogramUnit, hist.Unit)
		}
		var err error
		if h, err = hist.Decode(d.Histogram); err != nil {
			return nil, fmt.Errorf("smp: meshperf.histogram: %w", err)
		}
	}
	// The file's own figures win over ones recomputed from the histogram,
	// so the summary comes back exactly as written.
	fixed := map[float64]float64{}
	for _, p := range ext.Percentiles {
		if p.P < 100 {
			fixed[p.P] = p.Ms
		}
	}
	fixed[50], fixed[90], fixed[99] = float64(l.P50), float64(l.P90), float64(l.P99)
	if ext.P99_9Ms != nil {
		fixed[99.9] = *ext.P99_9Ms
	}
	d.Percentiles = spec.PercentilesOf(h, fixed, float64(l.Max))
	switch ext.HistogramOf {
	case "latency":
		r.Latency = d
		r.ServiceTime = ext.ServiceTime
	case "service_time", "":
		r.ServiceTime = d
	default:
		return nil, fmt.Errorf("smp: meshperf.histogram_of %q: want latency or service_time", ext.HistogramOf)
	}
	if r.ServiceTime != nil && r.ServiceTime.Histogram != "" {
		if _, err := hist.Decode(r.ServiceTime.Histogram); err != nil {
			return nil, fmt.Errorf("smp: meshperf.service_time.histogram: %w", err)
		}
	}
	return r, nil
}

// snakeKeys rewrites camelCase keys (Meshery's newer schemas) to snake_case,
// leaving the keys of free-form maps (labels, status codes) alone.
func snakeKeys(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			sk := snake(k)
			if sk == "labels" || sk == "status_codes" {
				out[sk] = e
				continue
			}
			out[sk] = snakeKeys(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = snakeKeys(e)
		}
		return out
	default:
		return v
	}
}

// snake turns "latenciesMs" into "latencies_ms" and "detailsURI" into
// "details_uri"; snake_case is unchanged.
func snake(s string) string {
	var b strings.Builder
	prevUpper := true // no underscore before a leading capital
	for _, c := range s {
		upper := unicode.IsUpper(c)
		if upper {
			if !prevUpper && c != '_' {
				b.WriteByte('_')
			}
			c = unicode.ToLower(c)
		}
		prevUpper = upper || c == '_'
		b.WriteRune(c)
	}
	return b.String()
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "nothing"
	case []any:
		return "a list"
	case string:
		return "a string"
	default:
		return fmt.Sprintf("%T", v)
	}
}
