package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/meshperf/meshperf/spec"
)

// A gRPC run's status codes are gRPC's, and named as such; an HTTP run's
// 14 stays a number.
func TestTextNamesGRPCCodes(t *testing.T) {
	r := &spec.Result{Generator: spec.GeneratorInfo{Name: "meshperf"}, ServiceTime: &spec.Distribution{},
		Requested:   spec.Requested{Protocol: "grpc"},
		StatusCodes: map[int]int64{0: 990, 14: 10}}
	var b bytes.Buffer
	if err := Text(&b, r, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"  0 OK  990\n", "  14 UNAVAILABLE  10\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %q in:\n%s", want, b.String())
		}
	}
	r.Requested.Protocol = "http"
	b.Reset()
	if err := Text(&b, r, nil); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "UNAVAILABLE") || !strings.Contains(b.String(), "  14  10\n") {
		t.Errorf("HTTP codes named as gRPC's:\n%s", b.String())
	}
}
