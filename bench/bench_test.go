//go:build bench

package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// suite is what the benchmarks share: settings, nginx, the tools, and the
// sections of the report gathered so far.
type suite struct {
	root     string
	cfg      config
	tmp      string
	info     [][2]string
	meshperf string // binary path, or "" when it could not be built
	mpErr    string // why there is no meshperf
	wrk      string
	wrkErr   string
	fortio   string
	fortErr  string
	setupErr error

	mu       sync.Mutex
	sections map[string]*section
	order    []string
}

var (
	theSuite  suite
	setupOnce sync.Once
)

func TestMain(m *testing.M) {
	code := m.Run()
	s := &theSuite
	if nginxRef != nil {
		nginxRef.stop()
	}
	if len(s.order) > 0 || s.setupErr != nil {
		path, err := s.writeReport()
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: writing report:", err)
			if code == 0 {
				code = 1
			}
		} else {
			fmt.Fprintln(os.Stderr, "bench: report written to", path)
		}
	}
	if s.tmp != "" {
		os.RemoveAll(s.tmp)
	}
	os.Exit(code)
}

// setup builds meshperf, finds the tools and starts nginx, once.
func setup(b *testing.B) *suite {
	s := &theSuite
	setupOnce.Do(func() {
		s.sections = map[string]*section{}
		s.root, s.setupErr = repoRoot()
		if s.setupErr != nil {
			return
		}
		s.cfg, s.setupErr = loadConfig(s.root)
		if s.setupErr != nil {
			return
		}
		s.tmp, s.setupErr = os.MkdirTemp("", "meshperf-bench-")
		if s.setupErr != nil {
			return
		}
		s.info = machineInfo(s.cfg, s.root)

		if p, err := exec.LookPath("wrk"); err == nil {
			s.wrk = p
		} else {
			s.wrkErr = "wrk not found (run scripts/bench-deps.sh)"
		}
		if _, err := os.Stat(s.cfg.fortioBin); err == nil {
			s.fortio = s.cfg.fortioBin
		} else {
			s.fortErr = "fortio not found at " + s.cfg.fortioBin + " (run scripts/bench-deps.sh)"
		}
		s.buildMeshperf(b)

		ngxDir := filepath.Join(s.tmp, "nginx")
		if err := os.MkdirAll(ngxDir, 0o755); err != nil {
			s.setupErr = err
			return
		}
		nginxRef, s.setupErr = startNginx(s.cfg.nginxBin, ngxDir)
		if s.setupErr != nil {
			s.setupErr = fmt.Errorf("nginx: %v (run scripts/bench-deps.sh)", s.setupErr)
			return
		}
		b.Logf("nginx on %s, worker pids %v", nginxRef.url, nginxRef.workers())
	})
	if s.setupErr != nil {
		b.Fatalf("bench setup: %v", s.setupErr)
	}
	return s
}

func (s *suite) buildMeshperf(b *testing.B) {
	if s.cfg.meshperfBin != "" {
		if _, err := os.Stat(s.cfg.meshperfBin); err != nil {
			s.mpErr = "BENCH_MESHPERF: " + err.Error()
			return
		}
		s.meshperf = s.cfg.meshperfBin
		return
	}
	out := filepath.Join(s.tmp, "meshperf")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/meshperf")
	cmd.Dir = s.root
	msg, err := cmd.CombinedOutput()
	if err != nil {
		s.mpErr = fmt.Sprintf("go build ./cmd/meshperf failed: %v: %s", err, tail(msg, 600))
		b.Logf("meshperf will not be measured: %s", s.mpErr)
		return
	}
	s.meshperf = out
	b.Logf("built meshperf at %s", out)
}

func (s *suite) wrkPeers() []peer {
	var ps []peer
	if !s.cfg.wantPeer("wrk") {
		return nil
	}
	for _, t := range s.cfg.wrkThreads {
		p := wrkPeer(s.wrk, t, s.cfg.conns)
		p.disabled = s.wrkErr
		ps = append(ps, p)
	}
	return ps
}

func (s *suite) fortioPeer(qps float64) []peer {
	if !s.cfg.wantPeer("fortio") {
		return nil
	}
	p := fortioPeer(s.fortio, qps, s.cfg.conns)
	p.disabled = s.fortErr
	return []peer{p}
}

func (s *suite) meshperfPeer(rps float64) []peer {
	if !s.cfg.wantPeer("meshperf") {
		return nil
	}
	p := meshperfPeer("meshperf", s.meshperf, rps, s.cfg.conns, s.cfg.meshperfArgs, s.cfg.meshperfEnv)
	p.disabled = s.mpErr
	return []peer{p}
}

// exactPeerName is the open-loop reference peer: meshperf sending every
// request at its own intended time instead of batching those due within
// its automatic resolution window.
const exactPeerName = "meshperf-exact"

// meshperfExactPeer is meshperf with --resolution exact. BENCH_PEERS selects
// it with "meshperf" (both variants) or "meshperf-exact" (this one alone).
func (s *suite) meshperfExactPeer(rps float64) []peer {
	if !s.cfg.wantPeer("meshperf") && !s.cfg.wantPeer(exactPeerName) {
		return nil
	}
	extra := append(append([]string(nil), s.cfg.meshperfArgs...), "--resolution", "exact")
	p := meshperfPeer(exactPeerName, s.meshperf, rps, s.cfg.conns, extra, s.cfg.meshperfEnv)
	p.disabled = s.mpErr
	return []peer{p}
}

// interleave runs every peer once per round, in order, for s.cfg.runs
// rounds, against nginx's plain HTTP/1.1 port. A peer whose runs have all
// failed so far is not run again after its first failure; its error is
// kept for the report.
func (s *suite) interleave(b *testing.B, peers []peer, d time.Duration) map[string][]runResult {
	return s.interleaveOn(b, peers, nginxRef.url, d)
}

// interleaveOn is interleave against url.
func (s *suite) interleaveOn(b *testing.B, peers []peer, url string, d time.Duration) map[string][]runResult {
	res := map[string][]runResult{}
	for round := 1; round <= s.cfg.runs; round++ {
		for _, p := range peers {
			prev := res[p.name]
			if len(prev) > 0 && !anyOK(prev) {
				continue
			}
			r := runOnce(p, url, d, s.tmp, round, s.cfg.quietWait)
			res[p.name] = append(res[p.name], r)
			if r.OK {
				b.Logf("run %d %-14s %10.0f req/s  cpu %.2fs (%.0f s/Mreq)  rss %.1f MB  nginx %.2f cores  others %.2f cores (%.2f before)",
					round, p.name, r.RPS, r.cpu(), r.cpuPerMReq(), r.MaxRSSMB, r.nginxCores(), r.Others, r.Background)
			} else {
				b.Logf("run %d %-14s FAILED: %s", round, p.name, r.Err)
			}
		}
	}
	return res
}

func anyOK(rs []runResult) bool {
	for _, r := range rs {
		if r.OK {
			return true
		}
	}
	return false
}

// medianOf is the median of f over the successful runs, NaN without any.
func medianOf(rs []runResult, f func(runResult) float64) float64 {
	var xs []float64
	for _, r := range rs {
		if r.OK {
			xs = append(xs, f(r))
		}
	}
	return median(xs)
}

// metric reports v under unit unless it is NaN.
func metric(b *testing.B, v float64, unit string) {
	if !math.IsNaN(v) && !math.IsInf(v, 0) {
		b.ReportMetric(v, unit)
	}
}

// BenchmarkClosedLoop: every tool as fast as it can on the same number of
// connections, interleaved; target meshperf >= 0.95x wrk and >= 1x fortio.
func BenchmarkClosedLoop(b *testing.B) {
	s := setup(b)
	b.ReportMetric(0, "ns/op")
	sec := s.section("closed", func() *section {
		peers := append(append(s.wrkPeers(), s.fortioPeer(0)...), s.meshperfPeer(0)...)
		sec := &section{
			Title: "Closed loop: throughput",
			Params: fmt.Sprintf("%d connections, %d runs of %s each, peers interleaved in the order %s",
				s.cfg.conns, s.cfg.runs, s.cfg.dur, peerNames(peers)),
			Peers: peerNames(peers),
			Runs:  s.interleave(b, peers, s.cfg.dur),
		}
		closedTargets(sec)
		return sec
	})
	for _, p := range sec.Peers {
		metric(b, medianOf(sec.Runs[p], func(r runResult) float64 { return r.RPS }), p+"-req/s")
	}
	for _, t := range sec.Targets {
		metric(b, t.Value, t.Unit)
	}
}

// BenchmarkOpenLoop: fortio and meshperf at a fixed rate on the same
// connections; target meshperf's CPU per million requests <= fortio's.
func BenchmarkOpenLoop(b *testing.B) {
	s := setup(b)
	b.ReportMetric(0, "ns/op")
	sec := s.section("open", func() *section {
		peers := append(s.fortioPeer(s.cfg.openRPS), s.meshperfPeer(s.cfg.openRPS)...)
		peers = append(peers, s.meshperfExactPeer(s.cfg.openRPS)...)
		sec := &section{
			Title: fmt.Sprintf("Open loop at %.0f rps: client CPU per million requests", s.cfg.openRPS),
			Params: fmt.Sprintf("%.0f requests/s, %d connections, %d runs of %s each, interleaved in the order %s",
				s.cfg.openRPS, s.cfg.conns, s.cfg.runs, s.cfg.dur, peerNames(peers)),
			Peers:   peerNames(peers),
			OpenRPS: s.cfg.openRPS,
			Runs:    s.interleave(b, peers, s.cfg.dur),
		}
		openTargets(sec)
		return sec
	})
	for _, p := range sec.Peers {
		metric(b, medianOf(sec.Runs[p], runResult.cpuPerMReq), p+"-cpu-s/Mreq")
		metric(b, medianOf(sec.Runs[p], func(r runResult) float64 { return r.RPS }), p+"-req/s")
		metric(b, medianPositive(sec.Runs[p], latP50), p+"-latency-p50-ms")
		metric(b, medianPositive(sec.Runs[p], svcP50), p+"-service-p50-ms")
	}
	for _, t := range sec.Targets {
		metric(b, t.Value, t.Unit)
	}
}

func latP50(r runResult) float64 { return r.LatP50Ms }
func svcP50(r runResult) float64 { return r.SvcP50Ms }

// medianPositive is the median of f over the successful runs where it is
// above zero (a figure the tool reported), NaN without any.
func medianPositive(rs []runResult, f func(runResult) float64) float64 {
	var xs []float64
	for _, r := range rs {
		if v := f(r); r.OK && v > 0 {
			xs = append(xs, v)
		}
	}
	return median(xs)
}

// BenchmarkMemory: a short and a long run at a fixed rate; the long run's
// peak RSS must be no higher than the short one's, and under 100 MB.
func BenchmarkMemory(b *testing.B) {
	s := setup(b)
	b.ReportMetric(0, "ns/op")
	sec := s.section("memory", func() *section {
		var peers []peer
		for _, name := range s.cfg.memPeers {
			switch name {
			case "meshperf":
				peers = append(peers, s.meshperfPeer(s.cfg.memRPS)...)
			case "fortio":
				peers = append(peers, s.fortioPeer(s.cfg.memRPS)...)
			default:
				b.Logf("BENCH_MEM_PEERS: %q is not meshperf or fortio; skipped", name)
			}
		}
		sec := &section{
			Title: fmt.Sprintf("Memory: peak RSS at %.0f rps, %s run against %s run", s.cfg.memRPS, s.cfg.long, s.cfg.short),
			Params: fmt.Sprintf("%.0f requests/s, %d connections; one %s run then one %s run per tool",
				s.cfg.memRPS, s.cfg.conns, s.cfg.short, s.cfg.long),
			Peers:  peerNames(peers),
			Memory: true,
			Runs:   map[string][]runResult{},
		}
		for _, p := range peers {
			for i, d := range []time.Duration{s.cfg.short, s.cfg.long} {
				r := runOnce(p, nginxRef.url, d, s.tmp, i+1, s.cfg.quietWait)
				if r.OK {
					b.Logf("%s %s: max RSS %.1f MB, %.0f req/s, cpu %.2fs", p.name, d, r.MaxRSSMB, r.RPS, r.cpu())
				} else {
					b.Logf("%s %s FAILED: %s", p.name, d, r.Err)
				}
				sec.Runs[p.name] = append(sec.Runs[p.name], r)
				if !r.OK {
					break // no long run after a failed short one
				}
			}
		}
		memoryTargets(sec, s.cfg.memTol)
		return sec
	})
	for _, p := range sec.Peers {
		rs := sec.Runs[p]
		for i, label := range []string{"short", "long"} {
			if i < len(rs) && rs[i].OK {
				metric(b, rs[i].MaxRSSMB, p+"-"+label+"-maxrss-MB")
			}
		}
	}
	for _, t := range sec.Targets {
		metric(b, t.Value, t.Unit)
	}
}

func peerNames(ps []peer) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.name)
	}
	return out
}

// section runs build once per key (a benchmark's function may be called more
// than once) and keeps the result for the report.
func (s *suite) section(key string, build func() *section) *section {
	s.mu.Lock()
	sec, ok := s.sections[key]
	s.mu.Unlock()
	if ok {
		return sec
	}
	sec = build()
	sec.Notes = append(sec.Notes, fmt.Sprintf("load average after: %s", loadAvg()))
	s.mu.Lock()
	s.sections[key] = sec
	s.order = append(s.order, key)
	s.mu.Unlock()
	return sec
}

// bestWrk is the wrk peer with the highest median throughput.
func bestWrk(sec *section) (string, float64) {
	best, bv := "", math.NaN()
	for _, p := range sec.Peers {
		if !strings.HasPrefix(p, "wrk") {
			continue
		}
		v := medianOf(sec.Runs[p], func(r runResult) float64 { return r.RPS })
		if !math.IsNaN(v) && (math.IsNaN(bv) || v > bv) {
			best, bv = p, v
		}
	}
	return best, bv
}

func closedTargets(sec *section) {
	rps := func(p string) float64 { return medianOf(sec.Runs[p], func(r runResult) float64 { return r.RPS }) }
	mp := rps("meshperf")
	wname, w := bestWrk(sec)
	if wname == "" {
		wname = "wrk"
	}
	f := rps("fortio")
	sec.Targets = append(sec.Targets,
		newTarget("meshperf / "+wname+" throughput (the fastest wrk)", "meshperf/wrk-ratio", mp, w, ">=", 0.95),
		newTarget("meshperf / fortio throughput", "meshperf/fortio-ratio", mp, f, ">=", 1.0),
		newTarget("fortio / "+wname+" throughput (reference)", "fortio/wrk-ratio", f, w, "", 0),
	)
	// The other wrk variants, for reference.
	for _, p := range sec.Peers {
		if strings.HasPrefix(p, "wrk") && p != wname {
			sec.Targets = append(sec.Targets,
				newTarget("meshperf / "+p+" throughput (reference)", "meshperf/"+p+"-ratio", mp, rps(p), "", 0))
		}
	}
}

func openTargets(sec *section) {
	cpm := func(p string) float64 { return medianOf(sec.Runs[p], runResult.cpuPerMReq) }
	mp, f := cpm("meshperf"), cpm("fortio")
	sec.Targets = append(sec.Targets,
		newTarget("meshperf / fortio CPU s per M requests", "meshperf/fortio-cpu-ratio", mp, f, "<=", 1.0))
	if _, ok := sec.Runs[exactPeerName]; ok {
		ex := cpm(exactPeerName)
		sec.Targets = append(sec.Targets,
			newTarget(exactPeerName+" / fortio CPU s per M requests (reference)", exactPeerName+"/fortio-cpu-ratio", ex, f, "", 0),
			newTarget("meshperf / "+exactPeerName+" CPU s per M requests (reference: what batching saves)", "meshperf/"+exactPeerName+"-cpu-ratio", mp, ex, "", 0))
		window := "each request goes at its own time at this rate"
		if sec.OpenRPS > 1000 {
			window = fmt.Sprintf("at this rate requests due within %.0f µs (1 ms − 1/rate) go together", 1000-1e6/sec.OpenRPS)
		}
		sec.Notes = append(sec.Notes, fmt.Sprintf("%s is meshperf with `--resolution exact` (one wake-up per request), a reference only: the target compares meshperf at its default `--resolution auto` (%s) with fortio", exactPeerName, window))
	}
	sec.Notes = append(sec.Notes, "latency p50: meshperf's \"corrected\" latency counts from each request's intended send time, so it includes any lateness of the send (batching included); \"service time\" counts from the actual send. Medians over runs of each run's p50")
	for _, p := range sec.Peers {
		held := medianOf(sec.Runs[p], func(r runResult) float64 { return r.RPS })
		if !math.IsNaN(held) && held < 0.98*sec.OpenRPS {
			sec.Notes = append(sec.Notes, fmt.Sprintf("%s held a median of %.0f req/s, under 98%% of the %.0f asked: its CPU figure is not at the same load", p, held, sec.OpenRPS))
		}
	}
}

func memoryTargets(sec *section, tol float64) {
	for _, p := range sec.Peers {
		rs := sec.Runs[p]
		short, long := math.NaN(), math.NaN()
		if len(rs) > 0 && rs[0].OK {
			short = rs[0].MaxRSSMB
		}
		if len(rs) > 1 && rs[1].OK {
			long = rs[1].MaxRSSMB
		}
		t := newTarget(p+" peak RSS long / short", p+"-long/short-rss-ratio", long, short, "<=", 1+tol)
		t.Want = fmt.Sprintf("<= 1.00 (+%.0f%% allowed for allocator noise)", tol*100)
		sec.Targets = append(sec.Targets, t)
		abs := target{Name: p + " peak RSS of the long run", Unit: p + "-long-maxrss-MB", Value: long,
			Want: "< 100 MB", Known: !math.IsNaN(long), Pass: long < 100, Format: "%.1f MB"}
		sec.Targets = append(sec.Targets, abs)
	}
}

func newTarget(name, unit string, a, b float64, op string, want float64) target {
	t := target{Name: name, Unit: unit, Value: math.NaN(), Format: "%.3f"}
	if !math.IsNaN(a) && !math.IsNaN(b) && b != 0 {
		t.Value = a / b
		t.Known = true
	}
	switch op {
	case ">=":
		t.Want = fmt.Sprintf(">= %.2f", want)
		t.Pass = t.Value >= want
	case "<=":
		t.Want = fmt.Sprintf("<= %.2f", want)
		t.Pass = t.Value <= want
	default:
		t.Want = "(none)"
		t.Info = true
	}
	return t
}
