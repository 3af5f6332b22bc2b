#!/usr/bin/env bash
# The README's main job: start meshperf's echo target with a realistic delay
# mix, run a 10 s open-loop test at 1,000 rps against it, print the report.
set -euo pipefail
bin=${1:-bin/meshperf}
log=$(mktemp)
"$bin" echo --addr 127.0.0.1:0 --delay '95%:uniform:1ms-3ms,5%:uniform:10ms-30ms' 2>"$log" &
echo_pid=$!
trap 'kill $echo_pid 2>/dev/null || true; rm -f "$log"' EXIT
url=""
for _ in $(seq 1 50); do
	url=$(grep -o 'http://[0-9.:]*' "$log" | head -1 || true)
	[ -n "$url" ] && break
	sleep 0.1
done
if [ -z "$url" ]; then
	echo "demo: the echo target did not start:" >&2
	cat "$log" >&2
	exit 1
fi
echo "meshperf echo listening on $url; running 10 s at 1000 rps, 16 connections" >&2
"$bin" run "$url/" --rps 1000 -c 16 -d 10s --slo 'p99<=100ms,error_rate<1%'
