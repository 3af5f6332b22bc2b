//go:build bench

package bench

import (
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// The HTTP/2 comparison: h2load (nghttp2) and meshperf, closed loop against
// the suite's nginx over h2c (prior knowledge) and over TLS (h2 by ALPN),
// at 50 connections × 1 stream and 10 connections × 10 streams,
// interleaved run by run.
//
// Knobs (environment), besides BENCH_RUNS, BENCH_DURATION, BENCH_PEERS and
// the meshperf ones:
//
//	BENCH_H2LOAD  the h2load binary (h2load on $PATH)

// h2Shapes are the connection × stream shapes compared.
var h2Shapes = []struct{ conns, streams int }{{50, 1}, {10, 10}}

// h2Transport is h2c or h2 over TLS: what its peers' names have after the
// tool's, meshperf's --http, and nginx's port for it.
type h2Transport struct {
	prefix, http string
	url          func() string
}

var h2Transports = []h2Transport{
	{"", "h2c", func() string { return nginxRef.h2url }},
	{"tls-", "2", func() string { return nginxRef.tlsURL }},
}

func h2loadPeer(bin, prefix string, conns, streams int) peer {
	return peer{
		name: fmt.Sprintf("h2load-%s%dx%d", prefix, conns, streams), tool: "h2load", bin: bin,
		args: func(url, _ string, d time.Duration) []string {
			return []string{"-c", strconv.Itoa(conns), "-m", strconv.Itoa(streams), "-t", "1",
				"-D", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10), url}
		},
	}
}

func (s *suite) meshperfH2Peer(tr h2Transport, conns, streams int) peer {
	extra := append(append([]string(nil), s.cfg.meshperfArgs...), "--http", tr.http, "--streams", strconv.Itoa(streams), "--insecure")
	p := meshperfPeer(fmt.Sprintf("meshperf-%s%dx%d", tr.prefix, conns, streams), s.meshperf, 0, conns, extra, s.cfg.meshperfEnv)
	p.disabled = s.mpErr
	return p
}

// BenchmarkH2ClosedLoop: meshperf's HTTP/2 client against h2load, closed
// loop on nginx h2c; target meshperf >= 1.0x h2load at each shape.
func BenchmarkH2ClosedLoop(b *testing.B) {
	s := setup(b)
	b.ReportMetric(0, "ns/op")
	sec := s.section("h2closed", func() *section {
		bin := envString("BENCH_H2LOAD", "")
		var binErr string
		if bin == "" {
			p, err := exec.LookPath("h2load")
			if err != nil {
				binErr = "h2load not found (apt-get install nghttp2-client, or set BENCH_H2LOAD)"
			}
			bin = p
		}
		var peers []peer
		urls := map[string]string{} // peer → nginx's URL
		for _, tr := range h2Transports {
			for _, sh := range h2Shapes {
				if s.cfg.wantPeer("h2load") {
					p := h2loadPeer(bin, tr.prefix, sh.conns, sh.streams)
					p.disabled = binErr
					peers = append(peers, p)
					urls[p.name] = tr.url()
				}
				if s.cfg.wantPeer("meshperf") {
					p := s.meshperfH2Peer(tr, sh.conns, sh.streams)
					peers = append(peers, p)
					urls[p.name] = tr.url()
				}
			}
		}
		loadBefore := loadAvg()
		sec := &section{
			Title: "HTTP/2 closed loop (h2c, and h2 over TLS): throughput, meshperf and h2load",
			Params: fmt.Sprintf("nginx h2c and TLS (one worker, ECDSA P-256, TLS 1.3), %d runs of %s each, h2load with one thread, peers interleaved in the order %s",
				s.cfg.runs, s.cfg.dur, peerNames(peers)),
			Peers: peerNames(peers),
			Runs:  map[string][]runResult{},
		}
		for round := 1; round <= s.cfg.runs; round++ {
			for _, p := range peers {
				if prev := sec.Runs[p.name]; len(prev) > 0 && !anyOK(prev) {
					continue
				}
				r := runOnce(p, urls[p.name], s.cfg.dur, s.tmp, round, s.cfg.quietWait)
				sec.Runs[p.name] = append(sec.Runs[p.name], r)
				if r.OK {
					b.Logf("run %d %-16s %10.0f req/s  cpu %.2fs (%.1f s/Mreq)  errors %d  nginx %.2f cores  others %.2f cores",
						round, p.name, r.RPS, r.cpu(), r.cpuPerMReq(), r.Errors, r.nginxCores(), r.Others)
				} else {
					b.Logf("run %d %-16s FAILED: %s", round, p.name, r.Err)
				}
			}
		}
		rps := func(p string) float64 { return medianOf(sec.Runs[p], func(r runResult) float64 { return r.RPS }) }
		cpm := func(p string) float64 { return medianOf(sec.Runs[p], runResult.cpuPerMReq) }
		for _, tr := range h2Transports {
			over := "h2c"
			if tr.prefix != "" {
				over = "h2 over TLS"
			}
			for _, sh := range h2Shapes {
				shape := fmt.Sprintf("%s%dx%d", tr.prefix, sh.conns, sh.streams)
				m, h := "meshperf-"+shape, "h2load-"+shape
				sec.Targets = append(sec.Targets,
					newTarget(fmt.Sprintf("meshperf / h2load throughput, %s, %d connections × %d streams", over, sh.conns, sh.streams), "meshperf/h2load-"+shape+"-ratio", rps(m), rps(h), ">=", 1.0),
					newTarget(fmt.Sprintf("meshperf / h2load CPU s per M requests, %s %s (reference)", over, shape), "meshperf/h2load-"+shape+"-cpu-ratio", cpm(m), cpm(h), "", 0),
				)
			}
		}
		sec.Notes = append(sec.Notes, "h2load runs with one thread (-t 1); meshperf with its defaults (GOMAXPROCS = all cores) unless BENCH_MESHPERF_ENV says otherwise",
			fmt.Sprintf("load average (1, 5, 15 min) before the runs %s, after %s", loadBefore, loadAvg()))
		return sec
	})
	for _, p := range sec.Peers {
		metric(b, medianOf(sec.Runs[p], func(r runResult) float64 { return r.RPS }), p+"-req/s")
	}
	for _, t := range sec.Targets {
		if !math.IsNaN(t.Value) {
			metric(b, t.Value, t.Unit)
		}
	}
}
