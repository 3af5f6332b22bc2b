#!/usr/bin/env bash
# Runs the meshperf benchmark suite: installs its tools (scripts/bench-deps.sh),
# then runs every benchmark once and prints where the report is.
# Knobs are environment variables, listed in bench/doc.go; for a quick look:
#   BENCH_RUNS=2 BENCH_DURATION=3s BENCH_SHORT=5s BENCH_LONG=20s bench/run.sh
# Extra arguments go to `go test`, e.g. bench/run.sh -bench ClosedLoop
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# A relative BENCH_REPORT is taken from where this script was called.
if [ -n "${BENCH_REPORT:-}" ] && [ "${BENCH_REPORT#/}" = "$BENCH_REPORT" ]; then
	BENCH_REPORT="$PWD/$BENCH_REPORT"
fi
export BENCH_REPORT="${BENCH_REPORT:-$repo/bench/out/latest.md}"

"$repo/scripts/bench-deps.sh"

# ghz, the gRPC peer of BenchmarkGRPCUnary (bench/grpc_bench_test.go).
if [ -z "${BENCH_GHZ:-}" ] && ! command -v ghz >/dev/null && [ ! -x "$HOME/go/bin/ghz" ]; then
	GOBIN="$HOME/go/bin" go install github.com/bojand/ghz/cmd/ghz@latest ||
		echo "bench: could not install ghz; the gRPC comparison will say so" >&2
fi

cd "$repo"
status=0
go test -tags bench -run '^$' -bench . -benchtime 1x -timeout "${BENCH_TIMEOUT:-60m}" -v "$@" ./bench/ || status=$?

if [ -f "$BENCH_REPORT" ]; then
	echo "bench: report: $BENCH_REPORT (raw runs: ${BENCH_REPORT%.*}.json)"
else
	echo "bench: no report was written" >&2
fi
exit "$status"
