package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/meshperf/meshperf/internal/api"
	"github.com/meshperf/meshperf/internal/client"
)

func TestError(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   client.Error
	}{
		{"api body", 422, `{"error":{"code":"invalid","message":"rps: bad","field":"clients[0].rps"}}`,
			client.Error{Status: 422, Code: "invalid", Message: "rps: bad", Field: "clients[0].rps"}},
		{"several problems", 422, `{"error":{"code":"invalid","message":"2 problems","details":[{"field":"name","message":"name: empty"},{"message":"no clients"}]}}`,
			client.Error{Status: 422, Code: "invalid", Message: "2 problems", Details: []api.Detail{{Field: "name", Message: "name: empty"}, {Message: "no clients"}}}},
		{"not json", 502, "bad gateway", client.Error{Status: 502, Message: "bad gateway"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			defer ts.Close()
			_, err := client.New(ts.URL, "", nil).GetRun(context.Background(), "r1")
			var got *client.Error
			if !errors.As(err, &got) || !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("got %#v, want %#v", err, tc.want)
			}
		})
	}
}

func TestEvents(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "event: state\ndata: {\"type\":\"state\",\"run\":{\"id\":\"r1\",\"state\":\"running\"}}\n\n"+
			": keep-alive\n\n"+
			"event: progress\ndata: {\"type\":\"progress\",\"progress\":{\"second\":0,\"total_requests\":100}}\n\n"+
			"event: state\ndata: {\"type\":\"state\",\"run\":{\"id\":\"r1\",\"state\":\"succeeded\",\"result_id\":\"x\"}}\n\n")
	}))
	defer ts.Close()
	var got []api.Event
	err := client.New(ts.URL, "", nil).Events(context.Background(), "r1", func(e api.Event) error {
		got = append(got, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1].Progress.TotalRequests != 100 || got[2].Run.ResultID != "x" {
		t.Errorf("events = %+v", got)
	}
}

func TestRefreshOnce(t *testing.T) {
	calls := 0
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if r.Header.Get("Authorization") != "Bearer fresh" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":{"code":"token_expired","message":"not authenticated: token_expired"}}`)
			return
		}
		fmt.Fprint(w, `{"results":[]}`)
	}))
	defer ts.Close()
	c := client.New(ts.URL, "stale", nil)
	refreshes := 0
	c.Refresher = func(context.Context) (string, error) { refreshes++; return "fresh", nil }
	if _, err := c.ListResults(context.Background(), nil); err != nil || refreshes != 1 || calls != 2 {
		t.Errorf("err %v, refreshes %d, calls %d", err, refreshes, calls)
	}
	c.Refresher = func(context.Context) (string, error) { refreshes++; return "still-bad", nil }
	c.SetToken("stale")
	var ae *client.Error
	if _, err := c.ListResults(context.Background(), nil); !errors.As(err, &ae) || ae.Status != 401 || refreshes != 2 {
		t.Errorf("err %v, refreshes %d: want one refresh then the 401", err, refreshes)
	}
}

func TestApplyProfilePutsOnConflict(t *testing.T) {
	var seen []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method+" "+r.URL.Path)
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusConflict)
			fmt.Fprint(w, `{"error":{"code":"conflict","message":"exists"}}`)
			return
		}
		fmt.Fprint(w, `{"id":"p1","name":"checkout","revision":2}`)
	}))
	defer ts.Close()
	doc := []byte("name: checkout\nclients:\n- endpoint_urls: [http://127.0.0.1:1/]\n  rps: 1\n")
	v, err := client.New(ts.URL, "", nil).ApplyProfile(context.Background(), doc)
	if err != nil || v.Revision != 2 || len(seen) != 2 || seen[1] != "PUT /api/v1/profiles/checkout" {
		t.Errorf("view %+v, err %v, requests %v", v, err, seen)
	}
}

func TestUnreachable(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close()
	_, err := client.New(url, "", nil).ListResults(context.Background(), nil)
	var ue *client.UnreachableError
	if !errors.As(err, &ue) || ue.URL != url {
		t.Errorf("err = %v, want an UnreachableError naming %s", err, url)
	}
}
