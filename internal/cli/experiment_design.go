package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/meshperf/meshperf/internal/design/lifecycle"
	"github.com/meshperf/meshperf/internal/experiment"
	"github.com/meshperf/meshperf/kube"
	"github.com/meshperf/meshperf/store"
)

// putDesigns applies the designs an experiment names, in order, each
// waited for until ready, on the cluster of $KUBECONFIG (or
// ~/.kube/config); it returns what deletes them again, in the reverse
// order, after the last cell. A design that is not ready stops the
// experiment before its first cell, and what was applied is deleted.
func putDesigns(ctx context.Context, stdio IO, st store.Store, refs []experiment.DesignRef) (func(context.Context) error, error) {
	nothing := func(context.Context) error { return nil }
	if len(refs) == 0 {
		return nothing, nil
	}
	c, err := lifecycle.Connect(kube.Config{})
	if err != nil {
		return nil, fmt.Errorf("experiment designs: %w", err)
	}
	type applied struct {
		ref experiment.DesignRef
		f   designKubeFlags
	}
	var done []applied
	takeDown := func(ctx context.Context) error {
		var errs []error
		for _, a := range slices.Backward(done) {
			if a.ref.Keep {
				continue
			}
			fmt.Fprintf(stdio.Err, "meshperf: experiment: deleting design %s\n", a.ref.Name)
			_, d, err := loadDesign(ctx, st, a.ref.Name, a.ref.Revision)
			if err == nil {
				err = runDesignVerb(ctx, IO{Out: stdio.Err, Err: stdio.Err}, c, d, "delete", a.f)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("experiment: delete design %s: %w", a.ref.Name, err))
			}
		}
		return errors.Join(errs...)
	}
	for _, ref := range refs {
		f := designKubeFlags{namespace: ref.Namespace, inject: ref.Inject, timeout: 5 * time.Minute}
		if ref.Timeout != "" {
			f.timeout, _ = time.ParseDuration(ref.Timeout) // checked by experiment.Load
		}
		f.noWait = f.timeout == 0
		_, d, err := loadDesign(ctx, st, ref.Name, ref.Revision)
		if err != nil {
			return nil, errors.Join(err, takeDown(context.WithoutCancel(ctx)))
		}
		fmt.Fprintf(stdio.Err, "meshperf: experiment: applying design %s\n", ref.Name)
		done = append(done, applied{ref, f})
		// Progress and the summary go to stderr: stdout is the report's.
		if err := runDesignVerb(ctx, IO{Out: stdio.Err, Err: stdio.Err}, c, d, "apply", f); err != nil {
			return nil, errors.Join(fmt.Errorf("experiment: design %s: %w", ref.Name, err), takeDown(context.WithoutCancel(ctx)))
		}
	}
	return takeDown, nil
}
