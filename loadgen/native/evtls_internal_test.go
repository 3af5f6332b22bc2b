//go:build linux

package native

import (
	"context"
	"testing"

	"github.com/meshperf/meshperf/loadgen"
)

// HTTPS HTTP/1.1 runs on the event loop; a TLS setting in error leaves the
// plan to the goroutine engine, which reports it.
func TestHTTPSRunsOnTheEventLoop(t *testing.T) {
	for _, tc := range []struct {
		name string
		tls  loadgen.TLS
		want bool
	}{
		{"https", loadgen.TLS{SkipVerify: true}, true},
		{"no resumption", loadgen.TLS{NoResumption: true}, true},
		{"missing CA file", loadgen.TLS{CAFile: "/nonexistent/ca.pem"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &loadgen.Plan{Targets: []string{"https://127.0.0.1:8443/"}, TLS: tc.tls}
			p.Normalize()
			ts, got := evTargets(context.Background(), p, "test", nil)
			if got != tc.want {
				t.Fatalf("on the event loop: %v, want %v", got, tc.want)
			}
			if got && (ts[0].tls == nil || ts[0].addr.Port != 8443) {
				t.Errorf("target %+v: want TLS to port 8443", ts[0])
			}
		})
	}
}
