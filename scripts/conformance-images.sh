#!/usr/bin/env bash
# Builds the images the Gateway API conformance suite (v1.6.3) names, from
# source, as meshperf image packs them, for clusters that cannot pull from
# registry.k8s.io (the test node):
#
#   registry.k8s.io/gateway-api/echo-advanced:v1.5.1   Istio's echo app (server, and the client
#                                                      the mesh tests exec into), mesh profiles
#   registry.k8s.io/gateway-api/echo-basic:v1.5.1      the suite's own echo-basic, gateway profiles
#   registry.k8s.io/gateway-api/echo-basic:v1.6.0-dev.3  the same program, under the tag of infra-backend-v3
#   registry.k8s.io/coredns/coredns:v1.12.2            CoreDNS built from its module (test/coredns),
#                                                      gateway profiles; only with MESHPERF_CONFORMANCE_COREDNS=1
#
#   scripts/conformance-images.sh OUTDIR [CONTAINERD_SOCKET]
#   scripts/conformance-images.sh --build   only build (or find) the programs, print their directory
#
# writes OUTDIR/echo-advanced.tar and OUTDIR/echo-basic*.tar (OCI layouts)
# and, given a containerd socket, imports them into its k8s.io namespace
# (ctr images import). The programs are built once into
# ${XDG_CACHE_HOME:-~/.cache}/meshperf-kube/conformance/HASH (test/conformance-images'
# go.mod/go.sum and the root go.sum): echo-advanced from the istio.io/istio module that
# test/conformance-images pins, echo-basic from sigs.k8s.io/gateway-api/conformance
# (the root module's). The echo server's TLS port wants /cert.crt and
# /cert.key: a self-signed pair made here (openssl), for tests only.
# MESHPERF_BIN=FILE is the meshperf that packs them (else one is built).
# MESHPERF_CONFORMANCE_COREDNS=1 also builds CoreDNS v1.12.2 from its Go
# module (scripts/coredns-build.sh, test/coredns: among its plugins errors,
# log, forward, whoami, those of the suite's Corefile; cached, and the same
# binary the test node's cluster DNS runs) and writes
# OUTDIR/coredns.tar: only the gateway profiles' setup needs its pod, so the
# mesh profiles' runs (CI) do not pay for it. Its image runs as non-root like
# every meshperf image, and binds port 53: the runtime must let pods bind low
# ports (the test node's containerd has enable_unprivileged_ports).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
log() { echo "conformance-images.sh: $*" >&2; }
die() { log "$*"; exit 1; }

out="${1:-}"
sock="${2:-}"
[ -n "$out" ] || die "usage: scripts/conformance-images.sh OUTDIR [CONTAINERD_SOCKET] | --build"
[ "$out" = --build ] || mkdir -p "$out"
for tool in go openssl; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is needed"
done

mod="$root/test/conformance-images"
hash="$(cat "$mod/go.mod" "$mod/go.sum" "$root/go.sum" | sha256sum | cut -c1-16)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/meshperf-kube/conformance"
bin="$cache/$hash"
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ ! -x "$bin/server" ] || [ ! -x "$bin/client" ] || [ ! -x "$bin/echo-basic" ]; then
	log "building Istio's echo server and client and echo-basic into $bin (first time only: minutes)"
	start=$SECONDS
	tmp="$(mktemp -d "$cache/.build.XXXXXX")"
	(cd "$mod" && CGO_ENABLED=0 GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -ldflags "-s -w" \
		-o "$tmp/" istio.io/istio/pkg/test/echo/cmd/server istio.io/istio/pkg/test/echo/cmd/client &&
		cd "$root" && CGO_ENABLED=0 GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -ldflags "-s -w" \
		-o "$tmp/echo-basic" sigs.k8s.io/gateway-api/conformance/echo-basic) >&2 ||
		{ rm -rf "$tmp"; die "build failed"; }
	rm -rf "$bin"
	mv "$tmp" "$bin"
	log "built in $((SECONDS - start))s"
fi
flock -u 9

coredns=""
if [ "${MESHPERF_CONFORMANCE_COREDNS:-}" = 1 ]; then
	coredns="$("$root/scripts/coredns-build.sh")"
elif [ -n "${MESHPERF_CONFORMANCE_COREDNS:-}" ]; then
	die "MESHPERF_CONFORMANCE_COREDNS is ${MESHPERF_CONFORMANCE_COREDNS:0:20}, want 1 or unset"
fi

if [ "$out" = --build ]; then
	echo "$bin"
	[ -z "$coredns" ] || echo "$coredns"
	exit 0
fi

mp="${MESHPERF_BIN:-}"
if [ -z "$mp" ]; then
	mp="$out/meshperf"
	(cd "$root" && CGO_ENABLED=0 go build -o "$mp" ./cmd/meshperf) >&2 || die "building meshperf failed"
fi

# A throwaway self-signed pair for the echo server's TLS port.
if [ ! -s "$out/cert.key" ]; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=echo" \
		-keyout "$out/cert.key" -out "$out/cert.crt" >/dev/null 2>&1 || die "openssl failed"
	chmod 644 "$out/cert.key"
fi

"$mp" image --binary "$bin/server" --path /server --file "$bin/client:/client" \
	--file "$out/cert.crt:/cert.crt" --file "$out/cert.key:/cert.key" \
	--tag registry.k8s.io/gateway-api/echo-advanced:v1.5.1 --out "$out/echo-advanced.tar" >&2
for tag in v1.5.1 v1.6.0-dev.3; do
	"$mp" image --binary "$bin/echo-basic" --path /echo-basic \
		--tag "registry.k8s.io/gateway-api/echo-basic:$tag" --out "$out/echo-basic-$tag.tar" >&2
done
imports=("$out"/echo-advanced.tar "$out"/echo-basic-*.tar)
if [ -n "$coredns" ]; then
	# The suite's Deployment runs it with "-conf /root/Corefile" (a ConfigMap).
	"$mp" image --binary "$coredns/coredns" --path /coredns \
		--tag registry.k8s.io/coredns/coredns:v1.12.2 --out "$out/coredns.tar" >&2
	imports+=("$out/coredns.tar")
fi
if [ -n "$sock" ]; then
	for f in "${imports[@]}"; do
		ctr --address "$sock" -n k8s.io images import "$f" >/dev/null || die "ctr images import $f failed"
	done
	log "imported into $sock"
fi
ls "${imports[@]}"
