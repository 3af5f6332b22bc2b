#!/usr/bin/env bash
# Installs what the tests use from Debian, when missing: wrk (the wrk
# adapter), HAProxy, Prometheus and its process exporter (experiments),
# protoc (the agent protocol's drift check), iproute2 (agents in network
# namespaces), chromium (the UI's browser tests), openssl and curl (the
# Kubernetes API server's certificates and readiness), containerd, runc, the
# CNI plugins and iptables (the test Kubernetes node, scripts/kube-up.sh
# --node). PostgreSQL comes with
# scripts/pg.sh. kubectl is expected on the machine (Debian's is too old).
set -euo pipefail

want=()
need() { # command package
	command -v "$1" >/dev/null 2>&1 || want+=("$2")
}
need wrk wrk
need haproxy haproxy
need prometheus prometheus
need prometheus-process-exporter prometheus-process-exporter
need protoc protobuf-compiler
need ip iproute2
need chromium chromium
need openssl openssl
need curl curl
need containerd containerd
need runc runc
need iptables iptables
[ -x /usr/lib/cni/bridge ] || want+=(containernetworking-plugins)
if [ ${#want[@]} -gt 0 ]; then
	echo "test-deps: installing ${want[*]} (apt-get)" >&2
	sudo_cmd=()
	if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo); fi
	export DEBIAN_FRONTEND=noninteractive
	"${sudo_cmd[@]}" apt-get update -qq
	"${sudo_cmd[@]}" apt-get install -y -qq "${want[@]}" >/dev/null
fi
if ! command -v kubectl >/dev/null 2>&1; then
	echo "test-deps: kubectl not found; the Kubernetes tests need it (see docs/kube.md)" >&2
	exit 1
fi
