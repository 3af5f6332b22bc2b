package server_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/api"
	"github.com/meshperf/meshperf/internal/capacity"
	"github.com/meshperf/meshperf/internal/server"
	"github.com/meshperf/meshperf/store"
)

// TestScheduledCapacity: a schedule that names a capacity search queues
// one (through the scheduler's path, by "Run now"): its run is the
// schedule's, the search is stored against the profile and reaches an
// answer; its options are checked when the schedule is made (422 naming
// capacity.<field>) and cannot change later.
func TestScheduledCapacity(t *testing.T) {
	target := startEcho(t)
	s := newRunServer(t, "", server.Options{})
	code, b := do(t, "POST", s.url+"/api/v1/profiles", "application/json",
		`{"name": "searched", "duration": "1s", "clients": [{"connections": 4, "rps": 10, "endpoint_urls": ["`+target+`/"]}]}`)
	if code != 201 {
		t.Fatalf("create profile: %d %s", code, b)
	}
	for _, tc := range []struct{ capacity, field string }{
		{`{"objective": "p99<=1s", "min_rps": 0}`, "capacity.min_rps"},
		{`{"min_rps": 20}`, "capacity.objective"},
		{`{"objective": "p99<=1s", "profile": "other"}`, "capacity.profile"},
		{`{"objective": "p99<=1s", "labels": {"a": "b"}}`, "capacity.labels"},
	} {
		code, b := do(t, "POST", s.url+"/api/v1/schedules", "application/json", `{"profile": "searched", "spec": "@daily", "capacity": `+tc.capacity+`}`)
		var eb api.ErrorBody
		if err := json.Unmarshal(b, &eb); code != 422 || err != nil || eb.Error == nil || eb.Error.Field != tc.field {
			t.Errorf("%s: %d %s, want 422 naming %s", tc.capacity, code, b, tc.field)
		}
	}
	code, b = do(t, "POST", s.url+"/api/v1/schedules", "application/json", `{"profile": "searched", "spec": "@daily", "capacity": `+
		`{"objective": "p99<=1s", "min_rps": 20, "max_rps": 40, "step_duration": "1s", "warmup": "0s", "pause": "0s", "confirm": 0}}`)
	var sched api.ScheduleView
	if err := json.Unmarshal(b, &sched); code != 201 || err != nil || sched.Capacity == nil || sched.Capacity.Objective != "p99<=1s" || *sched.Capacity.MaxRPS != 40 {
		t.Fatalf("create schedule: %d %s", code, b)
	}
	if code, b := do(t, "PUT", s.url+"/api/v1/schedules/"+sched.ID, "application/json", `{"spec": "@daily", "capacity": {"objective": "p99<=2s"}}`); code != 422 {
		t.Errorf("changing a schedule's capacity options: %d %s", code, b)
	}
	code, b = do(t, "POST", s.url+"/api/v1/schedules/"+sched.ID+"/run", "", "")
	var run store.Run
	if err := json.Unmarshal(b, &run); code != 202 || err != nil {
		t.Fatalf("run now: %d %s", code, b)
	}
	if run.ScheduleID != sched.ID || run.Labels[capacity.LabelID] != run.ID {
		t.Errorf("the run: schedule %q labels %v", run.ScheduleID, run.Labels)
	}
	end := waitEnded(t, s.url, run.ID, time.Minute)
	if end.State != store.RunSucceeded {
		t.Fatalf("the scheduled search ended %s: %s", end.State, end.Error)
	}
	v := getCapacity(t, s.url, run.ID)
	if v.Search.State != store.CapacitySucceeded || v.Search.ProfileID != sched.ProfileID || v.Report.Outcome != capacity.OutcomeAboveMax ||
		v.Report.Sustained != 40 || len(v.Report.Steps) != 2 {
		t.Errorf("the scheduled search: %+v, outcome %s sustains %v in %d steps", v.Search, v.Report.Outcome, v.Report.Sustained, len(v.Report.Steps))
	}
	code, b = do(t, "GET", s.url+"/api/v1/capacity?profile=searched", "", "")
	var list api.CapacityList
	if err := json.Unmarshal(b, &list); code != 200 || err != nil || len(list.Searches) != 1 || list.Searches[0].SustainedRPS != 40 {
		t.Errorf("the profile's searches: %d %s", code, b)
	}
	// A schedule of runs is unchanged: no capacity options, a plain run.
	code, b = do(t, "POST", s.url+"/api/v1/schedules", "application/json", `{"profile": "searched", "spec": "@daily"}`)
	var plain api.ScheduleView
	if err := json.Unmarshal(b, &plain); code != 201 || err != nil || plain.Capacity != nil {
		t.Fatalf("a schedule of runs: %d %s", code, b)
	}
	code, b = do(t, "POST", s.url+"/api/v1/schedules/"+plain.ID+"/run", "", "")
	var plainRun store.Run
	if err := json.Unmarshal(b, &plainRun); code != 202 || err != nil || plainRun.Labels[capacity.LabelID] != "" {
		t.Errorf("a schedule of runs queued %d %s", code, b)
	}
}
