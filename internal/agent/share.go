package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/meshperf/meshperf/internal/agentpb"
	"github.com/meshperf/meshperf/internal/agentshare"
	"github.com/meshperf/meshperf/internal/runner"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

// maxStartWait bounds how far in the future a start time may be.
const maxStartWait = 5 * time.Minute

// runShare runs one share of a run and reports it through send: a Snapshot
// each second, then Done.
func (a *Agent) runShare(ctx context.Context, as *agentpb.Assign, send func(*agentpb.AgentMessage) bool) {
	log := a.log.With(logKeyRun, as.GetRunId(), logKeyShare, as.GetShare())
	done := &agentpb.Done{RunId: as.GetRunId(), Share: as.GetShare()}
	fail := func(err error) {
		log.Error("share not run", logKeyErr, err)
		done.Error = err.Error()
		send(&agentpb.AgentMessage{Msg: &agentpb.AgentMessage_Done{Done: done}})
	}
	plan, err := SharePlan(as.GetPlanJson(), as.GetRateScale())
	if err != nil {
		fail(err)
		return
	}
	// start_at is on the server's clock; ours is offset from it.
	start := time.Unix(0, as.GetStartAtUnixNano()+as.GetClockOffsetNano())
	wait := time.Until(start)
	if wait > maxStartWait {
		fail(fmt.Errorf("start time %s is more than %s away", start.Format(time.RFC3339Nano), maxStartWait))
		return
	}
	log.Info("share assigned", "client", as.GetClient(), "connections", plan.Connections, "rate", shapeString(plan.Rate), "starts_in", wait.String())
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			fail(errors.New("cancelled before the start"))
			return
		case <-t.C:
		}
	}
	sink := &snapshotSink{run: as.GetRunId(), share: as.GetShare(), send: send}
	res, err := runner.Run(ctx, a.cfg.Version, []*loadgen.Plan{plan}, func(int) loadgen.Sink { return sink })
	if err != nil {
		fail(err)
		return
	}
	if ctx.Err() != nil {
		// Stopped early (the agent told to stop, or the server's cancel):
		// what was measured goes to the server all the same, marked.
		res.Interrupted = true
	}
	b, err := json.Marshal(res)
	if err != nil {
		fail(fmt.Errorf("encoding the result: %w", err))
		return
	}
	done.ResultJson = b
	send(&agentpb.AgentMessage{Msg: &agentpb.AgentMessage_Done{Done: done}})
	log.Info("share done", "requests", res.Achieved.Requests, "rps", res.Achieved.RPS)
}

// SharePlan builds the plan of a share: the single-client profile the
// server sent, its rate scaled by scale.
func SharePlan(profileJSON []byte, scale float64) (*loadgen.Plan, error) {
	prof, _, err := spec.ParseProfile(profileJSON)
	if err != nil {
		return nil, fmt.Errorf("share profile: %w", err)
	}
	plans, err := loadgen.PlansFromProfile(prof)
	if err != nil {
		return nil, fmt.Errorf("share profile: %w", err)
	}
	if len(plans) != 1 {
		return nil, fmt.Errorf("share profile: want one client, got %d", len(plans))
	}
	p := plans[0]
	if scale <= 0 || scale > 1 {
		return nil, fmt.Errorf("share rate scale %g is not in (0, 1]", scale)
	}
	p.Rate = agentshare.ScaleShape(p.Rate, scale)
	return p, nil
}

func shapeString(s loadgen.Shape) string {
	if s == nil {
		return "closed loop"
	}
	return s.String()
}

// snapshotSink turns each closed second into a Snapshot.
type snapshotSink struct {
	run   string
	share int32
	send  func(*agentpb.AgentMessage) bool
}

var _ loadgen.HistogramSink = (*snapshotSink)(nil)

// WantsHistograms implements loadgen.HistogramSink: the server merges them.
func (*snapshotSink) WantsHistograms() bool { return true }

// Progress implements loadgen.Sink.
func (s *snapshotSink) Progress(p loadgen.Progress) {
	s.send(&agentpb.AgentMessage{Msg: &agentpb.AgentMessage_Snapshot{Snapshot: Snapshot(s.run, s.share, p.Interval)}})
}

// Snapshot encodes one interval of a share.
func Snapshot(run string, share int32, iv spec.Interval) *agentpb.Snapshot {
	sn := &agentpb.Snapshot{
		RunId: run, Share: share, Second: int32(iv.Second), Warmup: iv.Warmup, Seconds: iv.Seconds,
		Latency: iv.Latency, ServiceTime: iv.ServiceTime,
		Requests: iv.Requests, Errors: iv.Errors, RequestedRps: iv.RequestedRPS,
	}
	if len(iv.StatusCodes) > 0 {
		sn.StatusCodes = make(map[int32]int64, len(iv.StatusCodes))
		for c, n := range iv.StatusCodes {
			sn.StatusCodes[int32(c)] = n
			sn.Responses += n
		}
	}
	if len(iv.ErrorClasses) > 0 {
		sn.ErrorClasses = make(map[string]int64, len(iv.ErrorClasses))
		for c, n := range iv.ErrorClasses {
			sn.ErrorClasses[c] = n
		}
	}
	return sn
}
