#!/usr/bin/env bash
# Builds Traefik Mesh v1.4.8's controller and its proxy, Traefik v2.8.3, from
# their Go modules (test/traefikmesh) as static binaries and packs them as
# images for the test node, where Traefik Mesh is the SMI implementation under
# test (internal/conformance/traefikmesh_node_test.go, docs/conformance.md):
#
#   meshperf.local/traefik-mesh:v1.4.8   /mesh     (github.com/traefik/mesh/cmd/mesh)
#   meshperf.local/traefik:v2.8.3        /traefik  (github.com/traefik/traefik/v2/cmd/traefik)
#
#   scripts/traefikmesh-image.sh OUTDIR [CONTAINERD_SOCKET]
#   scripts/traefikmesh-image.sh --build   only build (or find) the binaries, print their directory
#
# writes OUTDIR/traefik-mesh.tar and OUTDIR/traefik-v2.tar and, given a
# containerd socket, imports them into its k8s.io namespace. The binaries are
# built once into ${XDG_CACHE_HOME:-~/.cache}/meshperf-kube/traefikmesh/HASH
# (HASH covers test/traefikmesh's files). Every module Traefik Mesh and
# Traefik v2.8.3 replace is served by the module proxy at the pinned forks'
# versions, so test/traefikmesh has no stand-ins. MESHPERF_BIN=FILE is the
# meshperf that packs the images (else one is built).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
log() { echo "traefikmesh-image.sh: $*" >&2; }
die() { log "$*"; exit 1; }

out="${1:-}"
sock="${2:-}"
[ -n "$out" ] || die "usage: scripts/traefikmesh-image.sh OUTDIR [CONTAINERD_SOCKET] | --build"
[ "$out" = --build ] || mkdir -p "$out"
command -v go >/dev/null 2>&1 || die "go is needed"

mod="$root/test/traefikmesh"
mesh_tag=meshperf.local/traefik-mesh:v1.4.8
proxy_tag=meshperf.local/traefik:v2.8.3
hash="$(cd "$mod" && find . -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) | LC_ALL=C sort |
	xargs cat | sha256sum | cut -c1-16)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/meshperf-kube/traefikmesh"
bin="$cache/$hash"
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ ! -x "$bin/mesh" ] || [ ! -x "$bin/traefik" ]; then
	log "building Traefik Mesh and Traefik v2 into $bin (first time only)"
	start=$SECONDS
	tmp="$(mktemp -d "$cache/.build.XXXXXX")"
	trap 'rm -rf "$tmp"' EXIT
	build() { # OUT PACKAGE LDFLAGS
		(cd "$mod" && CGO_ENABLED=0 GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" go build \
			-trimpath -ldflags "-s -w $3" -o "$tmp/out/$1" "$2") >&2 || die "building $2 failed"
	}
	build mesh github.com/traefik/mesh/cmd/mesh "-X github.com/traefik/mesh/pkg/version.Version=${mesh_tag##*:}"
	build traefik github.com/traefik/traefik/v2/cmd/traefik "-X github.com/traefik/traefik/v2/pkg/version.Version=${proxy_tag##*:}"
	rm -rf "$bin"
	mv "$tmp/out" "$bin"
	rm -rf "$tmp"
	trap - EXIT
	log "built in $((SECONDS - start))s"
fi
flock -u 9
if [ "$out" = --build ]; then
	echo "$bin"
	exit 0
fi

mp="${MESHPERF_BIN:-}"
if [ -z "$mp" ]; then
	mp="$out/meshperf"
	(cd "$root" && CGO_ENABLED=0 go build -o "$mp" ./cmd/meshperf) >&2 || die "building meshperf failed"
fi
"$mp" image --binary "$bin/mesh" --path /mesh --tag "$mesh_tag" --out "$out/traefik-mesh.tar" >&2
"$mp" image --binary "$bin/traefik" --path /traefik --tag "$proxy_tag" --out "$out/traefik-v2.tar" >&2
if [ -n "$sock" ]; then
	for f in traefik-mesh.tar traefik-v2.tar; do
		ctr --address "$sock" -n k8s.io images import "$out/$f" >/dev/null || die "ctr images import $f failed"
	done
	log "imported $mesh_tag and $proxy_tag into $sock"
fi
echo "$out/traefik-mesh.tar"
