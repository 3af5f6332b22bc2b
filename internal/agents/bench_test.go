package agents

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/internal/agent"
	"github.com/meshperf/meshperf/internal/agentpb"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

const benchAgents = 50

// benchSnapshots makes a second of snapshots for n agents, each of rps
// responses with a realistic spread: log-normal around 2ms with a tail to
// ~100ms, and a few 503s.
func benchSnapshots(n, sec, rps int, seed uint64) []*agentpb.Snapshot {
	r := rand.New(rand.NewPCG(seed, uint64(sec)))
	out := make([]*agentpb.Snapshot, n)
	for i := range out {
		lat, svc := hist.New(), hist.New()
		for range rps {
			us := int64(2000 * math.Exp(r.NormFloat64()*0.8))
			svc.RecordMicros(us)
			lat.RecordMicros(us + int64(r.IntN(200)))
		}
		out[i] = agent.Snapshot("bench", int32(i), spec.Interval{Second: sec, Seconds: 1, Requests: int64(rps),
			StatusCodes: map[int]int64{200: int64(rps - 3), 503: 3}, Errors: 3,
			Latency: lat.MustEncode(), ServiceTime: svc.MustEncode()})
	}
	return out
}

// BenchmarkAgentSnapshotMerge measures the server's merge of one agent's
// 1-second snapshot (1,000 responses) into a distributed run of 50 agents:
// decoding its two histograms, adding them to the second, the share and
// the run, and publishing each second once all 50 have reported.
func BenchmarkAgentSnapshotMerge(b *testing.B) {
	const secs = 8 // distinct seconds of snapshots, reused round robin
	var snaps [][]*agentpb.Snapshot
	for s := range secs {
		snaps = append(snaps, benchSnapshots(benchAgents, s, 1000, 1))
	}
	shares := make([]*share, benchAgents)
	for i := range shares {
		shares[i] = &share{idx: int32(i)}
	}
	m := newMerger(time.Now(), true)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sec, a := i/benchAgents, i%benchAgents
		sn := snaps[sec%secs][a]
		sn.Second = int32(sec)
		addSnap(b, m, shares[a], sn)
		if a == benchAgents-1 {
			if evs := m.ready(shares, time.Now(), false); len(evs) != 1 {
				b.Fatalf("second %d: %d events", sec, len(evs))
			}
		}
	}
}

// BenchmarkAgentsFleet runs the real gRPC path: 50 simulated agents
// connect to the server over 127.0.0.1, take their share of a run, and
// each send a 1-second snapshot (1,000 responses) every second for 5
// seconds. It reports the process's CPU per wall second while they send
// (cpu-cores; the simulated agents' sending is in it too, so it is an upper
// bound of the server's) and the heap per connected idle agent
// (heap-bytes/agent, server and client side of the stream together).
func BenchmarkAgentsFleet(b *testing.B) {
	const secs = 5
	snaps := make([][]*agentpb.Snapshot, secs)
	for s := range secs {
		snaps[s] = benchSnapshots(benchAgents, s, 1000, 2)
	}
	for i := 0; i < b.N; i++ {
		cores, perAgent := fleetOnce(b, snaps)
		b.ReportMetric(cores, "cpu-cores")
		b.ReportMetric(perAgent, "heap-bytes/agent")
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func fleetOnce(b *testing.B, snaps [][]*agentpb.Snapshot) (cores, perAgent float64) {
	r := New(Options{Token: "bench", Version: "bench"})
	defer r.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Serve(ctx, ln)

	before := heapInUse()
	streams := make([]agentpb.Agent_ConnectClient, benchAgents)
	for i := range streams {
		conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		st, err := agentpb.NewAgentClient(conn).Connect(ctx)
		if err != nil {
			b.Fatal(err)
		}
		st.Send(&agentpb.AgentMessage{Msg: &agentpb.AgentMessage_Hello{Hello: &agentpb.Hello{Token: "bench", Name: fmt.Sprintf("sim-%02d", i)}}})
		if m, err := st.Recv(); err != nil || m.GetWelcome() == nil {
			b.Fatalf("agent %d not welcomed: %v", i, err)
		}
		streams[i] = st
	}
	// Simulated agents: answer pings, and on their assignment send a
	// snapshot a second, then Done.
	assigned := make(chan int, benchAgents)
	for i, st := range streams {
		go func() {
			for {
				m, err := st.Recv()
				if err != nil {
					return
				}
				switch x := m.Msg.(type) {
				case *agentpb.ServerMessage_Ping:
					now := time.Now().UnixNano()
					st.Send(&agentpb.AgentMessage{Msg: &agentpb.AgentMessage_Pong{Pong: &agentpb.Pong{T0UnixNano: x.Ping.GetT0UnixNano(), T1UnixNano: now, T2UnixNano: now}}})
				case *agentpb.ServerMessage_Assign:
					assigned <- i
					go func() {
						share := x.Assign.GetShare()
						time.Sleep(time.Until(time.Unix(0, x.Assign.GetStartAtUnixNano()).Add(time.Second)))
						for sec := range snaps {
							sn := snaps[sec][i]
							sn.RunId, sn.Share = x.Assign.GetRunId(), share
							st.Send(&agentpb.AgentMessage{Msg: &agentpb.AgentMessage_Snapshot{Snapshot: sn}})
							time.Sleep(time.Second)
						}
						st.Send(&agentpb.AgentMessage{Msg: &agentpb.AgentMessage_Done{Done: &agentpb.Done{RunId: x.Assign.GetRunId(), Share: share, Error: "simulated agent: snapshots only"}}})
					}()
				}
			}
		}()
	}
	for len(r.List()) < benchAgents {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // the first pings
	perAgent = float64(heapInUse()-before) / benchAgents

	prof := &spec.Profile{Duration: fmt.Sprintf("%ds", len(snaps)), Agents: &spec.AgentSelection{Count: benchAgents},
		Clients: []spec.Client{{RPS: 50_000, Connections: benchAgents, EndpointURLs: []string{"http://127.0.0.1:1/"}}}}
	plans, err := loadgen.PlansFromProfile(prof)
	if err != nil {
		b.Fatal(err)
	}
	var seen int
	var cpu0 time.Duration
	var t0 time.Time
	publish := func(loadgen.Progress) {
		seen++
		if seen == 1 {
			cpu0, t0 = cpuTime(), time.Now()
		}
	}
	b.ResetTimer()
	res, _, err := r.runOnAgents(ctx, "bench", prof, plans, publish)
	wall := time.Since(t0)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	if res != nil && res.ServiceTime.Count != int64(len(snaps)*benchAgents*1000) {
		b.Fatalf("merged %d responses, want %d", res.ServiceTime.Count, len(snaps)*benchAgents*1000)
	}
	if seen != len(snaps) {
		b.Fatalf("%d seconds published, want %d (err %v)", seen, len(snaps), err)
	}
	return cpu.Seconds() / wall.Seconds(), perAgent
}
