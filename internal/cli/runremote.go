package cli

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshperf/meshperf/internal/api"
	"github.com/meshperf/meshperf/internal/client"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

// runRemote runs the test on the server: it submits the profile, shows the
// server's progress, cancels the run on Ctrl-C, and prints the result as a
// local run does, with the same exit status.
func runRemote(ctx context.Context, cmd *cobra.Command, stdio IO, o *runOptions, c *client.Client, targets []string) error {
	req, prof, objectives, err := o.remoteRequest(stdio, cmd.Flags().Changed, c, targets)
	if err != nil {
		return err
	}
	run, err := c.SubmitRun(ctx, req)
	if err != nil {
		return withProfileHint(ctx, c, req.Profile, err)
	}
	err = o.watchRemote(ctx, stdio, c, run.ID, prof)
	interrupted := ctx.Err() != nil
	if interrupted {
		// Ctrl-C: cancel the run on the server, which keeps what it
		// measured, and wait for it to end.
		var cancel context.CancelFunc
		ctx, cancel, err = cancelRemote(ctx, stdio, c, "run", run.ID)
		defer cancel()
	}
	if err != nil {
		return apiError(c, err)
	}
	return o.reportRemote(ctx, stdio, c, run.ID, interrupted, objectives)
}

// cancelRemote cancels run id on the server after a Ctrl-C (what of a
// run: "run", "capacity search") and waits for its events to end. The
// context it returns outlives the Ctrl-C (30 s), for what is read after;
// an error is the cancel's (other than the run having ended already) or
// the events'.
func cancelRemote(ctx context.Context, stdio IO, c *client.Client, what, id string) (context.Context, context.CancelFunc, error) {
	fmt.Fprintf(stdio.Err, "meshperf: cancelling %s %s on %s\n", what, id, c.BaseURL())
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	var ae *client.Error
	if err := c.CancelRun(bg, id); err != nil && !(errors.As(err, &ae) && ae.Status == http.StatusConflict) {
		return bg, cancel, err
	}
	return bg, cancel, c.Events(bg, id, func(api.Event) error { return nil })
}

// remoteRequest is the run request the flags and the profile make, and the
// objectives to judge its result by; flags a server cannot honour are
// refused, naming them.
func (o *runOptions) remoteRequest(stdio IO, changed func(string) bool, c *client.Client, targets []string) (req client.RunRequest, prof *spec.Profile, objectives []spec.Objective, err error) {
	if unsupported := flagsWhere(changed, func(f runFlag) bool { return f.local }); len(unsupported) > 0 {
		return req, nil, nil, usageErrorf("%s: not supported against a server (%s) yet; run without --server, or put what you can in a profile", strings.Join(unsupported, ", "), c.BaseURL())
	}
	switch {
	case o.file != "" && o.profileRef != "":
		return req, nil, nil, usageErrorf("-f and --profile: give one, not both")
	case o.file != "" || o.profileRef != "":
		if len(targets) > 0 {
			return req, nil, nil, usageErrorf("run: URLs that replace a profile's are not supported against a server yet")
		}
		if over := flagsWhere(changed, func(f runFlag) bool { return f.override }); len(over) > 0 {
			return req, nil, nil, usageErrorf("%s: flags that override a profile are not supported against a server yet; edit the profile", strings.Join(over, ", "))
		}
		if o.file == "" {
			req.Profile = o.profileRef
		} else if prof, err = readProfile(stdio, o.file, o.allowUnknown, "--allow-unknown-fields"); err != nil {
			return req, nil, nil, err
		}
	default:
		if len(targets) == 0 {
			return req, nil, nil, usageErrorf("run: give at least one target URL (meshperf run http://127.0.0.1:8080/), or a profile with -f FILE or --profile NAME")
		}
		if prof, err = o.remoteProfile(targets); err != nil {
			return req, nil, nil, err
		}
	}
	if prof != nil {
		if req.ProfileDocument, err = prof.JSON(); err != nil {
			return req, nil, nil, err
		}
	}
	sloText := o.slo
	if !changed("slo") && prof != nil && prof.Meshperf != nil {
		sloText = strings.Join(prof.Meshperf.SLO, ",")
	}
	if objectives, err = spec.ParseObjectives(sloText); err != nil {
		return req, nil, nil, usageErrorf("--slo: %v", err)
	}
	if len(o.labels) > 0 {
		req.Labels = map[string]string{}
		if prof != nil {
			for k, v := range prof.Labels {
				req.Labels[k] = v
			}
		}
		for _, l := range o.labels {
			k, v, _ := strings.Cut(l, "=")
			req.Labels[k] = v
		}
	}
	return req, prof, objectives, nil
}

// watchRemote shows the run's progress line until the run ends or ctx
// does.
func (o *runOptions) watchRemote(ctx context.Context, stdio IO, c *client.Client, runID string, prof *spec.Profile) error {
	var total time.Duration
	if prof != nil {
		if plans, err := loadgen.PlansFromProfile(prof); err == nil {
			for _, p := range plans {
				total = max(total, p.Warmup+p.Duration)
			}
		}
	}
	prog := newProgress(stdio.Err, o.progress, total)
	succeeded := false
	onEvent := func(e api.Event) error {
		if e.Type == "state" && e.Run != nil {
			succeeded = e.Run.State == store.RunSucceeded
		}
		if e.Type == "progress" && e.Progress != nil {
			prog.update(progressOf(e.Progress))
		}
		return nil
	}
	err := c.Events(ctx, runID, onEvent)
	prog.finish(err == nil && ctx.Err() == nil && succeeded)
	return err
}

// reportRemote fetches the ended run's result and reports it as a local
// run does; a degraded run says so in its exit status.
func (o *runOptions) reportRemote(ctx context.Context, stdio IO, c *client.Client, runID string, interrupted bool, objectives []spec.Objective) error {
	run, err := c.GetRun(ctx, runID)
	if err != nil {
		return apiError(c, err)
	}
	if run.ResultID == "" {
		if interrupted {
			return errInterrupted
		}
		return fmt.Errorf("run %s %s on %s: %s", run.ID, run.State, c.BaseURL(), dash(run.Error))
	}
	res, err := c.GetResult(ctx, run.ResultID)
	if err != nil {
		return apiError(c, err)
	}
	if interrupted {
		res.Interrupted = true
	}
	fmt.Fprintf(stdio.Err, "meshperf: run %s %s on %s, saved as result %s (meshperf result show %s)\n", run.ID, run.State, c.BaseURL(), res.ID, res.ID)
	err = o.report(stdio, res, spec.Check(res, objectives), nil)
	if run.State == store.RunDegraded {
		// Main prints it after the report, as the last line seen; the
		// status says so whatever the objectives said (they judged part
		// of the load).
		var se *SLOError
		if err == nil || errors.As(err, &se) {
			return &DegradedError{Run: run.ID, Reason: strings.ReplaceAll(dash(run.Error), "\n", " ")}
		}
	}
	return err
}

// remoteProfile makes the profile the flags describe for targets, with the
// same checks (and messages) as a local run.
func (o *runOptions) remoteProfile(targets []string) (*spec.Profile, error) {
	pl, err := o.plan(targets)
	if err != nil {
		return nil, err
	}
	if o.rps != math.Trunc(o.rps) {
		return nil, usageErrorf("--rps: a whole number of requests per second against a server, not %v", o.rps)
	}
	p := &spec.Profile{Name: o.name, Duration: pl.Duration.String()}
	if len(o.labels) > 0 {
		p.Labels = map[string]string{}
		for _, l := range o.labels {
			k, v, _ := strings.Cut(l, "=")
			p.Labels[k] = v
		}
	}
	if pl.Warmup > 0 || pl.Requests > 0 || o.slo != "" {
		p.Meshperf = &spec.ProfileExtras{Requests: pl.Requests}
		if pl.Warmup > 0 {
			p.Meshperf.Warmup = pl.Warmup.String()
		}
		if o.slo != "" {
			p.Meshperf.SLO = strings.Split(o.slo, ",")
		}
	}
	cl := spec.Client{LoadGenerator: "meshperf", Protocol: spec.ProtocolHTTP, Connections: int32(pl.Connections),
		RPS: int64(o.rps), EndpointURLs: targets, Body: string(pl.Body), ContentType: pl.ContentType}
	switch pl.Protocol {
	case loadgen.ProtocolTCP:
		cl.Protocol = spec.ProtocolTCP
	case loadgen.ProtocolGRPC:
		cl.Protocol = spec.ProtocolGRPC
	}
	for _, h := range pl.Headers {
		if cl.Headers == nil {
			cl.Headers = map[string]string{}
		}
		cl.Headers[h.Name] = h.Value
	}
	for _, h := range pl.Cookies {
		if cl.Cookies == nil {
			cl.Cookies = map[string]string{}
		}
		cl.Cookies[h.Name] = h.Value
	}
	x := &spec.ClientExtras{RateShape: o.shape, HTTPVersion: o.httpVersion, Method: pl.Method, Streams: pl.Streams,
		Timeout: pl.Timeout.String(), ConnectTimeout: pl.ConnectTimeout.String(), Insecure: o.insecure, SNI: o.sni}
	if o.resolution != "auto" {
		x.Resolution = o.resolution
	}
	cl.Meshperf = x
	p.Clients = []spec.Client{cl}
	if sel, err := o.agentSelection(); err != nil {
		return nil, err
	} else if sel != nil {
		p.Agents = sel
	}
	if err := p.Validate(); err != nil {
		return nil, &UsageError{Err: err}
	}
	return p, nil
}

// progressOf turns the server's progress event into the local progress
// line's input.
func progressOf(e *api.ProgressEvent) loadgen.Progress {
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	return loadgen.Progress{
		Elapsed:  time.Duration(e.Elapsed * float64(time.Second)),
		Interval: spec.Interval{Second: e.Second, Warmup: e.Warmup},
		SoFar: loadgen.Totals{Requests: e.TotalRequests, Errors: e.TotalErrors, RPS: e.TotalRPS,
			P50: ms(e.TotalP50Ms), P90: ms(e.TotalP90Ms), P99: ms(e.TotalP99Ms)},
	}
}
