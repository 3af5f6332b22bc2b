#!/usr/bin/env bash
# The README's test command (make test): every test, with a real PostgreSQL
# for the store suite. scripts/pg.sh installs PostgreSQL if it is missing
# and starts a private instance; it is stopped when the tests end.
set -euo pipefail
cd "$(dirname "$0")/.."
# The wrk adapter is tested against the real wrk (Debian's package).
if ! command -v wrk >/dev/null 2>&1; then
	echo "test.sh: installing wrk (apt-get)" >&2
	sudo_cmd=()
	if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo); fi
	DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq wrk
fi
if [ -z "${MESHPERF_TEST_POSTGRES:-}" ]; then
	pgdir=$(mktemp -d /tmp/meshperf-pg-test.XXXXXX)
	MESHPERF_TEST_POSTGRES="$(scripts/pg.sh start "$pgdir")"
	export MESHPERF_TEST_POSTGRES
	trap 'scripts/pg.sh stop "$pgdir" >/dev/null 2>&1 || true; rm -rf "$pgdir"' EXIT
fi
go test -count=1 -timeout 30m "$@" ./...
