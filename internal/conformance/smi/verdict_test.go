package smi

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwconformance "sigs.k8s.io/gateway-api/conformance"
)

func TestBound(t *testing.T) {
	// 80/20 over 200: sd √32 = 5.657, ×3.2905 = 18.61, +1.
	if got := Bound(200, 0.8, Z999); got < 19.6 || got > 19.62 {
		t.Errorf("Bound(200, 0.8) = %v, want 19.61", got)
	}
	split := []Backend{{ServiceV1, 80}, {ServiceV2, 20}}
	for _, tc := range []struct {
		v1, v2 int
		pass   bool
	}{
		{160, 40, true}, {141, 59, true}, {179, 21, true},
		{140, 60, false}, {180, 20, false}, {100, 100, false}, {200, 0, false},
	} {
		tl := Tally{N: tc.v1 + tc.v2, By: map[string]int{ServiceV1: tc.v1, ServiceV2: tc.v2}}
		err := CheckSplit(tl, split, Z999)
		if (err == nil) != tc.pass {
			t.Errorf("%d/%d: %v, want pass %v", tc.v1, tc.v2, err, tc.pass)
		}
	}
}

func TestCheckSplitUnanswered(t *testing.T) {
	rs := make([]Response, 0, 200)
	for i := range 200 {
		switch {
		case i < 150:
			rs = append(rs, Response{Code: 200, Hostname: "echo-v1-abc"})
		case i < 190:
			rs = append(rs, Response{Code: 200, Hostname: "echo-v2-abc"})
		default:
			rs = append(rs, Response{Code: 503})
		}
	}
	tl := Count(rs, backendOf)
	err := CheckSplit(tl, []Backend{{ServiceV1, 80}, {ServiceV2, 20}}, Z999)
	if err == nil || !strings.Contains(err.Error(), "10 of 200 requests were not answered by a backend of the split") ||
		!strings.Contains(err.Error(), "status 503 10/200 (5.0%)") {
		t.Errorf("got %v", err)
	}
	if err := CheckAllowed(tl, "x"); err == nil || !strings.Contains(err.Error(), "x: 10 of 200 requests were refused or failed") {
		t.Errorf("CheckAllowed: %v", err)
	}
	if err := CheckRefused(tl, "y"); err == nil || !strings.Contains(err.Error(), "y: 190 of 200 requests were answered") {
		t.Errorf("CheckRefused: %v", err)
	}
}

func TestFromGroups(t *testing.T) {
	group := func(name string, versions ...string) metav1.APIGroup {
		g := metav1.APIGroup{Name: name}
		for _, v := range versions {
			g.Versions = append(g.Versions, metav1.GroupVersionForDiscovery{GroupVersion: name + "/" + v, Version: v})
		}
		return g
	}
	t.Run("newest known", func(t *testing.T) {
		a := FromGroups(&metav1.APIGroupList{Groups: []metav1.APIGroup{
			group("apps", "v1"), group(GroupSplit, "v1alpha2", "v1alpha4", "v1alpha3"), group(GroupAccess, "v1alpha1", "v1beta1"),
		}})
		if err := a.Check(); err != nil {
			t.Fatal(err)
		}
		if got, want := a.SuiteVersion(), "meshperf-smi/1 split.smi-spec.io/v1alpha4 access.smi-spec.io/v1alpha1"; got != want {
			t.Errorf("suite version %q, want %q", got, want)
		}
		if a.Has(GroupSpecs) || !a.AtLeast(GroupSplit, "v1alpha3") || a.AtLeast(GroupAccess, "v1alpha2") {
			t.Errorf("%+v", a)
		}
	})
	t.Run("none", func(t *testing.T) {
		err := FromGroups(&metav1.APIGroupList{Groups: []metav1.APIGroup{group("apps", "v1")}}).Check()
		if !errors.Is(err, ErrNoSMI) || !strings.Contains(err.Error(), "the cluster has no SMI CRDs (split.smi-spec.io, access.smi-spec.io, specs.smi-spec.io)") ||
			!strings.Contains(err.Error(), "meshperf conformance smi-crds | kubectl apply -f -") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("only unknown versions", func(t *testing.T) {
		a := FromGroups(&metav1.APIGroupList{Groups: []metav1.APIGroup{group(GroupSplit, "v1beta1", "v2")}})
		err := a.Check()
		if !errors.Is(err, ErrNoSMI) || !strings.Contains(err.Error(), "split.smi-spec.io serves v1beta1, v2, not one of v1alpha1, v1alpha2, v1alpha3, v1alpha4") {
			t.Errorf("got %v", err)
		}
	})
}

func TestParseClient(t *testing.T) {
	// The echo client's output of 4 requests (the format of Istio's
	// pkg/test/echo): the first answered by echo-v1, the second refused by
	// the mesh although the body (the echo server's word, or a forged
	// one) says 200 and names a pod, the third failed with an error line,
	// the fourth never answered.
	out := `[0] Url=http://echo/
[0] StatusCode=200
[0] ResponseHeader=Content-Type:text/plain
[0 body] ServiceVersion=
[0 body] StatusCode=200
[0 body] Hostname=echo-v1-5d8b9c-x2x
[1] Url=http://echo/
[1] StatusCode=403
[1 body] StatusCode=200
[1 body] Hostname=echo-v2-forged
[2] Url=http://echo/
[2 error] Get "http://echo/": dial tcp 10.96.0.9:80: connect: connection refused
`
	rs := ParseClient(out, "2026-12-03T19:00:00Z error failed request 3: connection reset by peer\n", 4)
	want := []Response{
		{Code: 200, Hostname: "echo-v1-5d8b9c-x2x"},
		{Code: 403, Hostname: "echo-v2-forged"},
		{Err: `no response: Get "http://echo/": dial tcp 10.96.0.9:80: connect: connection refused`},
		{Err: "no response: 2026-12-03T19:00:00Z error failed request 3: connection reset by peer"},
	}
	for i := range want {
		if rs[i] != want[i] {
			t.Errorf("response %d: %+v, want %+v", i, rs[i], want[i])
		}
	}
	// A body's status line is never the response's.
	if rs := ParseClient("[0 body] StatusCode=200\n[0 body] Hostname=echo-v1\n", "", 1); rs[0].Code != 0 {
		t.Errorf("a body line set the status: %+v", rs[0])
	}
	// Indices outside the count are ignored.
	if rs := ParseClient("[7] StatusCode=200\n", "", 1); rs[0].Code != 0 || rs[0].Err != "no response" {
		t.Errorf("%+v", rs)
	}
}

// The real echo client's output (testdata/, written by TestSMINode on
// the test node from a pod of the harness: "client http://echo-v1/
// --count=2" and the same to a name that does not resolve, when the
// client writes only its logged summary and ends 1).
func TestParseClientReal(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	rs := ParseClient(read("client-answered.txt"), "", 2)
	for i, r := range rs {
		if r != (Response{Code: 200, Hostname: "echo-v1-d44c469d8-c9sdj"}) {
			t.Errorf("answered, response %d: %+v", i, r)
		}
	}
	// A third request the output has no line of got none.
	if rs := ParseClient(read("client-answered.txt"), "", 3); rs[2].Code != 0 || rs[2].Err != "no response: All 2 requests succeeded" {
		t.Errorf("a request without lines: %+v", rs[2])
	}
	want := `no response: Error 2/2 requests had errors; first error: Get "http:/": dial tcp: lookup smi-no-such-service on 10.200.0.1:53: no such host`
	for i, r := range ParseClient(read("client-unresolved.txt"), "", 2) {
		if r.Code != 0 || r.Answered() || r.Err != want {
			t.Errorf("unresolved, response %d: %+v, want error %q", i, r, want)
		}
	}
	// The container's stderr, when it has a line, says more than the
	// summary (the client's log prefix is dropped there too).
	rs = ParseClient(read("client-unresolved.txt"), "2026-12-03T20:15:47.891654Z\terror\tdial failed\n", 1)
	if rs[0].Err != "no response: dial failed" {
		t.Errorf("with stderr: %+v", rs[0])
	}
}

func TestRequestArgs(t *testing.T) {
	args, err := Request{Host: "echo", Path: "smi", Method: "POST", Headers: map[string]string{"b": "2", "a": "1"}, Count: 5}.Args(2)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(args, " "), "client http://echo/smi --count=5 --timeout=2s --method=POST -H a:1 -H b:2"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, n := range []int{0, -1, maxCount + 1} {
		if _, err := (Request{Host: "echo", Count: n}).Args(2); !errors.Is(err, ErrInput) {
			t.Errorf("count %d: %v", n, err)
		}
	}
}

func TestOptionsCheck(t *testing.T) {
	ok := Options{Timeout: time.Minute}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	bad := Options{Timeout: 0, SetupTimeout: -1, Requests: 5, Consistency: time.Hour,
		NamespaceLabels: map[string]string{"bad key!": "x", RunLabel: "y"},
		Selection:       Selection{RunTest: "SMITrafficSplitWieghts"}}
	err := bad.Check()
	for _, want := range []string{"timeout 0s", "setup timeout -1ns", "requests 5: want 20..10000", "consistency 1h0m0s", `namespace label bad key!=x`,
		"namespace label meshperf.io/conformance-run: meshperf sets it", `test "SMITrafficSplitWieghts" is not in profile SMI`} {
		if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

// The harness uses the image of the Gateway API suite's mesh tests, the
// one scripts/conformance-images.sh builds.
func TestEchoImageIsTheSuites(t *testing.T) {
	data, err := fs.ReadFile(gwconformance.Manifests, "mesh/manifests.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "image: "+EchoImage+"\n") {
		t.Errorf("the suite's mesh manifests do not use %s", EchoImage)
	}
}

func TestCRDs(t *testing.T) {
	all := CRDs()
	for _, want := range []string{"name: trafficsplits.split.smi-spec.io", "name: traffictargets.access.smi-spec.io", "name: httproutegroups.specs.smi-spec.io"} {
		if !strings.Contains(all, want) {
			t.Errorf("CRDs lack %s", want)
		}
	}
}
