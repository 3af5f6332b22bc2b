package loadgen

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	wrkLike := Capabilities{Protocols: []string{ProtocolHTTP}, HTTPVersions: []string{HTTP1}, ClosedLoop: true, Headers: true, Body: true}
	tests := []struct {
		name    string
		plan    Plan
		wantErr []string
	}{
		{"fits", Plan{Protocol: ProtocolHTTP, HTTPVersion: HTTP1, Targets: []string{"http://a/"}}, nil},
		{"open loop", Plan{Protocol: ProtocolHTTP, HTTPVersion: HTTP1, Rate: Constant(100), Targets: []string{"http://a/"}}, []string{"rps: wrk cannot hold a fixed rate"}},
		{"several", Plan{Protocol: ProtocolGRPC, HTTPVersion: HTTP2, Warmup: time.Second, Requests: 5, Targets: []string{"http://a/", "http://b/"}},
			[]string{"protocol: wrk cannot speak grpc", "warmup:", "requests:", "endpoint_urls:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Check("wrk", wrkLike, &tc.plan, false)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("unexpected %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrUnsupported) {
				t.Fatalf("err = %v, want unsupported", err)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
			warnings, err := Check("wrk", wrkLike, &tc.plan, true)
			if err != nil || len(warnings) != len(tc.wantErr) {
				t.Errorf("best effort: %v, %q", err, warnings)
			}
		})
	}
}
