package server_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/auth"
	"github.com/meshperf/meshperf/store"
)

// loginAs makes a user and returns an access token of theirs.
func loginAs(t *testing.T, a *auth.Service, name string, admin bool) string {
	t.Helper()
	const pw = "a long enough password"
	if _, err := a.CreateUser(t.Context(), name, pw, admin); err != nil {
		t.Fatal(err)
	}
	tok, err := a.Login(t.Context(), name, pw)
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// finished waits for the run to end, as seen by token's user.
func finished(t *testing.T, api, token, id string) store.Run {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		code, body := call(t, "GET", api+"/runs/"+id, token, "")
		var r store.Run
		json.Unmarshal([]byte(body), &r)
		if code == 200 && store.FinalRunState(r.State) {
			return r
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("run %s did not end", id)
	return store.Run{}
}

func profileDoc(name, target string) string {
	return `{"name": "` + name + `", "duration": "1s", "clients": [{"connections": 1, "rps": 20, "endpoint_urls": ["` + target + `/"]}]}`
}

// runAs submits a run and waits for it to end.
func runAs(t *testing.T, api, token, body string) store.Run {
	t.Helper()
	code, b := call(t, "POST", api+"/runs", token, body)
	if code != 202 {
		t.Fatalf("submit: %d %s", code, b)
	}
	var r store.Run
	json.Unmarshal([]byte(b), &r)
	r = finished(t, api, token, r.ID)
	if r.State != store.RunSucceeded || r.ResultID == "" {
		t.Fatalf("run %s: %s %s", r.ID, r.State, r.Error)
	}
	return r
}

// listed returns the IDs (or, for profiles, names) a listing shows.
func listed(t *testing.T, url, token, key, field string) []string {
	t.Helper()
	code, body := call(t, "GET", url, token, "")
	if code != 200 {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	var page map[string][]map[string]any
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	var out []string
	for _, o := range page[key] {
		s, _ := o[field].(string)
		out = append(out, s)
	}
	return out
}

func TestPrivateObjects(t *testing.T) {
	base, a := teamServer(t)
	api := base + "/api/v1"
	target := startEcho(t)
	alice, bob, admin := loginAs(t, a, "alice", false), loginAs(t, a, "bob", false), loginAs(t, a, "root", true)

	// Alice stores a private profile and a public one.
	code, body := call(t, "POST", api+"/profiles?private=true", alice, profileDoc("secret", target))
	if code != 201 || !strings.Contains(body, `"private": true`) || !strings.Contains(body, `"owner_id"`) {
		t.Fatalf("create a private profile: %d %s", code, body)
	}
	if code, body := call(t, "POST", api+"/profiles?private=maybe", alice, profileDoc("x", target)); code != 400 {
		t.Errorf("private=maybe: %d %s", code, body)
	}
	if code, body := call(t, "POST", api+"/profiles", alice, profileDoc("shared", target)); code != 201 || strings.Contains(body, `"private"`) {
		t.Fatalf("create a profile: %d %s", code, body)
	}
	// A private run of a document, a run of the private profile (private
	// without asking), and a public run.
	privRun := runAs(t, api, alice, `{"private": true, "profile_document": `+profileDoc("secret run", target)+`}`)
	ofPriv := runAs(t, api, alice, `{"profile": "secret"}`)
	pubRun := runAs(t, api, alice, `{"profile": "shared"}`)
	for _, r := range []store.Run{privRun, ofPriv} {
		if !r.Private || r.OwnerID == "" {
			t.Errorf("run %s: private %v, owner %q; want private, alice's", r.ID, r.Private, r.OwnerID)
		}
	}
	if pubRun.Private || pubRun.OwnerID != privRun.OwnerID {
		t.Errorf("public run: private %v, owner %q", pubRun.Private, pubRun.OwnerID)
	}
	code, body = call(t, "GET", api+"/results/"+privRun.ResultID, alice, "")
	if code != 200 {
		t.Fatalf("alice reads her private result: %d %s", code, body)
	}
	// A private schedule of the public profile.
	code, body = call(t, "POST", api+"/schedules", alice, `{"profile": "shared", "spec": "@daily", "private": true}`)
	if code != 201 {
		t.Fatalf("create a private schedule: %d %s", code, body)
	}
	var sched store.Schedule
	json.Unmarshal([]byte(body), &sched)
	if !sched.Private || sched.OwnerID != privRun.OwnerID {
		t.Errorf("schedule: private %v, owner %q", sched.Private, sched.OwnerID)
	}

	hidden := map[string]string{ // what bob may not see, and how he tries
		"GET /profiles/secret":                         "",
		"GET /profiles/secret?revision=1":              "",
		"GET /profiles/secret/revisions":               "",
		"PUT /profiles/secret":                         profileDoc("secret", target),
		"DELETE /profiles/secret":                      "",
		"GET /results?profile=secret":                  "",
		"GET /schedules?profile=secret":                "",
		"POST /runs":                                   `{"profile": "secret"}`,
		"POST /schedules":                              `{"profile": "secret", "spec": "@daily"}`,
		"GET /runs/" + privRun.ID:                      "",
		"GET /runs/" + ofPriv.ID:                       "",
		"POST /runs/" + privRun.ID + "/cancel":         "",
		"GET /runs/" + privRun.ID + "/events":          "",
		"GET /results/" + privRun.ResultID:             "",
		"GET /results/" + ofPriv.ResultID:              "",
		"GET /results/" + privRun.ResultID + "/export": "",
		"DELETE /results/" + privRun.ResultID:          "",
		"POST /compare":                                `{"ids": ["` + pubRun.ResultID + `", "` + privRun.ResultID + `"]}`,
		"GET /schedules/" + sched.ID:                   "",
		"PUT /schedules/" + sched.ID:                   `{"spec": "@hourly"}`,
		"DELETE /schedules/" + sched.ID:                "",
		"POST /schedules/" + sched.ID + "/run":         "",
	}
	for rt, reqBody := range hidden {
		method, path, _ := strings.Cut(rt, " ")
		if code, body := call(t, method, api+path, bob, reqBody); code != 404 || !strings.Contains(body, `"not_found"`) {
			t.Errorf("bob: %s: %d %s; want 404", rt, code, body)
		}
	}

	// Listings: bob sees the public objects only; alice and the admin all.
	privIDs := []string{privRun.ID, ofPriv.ID, privRun.ResultID, ofPriv.ResultID, sched.ID, "secret"}
	lists := func(token string) []string {
		var out []string
		out = append(out, listed(t, api+"/profiles", token, "profiles", "name")...)
		out = append(out, listed(t, api+"/runs", token, "runs", "id")...)
		out = append(out, listed(t, api+"/results", token, "results", "id")...)
		out = append(out, listed(t, api+"/schedules", token, "schedules", "id")...)
		return out
	}
	got := lists(bob)
	for _, id := range privIDs {
		if slices.Contains(got, id) {
			t.Errorf("bob lists alice's private %s", id)
		}
	}
	for _, id := range []string{"shared", pubRun.ID, pubRun.ResultID} {
		if !slices.Contains(got, id) {
			t.Errorf("bob does not list alice's public %s: %v", id, got)
		}
	}
	for who, token := range map[string]string{"alice": alice, "the admin": admin} {
		got := lists(token)
		for _, id := range append(privIDs, "shared", pubRun.ID, pubRun.ResultID) {
			if !slices.Contains(got, id) {
				t.Errorf("%s does not list %s", who, id)
			}
		}
	}

	// Bob reads, exports and compares alice's public objects.
	for _, rt := range []string{"GET /profiles/shared", "GET /runs/" + pubRun.ID, "GET /runs/" + pubRun.ID + "/events",
		"GET /results/" + pubRun.ResultID, "GET /results/" + pubRun.ResultID + "/export?format=csv"} {
		method, path, _ := strings.Cut(rt, " ")
		if code, body := call(t, method, api+path, bob, ""); code != 200 {
			t.Errorf("bob: %s: %d %s", rt, code, body)
		}
	}
	if code, body := call(t, "POST", api+"/compare", bob, `{"ids": ["`+pubRun.ResultID+`", "`+pubRun.ResultID+`"]}`); code != 200 {
		t.Errorf("bob compares public results: %d %s", code, body)
	}
	// A public run is found (403, not 404) when bob cancels it, but is not his.
	if code, body := call(t, "POST", api+"/runs/"+pubRun.ID+"/cancel", bob, ""); code != 403 {
		t.Errorf("bob cancels a finished public run: %d %s", code, body)
	}

	// The admin reads everything of alice's.
	for _, rt := range []string{"GET /profiles/secret", "GET /profiles/secret/revisions", "GET /runs/" + privRun.ID,
		"GET /runs/" + privRun.ID + "/events", "GET /results/" + privRun.ResultID,
		"GET /results/" + privRun.ResultID + "/export?format=json", "GET /schedules/" + sched.ID,
		"GET /results?profile=secret"} {
		method, path, _ := strings.Cut(rt, " ")
		if code, body := call(t, method, api+path, admin, ""); code != 200 {
			t.Errorf("admin: %s: %d %s", rt, code, body)
		}
	}
	if code, body := call(t, "POST", api+"/compare", admin, `{"ids": ["`+pubRun.ResultID+`", "`+privRun.ResultID+`"]}`); code != 200 {
		t.Errorf("admin compares: %d %s", code, body)
	}
	// A private schedule's privacy is set once.
	if code, body := call(t, "PUT", api+"/schedules/"+sched.ID, alice, `{"spec": "@hourly", "private": false}`); code != 422 {
		t.Errorf("alice makes her schedule public: %d %s", code, body)
	}
	// And alice deletes her own private objects.
	for _, rt := range []string{"DELETE /schedules/" + sched.ID, "DELETE /results/" + privRun.ResultID, "DELETE /profiles/secret"} {
		method, path, _ := strings.Cut(rt, " ")
		if code, body := call(t, method, api+path, alice, ""); code != 204 {
			t.Errorf("alice: %s: %d %s", rt, code, body)
		}
	}
}

func TestSingleUserModeHasNoPrivateObjects(t *testing.T) {
	srv, _ := newServer(t)
	api := srv.URL + "/api/v1"
	target := startEcho(t)
	if code, body := call(t, "POST", api+"/profiles?private=true", "", profileDoc("p", target)); code != 422 || !strings.Contains(body, "team mode") {
		t.Errorf("private profile in single-user mode: %d %s", code, body)
	}
	if code, body := call(t, "POST", api+"/runs", "", `{"private": true, "profile_document": `+profileDoc("r", target)+`}`); code != 422 {
		t.Errorf("private run in single-user mode: %d %s", code, body)
	}
	if code, body := call(t, "POST", api+"/profiles", "", profileDoc("p", target)); code != 201 || strings.Contains(body, "owner_id") || strings.Contains(body, "private") {
		t.Errorf("profile in single-user mode: %d %s", code, body)
	}
	r := runAs(t, api, "", `{"profile": "p"}`)
	if r.OwnerID != "" || r.Private {
		t.Errorf("run in single-user mode: owner %q, private %v", r.OwnerID, r.Private)
	}
	if code, body := call(t, "GET", api+"/results/"+r.ResultID, "", ""); code != 200 {
		t.Errorf("result in single-user mode: %d %s", code, body)
	}
	if code, body := call(t, "POST", api+"/schedules", "", `{"profile": "p", "spec": "@daily", "private": true}`); code != 422 {
		t.Errorf("private schedule in single-user mode: %d %s", code, body)
	}
}
