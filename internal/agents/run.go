package agents

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/meshperf/meshperf/internal/agentpb"
	"github.com/meshperf/meshperf/internal/agentshare"
	"github.com/meshperf/meshperf/internal/runs"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

// startMargin is added to twice the slowest round trip when choosing a
// distributed run's common start.
const startMargin = 500 * time.Millisecond

// doneGrace is how long after its expected end a run waits for agents'
// final results before counting the missing ones as lost.
const doneGrace = 15 * time.Second

// share is one agent's part of one client of a distributed run.
type share struct {
	run         *distRun
	idx         int32
	client      int
	clientName  string
	conn        *agentConn
	name        string
	labels      map[string]string
	rps         float64
	scale       float64
	connections int
	requests    int64
	profileJSON []byte
	plan        *loadgen.Plan
	offset      time.Duration

	// Guarded by run.mu.
	acc       shareAcc
	result    *spec.Result
	failure   string
	refused   string // why its data was refused: nothing of it is merged
	cause     string // why it was lost
	finished  bool
	dropped   bool
	droppedAt time.Time
}

// splitInts divides total into n parts that differ by at most one, the
// larger ones first.
func splitInts(total int64, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = total / int64(n)
		if int64(i) < total%int64(n) {
			out[i]++
		}
	}
	return out
}

// matches tells whether labels carry every key=value of sel.
func matches(labels, sel map[string]string) bool {
	for k, v := range sel {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// planShares chooses agents for every client of prof and splits each
// client's load across them. With assign set it also attaches the shares
// to the agents (they become busy); otherwise it only checks. Caller must
// not hold r.mu.
func (r *Registry) planShares(prof *spec.Profile, plans []*loadgen.Plan, assign *distRun) ([]*share, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	var shares []*share
	used := map[*agentConn]int{} // shares already given in this run, to spread clients
	for i, plan := range plans {
		sel := prof.ClientAgents(i)
		path := fmt.Sprintf("clients[%d].agents", i)
		if prof.Clients[i].Agents == nil {
			path = "agents"
		}
		want, _ := spec.ParseSelector(sel.Selector) // validated
		var cands []*agentConn
		var busy int
		for _, c := range r.agents {
			if !c.connected || !matches(c.labels, want) {
				continue
			}
			if len(c.shares) > 0 {
				busy++
				continue
			}
			cands = append(cands, c)
		}
		n := sel.Count
		if n == 0 {
			n = len(cands)
		}
		if n == 0 || len(cands) < n {
			what := "agents are connected"
			if sel.Selector != "" {
				what = fmt.Sprintf("agents matching %q are connected", spec.SelectorString(want))
			}
			msg := fmt.Sprintf("%s: the run asks for %s but %d %s and idle", path, plural(max(n, 1), "agent"), len(cands), what)
			if busy > 0 {
				msg += fmt.Sprintf(" (%d more busy with another run)", busy)
			}
			errs = append(errs, errors.New(msg))
			continue
		}
		sort.Slice(cands, func(a, b int) bool {
			if used[cands[a]] != used[cands[b]] {
				return used[cands[a]] < used[cands[b]]
			}
			return cands[a].name < cands[b].name
		})
		cands = cands[:n]
		if plan.Connections < n {
			errs = append(errs, fmt.Errorf("clients[%d].connections: %d connections cannot be split across %d agents (each needs at least one)", i, plan.Connections, n))
			continue
		}
		if plan.Requests > 0 && plan.Requests < int64(n) {
			errs = append(errs, fmt.Errorf("meshperf.requests: %d requests cannot be split across %d agents", plan.Requests, n))
			continue
		}
		conns := splitInts(int64(plan.Connections), n)
		reqs := splitInts(plan.Requests, n)
		rps := 0.0
		if plan.Rate != nil {
			rps = plan.Rate.RateAt(plan.Warmup)
		}
		for k, c := range cands {
			used[c]++
			sh := &share{run: assign, idx: int32(len(shares)), client: i, clientName: fmt.Sprintf("clients[%d]", i),
				conn: c, name: c.name, labels: c.labels, scale: 1 / float64(n), rps: rps / float64(n),
				connections: int(conns[k]), requests: reqs[k]}
			shares = append(shares, sh)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if assign != nil {
		for _, sh := range shares {
			sh.conn.shares[sh] = struct{}{}
		}
		r.runs[assign.id] = assign
	}
	return shares, nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// shareProfile is the single-client profile an agent runs for sh.
func shareProfile(prof *spec.Profile, sh *share) ([]byte, error) {
	p := *prof
	p.Agents = nil
	c := prof.Clients[sh.client]
	c.Agents = nil
	c.Connections = int32(sh.connections)
	p.Clients = []spec.Client{c}
	if prof.Meshperf != nil {
		x := *prof.Meshperf
		x.Requests = sh.requests
		x.SLO = nil
		p.Meshperf = &x
	}
	return p.JSON()
}

// Check refuses a run whose agents are not there: the shares prof would
// be split into cannot be planned among the connected, idle agents.
func (r *Registry) Check(prof *spec.Profile, plans []*loadgen.Plan) error {
	_, err := r.planShares(prof, plans, nil)
	return err
}

// distRun is a run whose load comes from agents.
type distRun struct {
	id      string
	reg     *Registry
	prof    *spec.Profile
	start   time.Time
	shares  []*share
	publish func(loadgen.Progress)
	abort   func(error)

	mu        sync.Mutex
	merge     *merger
	remaining int
	allDone   chan struct{}
	notes     []string
	aborted   string
	cancelled bool // the server stopped the shares (a cancel, an abort, a shutdown)
	// Bytes of snapshots the shares keep, and whether the budget ran out.
	retained   int
	unretained bool
}

var _ runs.Distributor = (*Registry)(nil)

// Run runs prof on agents as the run service asks (runs.Distributor).
func (r *Registry) Run(ctx context.Context, id string, prof *spec.Profile, plans []*loadgen.Plan, publish func(loadgen.Progress)) (*spec.Result, runs.DistOutcome, error) {
	return r.runOnAgents(ctx, id, prof, plans, publish)
}

// runOnAgents runs prof on agents and returns the merged result. publish
// receives the merged progress of each second.
func (r *Registry) runOnAgents(ctx context.Context, id string, prof *spec.Profile, plans []*loadgen.Plan, publish func(loadgen.Progress)) (res *spec.Result, out runs.DistOutcome, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	d := &distRun{id: id, reg: r, prof: prof, publish: publish, abort: cancel, allDone: make(chan struct{})}
	shares, err := r.planShares(prof, plans, d)
	if err != nil {
		return nil, out, err
	}
	defer func() {
		r.mu.Lock()
		delete(r.runs, id)
		for _, sh := range shares {
			delete(sh.conn.shares, sh)
		}
		r.mu.Unlock()
	}()
	d.shares, d.remaining = shares, len(shares)
	waitClocks(ctx, shares, clockWait)
	var maxRTT time.Duration
	for _, sh := range shares {
		var known bool
		sh.offset, _, known = sh.conn.clock.Estimate()
		if !known {
			d.note(fmt.Sprintf("agent %s: no clock estimate yet; it started on its own clock", sh.name))
		}
		maxRTT = max(maxRTT, sh.conn.clock.MaxRTT())
		if sh.profileJSON, err = shareProfile(prof, sh); err != nil {
			return nil, out, fmt.Errorf("share of %s: %w", sh.name, err)
		}
		if sh.plan, err = agentPlan(sh); err != nil {
			return nil, out, fmt.Errorf("share of %s: %w", sh.name, err)
		}
	}
	d.start = time.Now().Add(2*maxRTT + startMargin)
	d.merge = newMerger(d.start, plans[0].OpenLoop())
	r.log.Info("distributed run starting", logKeyRun, id, "shares", len(shares), "start", d.start.Format(time.RFC3339Nano))
	for _, sh := range shares {
		_, rtt, ok := sh.conn.clock.Estimate()
		r.log.Debug("agent share", logKeyRun, id, logKeyAgent, sh.name, logKeyShare, sh.idx, "clock_offset", sh.offset.String(),
			"rtt", rtt.String(), "clock_known", ok, "clock_samples", sh.conn.clock.Samples(), "connections", sh.connections, "rps", sh.rps)
		if off := sh.offset; off > r.skewTol || off < -r.skewTol {
			d.note(fmt.Sprintf("agent %s: its clock is %s off the server's (tolerance %s); its start was corrected by that estimate", sh.name, off.Round(time.Microsecond), r.skewTol))
		}
		as := &agentpb.Assign{RunId: id, PlanJson: sh.profileJSON, StartAtUnixNano: d.start.UnixNano(), Client: sh.clientName,
			Share: sh.idx, RateScale: sh.scale, ClockOffsetNano: int64(sh.offset)}
		if !sh.conn.send(&agentpb.ServerMessage{Msg: &agentpb.ServerMessage_Assign{Assign: as}}) {
			d.lost(sh, time.Now(), errors.New("the agent disconnected before its share was sent"))
		}
	}
	var deadline <-chan time.Time
	if p := plans[0]; p.Duration > 0 {
		longest := time.Duration(0)
		for _, p := range plans {
			longest = max(longest, p.Duration+p.Warmup+p.Timeout)
		}
		t := time.NewTimer(time.Until(d.start) + longest + doneGrace)
		defer t.Stop()
		deadline = t.C
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	cancelled := false
	for {
		select {
		case <-d.allDone:
			res, out.Degraded, err = d.result()
			d.mu.Lock()
			out.Aborted = d.aborted
			d.mu.Unlock()
			return res, out, err
		case <-ctx.Done():
			if !cancelled {
				cancelled = true
				d.cancelShares(fmt.Sprint(context.Cause(ctx)))
				// Agents stop and send what they measured; wait for it
				// a while.
				t := time.NewTimer(cancelWait(ctx))
				defer t.Stop()
				deadline = t.C
			}
		case <-deadline:
			now := time.Now()
			for _, sh := range shares {
				d.lost(sh, now, errors.New("no final result by the run's deadline"))
			}
		case now := <-tick.C:
			d.flushLate(now)
		}
	}
}

// clockWait bounds the wait for a fresh agent's first clock sample.
const clockWait = 2 * time.Second

// waitClocks waits, at most max, until every share's agent has a clock
// estimate (a just-connected one gets its first within ~100ms).
func waitClocks(ctx context.Context, shares []*share, most time.Duration) {
	deadline := time.Now().Add(most)
	for _, sh := range shares {
		for {
			if _, _, ok := sh.conn.clock.Estimate(); ok || time.Now().After(deadline) || ctx.Err() != nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// agentPlan is the plan an agent runs for sh, as the server reads it.
func agentPlan(sh *share) (*loadgen.Plan, error) {
	prof, _, err := spec.ParseProfile(sh.profileJSON)
	if err != nil {
		return nil, err
	}
	plans, err := loadgen.PlansFromProfile(prof)
	if err != nil {
		return nil, err
	}
	p := plans[0]
	if p.Rate != nil {
		p.Rate = agentshare.ScaleShape(p.Rate, sh.scale)
	}
	return p, nil
}

func (d *distRun) note(n string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.notes = append(d.notes, n)
}

func (d *distRun) cancelShares(reason string) {
	d.mu.Lock()
	d.cancelled = true
	d.mu.Unlock()
	for _, sh := range d.shares {
		sh.conn.send(&agentpb.ServerMessage{Msg: &agentpb.ServerMessage_Cancel{Cancel: &agentpb.Cancel{RunId: d.id, Share: sh.idx, Reason: reason}}})
	}
}

// snapshot checks and merges one second of a share; a share whose
// snapshot fails the checks is refused.
func (d *distRun) snapshot(sh *share, sn *agentpb.Snapshot) {
	d.mu.Lock()
	if sh.finished {
		d.mu.Unlock()
		return
	}
	lat, svc, err := validSnapshot(sh, sn)
	if err != nil {
		d.mu.Unlock()
		d.refuse(sh, err)
		return
	}
	d.retain(sn)
	sh.acc.add(sn, lat, svc)
	d.merge.add(sn, lat, svc)
	evs := d.merge.ready(d.shares, time.Now(), false)
	d.mu.Unlock()
	d.emit(evs)
}

func (d *distRun) flushLate(now time.Time) {
	d.mu.Lock()
	evs := d.merge.ready(d.shares, now, true)
	d.mu.Unlock()
	d.emit(evs)
}

func (d *distRun) emit(evs []loadgen.Progress) {
	if d.publish == nil {
		return
	}
	for _, p := range evs {
		d.publish(p)
	}
}

// done takes a share's final result, checked against its snapshots; a
// result that fails the checks refuses the share.
func (d *distRun) done(sh *share, m *agentpb.Done) {
	var res *spec.Result
	failure := m.GetError()
	if len(failure) > maxAgentNote {
		failure = failure[:maxAgentNote] + "…"
	}
	d.mu.Lock()
	if sh.finished {
		d.mu.Unlock()
		return
	}
	if failure == "" {
		var err error
		if res, err = validResult(sh, m.GetResultJson()); err != nil {
			d.mu.Unlock()
			d.refuse(sh, err)
			return
		}
	}
	sh.result, sh.failure = res, failure
	d.finishLocked(sh)
	evs := d.merge.ready(d.shares, time.Now(), false)
	d.mu.Unlock()
	d.reg.detach(sh)
	if failure != "" {
		d.reg.log.Warn("agent share failed", logKeyRun, d.id, logKeyAgent, sh.name, logKeyErr, failure)
		d.note(fmt.Sprintf("agent %s (%s): %s", sh.name, sh.clientName, failure))
	}
	d.emit(evs)
}

// retain counts sn's size against the run's budget of kept snapshots;
// past it, no share keeps any (a refusal then leaves a note instead of a
// timeline merged again). Caller holds d.mu.
func (d *distRun) retain(sn *agentpb.Snapshot) {
	if d.unretained {
		return
	}
	d.retained += len(sn.GetLatency()) + len(sn.GetServiceTime()) + 256
	if d.retained > maxRetained {
		d.unretained = true
		for _, sh := range d.shares {
			sh.acc.retained, sh.acc.unretained = nil, true
		}
	}
}

// refuse drops sh from the run because its data failed a check: nothing
// of it is merged into the result (its snapshots so far are taken out),
// its agent is told to stop the share, and the run is degraded, or
// aborted under on_drop abort.
func (d *distRun) refuse(sh *share, why error) {
	d.mu.Lock()
	if sh.finished {
		d.mu.Unlock()
		return
	}
	sh.refused = strings.TrimPrefix(why.Error(), errRefused.Error()+": ")
	sh.dropped, sh.droppedAt = true, time.Now().UTC()
	d.finishLocked(sh)
	msg := fmt.Sprintf("agent %s (%s) was dropped from the run, its data refused: %s", sh.name, sh.clientName, sh.refused)
	d.notes = append(d.notes, msg)
	abort := d.prof.ClientAgents(sh.client).OnDrop == spec.OnDropAbort && d.aborted == ""
	if abort {
		d.aborted = msg + "; the profile's on_drop is abort"
	}
	evs := d.merge.ready(d.shares, time.Now(), false)
	d.mu.Unlock()
	d.reg.detach(sh)
	sh.conn.send(&agentpb.ServerMessage{Msg: &agentpb.ServerMessage_Cancel{Cancel: &agentpb.Cancel{RunId: d.id, Share: sh.idx,
		Reason: "the server refused this share's data: " + sh.refused}}})
	d.reg.log.Warn("agent data refused; the agent is dropped from the run", logKeyRun, d.id, logKeyAgent, sh.name, logKeyShare, sh.idx, logKeyErr, sh.refused)
	d.emit(evs)
	if abort {
		d.abort(errAgentDropped)
	}
}

// lost marks a share whose agent is gone: what it sent is kept.
func (d *distRun) lost(sh *share, at time.Time, cause error) {
	d.mu.Lock()
	if sh.finished {
		d.mu.Unlock()
		return
	}
	sh.dropped, sh.droppedAt, sh.cause = true, at.UTC(), cause.Error()
	d.finishLocked(sh)
	policy := d.prof.ClientAgents(sh.client).OnDrop
	msg := fmt.Sprintf("agent %s (%s) dropped at %s, after %d seconds of snapshots: %v", sh.name, sh.clientName,
		at.UTC().Format(time.RFC3339), sh.acc.snapshots, cause)
	d.notes = append(d.notes, msg)
	abort := policy == spec.OnDropAbort && d.aborted == ""
	if abort {
		d.aborted = msg + "; the profile's on_drop is abort"
	}
	evs := d.merge.ready(d.shares, time.Now(), false)
	d.mu.Unlock()
	d.reg.detach(sh)
	d.reg.log.Warn("agent share lost", logKeyRun, d.id, logKeyAgent, sh.name, logKeyShare, sh.idx, logKeyErr, cause)
	d.emit(evs)
	if abort {
		d.abort(errAgentDropped)
	}
}

var errAgentDropped = errors.New("an agent dropped and the profile's on_drop is abort")

// finishLocked counts sh as finished; caller holds d.mu.
func (d *distRun) finishLocked(sh *share) {
	sh.finished = true
	d.remaining--
	if d.remaining == 0 {
		close(d.allDone)
	}
}

// detach frees sh's agent of it.
func (r *Registry) detach(sh *share) {
	r.mu.Lock()
	delete(sh.conn.shares, sh)
	r.mu.Unlock()
}

// result builds the run's result from the shares: each share's own when
// it sent one, else what its snapshots add up to; histograms added. A
// refused share has no part in it. degraded, when not empty, says which
// shares were lost, failed or refused, and why.
func (d *distRun) result() (res *spec.Result, degraded string, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.merge.ready(d.shares, time.Now().Add(time.Hour), true)
	var results []*spec.Result
	var names []string
	var agents []spec.AgentResult
	var why []string
	refused := false
	for _, sh := range d.shares {
		switch {
		case sh.refused != "":
			why = append(why, fmt.Sprintf("agent %s (%s) refused: %s", sh.name, sh.clientName, sh.refused))
			refused = true
			continue
		case sh.dropped:
			why = append(why, fmt.Sprintf("agent %s (%s) dropped at %s: %s", sh.name, sh.clientName, sh.droppedAt.Format(time.RFC3339), sh.cause))
		case sh.failure != "":
			why = append(why, fmt.Sprintf("agent %s (%s) failed: %s", sh.name, sh.clientName, sh.failure))
		case sh.result != nil && sh.result.Interrupted && !d.cancelled:
			why = append(why, fmt.Sprintf("agent %s (%s) stopped before the end of its share; what it measured is kept", sh.name, sh.clientName))
		}
		r := sh.result
		if r == nil {
			r = sh.acc.result(sh, d.start)
		}
		if r == nil {
			continue // failed before measuring anything
		}
		results = append(results, r)
		names = append(names, sh.name)
		agents = append(agents, spec.AgentResult{Name: sh.name, Labels: sh.labels, Client: sh.clientName,
			RPS: sh.rps, Connections: sh.connections, Achieved: r.Achieved, Latency: r.Latency, ServiceTime: r.ServiceTime,
			ClockOffset: spec.Duration(sh.offset), Dropped: sh.dropped, DroppedAt: sh.droppedAt, Process: r.Process})
		if p := r.Process; p != nil && p.Saturated {
			d.notes = append(d.notes, fmt.Sprintf("agent %s looked saturated (%.2f cores, %.1f%% of requests sent late): its share may have measured the agent, not the target",
				sh.name, p.CPUCores, 100*p.LateRatio))
		}
	}
	degraded = strings.Join(why, "; ")
	if len(results) == 0 {
		return nil, degraded, fmt.Errorf("no agent measured anything: %s", strings.Join(d.notes, "; "))
	}
	res, err = spec.Merge(results)
	if err != nil {
		return nil, degraded, err
	}
	if len(results) == 1 {
		c := *res
		res = &c
	}
	timeline := d.merge
	if refused {
		// The live merge holds what refused shares sent before they
		// were refused: merge the others' snapshots again.
		m, ok := rebuild(d.start, d.merge.open, d.shares, func(sh *share) bool { return sh.refused == "" })
		if ok {
			timeline = m
		} else {
			d.notes = append(d.notes, "the timeline still counts what the refused agents sent before they were refused (too much to merge again)")
		}
	}
	// An agent stopped on its own makes the run degraded, not
	// interrupted: only the server's stopping all shares interrupts it.
	res.Interrupted = res.Interrupted && d.cancelled
	res.Timeline = timeline.timeline(d.shares)
	res.Agents = agents
	res.Degraded = degraded != ""
	notes := []string{fmt.Sprintf("%d agents ran %d shares from a common start at %s; their histograms were added",
		countAgents(d.shares), len(d.shares), d.start.UTC().Format(time.RFC3339Nano))}
	notes = append(notes, d.notes...)
	res.Notes = append(notes, res.Notes...)
	if err := mergeTLS(res, results, names); err != nil {
		return nil, degraded, err
	}
	return res, degraded, nil
}

func countAgents(shares []*share) int {
	seen := map[string]bool{}
	for _, sh := range shares {
		seen[sh.name] = true
	}
	return len(seen)
}

// cancelWait is how long a cancelled distributed run waits for its agents'
// final reports: doneGrace, but runs.AfterGrace when the server is shutting
// down, so that it stops within its grace.
func cancelWait(ctx context.Context) time.Duration {
	if errors.Is(context.Cause(ctx), runs.ErrInterrupted) {
		return runs.AfterGrace
	}
	return doneGrace
}
