package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meshperf/meshperf/internal/api"
	"github.com/meshperf/meshperf/internal/capacity"
	"github.com/meshperf/meshperf/internal/client"
	"github.com/meshperf/meshperf/spec"
)

// capacityRemote runs the search on the server: it submits the profile
// and the options, prints each step as the server's events bring it,
// cancels the search on Ctrl-C, and prints the server's report as a local
// search does, with the same exit status.
func capacityRemote(ctx context.Context, cmd *cobra.Command, stdio IO, o *capacityOptions, copts capacity.Options, c *client.Client, targets []string) error {
	req, err := o.remoteRequest(stdio, cmd.Flags().Changed, copts, targets)
	if err != nil {
		return err
	}
	run, err := c.SubmitCapacity(ctx, req)
	if err != nil {
		return withProfileHint(ctx, c, req.Profile, err)
	}
	fmt.Fprintf(stdio.Err, "meshperf: capacity search %s queued on %s\n", run.ID, c.BaseURL())
	onEvent := func(e api.Event) error {
		if e.Type == "step" && e.Step != nil {
			printStep(stdio, *e.Step)
		}
		return nil
	}
	err = c.Events(ctx, run.ID, onEvent)
	if ctx.Err() != nil {
		// Ctrl-C: cancel the search on the server, which keeps its steps,
		// and wait for it to end.
		var cancel context.CancelFunc
		ctx, cancel, err = cancelRemote(ctx, stdio, c, "capacity search", run.ID)
		defer cancel()
	}
	if err != nil {
		return apiError(c, err)
	}
	v, err := c.GetCapacity(ctx, run.ID)
	if err != nil {
		return apiError(c, err)
	}
	if v.Report == nil || v.Run == nil {
		return fmt.Errorf("capacity search %s on %s: no report", run.ID, c.BaseURL())
	}
	fmt.Fprintf(stdio.Err, "meshperf: capacity search %s %s on %s\n", run.ID, v.Run.State, c.BaseURL())
	if v.Report.Tolerance == 0 {
		// Only a report the search finished has its options: this one is
		// the steps so far of a search refused or failed at its start,
		// and the run says why.
		return fmt.Errorf("capacity search %s %s on %s: %s", run.ID, v.Run.State, c.BaseURL(), dash(v.Run.Error))
	}
	if err := o.writeReport(stdio, v.Report); err != nil {
		return err
	}
	var searchErr error
	if v.Report.Outcome == capacity.OutcomeFailed {
		searchErr = errors.New(dash(v.Run.Error))
	}
	return capacityExit(v.Report, searchErr)
}

// remoteRequest is the capacity request the flags and the profile make;
// flags a server cannot honour are refused, naming them.
func (o *capacityOptions) remoteRequest(stdio IO, changed func(string) bool, copts capacity.Options, targets []string) (req api.CapacityRequest, err error) {
	// runFlags' local rows that capacity has: --no-save, --generator.
	if refused := flagsWhere(changed, func(f runFlag) bool { return f.local }); len(refused) > 0 {
		return req, usageErrorf("%s: not supported against a server (it stores every step, on its own engine); run without --server", strings.Join(refused, ", "))
	}
	var prof *spec.Profile
	switch {
	case o.run.file != "" && o.run.profileRef != "":
		return req, usageErrorf("-f and --profile: give one, not both")
	case o.run.file != "" || o.run.profileRef != "":
		if len(targets) > 0 {
			return req, usageErrorf("capacity: URLs that replace a profile's are not supported against a server yet")
		}
		if over := flagsWhere(changed, func(f runFlag) bool { return f.override }); len(over) > 0 {
			return req, usageErrorf("%s: flags that override a profile are not supported against a server yet; edit the profile", strings.Join(over, ", "))
		}
		if o.run.file == "" {
			req.Profile = o.run.profileRef
		} else if prof, err = readProfile(stdio, o.run.file, o.run.allowUnknown, "--allow-unknown-fields"); err != nil {
			return req, err
		}
	case len(targets) == 0:
		return req, usageErrorf("capacity: give a target URL, or a profile with -f FILE or --profile NAME")
	default:
		if prof, err = o.run.remoteProfile(targets); err != nil {
			return req, err
		}
	}
	if prof != nil {
		if req.ProfileDocument, err = prof.JSON(); err != nil {
			return req, err
		}
		if o.objective == "" && (prof.Meshperf == nil || len(prof.Meshperf.SLO) == 0) {
			return req, usageErrorf("--objective: at least one is needed (e.g. 'p99<=50ms,error_rate<0.1%%'), or a profile with meshperf.slo")
		}
	}
	if len(o.run.labels) > 0 {
		req.Labels = o.labels(prof)
	}
	step, warmup, pause := spec.Duration(o.stepDuration), spec.Duration(o.run.warmup), spec.Duration(copts.Pause)
	req.Objective, req.Metric = o.objective, o.metric
	req.MinRPS, req.MaxRPS, req.Tolerance = &copts.Min, &copts.Max, &copts.Tolerance
	req.Confirm, req.MaxSteps = &copts.Confirm, &copts.MaxSteps
	req.StepDuration, req.Warmup, req.Pause = &step, &warmup, &pause
	return req, nil
}
