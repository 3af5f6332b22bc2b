#!/usr/bin/env bash
# Stops the API server and etcd scripts/kube-up.sh started in DIR, then
# removes DIR (keys, data, logs, kubeconfig).
#
#   scripts/kube-down.sh DIR        DIR is the kubeconfig's directory
#   scripts/kube-down.sh KUBECONFIG the kubeconfig kube-up.sh printed also works
set -euo pipefail

log() { echo "kube-down.sh: $*" >&2; }

dir="${1:-}"
[ -n "$dir" ] || { log "usage: kube-down.sh DIR"; exit 2; }
[ -f "$dir" ] && dir="$(dirname "$dir")"
[ -d "$dir" ] || { log "$dir: no such directory (already down?)"; exit 0; }
# Refuse a directory kube-up.sh did not make, since it is removed.
[ -f "$dir/pki/tokens.csv" ] || { log "$dir was not made by kube-up.sh; not touching it"; exit 1; }

# stop NAME...: SIGTERM to each at once, then SIGKILL to those still
# running after 10 s.
stop() {
	local name pid pids=() began=$SECONDS
	for name in "$@"; do
		[ -f "$dir/$name.pid" ] || continue
		pid="$(cat "$dir/$name.pid")"
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
			pids+=("$name:$pid")
		fi
		rm -f "$dir/$name.pid"
	done
	local left
	for _ in $(seq 100); do
		left=()
		for np in ${pids[@]+"${pids[@]}"}; do
			kill -0 "${np#*:}" 2>/dev/null && left+=("$np")
		done
		[ ${#left[@]} -gt 0 ] || break
		sleep 0.1
	done
	for np in ${left[@]+"${left[@]}"}; do
		log "${np%%:*} (pid ${np#*:}) still running after 10s: killing it"
		kill -KILL "${np#*:}" 2>/dev/null || true
	done
	[ $((SECONDS - began)) -lt 3 ] || log "$* took $((SECONDS - began))s to stop"
}

# pids_of PATTERN: processes whose command line holds PATTERN (a path
# inside DIR, so only this node's).
pids_of() {
	local p
	for p in /proc/[0-9]*; do
		{ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -qF -- "$1" && echo "${p#/proc/}"
	done
	return 0
}

# The node (kube-up.sh --node): its components, then every container
# (killed and deleted through containerd, which removes their cgroups and
# snapshots), containerd and its shims, the mount namespace's holder (the
# node's mounts go with it), and the network namespace.
if [ -f "$dir/netns" ]; then
	stop netns-forward coredns kube-proxy kubelet kube-scheduler kube-controller-manager
	sock="$dir/containerd.sock"
	if [ -S "$sock" ] && [ -f "$dir/containerd.pid" ] && kill -0 "$(cat "$dir/containerd.pid")" 2>/dev/null; then
		c=(ctr --address "$sock" -n k8s.io)
		for _ in 1 2 3 4 5; do
			tasks="$("${c[@]}" tasks ls -q 2>/dev/null || true)"
			[ -n "$tasks" ] || break
			for t in $tasks; do "${c[@]}" tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true; done
			sleep 0.5
			for t in $tasks; do "${c[@]}" tasks delete "$t" >/dev/null 2>&1 || true; done
		done
		for ctn in $("${c[@]}" containers ls -q 2>/dev/null || true); do
			"${c[@]}" containers delete "$ctn" >/dev/null 2>&1 || true
		done
	fi
	stop containerd
	for pid in $(pids_of "$sock"); do
		log "killing containerd shim $pid"
		kill -KILL "$pid" 2>/dev/null || true
	done
	stop mnt
	netns="$(cat "$dir/netns")"
	ip netns delete "$netns" 2>/dev/null || true
	rm -f "$dir/netns"
fi

# The API server first: it would otherwise retry etcd for a while.
stop kube-apiserver
stop etcd
rm -rf "$dir"
