package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/internal/agent"
	"github.com/meshperf/meshperf/internal/agentpb"
	"github.com/meshperf/meshperf/internal/server"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/spec/spectest"
	"github.com/meshperf/meshperf/store"
)

// hostileAgent is an agent holding the join token that lies: built on the
// generated stubs, it answers the server's pings like a real one, and on
// its assignment sends what attack makes of it.
func hostileAgent(t *testing.T, addr, name string, attack func(as *agentpb.Assign, send func(*agentpb.AgentMessage))) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); conn.Close() })
	st, err := agentpb.NewAgentClient(conn).Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sendc := make(chan *agentpb.AgentMessage, 64)
	send := func(m *agentpb.AgentMessage) {
		select {
		case sendc <- m:
		case <-ctx.Done():
		}
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-sendc:
				if st.Send(m) != nil {
					return
				}
			}
		}
	}()
	send(&agentpb.AgentMessage{Msg: &agentpb.AgentMessage_Hello{Hello: &agentpb.Hello{Token: testAgentToken, Name: name, Version: "evil"}}})
	go func() {
		for {
			m, err := st.Recv()
			if err != nil {
				return
			}
			switch x := m.Msg.(type) {
			case *agentpb.ServerMessage_Ping:
				now := time.Now().UnixNano()
				send(&agentpb.AgentMessage{Msg: &agentpb.AgentMessage_Pong{Pong: &agentpb.Pong{T0UnixNano: x.Ping.GetT0UnixNano(), T1UnixNano: now, T2UnixNano: now}}})
			case *agentpb.ServerMessage_Assign:
				go func() {
					time.Sleep(time.Until(time.Unix(0, x.Assign.GetStartAtUnixNano()).Add(time.Second)))
					attack(x.Assign, send)
				}()
			}
		}
	}()
}

// wideHistogram is a histogram of 1..2^62 at 5 digits, whose counts array
// is tens of megabytes once decoded.
func wideHistogram(t *testing.T) string {
	h := hdr.New(1, 1<<62, 5)
	for v := int64(1000); v < 1<<61; v *= 7 {
		h.RecordValue(v)
	}
	b, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// plausible is a second that passes every check: n responses of 1ms.
func plausible(as *agentpb.Assign, sec int, n int64) *agentpb.Snapshot {
	h := hist.New()
	h.RecordMicrosN(1000, n)
	return agent.Snapshot(as.GetRunId(), as.GetShare(), spec.Interval{Second: sec, Seconds: 1, Requests: n,
		StatusCodes: map[int]int64{200: n}, Latency: h.MustEncode(), ServiceTime: h.MustEncode()})
}

func snapshotMsg(sn *agentpb.Snapshot) *agentpb.AgentMessage {
	return &agentpb.AgentMessage{Msg: &agentpb.AgentMessage_Snapshot{Snapshot: sn}}
}

// allocated is what the process has allocated so far: the server, and
// the honest agents beside it.
func allocated() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// An agent holding the join token cannot poison a run: whatever it sends
// that fails the checks drops it from the run, which is degraded, and the
// stored result is exactly the honest agents' sum.
func TestAgentsHostileDataIsRefused(t *testing.T) {
	env := newAgentEnv(t, server.Options{})
	target := startDelayEcho(t, "1ms")
	startAgents(t, env, 2)
	const rps, secs = 300, 3

	// A result of an earlier run, whose id the last attack claims.
	_, earlier := env.runToEnd(t, distProfile(target, rps, 4, "1s", `{"count": 2}`), nil)

	wide := wideHistogram(t)
	tests := []struct {
		name   string
		attack func(as *agentpb.Assign, send func(*agentpb.AgentMessage))
		why    string
	}{
		{"negative counts", func(as *agentpb.Assign, send func(*agentpb.AgentMessage)) {
			sn := plausible(as, 0, 100)
			sn.Requests, sn.Responses = -4999850, 0
			send(snapshotMsg(sn))
		}, "second 0: requests -4999850 is out of range"},
		{"status 999", func(as *agentpb.Assign, send func(*agentpb.AgentMessage)) {
			send(snapshotMsg(plausible(as, 0, 100)))
			sn := plausible(as, 1, 100)
			sn.StatusCodes = map[int32]int64{999: 100}
			send(snapshotMsg(sn))
		}, "second 1: status code 999 is not an HTTP status (100-599)"},
		{"wide histogram", func(as *agentpb.Assign, send func(*agentpb.AgentMessage)) {
			// Sent again and again: each would cost ~50 MB decoded.
			for sec := range 6 {
				sn := plausible(as, sec, 1)
				sn.Latency, sn.ServiceTime = wide, wide
				send(snapshotMsg(sn))
			}
		}, "second 0: latency histogram: hist: layout 1..4611686018427387904 at 5 digits is not meshperf's"},
		{"foreign id", func(as *agentpb.Assign, send func(*agentpb.AgentMessage)) {
			// Plausible seconds, merged live, then a final result whose
			// counts add up but which claims the earlier result's id.
			var total int64
			h := hist.New()
			for sec := range secs {
				send(snapshotMsg(plausible(as, sec, 100)))
				total += 100
				h.RecordMicrosN(1000, 100)
			}
			res := spec.Result{ID: earlier.ID, Schema: spec.ResultSchema, StartTime: time.Now(),
				Achieved:    spec.Achieved{Requests: total, Responses: total},
				Latency:     spec.Summarize(h),
				ServiceTime: spec.Summarize(h), StatusCodes: map[int]int64{200: total}}
			b, _ := json.Marshal(res)
			send(&agentpb.AgentMessage{Msg: &agentpb.AgentMessage_Done{Done: &agentpb.Done{RunId: as.GetRunId(), Share: as.GetShare(), ResultJson: b}}})
		}, fmt.Sprintf("its final result carries the id %q: ids are the server's to assign", earlier.ID)},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("evil%d", i)
			hostileAgent(t, env.agentAddr, name, tc.attack)
			env.waitAgents(t, "the hostile agent idle", func(l []server.AgentView) bool { return countState(l, server.AgentIdle) == 3 })
			alloc0 := allocated()
			run, res := env.runToEnd(t, distProfile(target, rps, 6, fmt.Sprintf("%ds", secs), `{"count": 3}`), nil)
			grown := allocated() - alloc0
			t.Logf("run %s: %q; %d MiB allocated during the run", run.State, run.Error, grown>>20)

			if run.State != store.RunDegraded {
				t.Fatalf("run %s (%q), want degraded", run.State, run.Error)
			}
			if want := fmt.Sprintf("agent %s (clients[0]) refused: %s", name, tc.why); !strings.Contains(run.Error, want) {
				t.Errorf("run error %q, want it to say %q", run.Error, want)
			}
			if !res.Degraded || len(res.Agents) != 2 {
				t.Fatalf("degraded %v, %d agents: want the 2 honest ones", res.Degraded, len(res.Agents))
			}
			var honest int64
			for _, a := range res.Agents {
				if strings.HasPrefix(a.Name, "evil") {
					t.Errorf("the hostile agent %s is in the result", a.Name)
				}
				honest += a.Achieved.Requests
			}
			if want := int64(rps / 3 * 2 * secs); honest != want || res.Achieved.Requests != want {
				t.Errorf("stored %d requests, honest agents %d, want both %d", res.Achieved.Requests, honest, want)
			}
			if res.Achieved.Requests < 0 || res.Achieved.Errors != 0 || res.StatusCodes[999] != 0 || len(res.StatusCodes) != 1 {
				t.Errorf("achieved %+v, codes %v", res.Achieved, res.StatusCodes)
			}
			if res.ID == earlier.ID {
				t.Errorf("the run's result took the id %s the agent claimed", res.ID)
			}
			spectest.CheckAgentsMerge(t, res)
			var inTimeline int64
			for _, iv := range res.Timeline {
				if !iv.Warmup {
					inTimeline += iv.Requests
				}
			}
			if inTimeline != res.Achieved.Requests {
				t.Errorf("the timeline counts %d requests, the totals %d: the refused agent's seconds are still in it", inTimeline, res.Achieved.Requests)
			}
			// A wide histogram decoded costs ~48 MiB (the wide attack sends
			// twelve); the whole run, the honest agents' engines in this
			// process included, allocates ~60 MiB.
			if grown > 120<<20 {
				t.Errorf("%d MiB allocated during the run", grown>>20)
			}
		})
	}
	// The result whose id was claimed is untouched.
	var again spec.Result
	getJSON(t, env.url+"/api/v1/results/"+earlier.ID, &again)
	if again.Achieved.Requests != earlier.Achieved.Requests || len(again.Agents) != 2 {
		t.Errorf("result %s changed: %d requests, %d agents", earlier.ID, again.Achieved.Requests, len(again.Agents))
	}
}
