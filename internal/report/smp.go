package report

import (
	"cmp"
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
	ActualQPS    flexFloat         `json:"actual_qps"`
	// MeshConfig is SMP's ServiceMeshConfig figures, from metrics with
	// well-known names (smp_mesh.go).
	MeshConfig *smpMeshConfig `json:"mesh_config,omitempty"`
	// Mesh is Meshery's wrapper naming the service mesh: {type: 3}.
	Mesh     *smpMesh      `json:"mesh,omitempty"`
	Meshperf *smpExtension `json:"meshperf,omitempty"`
}

// smpMesh is Meshery's mesh: {type: N}, N being SMP's ServiceMesh.Type
// (a number; its name, such as ISTIO, is read too).
type smpMesh struct {
	Type json.RawMessage `json:"type,omitempty"`
}

type smpLatencies struct {
	Min     flexFloat `json:"min"`
	Average flexFloat `json:"average"`
	P50     flexFloat `json:"p50"`
	P90     flexFloat `json:"p90"`
	P99     flexFloat `json:"p99"`
	Max     flexFloat `json:"max"`
}

// flexFloat is a double as protobuf's JSON form may write it: a number, or
// a string holding one.
type flexFloat float64

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	var v float64
	if err := json.Unmarshal(b, &v); err == nil {
		*f = flexFloat(v)
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
	*f = flexFloat(v)
	return nil
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

// smpFigures are the latencies_ms figures both SMP forms write, from the
// result's main distribution (latency when it has one, else service time)
// and its one percentile list.
type smpFigures struct {
	main                          *spec.Distribution
	of                            string // "latency" or "service_time"
	x                             dist
	min, mean, p50, p90, p99, max float64
}

func smpFiguresOf(r *spec.Result) (smpFigures, error) {
	f := smpFigures{main: r.Latency, of: "latency"}
	if f.main == nil {
		f.main, f.of = r.ServiceTime, "service_time"
	}
	if f.main == nil {
		return f, errors.New("smp: result has no latency distribution")
	}
	x, err := readDist(f.main)
	if err != nil {
		return f, fmt.Errorf("smp: %s: %w", f.of, err)
	}
	get := func(p float64) float64 { v, _ := x.pct(p); return v }
	f.x = x
	f.mean, _ = x.mean()
	f.p50, f.p90, f.p99, f.max = get(50), get(90), get(99), get(100)
	f.min = f.main.MinMs
	if f.min == 0 && x.h != nil && x.h.Count() > 0 {
		f.min = durMs(x.h.Min())
	}
	return f, nil
}

// SMPResult writes r as an SMP PerformanceTestResult in YAML. latencies_ms
// describe the latency (corrected for coordinated omission) when r has it,
// else the service time; the meshperf block says which and carries the
// histogram whole.
func SMPResult(r *spec.Result, meta SMPMeta) ([]byte, error) {
	f, err := smpFiguresOf(r)
	if err != nil {
		return nil, err
	}
	main, x := f.main, f.x
	meta, id := smpMeta(r, meta)
	doc := smpResult{
		SMPVersion:   SMPVersion,
		ID:           id,
		TestID:       meta.ProfileID,
		MeshConfigID: meta.MeshConfigID,
		EnvID:        meta.EnvID,
		DetailsURI:   meta.DetailsURI,
		Labels:       r.Labels,
		StartTime:    smpTime(r.StartTime),
		EndTime:      smpTime(r.EndTime),
		LatenciesMs: &smpLatencies{
			Min: flexFloat(f.min), Average: flexFloat(f.mean), P50: flexFloat(f.p50), P90: flexFloat(f.p90), P99: flexFloat(f.p99), Max: flexFloat(f.max),
		},
		ActualQPS: flexFloat(r.Achieved.RPS),
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
			Mesh:          r.Mesh,
			HistogramOf:   f.of,
			Count:         main.Count,
			StdDevMs:      main.StdDevMs,
			P99_9Ms:       known(x.pct(99.9)),
			Percentiles:   main.Summary(),
			Histogram:     main.Histogram,
			HistogramUnit: main.HistogramUnit,
			Saturated:     main.Saturated,
		},
	}
	doc.MeshConfig = meshConfig(r.Metrics, r.Mesh)
	if r.SMP != nil && r.SMP.MeshType != 0 {
		doc.Mesh = &smpMesh{Type: json.RawMessage(strconv.Itoa(r.SMP.MeshType))}
	} else if doc.MeshConfig != nil && doc.MeshConfig.MeshType != 0 {
		doc.Mesh = &smpMesh{Type: json.RawMessage(strconv.Itoa(doc.MeshConfig.MeshType))}
	}
	if doc.Meshperf.Schema == "" {
		doc.Meshperf.Schema = spec.ResultSchema
	}
	if f.of == "latency" {
		doc.Meshperf.ServiceTime = r.ServiceTime
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("smp: %w", err)
	}
	return out, nil
}

// smpMeta fills meta's empty fields from what r keeps (the ids of the SMP
// result it was imported from, its profile) and returns the SMP id to write:
// the imported one, else r's own.
func smpMeta(r *spec.Result, meta SMPMeta) (SMPMeta, string) {
	id := r.ID
	if ref := r.SMP; ref != nil {
		if ref.ID != "" {
			id = ref.ID
		}
		meta.ProfileID = cmp.Or(meta.ProfileID, ref.TestID)
		meta.MeshConfigID = cmp.Or(meta.MeshConfigID, ref.MeshConfigID)
		meta.EnvID = cmp.Or(meta.EnvID, ref.EnvID)
		meta.DetailsURI = cmp.Or(meta.DetailsURI, ref.DetailsURI)
	}
	meta.ProfileID = cmp.Or(meta.ProfileID, r.ProfileID)
	return meta, id
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
	for _, v := range []struct {
		name string
		v    flexFloat
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
