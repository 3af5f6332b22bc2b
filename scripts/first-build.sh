#!/usr/bin/env bash
# Measures what a new user waits for: the first `make build` from a clean
# clone with an empty Go module cache, Go build cache and npm cache (all in
# a temporary directory, so the machine's own caches are neither used nor
# touched), then the start of `meshperf server --echo` up to the URL line.
# It downloads every module and npm package: slow, and it loads the machine.
# Usage: scripts/first-build.sh [REPO_DIR]   (default: this checkout's HEAD)
set -euo pipefail
src=$(cd "${1:-$(dirname "$0")/..}" && pwd)
tmp=$(mktemp -d /tmp/meshperf-first-build.XXXXXX)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
git clone -q "$src" "$tmp/repo"
export GOMODCACHE="$tmp/gomod" GOCACHE="$tmp/gocache" npm_config_cache="$tmp/npm"
export GOFLAGS="${GOFLAGS:-}"
cd "$tmp/repo"
start=$(date +%s)
make build 2>&1 | sed -u 's/^/  | /' | tail -n 20
built=$(date +%s)
log="$tmp/server.log"
./bin/meshperf server --echo --echo-addr 127.0.0.1:0 --listen 127.0.0.1:0 --db "$tmp/m.db" >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
	grep -q 'http://' "$log" && grep -q 'Open' "$log" && break
	sleep 0.1
done
up=$(date +%s)
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
echo "first build: $((built - start)) s; server up $((up - built)) s later; total to the URL: $((up - start)) s"
