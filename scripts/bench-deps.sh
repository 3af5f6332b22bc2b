#!/usr/bin/env bash
# Installs what the benchmark suite in bench/ needs, idempotently:
#   - nginx-light, wrk and nghttp2-client (h2load) from Debian (apt-get update only when something is missing)
#   - fortio, pinned, built with `go install` into bench/.bin (not on PATH)
# Safe to run repeatedly; does nothing when everything is already there.
set -euo pipefail

FORTIO_VERSION="${FORTIO_VERSION:-v1.66.5}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$repo/bench/.bin"

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		sudo_cmd=(sudo)
	else
		echo "bench-deps: not root and no sudo; install nginx-light and wrk by hand" >&2
	fi
fi

missing=()
for pkg in nginx-light wrk nghttp2-client; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$pkg")
	fi
done
if [ "${#missing[@]}" -gt 0 ]; then
	echo "bench-deps: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	"${sudo_cmd[@]}" apt-get update -qq
	"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian installs nginx-light with a service that may try to start on :80;
# the benchmark starts its own instance, so a system one is not needed.

have=""
if [ -x "$bin/fortio" ]; then
	have="$("$bin/fortio" version 2>/dev/null | head -n1 || true)"
fi
if [ "$have" != "${FORTIO_VERSION#v}" ]; then
	echo "bench-deps: building fortio $FORTIO_VERSION into $bin" >&2
	mkdir -p "$bin"
	# Outside the module so its go.mod/go.sum are left alone.
	(cd / && GOBIN="$bin" GOFLAGS= go install "fortio.org/fortio@$FORTIO_VERSION")
fi

# Check that each tool runs.
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
"$nginx_bin" -v 2>&1 | sed 's/^/bench-deps: /' >&2
wrk -v 2>&1 | head -n1 | sed 's/^/bench-deps: /' >&2 || true
echo "bench-deps: fortio $("$bin/fortio" version | head -n1)" >&2
