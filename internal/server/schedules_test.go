package server_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/server"
	"github.com/meshperf/meshperf/store"
)

func TestSchedules(t *testing.T) {
	target := startEcho(t)
	s := newRunServer(t, "", server.Options{})
	prof := "name: nightly\nduration: 1s\nclients:\n- connections: 2\n  rps: 50\n  endpoint_urls: [" + target + "/]\n"
	if code, b := do(t, "POST", s.url+"/api/v1/profiles", "application/yaml", prof); code != 201 {
		t.Fatalf("profile: %d %s", code, b)
	}
	for _, tc := range []struct {
		name, body string
		status     int
		field      string
	}{
		{"bad spec", `{"profile":"nightly","spec":"61 * * * *"}`, 422, "spec"},
		{"bad time zone", `{"profile":"nightly","spec":"@daily","timezone":"Mars/Olympus"}`, 422, "timezone"},
		{"no profile", `{"spec":"@daily"}`, 422, "profile"},
		{"unknown profile", `{"profile":"nope","spec":"@daily"}`, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, b := do(t, "POST", s.url+"/api/v1/schedules", "application/json", tc.body)
			var e apiError
			json.Unmarshal(b, &e)
			if code != tc.status || e.Error.Field != tc.field {
				t.Errorf("got %d field %q (%s), want %d %q", code, e.Error.Field, e.Error.Message, tc.status, tc.field)
			}
		})
	}

	code, b := do(t, "POST", s.url+"/api/v1/schedules", "application/json", `{"profile":"nightly","spec":"0 3 * * *","timezone":"Europe/Berlin"}`)
	if code != 201 {
		t.Fatalf("create: %d %s", code, b)
	}
	var v server.ScheduleView
	json.Unmarshal(b, &v)
	if v.NextDueAt.IsZero() || v.Description == "" || !v.Enabled {
		t.Errorf("created %s", b)
	}
	if berlin, _ := time.LoadLocation("Europe/Berlin"); v.NextDueAt.In(berlin).Hour() != 3 {
		t.Errorf("next due %v, want 03:00 in Berlin", v.NextDueAt)
	}

	// A server that was down for three minutes of an every-minute
	// schedule: the last due time still runs, the older ones are recorded
	// as missed, not dropped.
	code, b = do(t, "POST", s.url+"/api/v1/schedules", "application/json", `{"profile":"nightly","spec":"every 1m"}`)
	if code != 201 {
		t.Fatalf("create every: %d %s", code, b)
	}
	var every server.ScheduleView
	json.Unmarshal(b, &every)
	sc, err := s.st.GetSchedule(t.Context(), every.ID)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	sc.LastDueAt = now.Add(-3*time.Minute - time.Second)
	sc.NextDueAt = now.Add(-2*time.Minute - 59*time.Second)
	if err := s.st.UpdateSchedule(t.Context(), sc); err != nil {
		t.Fatal(err)
	}
	var runs []store.Run
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		_, b := do(t, "GET", s.url+"/api/v1/runs?limit=100", "", "")
		var page store.RunPage
		json.Unmarshal(b, &page)
		runs = runs[:0]
		for _, r := range page.Runs {
			if r.ScheduleID == every.ID {
				runs = append(runs, r)
			}
		}
		done := 0
		for _, r := range runs {
			if r.State == store.RunSucceeded || r.State == store.RunMissed {
				done++
			}
		}
		if done == len(runs) && len(runs) >= 3 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	var missed, ran int
	for _, r := range runs {
		if r.DueAt.After(now) {
			continue // due after the test began (it began in a minute's last second): not the catch-up under test
		}
		switch r.State {
		case store.RunMissed:
			missed++
			if r.DueAt.IsZero() || !strings.Contains(r.Error, "missed") {
				t.Errorf("missed run %+v", r)
			}
		case store.RunSucceeded:
			ran++
		}
	}
	if missed != 2 || ran != 1 {
		t.Errorf("%d missed and %d run, want 2 and 1: %+v", missed, ran, runs)
	}
	_, b = do(t, "GET", s.url+"/api/v1/schedules/"+every.ID, "", "")
	json.Unmarshal(b, &every)
	if every.LastRunID == "" || !every.NextDueAt.After(now) {
		t.Errorf("after the tick: %s", b)
	}
	// Run now: a run of the schedule's profile, the schedule's own, queued
	// at once; the schedule's next due time does not move.
	code, b = do(t, "POST", s.url+"/api/v1/schedules/"+every.ID+"/run", "", "")
	var now1 store.Run
	json.Unmarshal(b, &now1)
	if code != 202 || now1.ScheduleID != every.ID || now1.ProfileID != every.ProfileID || now1.ID == "" || now1.ID == every.LastRunID {
		t.Fatalf("run now: %d %s", code, b)
	}
	deadline = time.Now().Add(20 * time.Second)
	for now1.State != store.RunSucceeded && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		_, b = do(t, "GET", s.url+"/api/v1/runs/"+now1.ID, "", "")
		json.Unmarshal(b, &now1)
	}
	if now1.State != store.RunSucceeded || now1.ResultID == "" {
		t.Errorf("the run now did not succeed: %+v", now1)
	}
	var after server.ScheduleView
	_, b = do(t, "GET", s.url+"/api/v1/schedules/"+every.ID, "", "")
	json.Unmarshal(b, &after)
	if !after.NextDueAt.Equal(every.NextDueAt) {
		t.Errorf("run now moved the next due time: %v, was %v", after.NextDueAt, every.NextDueAt)
	}
	if code, b := do(t, "POST", s.url+"/api/v1/schedules/nosuch/run", "", ""); code != 404 || !strings.Contains(string(b), "not_found") {
		t.Errorf("run now of an unknown schedule: %d %s", code, b)
	}
	if code, _ := do(t, "GET", s.url+"/api/v1/schedules/"+every.ID+"/run", "", ""); code != 405 {
		t.Errorf("GET run now: %d, want 405", code)
	}

	// Disable, then delete.
	if code, b := do(t, "PUT", s.url+"/api/v1/schedules/"+every.ID, "application/json", `{"enabled":false}`); code != 200 || !strings.Contains(string(b), `"enabled": false`) {
		t.Errorf("disable: %d %s", code, b)
	}
	if code, _ := do(t, "DELETE", s.url+"/api/v1/schedules/"+every.ID, "", ""); code != 204 {
		t.Errorf("delete: %d", code)
	}
}
