package report

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/spec/smp"
)

// SMPVersion is the Service Mesh Performance version meshperf writes.
const SMPVersion = smp.Version

// SMPMeta carries the identifiers of an SMP result that a Result does not
// know. Empty fields are left out of the file, never filled with placeholders.
type SMPMeta struct {
	// ProfileID is the id of the test configuration (SMP test_id).
	ProfileID    string
	MeshConfigID string
	EnvID        string
	DetailsURI   string
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
	doc := smp.Result{
		SMPVersion:   SMPVersion,
		ID:           id,
		TestID:       meta.ProfileID,
		MeshConfigID: meta.MeshConfigID,
		EnvID:        meta.EnvID,
		DetailsURI:   meta.DetailsURI,
		Labels:       r.Labels,
		StartTime:    smpTime(r.StartTime),
		EndTime:      smpTime(r.EndTime),
		LatenciesMs: &smp.Latencies{
			Min: smp.FlexFloat(f.min), Average: smp.FlexFloat(f.mean), P50: smp.FlexFloat(f.p50), P90: smp.FlexFloat(f.p90), P99: smp.FlexFloat(f.p99), Max: smp.FlexFloat(f.max),
		},
		ActualQPS: smp.FlexFloat(r.Achieved.RPS),
		Meshperf: &smp.Extension{
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
		doc.Mesh = &smp.Mesh{Type: json.RawMessage(strconv.Itoa(r.SMP.MeshType))}
	} else if doc.MeshConfig != nil && doc.MeshConfig.MeshType != 0 {
		doc.Mesh = &smp.Mesh{Type: json.RawMessage(strconv.Itoa(doc.MeshConfig.MeshType))}
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
