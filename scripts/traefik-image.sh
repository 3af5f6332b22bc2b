#!/usr/bin/env bash
# Builds Traefik v3 from its Go module (test/traefik) as a static binary and
# packs it as an image for the test node, where it is the Gateway API
# implementation under test (internal/conformance/traefik_node_test.go,
# docs/conformance.md):
#
#   meshperf.local/traefik:v3.7.13   /traefik, run by test/traefik/deploy/traefik.yaml
#
#   scripts/traefik-image.sh OUTDIR [CONTAINERD_SOCKET]
#   scripts/traefik-image.sh --build   only build (or find) the binary, print its directory
#
# writes OUTDIR/traefik.tar (an OCI layout) and, given a containerd socket,
# imports it into its k8s.io namespace (ctr images import). The binary is
# built once into ${XDG_CACHE_HOME:-~/.cache}/meshperf-kube/traefik/HASH
# (HASH covers test/traefik's files); the first build takes 14 minutes of CPU (41 on
# 2 loaded cores here). Traefik's go.mod replaces three modules the module proxy does not
# serve; test/traefik stands in for two of them (see its go.mod), and for the
# third, lego's DNS-01 providers whose SDKs the proxy refuses, this script
# builds against a copy of lego whose providers/dns/zz_gen_dns_providers.go
# is test/traefik/legodns's (through go build -modfile, so that traefik's
# go.mod stays as committed). MESHPERF_BIN=FILE is the meshperf that packs
# the image (else one is built).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
log() { echo "traefik-image.sh: $*" >&2; }
die() { log "$*"; exit 1; }

out="${1:-}"
sock="${2:-}"
[ -n "$out" ] || die "usage: scripts/traefik-image.sh OUTDIR [CONTAINERD_SOCKET] | --build"
[ "$out" = --build ] || mkdir -p "$out"
command -v go >/dev/null 2>&1 || die "go is needed"

mod="$root/test/traefik"
tag=meshperf.local/traefik:v3.7.13
hash="$(cd "$mod" && find . -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) | LC_ALL=C sort |
	xargs cat | sha256sum | cut -c1-16)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/meshperf-kube/traefik"
bin="$cache/$hash"
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ ! -x "$bin/traefik" ]; then
	log "building traefik into $bin (first time only: 14 minutes of CPU)"
	start=$SECONDS
	tmp="$(mktemp -d "$cache/.build.XXXXXX")"
	trap 'rm -rf "$tmp"' EXIT
	lego_version="$(awk '$1 == "require" { $1 = ""; $0 = $0 } $1 == "github.com/go-acme/lego/v5" { print $2; exit }' "$mod/go.mod")"
	[ -n "$lego_version" ] || die "test/traefik/go.mod requires no github.com/go-acme/lego/v5"
	# Outside any module, so that no go.sum changes (the checksum database checks it).
	lego_dir="$(cd "$tmp" && GOWORK=off GOFLAGS= go mod download -json "github.com/go-acme/lego/v5@$lego_version" |
		sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
	[ -d "$lego_dir" ] || die "go mod download github.com/go-acme/lego/v5@$lego_version gave no directory"
	cp -r "$lego_dir" "$tmp/lego"
	chmod -R u+w "$tmp/lego"
	cp "$mod/legodns/zz_gen_dns_providers.go" "$tmp/lego/providers/dns/zz_gen_dns_providers.go"
	cp "$mod/go.mod" "$tmp/build.mod"
	cp "$mod/go.sum" "$tmp/build.sum"
	printf '\nreplace github.com/go-acme/lego/v5 => %s\n' "$tmp/lego" >>"$tmp/build.mod"
	(cd "$mod" && CGO_ENABLED=0 GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" go build -modfile="$tmp/build.mod" \
		-trimpath -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=${tag##*:}" \
		-o "$tmp/out/traefik" github.com/traefik/traefik/v3/cmd/traefik) >&2 ||
		die "build failed"
	rm -rf "$bin"
	mv "$tmp/out" "$bin"
	rm -rf "$tmp"
	trap - EXIT
	log "built in $((SECONDS - start))s, $(stat -c %s "$bin/traefik") bytes"
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
"$mp" image --binary "$bin/traefik" --path /traefik --tag "$tag" --out "$out/traefik.tar" >&2
if [ -n "$sock" ]; then
	ctr --address "$sock" -n k8s.io images import "$out/traefik.tar" >/dev/null || die "ctr images import failed"
	log "imported $tag into $sock"
fi
echo "$out/traefik.tar"
