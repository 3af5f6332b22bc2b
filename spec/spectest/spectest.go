// Package spectest checks results in tests.
package spectest

import (
	"testing"
	"time"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/spec"
)

// Counts decodes d's histogram into its count at each value.
func Counts(t testing.TB, d *spec.Distribution) map[time.Duration]int64 {
	t.Helper()
	if d == nil {
		t.Fatal("no distribution")
	}
	h, err := hist.Decode(d.Histogram)
	if err != nil {
		t.Fatal(err)
	}
	out := map[time.Duration]int64{}
	for _, b := range h.Buckets() {
		out[b.To] += b.Count
	}
	return out
}

// CheckAgentsMerge checks that a distributed run's histograms are exactly
// the sum of its agents' at every value, for latency and service time.
func CheckAgentsMerge(t testing.TB, res *spec.Result) {
	t.Helper()
	for _, kind := range []string{"latency", "service_time"} {
		pick := func(lat, svc *spec.Distribution) *spec.Distribution {
			if kind == "latency" {
				return lat
			}
			return svc
		}
		sum := map[time.Duration]int64{}
		for _, a := range res.Agents {
			for v, n := range Counts(t, pick(a.Latency, a.ServiceTime)) {
				sum[v] += n
			}
		}
		merged := Counts(t, pick(res.Latency, res.ServiceTime))
		if len(merged) != len(sum) {
			t.Errorf("%s: %d distinct values merged, %d in the agents' sum", kind, len(merged), len(sum))
		}
		for v, n := range merged {
			if sum[v] != n {
				t.Errorf("%s at %s: merged %d, agents' sum %d", kind, v, n, sum[v])
			}
		}
	}
}
