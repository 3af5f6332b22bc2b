package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/meshperf/meshperf/internal/cluster"
	"github.com/meshperf/meshperf/internal/meshmetrics"
	"github.com/meshperf/meshperf/internal/runs"
	"github.com/meshperf/meshperf/kube"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

// runClusterFlags say whether and where `meshperf run` reads the cluster's
// mesh context at its start.
type runClusterFlags struct {
	mode     string // auto or off
	cfg      kube.Config
	meshProm string // run only: Prometheus with the mesh's metrics
}

func (f *runClusterFlags) register(fs *pflag.FlagSet) {
	f.registerAs(fs, "record the Kubernetes cluster's mesh context (meshes, versions, the target Service's injection) in the result: auto (when a kubeconfig or in-cluster config is found; at most 5s, never fails the run) or off")
	fs.StringVar(&f.meshProm, "mesh-prometheus", "", "with a cluster: Prometheus scraping the mesh's proxies; what the mesh saw of the target's workloads over the run is kept beside meshperf's figures")
}

func (f *runClusterFlags) registerAs(fs *pflag.FlagSet, usage string) {
	fs.StringVar(&f.mode, "cluster", "auto", usage)
	fs.StringVar(&f.cfg.Kubeconfig, "kubeconfig", "", "with --cluster auto: kubeconfig file (default $KUBECONFIG, else ~/.kube/config, else the pod's service account)")
	fs.StringVar(&f.cfg.Context, "kube-context", "", "with --cluster auto: kubeconfig context (default its current-context)")
}

func (f *runClusterFlags) check() error {
	if f.mode != "auto" && f.mode != "off" {
		return usageErrorf("--cluster %q: want auto or off", f.mode)
	}
	if f.meshProm != "" {
		if _, err := meshmetrics.NewPrometheus(f.meshProm, nil); err != nil {
			return usageErrorf("--mesh-prometheus: %v", err)
		}
	}
	return nil
}

// meshTraffic reads, after the run, what the mesh reported about the
// targets' workloads over its measured window (--mesh-prometheus); nil
// without one.
func (f *runClusterFlags) meshTraffic() runs.MeshTraffic {
	if f.meshProm == "" {
		return nil
	}
	src, err := meshmetrics.NewPrometheus(f.meshProm, nil)
	if err != nil {
		return nil // check said so
	}
	return meshmetrics.ForRuns(src)
}

// meshContext reads the cluster's mesh context for the plans' targets;
// nil when off or no cluster is configured. A cluster that cannot be read
// is recorded in the context's error and said on errOut, never failing the
// run.
func (f *runClusterFlags) meshContext(ctx context.Context, errOut io.Writer, plans []*loadgen.Plan) *spec.MeshContext {
	if f.mode == "off" {
		return nil
	}
	var targets []string
	for _, p := range plans {
		targets = append(targets, p.Targets...)
	}
	mc, err := cluster.ContextFor(ctx, f.cfg, targets)
	if errors.Is(err, kube.ErrNoKubeconfig) && f.cfg.Kubeconfig == "" && f.cfg.Context == "" {
		return nil // no cluster configured: nothing to record
	}
	if err != nil {
		if mc.Error == "" {
			mc.Error = err.Error()
		}
		fmt.Fprintf(errOut, "meshperf: cluster context incomplete (kept in the result; --cluster off to skip): %v\n", err)
	}
	return &mc
}

// inventory starts, for meshperf server, a live inventory of the cluster
// the flags name, running until ctx ends; nil when off or none is
// configured. A kubeconfig named but unusable is an error; an API server
// that does not answer yet is said, and the inventory keeps trying.
func (f *runClusterFlags) inventory(ctx context.Context, errOut io.Writer, log *slog.Logger) (*cluster.Inventory, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	if f.mode == "off" {
		return nil, nil
	}
	rc, _, err := kube.RESTConfig(f.cfg)
	if errors.Is(err, kube.ErrNoKubeconfig) && f.cfg.Kubeconfig == "" && f.cfg.Context == "" {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	client, err := kube.Connect(f.cfg)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_, perr := client.Ping(pctx)
	cancel()
	inv, err := cluster.New(rc, cluster.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	go func() {
		if err := inv.Run(ctx); err != nil {
			log.Error("cluster inventory stopped", "err", err)
		}
	}()
	if perr != nil {
		fmt.Fprintf(errOut, "meshperf server: cluster %s: %v (its inventory keeps trying; /api/v1/cluster says what is pending)\n", rc.Host, perr)
	} else {
		fmt.Fprintf(errOut, "meshperf server: reading cluster %s (/api/v1/cluster; --cluster off to skip)\n", rc.Host)
	}
	return inv, nil
}
