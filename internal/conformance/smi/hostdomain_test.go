package smi

import (
	"context"
	"testing"
	"time"
)

// hostRecorder answers every request from an echo-v1 pod and keeps the
// hosts it was asked for.
type hostRecorder struct{ hosts *[]string }

func (h hostRecorder) Send(_ context.Context, r Request) ([]Response, error) {
	*h.hosts = append(*h.hosts, r.Host)
	rs := make([]Response, r.Count)
	for i := range rs {
		rs[i] = Response{Code: 200, Hostname: ServiceV1 + "-abc"}
	}
	return rs, nil
}

// With a host domain the clients address the mesh's names
// (<service>.<namespace>.<domain>), in every test and in the output;
// without, the Service's own name.
func TestHostDomain(t *testing.T) {
	for _, c := range []struct{ domain, want string }{
		{"traefik.mesh", ServiceV1 + ".meshperf-smi-x.traefik.mesh"},
		{"", ServiceV1},
	} {
		var hosts, lines []string
		e := &Env{Namespace: "meshperf-smi-x", HostDomain: c.domain, Client: hostRecorder{&hosts}, Consistency: time.Millisecond,
			logf: func(format string, a ...any) { lines = append(lines, format) }}
		if err := accessAllow(t.Context(), e); err != nil {
			t.Fatal(err)
		}
		if len(hosts) != 1 || hosts[0] != c.want {
			t.Errorf("domain %q: asked for %v, want [%s]", c.domain, hosts, c.want)
		}
	}
	if err := (Options{Timeout: time.Minute, HostDomain: "traefik..mesh"}).Check(); err == nil {
		t.Error("host domain traefik..mesh accepted")
	}
	if err := (Options{Timeout: time.Minute, HostDomain: "traefik.mesh"}).Check(); err != nil {
		t.Error(err)
	}
}
