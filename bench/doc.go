// Package bench compares meshperf with other load generators (wrk, h2load and
// fortio) against one local nginx, each tool a separate process, and writes
// a markdown report with per-run figures, medians, ratios and the targets.
// The open-loop comparison also runs meshperf with --resolution exact as a
// reference (not judged), and reports each meshperf variant's median
// corrected latency p50 and service-time p50.
//
// nginx also listens over h2c and over TLS (a self-signed P-256
// certificate written at setup; HTTP/1.1 or h2 by ALPN):
// BenchmarkH2ClosedLoop compares meshperf with h2load over both, and
// BenchmarkHTTPSClosedLoop with wrk -t1 over HTTPS HTTP/1.1.
//
// BenchmarkTeamServer (team_bench_test.go) is a load test of `meshperf
// server --auth` itself: users listing, reading and submitting while the
// server runs a 1,000 rps test against the same nginx and a flood of
// bad-password logins goes on; it reports the slowest good login, the
// users' API p99 and the server's peak RSS against their targets.
//
// The benchmarks are behind the "bench" build tag, so `go test ./...` runs
// only the parser tests. Run the suite with bench/run.sh, or:
//
//	scripts/bench-deps.sh
//	go test -tags bench -run '^$' -bench . -benchtime 1x -timeout 60m ./bench/
//
// Knobs (environment):
//
//	BENCH_RUNS          runs of each peer in the closed- and open-loop comparisons (5)
//	BENCH_DURATION      length of each of those runs (10s)
//	BENCH_CONNS         connections, the same for every tool (50)
//	BENCH_OPEN_RPS      fixed rate of the open-loop comparison (20000)
//	BENCH_MEM_RPS       fixed rate of the memory runs (10000)
//	BENCH_SHORT         short memory run (30s)
//	BENCH_LONG          long memory run (300s)
//	BENCH_MEM_PEERS     tools given the memory runs (meshperf); e.g. meshperf,fortio
//	BENCH_MEM_TOLERANCE allowed growth of the long run's peak over the short one's (0.05)
//	BENCH_PEERS         restrict the comparisons to these tools, e.g. wrk,fortio (all);
//	                    "meshperf" includes the open loop's meshperf-exact reference
//	                    (meshperf --resolution exact), "meshperf-exact" selects it alone
//	BENCH_WRK_THREADS   wrk thread counts, one peer each (1,2); the throughput target
//	                    is taken against the wrk with the highest median
//	BENCH_QUIET_WAIT    before each run, wait up to this long for the machine's other
//	                    load to fall under 0.25 cores (15s; 0 measures it only)
//	BENCH_REPORT        markdown report; relative paths are from the repo root
//	                    (bench/out/latest.md; the raw runs go beside it as .json)
//	BENCH_MESHPERF      a meshperf binary to use instead of building ./cmd/meshperf
//	BENCH_MESHPERF_ARGS extra arguments for every `meshperf run`
//	BENCH_MESHPERF_ENV  extra environment for meshperf, e.g. GOMAXPROCS=1
//	BENCH_FORTIO        the fortio binary (bench/.bin/fortio, then $PATH)
//	BENCH_NGINX         the nginx binary (nginx on $PATH, then /usr/sbin/nginx)
//	BENCH_H2LOAD        the h2load binary for the HTTP/2 comparison (h2load on $PATH)
//	BENCH_TEAM_DURATION length of the team-mode load test (30s)
//	BENCH_TEAM_USERS    its users (50); BENCH_TEAM_THINK their pause between requests (100ms)
//	BENCH_TEAM_RPS      rate of the test the server runs meanwhile (1000)
//	BENCH_TEAM_FLOOD    concurrent bad-password logins (200), from BENCH_TEAM_FLOOD_IPS
//	                    source addresses 127.0.0.10 on (8)
package bench
