#!/usr/bin/env bash
# The README's test command (make test): every test, against real
# components. scripts/test-deps.sh installs the Debian packages the tests
# use; scripts/pg.sh starts a private PostgreSQL for the store suite (stopped
# when the tests end); the Kubernetes tests start a real kube-apiserver and
# etcd (built once from test/kube, cached); the agents' test puts agents in
# network namespaces (root); then the web UI's unit and browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/test-deps.sh

echo "== the agent protocol's generated code is current (scripts/protogen.sh --check)"
scripts/protogen.sh --check

if [ -z "${MESHPERF_TEST_POSTGRES:-}" ]; then
	pgdir=$(mktemp -d /tmp/meshperf-pg-test.XXXXXX)
	MESHPERF_TEST_POSTGRES="$(scripts/pg.sh start "$pgdir")"
	export MESHPERF_TEST_POSTGRES
	trap 'scripts/pg.sh stop "$pgdir" >/dev/null 2>&1 || true; rm -rf "$pgdir"' EXIT
fi
# Tests that need an outside tool fail, rather than skip, when it is missing.
export MESHPERF_KUBE_TEST=1 CI="${CI:-1}"

echo "== compile every package's tests on all cores (the run below runs one package at a time)"
# -p 1 would also compile one package at a time; -exec /bin/true builds and
# links each test binary without running it, so the run below takes the
# compiled packages from the cache.
go test -count=1 -run '^$' -exec /bin/true "$@" ./... >/dev/null

echo "== go test ./..."
# One package at a time: the accuracy tests measure latency to a fraction of a
# millisecond, and another package's load (a proxy, agents, a browser) on the
# same two cores would be in their figures.
go test -p 1 -count=1 -timeout 40m "$@" ./...

echo "== go test -race: the engine, runner, run service, agents, server and agent"
# The packages where goroutines share the most state (the engine, the
# runner, the run service, the agents' registry and merge, the server, the
# agent), under the race detector (6.5 minutes on two shared cores,
# compiling included, before internal/runs and internal/agents joined). The
# detector slows the engine several times over, so the tests that measure
# timing accuracy (latency windows of a few milliseconds, an achieved rate
# within 1%, the admin's login within 3 s during a flood) would measure the
# detector: they are skipped here, and only here; the step above runs them
# without it.
race_skip='^(TestAccuracyDelayMix|TestGRPCHealthOpenLoop|TestCoordinatedOmissionStall|TestAchievedRate|TestH2CoordinatedOmissionStall|TestGRPCUnaryReflectionOpenLoop|TestGRPCUnaryDescriptorSetClosedLoop|TestTCPOpenLoopAccuracy|TestAgentsDistributedRunMergesExactly|TestLoginFloodSparesTheAdmin)$'
race_pkgs="./loadgen/native/... ./internal/runner/... ./internal/runs/... ./internal/agents/... ./internal/server/... ./internal/agent/..."
# shellcheck disable=SC2086 # the package list splits on spaces
go test -race -count=1 -run '^$' -exec /bin/true "$@" $race_pkgs >/dev/null
# shellcheck disable=SC2086
go test -race -p 1 -count=1 -timeout 20m -skip "$race_skip" "$@" $race_pkgs

echo "== the web UI (scripts/web-test.sh)"
scripts/web-test.sh
