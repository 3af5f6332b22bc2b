package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/meshperf/meshperf/internal/design"
	"github.com/meshperf/meshperf/internal/design/lifecycle"
	"github.com/meshperf/meshperf/kube"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

// putDesigns applies the designs an experiment or a profile names
// (who says which, in messages), in order, each waited for until ready,
// on the cluster cfg names ($KUBECONFIG or ~/.kube/config when empty); it
// returns what deletes them again, in the reverse order, after the last
// cell or the run. Each design is read from the store once, so what is
// deleted is what was applied, whatever is stored meanwhile. A design
// that is not ready stops before the first cell or the run, and what was
// applied is deleted.
func putDesigns(ctx context.Context, stdio IO, st store.Store, cfg kube.Config, who string, refs []spec.DesignRef) (func(context.Context) error, error) {
	nothing := func(context.Context) error { return nil }
	if len(refs) == 0 {
		return nothing, nil
	}
	c, err := lifecycle.Connect(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s names designs to put on a cluster: %w", who, err)
	}
	// Progress and summaries go to stderr: stdout is the report's.
	errIO := IO{Out: stdio.Err, Err: stdio.Err}
	type applied struct {
		ref spec.DesignRef
		d   *design.Design
		f   designKubeFlags
	}
	var done []applied
	takeDown := func(ctx context.Context) error {
		var errs []error
		for _, a := range slices.Backward(done) {
			if a.ref.Keep {
				continue
			}
			fmt.Fprintf(stdio.Err, "meshperf: %s: deleting design %s\n", who, a.ref.Name)
			if err := runDesignVerb(ctx, errIO, c, a.d, "delete", a.f); err != nil {
				errs = append(errs, fmt.Errorf("%s: delete design %s: %w", who, a.ref.Name, err))
			}
		}
		return errors.Join(errs...)
	}
	for _, ref := range refs {
		f := designKubeFlags{namespace: ref.Namespace, inject: ref.Inject, timeout: 5 * time.Minute}
		if ref.Timeout != "" {
			f.timeout, _ = time.ParseDuration(ref.Timeout) // checked when the file was read
		}
		f.noWait = f.timeout == 0
		_, d, err := loadDesign(ctx, st, ref.Name, ref.Revision)
		if err != nil {
			return nil, errors.Join(err, takeDown(context.WithoutCancel(ctx)))
		}
		fmt.Fprintf(stdio.Err, "meshperf: %s: applying design %s\n", who, ref.Name)
		done = append(done, applied{ref, d, f})
		if err := runDesignVerb(ctx, errIO, c, d, "apply", f); err != nil {
			return nil, errors.Join(fmt.Errorf("%s: design %s: %w", who, ref.Name, err), takeDown(context.WithoutCancel(ctx)))
		}
	}
	return takeDown, nil
}
