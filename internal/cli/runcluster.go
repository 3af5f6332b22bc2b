package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/meshperf/meshperf/internal/cluster"
	"github.com/meshperf/meshperf/kube"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

// runClusterFlags say whether and where `meshperf run` reads the cluster's
// mesh context at its start.
type runClusterFlags struct {
	mode string // auto or off
	cfg  kube.Config
}

func (f *runClusterFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.mode, "cluster", "auto", "record the Kubernetes cluster's mesh context (meshes, versions, the target Service's injection) in the result: auto (when a kubeconfig or in-cluster config is found; at most 5s, never fails the run) or off")
	fs.StringVar(&f.cfg.Kubeconfig, "kubeconfig", "", "with --cluster auto: kubeconfig file (default $KUBECONFIG, else ~/.kube/config, else the pod's service account)")
	fs.StringVar(&f.cfg.Context, "kube-context", "", "with --cluster auto: kubeconfig context (default its current-context)")
}

func (f *runClusterFlags) check() error {
	if f.mode != "auto" && f.mode != "off" {
		return usageErrorf("--cluster %q: want auto or off", f.mode)
	}
	return nil
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
