#!/usr/bin/env bash
# Builds CoreDNS v1.12.2 from its Go module (test/coredns: the plugins the
# test node's cluster DNS and the Gateway API conformance suite's Corefile
# use) once, and prints the directory holding the binary, coredns:
#
#   scripts/coredns-build.sh
#
# The build is cached in ${XDG_CACHE_HOME:-~/.cache}/meshperf-kube/coredns/HASH
# (HASH covers test/coredns's go.mod, go.sum and main.go); about a minute and
# a half cold on two cores. scripts/kube-up.sh (--node, --build) and
# scripts/conformance-images.sh (MESHPERF_CONFORMANCE_COREDNS=1) call it.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
log() { echo "coredns-build.sh: $*" >&2; }
die() { log "$*"; exit 1; }

command -v go >/dev/null 2>&1 || die "go is needed to build CoreDNS"
mod="$root/test/coredns"
hash="$(cat "$mod/go.mod" "$mod/go.sum" "$mod/main.go" | sha256sum | cut -c1-16)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/meshperf-kube/coredns"
out="$cache/$hash"
mkdir -p "$cache"
# One build at a time: scripts started together wait for the first.
exec 8>"$cache/.lock"
flock 8
if [ ! -x "$out/coredns" ]; then
	log "building CoreDNS into $out (first time only: a minute or two)"
	start=$SECONDS
	tmp="$(mktemp -d "$cache/.build.XXXXXX")"
	(cd "$mod" && CGO_ENABLED=0 GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -ldflags "-s -w" \
		-o "$tmp/coredns" .) >&2 || { rm -rf "$tmp"; die "building CoreDNS failed"; }
	rm -rf "$out"
	mv "$tmp" "$out"
	log "built CoreDNS in $((SECONDS - start))s"
fi
flock -u 8
echo "$out"
