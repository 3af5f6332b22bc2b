package agents

import (
	"reflect"
	"testing"
	"time"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/internal/agent"
	"github.com/meshperf/meshperf/internal/agentpb"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

func TestSplitInts(t *testing.T) {
	tests := []struct {
		total int64
		n     int
		want  []int64
	}{
		{10, 3, []int64{4, 3, 3}},
		{9, 3, []int64{3, 3, 3}},
		{3, 3, []int64{1, 1, 1}},
		{0, 2, []int64{0, 0}},
		{101, 4, []int64{26, 25, 25, 25}},
	}
	for _, tc := range tests {
		got := splitInts(tc.total, tc.n)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitInts(%d, %d) = %v, want %v", tc.total, tc.n, got, tc.want)
		}
	}
}

func TestMatches(t *testing.T) {
	labels := map[string]string{"zone": "a", "tier": "x"}
	tests := []struct {
		sel  map[string]string
		want bool
	}{
		{map[string]string{}, true},
		{map[string]string{"zone": "a"}, true},
		{map[string]string{"zone": "a", "tier": "x"}, true},
		{map[string]string{"zone": "b"}, false},
		{map[string]string{"rack": "1"}, false},
	}
	for _, tc := range tests {
		if got := matches(labels, tc.sel); got != tc.want {
			t.Errorf("matches(%v) = %v, want %v", tc.sel, got, tc.want)
		}
	}
}

// regWith is a registry holding connected agents, for planning.
func regWith(names map[string]map[string]string, busy ...string) *Registry {
	r := New(Options{Token: "t"})
	for name, labels := range names {
		c := &agentConn{name: name, labels: labels, connected: true, shares: map[*share]struct{}{}}
		r.agents[name] = c
	}
	for _, name := range busy {
		r.agents[name].shares[&share{}] = struct{}{}
	}
	return r
}

func TestPlanShares(t *testing.T) {
	r := regWith(map[string]map[string]string{
		"a1": {"zone": "a"}, "a2": {"zone": "a"}, "b1": {"zone": "b"}, "b2": {"zone": "b"}, "b3": {"zone": "b"},
	}, "b3")
	prof := &spec.Profile{Duration: "10s", Clients: []spec.Client{
		{RPS: 1000, Connections: 10, EndpointURLs: []string{"http://127.0.0.1:1/"}, Agents: &spec.AgentSelection{Selector: "zone=a"}},
		{RPS: 300, Connections: 3, EndpointURLs: []string{"http://127.0.0.1:1/"}, Agents: &spec.AgentSelection{Count: 2, Selector: "zone=b"}},
	}}
	plans, err := loadgen.PlansFromProfile(prof)
	if err != nil {
		t.Fatal(err)
	}
	shares, err := r.planShares(prof, plans, nil)
	if err != nil {
		t.Fatalf("planShares: %v", err)
	}
	type got struct {
		name   string
		client int
		conns  int
		rps    float64
	}
	var gots []got
	for _, sh := range shares {
		gots = append(gots, got{sh.name, sh.client, sh.connections, sh.rps})
	}
	// b3 is busy: the second client gets b1 and b2 only.
	want := []got{{"a1", 0, 5, 500}, {"a2", 0, 5, 500}, {"b1", 1, 2, 150}, {"b2", 1, 1, 150}}
	if !reflect.DeepEqual(gots, want) {
		t.Errorf("shares %+v, want %+v", gots, want)
	}
	prof.Clients[1].Agents.Count = 3
	if _, err := r.planShares(prof, plans, nil); err == nil || err.Error() != `clients[1].agents: the run asks for 3 agents but 2 agents matching "zone=b" are connected and idle (1 more busy with another run)` {
		t.Errorf("err = %v", err)
	}
}

// snap is one second of a share with n responses at d.
func snap(share int32, sec int, n int64, d time.Duration) (*hist.Histogram, func() *agentpb.Snapshot) {
	h := hist.New()
	h.RecordMicrosN(int64(d/time.Microsecond), n)
	return h, func() *agentpb.Snapshot {
		return agent.Snapshot("r", share, spec.Interval{Second: sec, Seconds: 1, Requests: n,
			StatusCodes: map[int]int64{200: n}, Latency: h.MustEncode(), ServiceTime: h.MustEncode()})
	}
}

func TestMergerWaitsForEveryShare(t *testing.T) {
	start := time.Now()
	m := newMerger(start, true)
	shares := []*share{{idx: 0}, {idx: 1}}
	_, s00 := snap(0, 0, 100, time.Millisecond)
	_, s10 := snap(1, 0, 50, 3*time.Millisecond)
	_, s01 := snap(0, 1, 100, time.Millisecond)
	addSnap(t, m, shares[0], s00())
	if evs := m.ready(shares, start, false); len(evs) != 0 {
		t.Fatalf("second 0 published before share 1 reported it: %+v", evs)
	}
	addSnap(t, m, shares[0], s01())
	addSnap(t, m, shares[1], s10())
	evs := m.ready(shares, start, false)
	if len(evs) != 1 || evs[0].Interval.Second != 0 || evs[0].Interval.Requests != 150 {
		t.Fatalf("events %+v, want second 0 with 150 requests", evs)
	}
	if p99 := evs[0].Interval.P99Ms; p99 < 2.9 || p99 > 3.1 {
		t.Errorf("p99 of the merged second = %g ms, want 3 (a third of it is at 3ms)", p99)
	}
	// Share 1 finishes: second 1 need not wait for it.
	shares[1].finished = true
	if evs := m.ready(shares, start, false); len(evs) != 1 || evs[0].Interval.Second != 1 || evs[0].SoFar.Requests != 250 {
		t.Fatalf("events %+v, want second 1 with 250 so far", evs)
	}
	// A late snapshot of a published second is still added.
	_, late := snap(1, 1, 10, 5*time.Millisecond)
	addSnap(t, m, shares[1], late())
	tl := m.timeline(shares)
	if len(tl) != 2 || tl[1].Requests != 110 || tl[1].StatusCodes[200] != 110 {
		t.Errorf("timeline %+v", tl)
	}
	if got := shares[1].acc.svc.Count(); got != 60 {
		t.Errorf("share 1 kept %d responses, want 60", got)
	}
}

func TestMergerForcesLateSeconds(t *testing.T) {
	start := time.Now().Add(-10 * time.Second)
	m := newMerger(start, true)
	shares := []*share{{idx: 0}, {idx: 1}}
	_, s := snap(0, 0, 10, time.Millisecond)
	addSnap(t, m, shares[0], s())
	if evs := m.ready(shares, start.Add(time.Second), true); len(evs) != 0 {
		t.Fatalf("second 0 forced before its wait: %+v", evs)
	}
	if evs := m.ready(shares, start.Add(time.Second+lateAfter+time.Second), true); len(evs) != 1 {
		t.Fatalf("second 0 not forced after its wait: %+v", evs)
	}
}

// addSnap checks a snapshot as the server does and merges it.
func addSnap(t testing.TB, m *merger, sh *share, sn *agentpb.Snapshot) {
	t.Helper()
	lat, svc, err := validSnapshot(sh, sn)
	if err != nil {
		t.Fatal(err)
	}
	sh.acc.add(sn, lat, svc)
	m.add(sn, lat, svc)
}
