package meshmetrics

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/meshperf/meshperf/spec"
)

// RunTimeout bounds what FillRun spends on one run's queries.
const RunTimeout = time.Minute

// ForRuns is FillRun reading src, in the shape of runs.MeshTraffic; nil
// when src is nil.
func ForRuns(src Source) func(ctx context.Context, mc *spec.MeshContext, start, end time.Time) {
	if src == nil {
		return nil
	}
	source := "mesh metrics"
	if p, ok := src.(*Prometheus); ok {
		source = "prometheus " + p.URL()
	}
	return func(ctx context.Context, mc *spec.MeshContext, start, end time.Time) {
		FillRun(ctx, src, source, mc, start, end)
	}
}

// FillRun adds to each target of mc matched to a meshed Service what the
// mesh reported about its workloads over [start, end] (a run's measured
// window, in whole seconds, at least MinWindow ending at end). A target
// whose mesh has no query set, or a query that fails, is kept with the
// reason; nothing ever fails the run.
func FillRun(ctx context.Context, src Source, source string, mc *spec.MeshContext, start, end time.Time) {
	if mc == nil || src == nil || !end.After(start) {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, RunTimeout)
	defer cancel()
	window := end.Sub(start).Truncate(time.Second)
	window = min(max(window, MinWindow), MaxWindow)
	for i := range mc.Targets {
		t := &mc.Targets[i]
		if t.Mesh == "" || len(t.Workloads) == 0 {
			continue
		}
		for _, w := range t.Workloads {
			_, name, _ := strings.Cut(w, "/")
			mt := spec.MeshTraffic{Workload: w, Source: source, Start: end.Add(-window).UTC(), End: end.UTC()}
			rep, err := src.Traffic(ctx, Query{Mesh: t.Mesh, Namespace: t.Namespace, Workload: name, Window: window, At: end})
			switch {
			case err != nil:
				mt.Missing = []string{err.Error()}
			case rep.Missing != "":
				mt.Missing = []string{rep.Missing}
			case len(rep.Workloads) == 0:
				mt.Missing = []string{fmt.Sprintf("no traffic reported for %s/%s", t.Namespace, name)}
			default:
				f := rep.Workloads[0].Figures
				mt.RequestRate, mt.SuccessRate, mt.P50Ms, mt.P90Ms, mt.P99Ms, mt.Missing = f.RequestRate, f.SuccessRate, f.P50Ms, f.P90Ms, f.P99Ms, f.Missing
			}
			t.Traffic = append(t.Traffic, mt)
		}
	}
}
