package agents

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/internal/agent"
	"github.com/meshperf/meshperf/internal/agentpb"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

// goodSnap is a second that passes: n responses of 1ms, status 200.
func goodSnap(sec int, n int64) *agentpb.Snapshot {
	h := hist.New()
	h.RecordMicrosN(1000, n)
	return agent.Snapshot("r", 0, spec.Interval{Second: sec, Seconds: 1, Requests: n,
		StatusCodes: map[int]int64{200: n}, Latency: h.MustEncode(), ServiceTime: h.MustEncode()})
}

func TestValidSnapshot(t *testing.T) {
	plan := func(protocol string) *loadgen.Plan {
		return &loadgen.Plan{Protocol: protocol, Duration: 10 * time.Second, Timeout: 2 * time.Second}
	}
	tests := []struct {
		name     string
		protocol string
		edit     func(sn *agentpb.Snapshot)
		want     string // "" passes
	}{
		{"plausible", loadgen.ProtocolHTTP, func(*agentpb.Snapshot) {}, ""},
		{"negative requests", loadgen.ProtocolHTTP, func(sn *agentpb.Snapshot) { sn.Requests = -1 }, "requests -1 is out of range"},
		{"huge errors", loadgen.ProtocolHTTP, func(sn *agentpb.Snapshot) { sn.Errors = 1 << 40 }, "errors 1099511627776 is out of range"},
		{"more responses than requests", loadgen.ProtocolHTTP, func(sn *agentpb.Snapshot) { sn.Responses = 101 }, "101 responses and 0 errors of 100 requests"},
		{"status 999", loadgen.ProtocolHTTP, func(sn *agentpb.Snapshot) { sn.StatusCodes = map[int32]int64{999: 100} }, "status code 999 is not an HTTP status"},
		{"status 99", loadgen.ProtocolHTTP, func(sn *agentpb.Snapshot) { sn.StatusCodes = map[int32]int64{99: 1} }, "status code 99 is not an HTTP status"},
		{"negative code count", loadgen.ProtocolHTTP, func(sn *agentpb.Snapshot) { sn.StatusCodes = map[int32]int64{200: -5} }, "count of status 200 -5 is out of range"},
		{"codes past the requests", loadgen.ProtocolHTTP, func(sn *agentpb.Snapshot) { sn.StatusCodes = map[int32]int64{200: 100, 500: 1} }, "status codes add up to 101"},
		{"grpc code 16", loadgen.ProtocolGRPC, func(sn *agentpb.Snapshot) { sn.StatusCodes = map[int32]int64{0: 90, 16: 10} }, ""},
		{"grpc code 17", loadgen.ProtocolGRPC, func(sn *agentpb.Snapshot) { sn.StatusCodes = map[int32]int64{17: 1} }, "status code 17 is not a gRPC status code (0-16)"},
		{"grpc code 200", loadgen.ProtocolGRPC, func(sn *agentpb.Snapshot) { sn.StatusCodes = map[int32]int64{200: 1} }, "not a gRPC status code"},
		{"tcp with a code", loadgen.ProtocolTCP, func(sn *agentpb.Snapshot) {}, "status code 200 in a TCP test"},
		{"unknown class", loadgen.ProtocolHTTP, func(sn *agentpb.Snapshot) { sn.ErrorClasses = map[string]int64{"pwned": 1} }, `unknown error class "pwned"`},
		{"known class", loadgen.ProtocolHTTP, func(sn *agentpb.Snapshot) {
			sn.Requests, sn.Errors, sn.ErrorClasses = 101, 1, map[string]int64{loadgen.ClassReset: 1}
		}, ""},
		{"second past the plan", loadgen.ProtocolHTTP, func(sn *agentpb.Snapshot) { sn.Second = 18 }, "second 18 is outside the share's 0-17"},
		{"negative second", loadgen.ProtocolHTTP, func(sn *agentpb.Snapshot) { sn.Second = -1 }, "second -1 is outside"},
		{"NaN length", loadgen.ProtocolHTTP, func(sn *agentpb.Snapshot) { sn.Seconds = math.NaN() }, "length NaN s"},
		{"long second", loadgen.ProtocolHTTP, func(sn *agentpb.Snapshot) { sn.Seconds = 2 }, "length 2 s"},
		{"infinite rate", loadgen.ProtocolHTTP, func(sn *agentpb.Snapshot) { sn.RequestedRps = math.Inf(1) }, "requested rate +Inf"},
		{"more service times than requests", loadgen.ProtocolHTTP, func(sn *agentpb.Snapshot) {
			sn.Requests, sn.Responses, sn.StatusCodes = 10, 10, map[int32]int64{200: 10}
		}, "100 service times of 10 requests"},
		{"more latencies than service times", loadgen.ProtocolHTTP, func(sn *agentpb.Snapshot) {
			h := hist.New()
			h.RecordMicrosN(1000, 50)
			sn.ServiceTime = h.MustEncode()
		}, "100 latencies of 50 service times"},
		{"garbage histogram", loadgen.ProtocolHTTP, func(sn *agentpb.Snapshot) { sn.Latency = "HISTFAAAA" }, "latency histogram"},
		{"too many codes", loadgen.ProtocolHTTP, func(sn *agentpb.Snapshot) {
			sn.StatusCodes = map[int32]int64{}
			for c := int32(100); c < 100+maxSnapshotCodes+1; c++ {
				sn.StatusCodes[c] = 1
			}
		}, "65 status codes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sh := &share{plan: plan(tc.protocol)}
			sn := goodSnap(3, 100)
			tc.edit(sn)
			_, _, err := validSnapshot(sh, sn)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	// A second, once taken, is not taken again.
	sh := &share{plan: plan(loadgen.ProtocolHTTP)}
	sn := goodSnap(0, 100)
	lat, svc, err := validSnapshot(sh, sn)
	if err != nil {
		t.Fatal(err)
	}
	sh.acc.add(sn, lat, svc)
	if _, _, err := validSnapshot(sh, goodSnap(0, 100)); err == nil || !strings.Contains(err.Error(), "second 0 was reported twice") {
		t.Errorf("a repeated second: %v", err)
	}
}

// finalOf is the final result an honest agent would send for sh's
// snapshots.
func finalOf(sh *share) *spec.Result {
	a := &sh.acc
	codes := map[int]int64{}
	for c, n := range a.codes {
		codes[c] = n
	}
	return &spec.Result{Schema: spec.ResultSchema, StartTime: time.Unix(1_700_000_000, 0),
		Achieved: spec.Achieved{Requests: a.requests, Responses: a.svc.Count(), Errors: a.errors, RPS: 100},
		Latency:  spec.Summarize(a.lat), ServiceTime: spec.Summarize(a.svc), StatusCodes: codes}
}

func TestValidResult(t *testing.T) {
	sh := &share{plan: &loadgen.Plan{Protocol: loadgen.ProtocolHTTP, Duration: 10 * time.Second}}
	for sec := range 3 {
		sn := goodSnap(sec, 100)
		lat, svc, err := validSnapshot(sh, sn)
		if err != nil {
			t.Fatal(err)
		}
		sh.acc.add(sn, lat, svc)
	}
	other := hist.New()
	other.RecordMicrosN(5000, 300)
	tests := []struct {
		name string
		edit func(r *spec.Result)
		want string
	}{
		{"honest", func(*spec.Result) {}, ""},
		{"an id", func(r *spec.Result) { r.ID = "0123456789abcdef0123" }, `carries the id "0123456789abcdef0123"`},
		{"negative requests", func(r *spec.Result) { r.Achieved.Requests = -4999850 }, "counts -4999850 requests, its snapshots 300"},
		{"more requests", func(r *spec.Result) { r.Achieved.Requests = 301 }, "counts 301 requests"},
		{"other codes", func(r *spec.Result) { r.StatusCodes = map[int]int64{999: 300} }, "status codes map[999:300]"},
		{"an error class", func(r *spec.Result) { r.Errors = []spec.ErrorClass{{Class: "timeout", Count: 1}} }, "error classes map[timeout:1]"},
		{"another histogram", func(r *spec.Result) { r.ServiceTime = spec.Summarize(other) }, "its final service time histogram is not the sum of its snapshots'"},
		{"no service time", func(r *spec.Result) { r.ServiceTime = nil }, "no service time"},
		{"negative bytes", func(r *spec.Result) { r.Achieved.BytesSent = -1 }, "-1 bytes sent"},
		{"negative rate", func(r *spec.Result) { r.Achieved.RPS = -1 }, "a rate of -1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := finalOf(sh)
			tc.edit(r)
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			got, err := validResult(sh, b)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == "":
				if got.ID != "" || got.ServiceTime.Count != 300 || got.Timeline != nil {
					t.Errorf("kept %+v", got)
				}
			case err == nil || !strings.Contains(err.Error(), tc.want):
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := validResult(sh, make([]byte, maxResultJSON+1)); err == nil || !strings.Contains(err.Error(), "bytes (at most") {
		t.Errorf("an oversized result: %v", err)
	}
}

// Whatever an agent sends as its final result, the check answers without
// panicking, and what it keeps counts what the snapshots counted.
func FuzzValidResult(f *testing.F) {
	sh := &share{plan: &loadgen.Plan{Protocol: loadgen.ProtocolHTTP, Duration: 10 * time.Second}}
	sn := goodSnap(0, 100)
	lat, svc, err := validSnapshot(sh, sn)
	if err != nil {
		f.Fatal(err)
	}
	sh.acc.add(sn, lat, svc)
	honest, _ := json.Marshal(finalOf(sh))
	f.Add(honest)
	f.Add([]byte(`{"id": "x", "service_time": {"count": 1}}`))
	f.Add([]byte(`{"achieved": {"requests": -1}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := validResult(sh, b)
		if err != nil {
			return
		}
		if got.ID != "" || got.Achieved.Requests != 100 || got.ServiceTime.Count != 100 || len(got.Notes) > maxAgentNotes {
			t.Fatalf("accepted %+v", got)
		}
	})
}
