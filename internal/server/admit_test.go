package server

import (
	"testing"

	"github.com/meshperf/meshperf/internal/auth"
	"github.com/meshperf/meshperf/spec"
)

func TestAllowedPrometheus(t *testing.T) {
	team := &auth.Service{}
	prof := func(u string) *spec.Profile {
		return &spec.Profile{Metrics: &spec.MetricsConfig{Prometheus: u}}
	}
	for _, tc := range []struct {
		name  string
		auth  *auth.Service
		allow []string
		url   string
		ok    bool
	}{
		{"single-user, no list: any", nil, nil, "http://169.254.169.254/", true},
		{"team, no list: none", team, nil, "http://prometheus:9090", false},
		{"team, host allowed", team, []string{"prometheus.monitoring.svc"}, "http://prometheus.monitoring.svc:9090", true},
		{"team, host:port allowed", team, []string{"127.0.0.1:9090"}, "http://127.0.0.1:9090", true},
		{"team, other port", team, []string{"127.0.0.1:9090"}, "http://127.0.0.1:8080", false},
		{"single-user with a list: only the list", nil, []string{"*.monitoring.svc"}, "http://10.0.0.1:9090", false},
		{"wildcard", team, []string{"*.monitoring.svc"}, "http://prom.monitoring.svc:9090", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{auth: tc.auth, allowProm: tc.allow}
			err := s.allowedPrometheus(prof(tc.url))
			if (err == nil) != tc.ok {
				t.Errorf("allowedPrometheus(%s) = %v, want ok %v", tc.url, err, tc.ok)
			}
		})
	}
}
