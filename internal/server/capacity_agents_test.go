package server_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/capacity"
	"github.com/meshperf/meshperf/internal/echo"
	"github.com/meshperf/meshperf/internal/echo/echotest"
	"github.com/meshperf/meshperf/internal/server"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

// capacityAgentsBody is a capacity request whose profile runs on count
// agents, against target, with the options given as JSON members.
func capacityAgentsBody(target, agents, options string) string {
	return `{"profile_document": {"name": "limited", "duration": "1s", "agents": ` + agents + `, ` +
		`"clients": [{"connections": 16, "rps": 10, "endpoint_urls": ["` + target + `/"]}]}, ` +
		`"labels": {"team": "shop"}, ` + options + `}`
}

// TestCapacityAgentsFindsTheLimit: a capacity search whose profile asks
// for agents runs each step on two agents (internal/agent, the code of
// `meshperf agent`, connected over gRPC to the server's agent listener)
// against echo answering 503 above 400 requests a second. The search
// finds the limit within its tolerance, and each step's stored result is
// the merge of both agents' shares: their rates add up to the step's,
// their requests to the merged count.
func TestCapacityAgentsFindsTheLimit(t *testing.T) {
	const limit = 400
	target := strings.TrimSuffix(echotest.HTTP(t, echo.Options{Capacity: echo.Capacity{RPS: limit, Mode: echo.OverloadReject}}), "/")
	env := newAgentEnv(t, server.Options{})
	startAgents(t, env, 2)
	// Options as TestCapacityAPIFindsTheLimit (2 s warm-up, 3 s steps).
	run := submitCapacity(t, env.url, capacityAgentsBody(target, `{"count": 2}`, `"objective": "error_rate<1%", "min_rps": 100, "max_rps": 1600, `+
		`"step_duration": "3s", "warmup": "2s", "pause": "1s", "tolerance": 0.1, "confirm": 1, "max_steps": 16`))
	end := waitEnded(t, env.url, run.ID, 3*time.Minute)
	if end.State != store.RunSucceeded {
		t.Fatalf("search ended %s: %s\nserver log:\n%s", end.State, end.Error, env.log.String())
	}
	rep := getCapacity(t, env.url, run.ID).Report
	if rep == nil {
		t.Fatal("no report")
	}
	for _, st := range rep.Steps {
		t.Logf("step %d %-7s %5.0f rps: achieved %6.1f p99 %7.2fms errors %.3f%% met=%v client=%v %s",
			st.N, st.Phase, st.RPS, st.AchievedRPS, st.P99Ms, 100*st.ErrorRate, st.Met, st.ClientLimited, st.ClientReason)
	}
	if rep.Outcome != capacity.OutcomeFound {
		t.Fatalf("outcome %s, want found; advice %q", rep.Outcome, rep.Advice)
	}
	if lowest := limit / math.Pow(1+rep.Tolerance, 3); rep.Sustained > limit*1.01 || rep.Sustained < lowest {
		t.Errorf("sustains %v rps; the limit is %d: want %.0f to %.0f", rep.Sustained, limit, lowest, limit*1.01)
	}
	if rep.Breaks <= rep.Sustained || rep.Uncertainty/rep.Sustained > rep.Tolerance {
		t.Errorf("breaks at %v, sustains %v: not within the tolerance %v", rep.Breaks, rep.Sustained, rep.Tolerance)
	}
	if len(rep.BrokenBy) == 0 || !strings.HasPrefix(rep.BrokenBy[0], "error_rate") {
		t.Errorf("broken by %v, want error_rate<1%%", rep.BrokenBy)
	}
	if len(rep.Steps) > 16 {
		t.Errorf("%d steps, max_steps 16", len(rep.Steps))
	}
	checkStepsStored(t, env.url, rep)
	for _, st := range rep.Steps {
		var res spec.Result
		getJSON(t, env.url+"/api/v1/results/"+st.ResultID, &res)
		if len(res.Agents) != 2 || res.Degraded {
			t.Errorf("step %d: %d agents, degraded %v; notes %q", st.N, len(res.Agents), res.Degraded, res.Notes)
			continue
		}
		var rps float64
		var reqs int64
		names := map[string]bool{}
		for _, a := range res.Agents {
			names[a.Name] = true
			rps += a.RPS
			reqs += a.Achieved.Requests
			if a.RPS <= 0 || a.Connections != 8 || a.Achieved.Requests == 0 {
				t.Errorf("step %d: agent %s ran %v rps on %d connections, %d requests", st.N, a.Name, a.RPS, a.Connections, a.Achieved.Requests)
			}
		}
		if !names["a1"] || !names["a2"] {
			t.Errorf("step %d: agents %v, want a1 and a2", st.N, names)
		}
		if math.Abs(rps-st.RPS) > 1e-6*st.RPS {
			t.Errorf("step %d at %v rps: the agents' shares add up to %v", st.N, st.RPS, rps)
		}
		if reqs != res.Achieved.Requests || res.Achieved.Requests != st.Requests {
			t.Errorf("step %d: agents' requests add up to %d, the merged result has %d, the step %d", st.N, reqs, res.Achieved.Requests, st.Requests)
		}
	}
}

// TestCapacityAgentsRefused: a search asking for more agents than are
// connected is refused at submission with the field named, as a run is.
func TestCapacityAgentsRefused(t *testing.T) {
	env := newAgentEnv(t, server.Options{})
	startAgents(t, env, 1)
	code, b := do(t, "POST", env.url+"/api/v1/capacity", "application/json",
		capacityAgentsBody("http://127.0.0.1:1", `{"count": 2}`, `"objective": "error_rate<1%", "min_rps": 100, "max_rps": 400`))
	if code != 422 || !strings.Contains(string(b), "agents") || !strings.Contains(string(b), "1 agents are connected") {
		t.Errorf("answered %d %s", code, b)
	}
}
