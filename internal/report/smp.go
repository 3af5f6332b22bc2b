package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"sigs.k8s.io/yaml"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/spec"
)

// SMPVersion is the Service Mesh Performance version meshperf writes.
const SMPVersion = "v0.0.1"

// SMPMeta carries the identifiers of an SMP result that a Result does not
// know. Empty fields are left out of the file, never filled with placeholders.
type SMPMeta struct {
	// ProfileID is the id of the test configuration (SMP test_id).
	ProfileID    string
	MeshConfigID string
	EnvID        string
	DetailsURI   string
}

// smpResult is SMP's PerformanceTestResult, plus meshperf's extension block.
type smpResult struct {
	SMPVersion   string            `json:"smp_version"`
	ID           string            `json:"id,omitempty"`
	TestID       string            `json:"test_id,omitempty"`
	MeshConfigID string            `json:"mesh_config_id,omitempty"`
	EnvID        string            `json:"env_id,omitempty"`
	DetailsURI   string            `json:"details_uri,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	StartTime    string            `json:"start_time,omitempty"`
	EndTime      string            `json:"end_time,omitempty"`
	LatenciesMs  *smpLatencies     `json:"latencies_ms"`
	ActualQPS    float64           `json:"actual_qps"`
	// MeshConfig is SMP's ServiceMeshConfig figures, from metrics with
	// well-known names (smp_mesh.go).
	MeshConfig *smpMeshConfig `json:"mesh_config,omitempty"`
	Meshperf   *smpExtension  `json:"meshperf,omitempty"`
}

type smpLatencies struct {
	Min     float64 `json:"min"`
	Average float64 `json:"average"`
	P50     float64 `json:"p50"`
	P90     float64 `json:"p90"`
	P99     float64 `json:"p99"`
	Max     float64 `json:"max"`
}

// smpExtension is what SMP has no field for. Plain SMP readers ignore it.
type smpExtension struct {
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

	// HistogramOf says which distribution latencies_ms and the histogram
	// describe: "latency" (open loop) or "service_time".
	HistogramOf   string   `json:"histogram_of"`
	Count         int64    `json:"count"`
	StdDevMs      float64  `json:"stddev_ms"`
	P99_9Ms       *float64 `json:"p99_9_ms,omitempty"`
	Histogram     string   `json:"histogram,omitempty"`
	HistogramUnit string   `json:"histogram_unit,omitempty"`
	Saturated     int64    `json:"saturated,omitempty"`
	// ServiceTime is the service-time distribution when the main one is
	// latency, so an open-loop result comes back whole.
	ServiceTime *spec.Distribution `json:"service_time,omitempty"`
}

// SMPResult writes r as an SMP PerformanceTestResult in YAML. latencies_ms
// describe the latency (corrected for coordinated omission) when r has it,
// else the service time; the meshperf block says which and carries the
// histogram whole.
func SMPResult(r *spec.Result, meta SMPMeta) ([]byte, error) {
	main, of := r.Latency, "latency"
	if main == nil {
		main, of = r.ServiceTime, "service_time"
	}
	if main == nil {
		return nil, errors.New("smp: result has no latency distribution")
	}
	x, err := readDist(main)
	if err != nil {
		return nil, fmt.Errorf("smp: %s: %w", of, err)
	}
	get := func(p float64) float64 { v, _ := x.pct(p); return v }
	mean, _ := x.mean()
	if meta.ProfileID == "" {
		meta.ProfileID = r.ProfileID
	}
	doc := smpResult{
		SMPVersion:   SMPVersion,
		ID:           r.ID,
		TestID:       meta.ProfileID,
		MeshConfigID: meta.MeshConfigID,
		EnvID:        meta.EnvID,
		DetailsURI:   meta.DetailsURI,
		Labels:       r.Labels,
		StartTime:    smpTime(r.StartTime),
		EndTime:      smpTime(r.EndTime),
		LatenciesMs: &smpLatencies{
			Min: main.MinMs, Average: mean, P50: get(50), P90: get(90), P99: get(99), Max: get(100),
		},
		ActualQPS: r.Achieved.RPS,
		Meshperf: &smpExtension{
			Schema:        r.Schema,
			Name:          r.Name,
			Generator:     r.Generator,
			Requested:     r.Requested,
			Achieved:      r.Achieved,
			StatusCodes:   r.StatusCodes,
			Errors:        r.Errors,
			Interrupted:   r.Interrupted,
			Notes:         r.Notes,
			Process:       r.Process,
			Metrics:       r.Metrics,
			HistogramOf:   of,
			Count:         main.Count,
			StdDevMs:      main.StdDevMs,
			P99_9Ms:       known(x.pct(99.9)),
			Histogram:     main.Histogram,
			HistogramUnit: main.HistogramUnit,
			Saturated:     main.Saturated,
		},
	}
	doc.MeshConfig = meshConfig(r.Metrics)
	if main.MinMs == 0 && x.h != nil && x.h.Count() > 0 {
		doc.LatenciesMs.Min = durMs(x.h.Min())
	}
	if doc.Meshperf.Schema == "" {
		doc.Meshperf.Schema = spec.ResultSchema
	}
	if of == "latency" {
		doc.Meshperf.ServiceTime = r.ServiceTime
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("smp: %w", err)
	}
	return out, nil
}

func smpTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// ParseSMPResult reads an SMP PerformanceTestResult, in YAML or JSON, with
// snake_case or camelCase field names. A file written by SMPResult comes back
// with its histogram whole and its fidelity; a plain SMP result becomes a
// Result of fidelity "percentiles" whose service-time distribution holds only
// the latencies_ms figures.
func ParseSMPResult(data []byte) (*spec.Result, error) {
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
	var doc smpResult
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
	d := &spec.Distribution{MinMs: l.Min, MeanMs: l.Average, MaxMs: l.Max}

	ext := doc.Meshperf
	if ext == nil {
		r.Generator = spec.GeneratorInfo{Name: "unknown", Fidelity: "percentiles"}
		r.Achieved.RPS = doc.ActualQPS
		if !r.StartTime.IsZero() && r.EndTime.After(r.StartTime) {
			r.Achieved.Duration = spec.Duration(r.EndTime.Sub(r.StartTime))
		}
		d.Percentiles = []spec.Percentile{{P: 50, Ms: l.P50}, {P: 90, Ms: l.P90}, {P: 99, Ms: l.P99}, {P: 100, Ms: l.Max}}
		r.ServiceTime = d
		r.Notes = append(r.Notes, "imported from a plain SMP result: only min, average, p50, p90, p99 and max are known, with no histogram")
		for _, id := range []struct{ name, v string }{{"test_id", doc.TestID}, {"mesh_config_id", doc.MeshConfigID}, {"env_id", doc.EnvID}, {"details_uri", doc.DetailsURI}} {
			if id.v != "" {
				r.Notes = append(r.Notes, "SMP "+id.name+": "+id.v)
			}
		}
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
	r.Achieved.RPS = doc.ActualQPS // SMP's own field wins if they were edited apart
	r.StatusCodes = ext.StatusCodes
	r.Errors = ext.Errors
	r.Interrupted = ext.Interrupted
	r.Notes = ext.Notes
	r.Process, r.Metrics = ext.Process, ext.Metrics
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
	fixed := map[float64]float64{50: l.P50, 90: l.P90, 99: l.P99, 100: l.Max}
	if ext.P99_9Ms != nil {
		fixed[99.9] = *ext.P99_9Ms
	}
	d.Percentiles = standardPercentiles(h, fixed)
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

// standardPercentiles lists meshperf's percentiles (and 100, the max) from h,
// taking the values in fixed first. Without h, only fixed are listed.
func standardPercentiles(h *hist.Histogram, fixed map[float64]float64) []spec.Percentile {
	var out []spec.Percentile
	for _, p := range append(append([]float64(nil), comparePercentiles...), 100) {
		if v, ok := fixed[p]; ok {
			out = append(out, spec.Percentile{P: p, Ms: v})
			continue
		}
		if h == nil || h.Count() == 0 {
			continue
		}
		v := h.Quantile(p / 100)
		if p == 100 {
			v = h.Max()
		}
		out = append(out, spec.Percentile{P: p, Ms: durMs(v)})
	}
	return out
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
