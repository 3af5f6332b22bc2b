#!/usr/bin/env bash
# Builds bin/meshperf for make build/run, saying what it does: the first
# build downloads the Go modules and compiles everything (the pure-Go SQLite
# alone takes minutes), so it says so up front and shows its progress; a
# later build compiles only what changed and says nothing.
# Usage: scripts/build.sh BIN LDFLAGS
set -euo pipefail
bin=$1
ldflags=$2
go=${GO:-go}
start=$SECONDS
say() { printf 'meshperf build: %s\n' "$*" >&2; }
elapsed() { printf '%dm%02ds' $(((SECONDS - start) / 60)) $(((SECONDS - start) % 60)); }

# Packages the build still has to compile; none when everything is cached.
# Listing them downloads the modules first (go: downloading ... lines).
[ -x "$bin" ] || say "listing the Go packages to compile (downloading the modules the first time)..."
stale=$($go list -deps -f '{{if .Stale}}{{.ImportPath}}{{end}}' ./cmd/meshperf | grep -c . || true)
if [ "$stale" -gt 200 ]; then
	say "first build: downloading Go modules and compiling $stale packages."
	say "This takes about 15 minutes on 2 cores (measured, README); later starts take seconds."
elif [ "$stale" -gt 1 ]; then
	say "compiling $stale changed packages..."
fi
# A line every 30 s while go build runs, so a long compile never looks hung.
(
	while sleep 30; do say "still compiling ($(elapsed))..."; done
) &
ticker=$!
trap 'kill $ticker 2>/dev/null || true' EXIT

# go build -v names each package as it is compiled: count them against the
# total; pass anything else (errors) through.
set -o pipefail
$go build -v -ldflags "$ldflags" -o "$bin" ./cmd/meshperf 2>&1 | awk -v total="$stale" '
	/^[A-Za-z0-9._~\/-]+$/ {
		n++
		if (total > 20 && (n % 25 == 0 || n == total)) {
			printf "meshperf build: compiled %d of %d packages (last: %s)\n", n, total, $0 > "/dev/stderr"
			fflush("/dev/stderr")
		}
		next
	}
	{ print > "/dev/stderr"; fflush("/dev/stderr") }
'
say "built $bin in $(elapsed)"
