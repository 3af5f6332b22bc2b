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

# stop NAME: SIGTERM, then SIGKILL after 10 s.
stop() {
	local pidfile="$dir/$1.pid" pid
	[ -f "$pidfile" ] || return 0
	pid="$(cat "$pidfile")"
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "$1 (pid $pid) still running after 10s: killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$pidfile"
}

# The API server first: it would otherwise retry etcd for a while.
stop kube-apiserver
stop etcd
rm -rf "$dir"
