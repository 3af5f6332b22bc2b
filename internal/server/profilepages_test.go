package server_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/meshperf/meshperf/internal/client"
)

// TestProfileListPages: the list is a page (50 by default, limit up to
// 1,000) with next_cursor; following the cursors returns every profile
// once, in name order, without documents; the Go client follows them all;
// a bad limit or cursor is a 400 naming the field.
func TestProfileListPages(t *testing.T) {
	srv, _ := newServer(t)
	base := srv.URL + "/api/v1/profiles"
	var want []string
	for i := range 57 {
		name := fmt.Sprintf("svc-%03d", i)
		want = append(want, name)
		doc := strings.Replace(profileYAML, "name: checkout", "name: "+name, 1)
		if code, body := do(t, "POST", base, "application/yaml", doc); code != 201 {
			t.Fatalf("create %s: %d %s", name, code, body)
		}
	}
	type page struct {
		Profiles []struct {
			Name    string          `json:"name"`
			Profile json.RawMessage `json:"profile"`
		} `json:"profiles"`
		NextCursor string `json:"next_cursor"`
	}
	get := func(query string) page {
		t.Helper()
		code, body := do(t, "GET", base+query, "", "")
		if code != 200 {
			t.Fatalf("GET %s: %d %s", query, code, body)
		}
		var p page
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	first := get("")
	if len(first.Profiles) != 50 || first.NextCursor == "" {
		t.Fatalf("default page: %d profiles, next_cursor %q; want 50 and a cursor", len(first.Profiles), first.NextCursor)
	}
	var got []string
	pages := 0
	for q := "?limit=20"; ; {
		p := get(q)
		pages++
		for _, v := range p.Profiles {
			got = append(got, v.Name)
			if v.Profile != nil {
				t.Errorf("%s: a list carries the document", v.Name)
			}
		}
		if p.NextCursor == "" {
			break
		}
		q = "?limit=20&cursor=" + url.QueryEscape(p.NextCursor)
	}
	if !slices.Equal(got, want) || pages != 3 {
		t.Errorf("pages of 20: %d pages %q, want 3 pages %q", pages, got, want)
	}
	views, err := client.New(srv.URL, "", nil).ListProfiles(t.Context(), url.Values{"name": {"SVC-05"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(views) != 7 || views[0].Name != "svc-050" || views[6].Name != "svc-056" {
		t.Errorf("client, name SVC-05: %d profiles %v", len(views), views)
	}
	for _, q := range []string{"?limit=0", "?limit=1001", "?limit=x", "?cursor=@@@", "?cursor=!"} {
		code, body := do(t, "GET", base+q, "", "")
		var e apiError
		json.Unmarshal(body, &e)
		if code != 400 || (e.Error.Field != "limit" && e.Error.Field != "cursor") {
			t.Errorf("GET %s: %d %s, want 400 naming limit or cursor", q, code, body)
		}
	}
}
