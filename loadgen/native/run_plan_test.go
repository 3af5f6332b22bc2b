package native_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/loadgen/native"
)

// Run works on its own copy of the plan: the defaults it fills in
// (Normalize) and the late threshold it widens by the batching window on
// the event loop stay out of the caller's Plan, which can be run again as
// it was given, on every path of the engine.
func TestRunLeavesThePlanAlone(t *testing.T) {
	url := startEcho(t, "0", false)
	for _, tc := range []struct {
		name    string
		engine  *native.Engine
		plan    loadgen.Plan
		widened bool // the run's late threshold is above the default (batching)
	}{
		{"event loop, batched open loop", &native.Engine{}, loadgen.Plan{Targets: []string{url + "/"}, Rate: loadgen.Constant(2000), Duration: 500 * time.Millisecond}, true},
		{"goroutines, closed loop", &native.Engine{Goroutines: true}, loadgen.Plan{Targets: []string{url + "/"}, Connections: 2, Requests: 50}, false},
		{"h2c", &native.Engine{}, loadgen.Plan{Targets: []string{url + "/"}, HTTPVersion: loadgen.H2C, Rate: loadgen.Constant(200), Duration: 300 * time.Millisecond}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.plan
			before := tc.plan
			for i := range 2 {
				res, err := tc.engine.Run(t.Context(), &p, nil)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(p, before) {
					t.Fatalf("run %d changed the caller's plan:\n got %+v\nwant %+v", i+1, p, before)
				}
				// What the run used is in its result, not in the plan.
				late := time.Duration(res.Achieved.LateThreshold)
				if res.Achieved.Responses == 0 || res.Requested.Method != "GET" || (late > loadgen.DefaultLateThreshold) != tc.widened {
					t.Errorf("run %d: %d responses, method %q, late threshold %v (widened: want %v)", i+1, res.Achieved.Responses, res.Requested.Method, late, tc.widened)
				}
			}
		})
	}
}

// An open-loop run bounded by its count alone (no duration, as `-n 300
// -d 0` asks) sends every request at its time: its end is unbounded, and
// giving up on unsent requests at "end plus timeout" once wrapped round to
// the past and dropped them all before the first was sent.
func TestOpenLoopCountWithoutDuration(t *testing.T) {
	url := startEcho(t, "0", false)
	for _, tc := range []struct {
		name   string
		engine *native.Engine
		plan   loadgen.Plan
	}{
		{"event loop", &native.Engine{}, loadgen.Plan{Targets: []string{url + "/"}, Rate: loadgen.Constant(1000), Requests: 300}},
		{"goroutines", &native.Engine{Goroutines: true}, loadgen.Plan{Targets: []string{url + "/"}, Rate: loadgen.Constant(1000), Requests: 300}},
		{"h2c", &native.Engine{}, loadgen.Plan{Targets: []string{url + "/"}, HTTPVersion: loadgen.H2C, Rate: loadgen.Constant(1000), Requests: 300}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			start := time.Now()
			res, err := tc.engine.Run(ctx, &tc.plan, nil)
			if err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			if res.Achieved.Requests != 300 || res.Achieved.Responses != 300 || res.Achieved.Errors != 0 {
				t.Errorf("%d requests, %d responses, %d errors (%v), want 300 answered", res.Achieved.Requests, res.Achieved.Responses, res.Achieved.Errors, res.Errors)
			}
			// 300 requests at 1,000/s are due over 0.3 s: sent at their
			// times, not all at once and not dropped.
			if took < 250*time.Millisecond {
				t.Errorf("the run took %v, less than the 0.3 s its rate spreads 300 requests over", took)
			}
		})
	}
}
