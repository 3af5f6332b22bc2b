package runstep

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

// TestStepProfile: the profile agents get for a step plans, once parsed
// back as an agent does, each client at its plan's rate (whole or
// fractional), the step's duration and warm-up, with no request count and
// no objectives; the original profile is not changed.
func TestStepProfile(t *testing.T) {
	prof := &spec.Profile{Name: "p", Duration: "1m", Agents: &spec.AgentSelection{Count: 2},
		Meshperf: &spec.ProfileExtras{Warmup: "10s", Requests: 5000, SLO: []string{"p99<=1s"}},
		Clients: []spec.Client{
			{RPS: 10, Connections: 4, EndpointURLs: []string{"http://127.0.0.1:1/a"}},
			{RPS: 30, Connections: 4, EndpointURLs: []string{"http://127.0.0.1:1/b"}, Meshperf: &spec.ClientExtras{RateShape: "ramp:1-30", Method: "POST"}},
		}}
	plans, err := loadgen.PlansFromProfile(prof)
	if err != nil {
		t.Fatal(err)
	}
	// A step at 437.5 rps split 1:3.
	plans[0].Rate, plans[1].Rate = loadgen.Constant(109.375), loadgen.Constant(328)
	step, err := stepProfile(prof, plans, 3*time.Second, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	b, err := step.JSON()
	if err != nil {
		t.Fatal(err)
	}
	back, _, err := spec.ParseProfile(b)
	if err != nil {
		t.Fatalf("the step profile does not parse: %v\n%s", err, b)
	}
	got, err := loadgen.PlansFromProfile(back)
	if err != nil {
		t.Fatalf("the step profile does not plan: %v\n%s", err, b)
	}
	for i, want := range []float64{109.375, 328} {
		p := got[i]
		for _, at := range []time.Duration{0, 2 * time.Second, 4999 * time.Millisecond} {
			if r := p.Rate.RateAt(at); math.Abs(r-want) > 1e-9 {
				t.Errorf("client %d at %s: %v rps, want %v", i, at, r, want)
			}
		}
		if p.Duration != 3*time.Second || p.Warmup != 2*time.Second || p.Requests != 0 {
			t.Errorf("client %d: duration %s warm-up %s requests %d", i, p.Duration, p.Warmup, p.Requests)
		}
	}
	if got[1].Method != "POST" || back.Agents == nil || back.Agents.Count != 2 || len(back.Meshperf.SLO) != 0 {
		t.Errorf("the step profile lost the client's method or the agents, or kept the SLO: %s", b)
	}
	if prof.Duration != "1m" || prof.Meshperf.Requests != 5000 || prof.Clients[1].Meshperf.RateShape != "ramp:1-30" {
		t.Errorf("the profile was changed: %+v", prof)
	}
	if _, err := stepProfile(prof, plans[:1], time.Second, 0); !errors.Is(err, ErrBadPlan) {
		t.Errorf("plans not matching the clients: %v", err)
	}
}
