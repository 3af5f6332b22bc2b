package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshperf/meshperf/internal/cluster"
	"github.com/meshperf/meshperf/internal/meshmetrics"
	"github.com/meshperf/meshperf/kube"
)

type clusterMetricsFlags struct {
	clusterFlags
	prometheus string
	mesh       string
	workload   string
	window     time.Duration
	edges      bool
	services   bool
	service    string
}

func newClusterMetricsCmd(stdio IO) *cobra.Command {
	var f clusterMetricsFlags
	cmd := &cobra.Command{
		Use:   "metrics",
		Short: "What the mesh reports about its traffic: per-workload request rate, success rate and latency percentiles from Prometheus",
		Long: `meshperf cluster metrics reads the mesh's own metrics from Prometheus
(Istio's istio_requests_total and istio_request_duration_milliseconds,
Linkerd's request_total, response_total and response_latency_ms) and shows,
per workload, with --edges per source → destination and with --services
(or --service NAME) per destination Service, the request rate,
success rate and p50/p90/p99 latency over --window. -o smi writes SMI's
TrafficMetricsList (metrics.smi-spec.io/v1alpha1). With --mesh auto the
mesh is the one the cluster's inventory finds (--kubeconfig); a mesh whose
metrics Prometheus lacks is reported missing, never as zero traffic.`,
		Example: `  meshperf cluster metrics --prometheus http://127.0.0.1:9090 -n shop
  meshperf cluster metrics --prometheus http://127.0.0.1:9090 --mesh linkerd -n emojivoto --workload web --edges -o smi`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.check(); err != nil {
				return err
			}
			return runClusterMetrics(cmd.Context(), stdio.Out, f)
		},
	}
	f.register(cmd)
	cmd.Flags().Lookup("output").Usage = "text, json or smi"
	cmd.Flags().StringVarP(&f.ns, "namespace", "n", "", "only this namespace (default all)")
	cmd.Flags().StringVar(&f.prometheus, "prometheus", "", "Prometheus URL scraping the mesh's proxies (required)")
	cmd.Flags().StringVar(&f.mesh, "mesh", "auto", "istio, linkerd, osm, or auto (the meshes the cluster's inventory finds)")
	cmd.Flags().StringVar(&f.workload, "workload", "", "only this workload (with -n)")
	cmd.Flags().DurationVar(&f.window, "window", meshmetrics.DefaultWindow, "span the rates and percentiles cover (10s to 24h, whole seconds)")
	cmd.Flags().BoolVar(&f.edges, "edges", false, "also the traffic of each source → destination pair")
	cmd.Flags().BoolVar(&f.services, "services", false, "also the traffic to each destination Service")
	cmd.Flags().StringVar(&f.service, "service", "", "the traffic to this Service (with -n; implies --services)")
	return cmd
}

func (f *clusterMetricsFlags) check() error {
	out := f.output
	if out == "smi" {
		f.output = "json" // for clusterFlags.check
	}
	err := f.clusterFlags.check()
	f.output = out
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	if f.prometheus == "" {
		errs = append(errs, usageErrorf("--prometheus: give the URL of the Prometheus scraping the mesh's proxies"))
	}
	if f.mesh != "auto" {
		if _, ok := meshmetrics.QuerySetFor(f.mesh); !ok {
			errs = append(errs, usageErrorf("--mesh %q: want auto, istio or linkerd", f.mesh))
		}
	}
	q := meshmetrics.Query{Mesh: "istio", Namespace: f.ns, Workload: f.workload, Service: f.service, Window: f.window}
	if err := q.Validate(); err != nil {
		errs = append(errs, usageErrorf("%v", err))
	}
	return errors.Join(errs...)
}

func runClusterMetrics(ctx context.Context, out io.Writer, f clusterMetricsFlags) error {
	src, err := meshmetrics.NewPrometheus(f.prometheus, nil)
	if err != nil {
		return usageErrorf("--prometheus: %v", err)
	}
	meshes := []string{f.mesh}
	var snap *cluster.Snapshot
	if f.mesh == "auto" {
		s, err := cluster.ReadOnce(ctx, f.cfg, f.wait)
		if errors.Is(err, kube.ErrNoKubeconfig) {
			return usageErrorf("--mesh auto reads the cluster to find its mesh, and there is none (%v): name the mesh with --mesh istio|linkerd", err)
		}
		if err != nil {
			return err
		}
		snap = &s
		meshes = meshesWithMetrics(s, f.ns, f.workload)
		if len(meshes) == 0 {
			return fmt.Errorf("no mesh with traffic metrics (istio, linkerd, osm) carries %s in the cluster; name one with --mesh", orAll(f.ns, f.workload))
		}
	}
	var reports []*meshmetrics.Report
	for _, m := range meshes {
		rep, err := src.Traffic(ctx, meshmetrics.Query{Mesh: m, Namespace: f.ns, Workload: f.workload, Window: f.window, Edges: f.edges,
			Services: f.services, Service: f.service})
		if err != nil {
			return err
		}
		if snap != nil {
			rep.ResolveKinds(snap.WorkloadKind)
		}
		reports = append(reports, rep)
	}
	switch f.output {
	case "json":
		return writeJSON(out, reports)
	case "smi":
		sel := meshmetrics.SMIResource{Kind: "Workload", Namespace: f.ns, Name: f.workload}
		if f.service != "" && f.workload == "" {
			sel = meshmetrics.SMIResource{Kind: "Service", Namespace: f.ns, Name: f.service}
		}
		if len(reports) == 1 {
			return writeJSON(out, reports[0].SMI(sel))
		}
		lists := make([]meshmetrics.SMIList, 0, len(reports))
		for _, r := range reports {
			lists = append(lists, r.SMI(sel))
		}
		return writeJSON(out, lists)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, r := range reports {
		fmt.Fprintf(tw, "mesh %s, %s, the %s to %s\n", r.Mesh, r.Source, r.Window, r.At.Format(time.RFC3339))
		if r.Missing != "" {
			fmt.Fprintf(tw, "missing: %s\n\n", r.Missing)
			continue
		}
		fmt.Fprintln(tw, "NAMESPACE\tWORKLOAD\tRPS\tSUCCESS\tP50\tP90\tP99")
		var notes []string
		for _, w := range r.Workloads {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", w.Namespace, w.Name, figureCells(w.Figures))
			for _, m := range w.Missing {
				notes = append(notes, w.String()+": "+m)
			}
		}
		if len(r.Workloads) == 0 {
			fmt.Fprintln(tw, "(no workload received requests in the window)")
		}
		if f.edges {
			fmt.Fprintln(tw, "\nSOURCE\tDESTINATION\tRPS\tSUCCESS\tP50\tP90\tP99")
			for _, e := range r.Edges {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", e.Source, e.Destination, figureCells(e.Figures))
				for _, m := range e.Missing {
					notes = append(notes, e.Source.String()+" → "+e.Destination.String()+": "+m)
				}
			}
		}
		if r.Services != nil {
			fmt.Fprintln(tw, "\nSERVICE\tSIDE\tRPS\tSUCCESS\tP50\tP90\tP99")
			for _, sv := range r.Services {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", sv.Resource, cmp.Or(sv.Side, "–"), figureCells(sv.Figures))
				for _, m := range sv.Missing {
					notes = append(notes, "Service "+sv.String()+": "+m)
				}
			}
			if len(r.Services) == 0 {
				fmt.Fprintln(tw, "(no Service received requests in the window)")
			}
		}
		for _, n := range notes {
			fmt.Fprintf(tw, "missing: %s\n", n)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// figureCells are a row's RPS, SUCCESS, P50, P90, P99 cells.
func figureCells(f meshmetrics.Figures) string {
	cell := func(v *float64, format string, scale float64) string {
		if v == nil {
			return "–"
		}
		return fmt.Sprintf(format, *v*scale)
	}
	return strings.Join([]string{cell(f.RequestRate, "%.2f", 1), cell(f.SuccessRate, "%.2f%%", 100),
		cell(f.P50Ms, "%.4g ms", 1), cell(f.P90Ms, "%.4g ms", 1), cell(f.P99Ms, "%.4g ms", 1)}, "\t")
}

// meshesWithMetrics are the meshes with a query set that carry the
// workload (or any pod of the namespace, or any at all).
func meshesWithMetrics(s cluster.Snapshot, ns, workload string) []string {
	var out []string
	for _, m := range s.Meshes {
		if _, ok := meshmetrics.QuerySetFor(m.Mesh); !ok {
			continue
		}
		for _, w := range s.Workloads {
			if w.Mesh == m.Mesh && (ns == "" || w.Namespace == ns) && (workload == "" || w.Name == workload) {
				out = append(out, m.Mesh)
				break
			}
		}
	}
	return out
}

func orAll(ns, workload string) string {
	switch {
	case workload != "":
		return "workload " + ns + "/" + workload
	case ns != "":
		return "namespace " + ns
	}
	return "any workload"
}
