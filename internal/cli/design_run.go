package cli

import (
	"context"

	"github.com/meshperf/meshperf/spec"
)

// profileDesigns puts the designs a profile names (meshperf.designs) on
// the cluster of --kubeconfig/--kube-context (else $KUBECONFIG, else
// ~/.kube/config) before `meshperf run` loads, and returns what takes
// them off after the run (designs marked keep stay).
func (o *runOptions) profileDesigns(ctx context.Context, stdio IO, g *globalOptions, prof *spec.Profile) (func(context.Context) error, error) {
	nothing := func(context.Context) error { return nil }
	if prof == nil || prof.Meshperf == nil || len(prof.Meshperf.Designs) == 0 {
		return nothing, nil
	}
	if o.cluster.mode == "off" {
		return nil, usageErrorf("the profile names designs to put on the cluster (meshperf.designs), and --cluster off leaves the cluster alone: drop one or the other")
	}
	st, err := g.openStore(ctx)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return putDesigns(ctx, stdio, st, o.cluster.cfg, "run", prof.Meshperf.Designs)
}
