package cli_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/meshperf/meshperf/internal/design"
	"github.com/meshperf/meshperf/internal/design/sample"
	"github.com/meshperf/meshperf/spec"
)

// TestSampleAppOnLoopback runs the sample application's services as its
// pods would (the design's own command lines, the Service names mapped to
// loopback ports), measures its front with meshperf run, and checks that
// every request went through every hop: front -> backend-1 -> leaf and
// front -> backend-2.
func TestSampleAppOnLoopback(t *testing.T) {
	d, err := sample.Design(sample.Options{Name: "sample-app", Delay: "1ms", Size: 256})
	if err != nil {
		t.Fatal(err)
	}
	args := map[string][]string{}
	for _, r := range d.Resources {
		if r.Kind() != "Deployment" {
			continue
		}
		c := design.Get(r.Object, "spec", "template", "spec", "containers").([]any)[0].(map[string]any)
		var a []string
		for _, x := range c["args"].([]any) {
			a = append(a, x.(string))
		}
		if a[0] != "echo" || a[1] != "--addr" || a[2] != ":8080" {
			t.Fatalf("%s runs %q, want echo --addr :8080 ...", r.Name(), a)
		}
		args[r.Name()] = a[3:]
	}
	urls := map[string]string{}
	for _, name := range []string{"leaf", "backend-2", "backend-1", "front"} { // leaves first
		a := slices.Clone(args[name])
		for i, x := range a {
			if strings.HasPrefix(x, "http://") {
				svc := strings.Trim(strings.TrimPrefix(x, "http://"), "/")
				if urls[svc] == "" {
					t.Fatalf("%s calls %s, which is not a service of the design", name, x)
				}
				a[i] = urls[svc] + "/"
			}
		}
		urls[name] = startEcho(t, a...)
	}
	out, stderr, code := meshperf(t, "run", urls["front"]+"/", "--rps", "100", "-c", "4", "-d", "2s", "--output", "json")
	if code != 0 {
		t.Fatalf("run against the front: exit %d: %s", code, stderr)
	}
	var res spec.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Achieved.Errors != 0 || res.Achieved.Responses < 150 {
		t.Fatalf("front: %d responses, %d errors; want about 200 and none", res.Achieved.Responses, res.Achieved.Errors)
	}
	front := echoStats(t, urls["front"])
	for _, name := range []string{"backend-1", "backend-2", "leaf"} {
		if got := echoStats(t, urls[name]); got != front {
			t.Errorf("%s answered %d requests, the front %d: want every request through every hop", name, got, front)
		}
	}
}

func echoStats(t *testing.T, url string) uint64 {
	t.Helper()
	resp, err := http.Get(url + "/admin/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct {
		Requests uint64 `json:"requests"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s.Requests
}
