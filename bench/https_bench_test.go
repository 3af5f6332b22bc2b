//go:build bench

package bench

import (
	"fmt"
	"testing"
)

// The HTTPS comparison: wrk with one thread and meshperf, closed loop over
// HTTP/1.1 on TLS against the suite's nginx (its TLS port), on the suite's
// connections (50 by default), interleaved run by run. Connections are
// kept for the whole run, so this measures the request path over TLS
// (sealing and opening records), not handshakes.

// BenchmarkHTTPSClosedLoop: target meshperf >= 1.0x wrk -t1.
func BenchmarkHTTPSClosedLoop(b *testing.B) {
	s := setup(b)
	b.ReportMetric(0, "ns/op")
	sec := s.section("httpsclosed", func() *section {
		var peers []peer
		if s.cfg.wantPeer("wrk") {
			p := wrkPeer(s.wrk, 1, s.cfg.conns)
			p.disabled = s.wrkErr
			peers = append(peers, p)
		}
		if s.cfg.wantPeer("meshperf") {
			extra := append(append([]string(nil), s.cfg.meshperfArgs...), "--insecure")
			p := meshperfPeer("meshperf", s.meshperf, 0, s.cfg.conns, extra, s.cfg.meshperfEnv)
			p.disabled = s.mpErr
			peers = append(peers, p)
		}
		loadBefore := loadAvg()
		sec := &section{
			Title: "HTTPS (HTTP/1.1 over TLS) closed loop: throughput, meshperf and wrk",
			Params: fmt.Sprintf("nginx TLS (one worker, ECDSA P-256, TLS 1.3), %d connections, %d runs of %s each, wrk with one thread, peers interleaved in the order %s",
				s.cfg.conns, s.cfg.runs, s.cfg.dur, peerNames(peers)),
			Peers: peerNames(peers),
			Runs:  s.interleaveOn(b, peers, nginxRef.tlsURL, s.cfg.dur),
		}
		rps := func(p string) float64 { return medianOf(sec.Runs[p], func(r runResult) float64 { return r.RPS }) }
		cpm := func(p string) float64 { return medianOf(sec.Runs[p], runResult.cpuPerMReq) }
		sec.Targets = append(sec.Targets,
			newTarget("meshperf / wrk-t1 throughput over TLS", "meshperf/wrk-t1-https-ratio", rps("meshperf"), rps("wrk-t1"), ">=", 1.0),
			newTarget("meshperf / wrk-t1 CPU s per M requests over TLS (reference)", "meshperf/wrk-t1-https-cpu-ratio", cpm("meshperf"), cpm("wrk-t1"), "", 0),
		)
		sec.Notes = append(sec.Notes,
			fmt.Sprintf("load average (1, 5, 15 min) before the runs %s, after %s", loadBefore, loadAvg()),
			"meshperf with its defaults (GOMAXPROCS = all cores; one event loop thread drives the 50 connections) unless BENCH_MESHPERF_ENV says otherwise")
		return sec
	})
	for _, p := range sec.Peers {
		metric(b, medianOf(sec.Runs[p], func(r runResult) float64 { return r.RPS }), p+"-req/s")
	}
	for _, t := range sec.Targets {
		metric(b, t.Value, t.Unit)
	}
}
