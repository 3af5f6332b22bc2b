package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/meshperf/meshperf/internal/echo"
	"github.com/meshperf/meshperf/internal/echo/echotest"
	"github.com/meshperf/meshperf/internal/experiment"
)

// The experiments API lists experiments and answers a report equal to
// `meshperf experiment report --output json`.
func TestExperimentsAPI(t *testing.T) {
	srv, st := newServer(t)
	code, body := do(t, "GET", srv.URL+"/api/v1/experiments", "", "")
	if code != http.StatusOK || strings.Join(strings.Fields(string(body)), "") != `{"experiments":[]}` {
		t.Fatalf("empty list: %d %s", code, body)
	}
	code, body = do(t, "GET", srv.URL+"/api/v1/experiments/nope", "", "")
	if code != http.StatusNotFound || !strings.Contains(string(body), `"not_found"`) {
		t.Errorf("unknown experiment: %d %s", code, body)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	target := echotest.HTTP(t, echo.Options{})
	f, err := experiment.Parse([]byte(fmt.Sprintf(`name: api
duration: 1s
variants: [{name: baseline, targets: ["%s"]}, {name: other, targets: ["%s?x=1"]}]
sweep: {rps: [50]}
`, target, target)))
	if err != nil {
		t.Fatal(err)
	}
	def, err := experiment.Resolve(f, ".")
	if err != nil {
		t.Fatal(err)
	}
	exp, _, err := experiment.Open(ctx, st, def, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := (&experiment.Runner{Store: st, Version: "test"}).Run(ctx, exp, def); err != nil {
		t.Fatal(err)
	}

	code, body = do(t, "GET", srv.URL+"/api/v1/experiments", "", "")
	var list struct {
		Experiments []struct {
			ID, Name, State string
			Cells, Done     int
			CreatedAt       string `json:"created_at"`
		} `json:"experiments"`
	}
	if err := json.Unmarshal(body, &list); code != http.StatusOK || err != nil || len(list.Experiments) != 1 {
		t.Fatalf("list: %d %s %v", code, body, err)
	}
	if e := list.Experiments[0]; e.ID != exp.ID || e.Name != "api" || e.State != "done" || e.Cells != 2 || e.Done != 2 || e.CreatedAt == "" {
		t.Errorf("listed %+v", e)
	}

	want, err := experiment.BuildReport(ctx, st, exp)
	if err != nil {
		t.Fatal(err)
	}
	var wantJSON bytes.Buffer
	if err := want.JSON(&wantJSON); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{exp.ID, "api"} {
		code, body = do(t, "GET", srv.URL+"/api/v1/experiments/"+ref, "", "")
		if code != http.StatusOK {
			t.Fatalf("report of %s: %d %s", ref, code, body)
		}
		var got, w any
		_ = json.Unmarshal(body, &got)
		_ = json.Unmarshal(wantJSON.Bytes(), &w)
		if gb, _ := json.Marshal(got); string(gb) != string(mustJSON(w)) {
			t.Errorf("report of %s differs from the CLI's:\n got %s\nwant %s", ref, gb, mustJSON(w))
		}
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }
