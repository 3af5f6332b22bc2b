#!/usr/bin/env bash
# The web UI's tests: build it from a clean install (npm ci), check the
# embedded size, check the API's types (Go → openapi.json → api.gen.ts),
# run the unit tests (Vitest), build meshperf with the UI
# embedded, then run the end-to-end suite in Debian's chromium against real
# servers: a single-user `meshperf server --echo` (taking agents, with two
# `meshperf agent`s connected) and a team-mode one, each on a free 127.0.0.1
# port with a temporary store.
# Screenshots go to test-output/screenshots/. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$PATH:/usr/local/go/bin"

chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
	echo "web-test: $chromium not found: apt-get install -y chromium" >&2
	exit 1
fi
# Prometheus scrapes the single-user server, so the experiment the e2e suite
# runs has real CPU and memory series to chart.
prometheus=${PROMETHEUS:-/usr/bin/prometheus}
if [ ! -x "$prometheus" ]; then
	echo "web-test: $prometheus not found: apt-get install -y prometheus" >&2
	exit 1
fi

echo "== web: npm ci, build, size"
(cd web && npm ci --no-audit --no-fund && npm run build && npm run size)

# The API's types, one chain: the Go types of internal/api → openapi.json
# (a Go test, field by field) → web/src/api.gen.ts (openapi-typescript) →
# the UI's type check (tsc, in the build above). A field renamed on one side
# fails here. scripts/api-gen.test.ts (Vitest) checks the same and that a
# renamed field fails the type check.
echo "== API contract: openapi.json matches internal/api's Go types"
go test -count=1 -run 'TestOpenAPISchemas' ./internal/server
echo "== API contract: web/src/api.gen.ts matches openapi.json"
gen=$(mktemp --suffix=.ts)
(cd web && npx openapi-typescript ../internal/server/openapi.json -o "$gen" >/dev/null)
if ! diff -u web/src/api.gen.ts "$gen"; then
	rm -f "$gen"
	echo "web-test: web/src/api.gen.ts is not what openapi.json gives: cd web && npm run gen:api" >&2
	exit 1
fi
rm -f "$gen"

echo "== web: unit tests (Vitest)"
(cd web && npx vitest run)

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ -f "$tmp/kube/kubeconfig" ]; then scripts/kube-down.sh "$tmp/kube" >/dev/null 2>&1 || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "== meshperf with the UI embedded"
go build -o "$tmp/meshperf" ./cmd/meshperf
mp="$tmp/meshperf"

# waitURL LOG PATTERN: the first URL on a line of LOG matching PATTERN.
waitURL() {
	for _ in $(seq 100); do
		if url=$(grep -m1 "$2" "$1" 2>/dev/null | grep -o 'https\?://[0-9.:]*' | head -1) && [ -n "$url" ]; then
			echo "$url"
			return 0
		fi
		sleep 0.1
	done
	echo "web-test: no '$2' in $1:" >&2
	cat "$1" >&2
	return 1
}

echo "== a one-hour result (synthetic, from a short real run) for the performance check"
"$mp" echo --addr 127.0.0.1:0 --delay '90%:1ms,9%:5ms,1%:40ms' 2>"$tmp/echo.log" &
pids+=($!)
echo_url=$(waitURL "$tmp/echo.log" "listening on")
"$mp" run "$echo_url/" --rps 300 -c 8 -d 3s --interval-histograms -o json --no-save >"$tmp/short.json"
node web/e2e/synth-hour.mjs "$tmp/short.json" >"$tmp/hour.json"
"$mp" result import "$tmp/hour.json" --db "$tmp/single.db"

echo "== servers"
# The single-user server also takes agents, on a port it picks itself.
agent_token=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
"$mp" server --echo --listen 127.0.0.1:0 --db "$tmp/single.db" --log-level warn \
	--agent-listen 127.0.0.1:0 --agent-token "$agent_token" 2>"$tmp/single.log" &
pids+=($!)
single=$(waitURL "$tmp/single.log" "listening on")
agent_addr=$(grep -m1 "taking agents on" "$tmp/single.log" | grep -o '127\.0\.0\.1:[0-9]*' || true)
if [ -z "$agent_addr" ]; then
	echo "web-test: no 'taking agents on' in $tmp/single.log:" >&2
	cat "$tmp/single.log" >&2
	exit 1
fi

echo "== two agents on $agent_addr (zone=a, zone=b)"
e2e_agents=e2e-agent-a,e2e-agent-b
for z in a b; do
	"$mp" agent --server "$agent_addr" --token "$agent_token" --name "e2e-agent-$z" --labels "zone=$z" \
		--log-level warn 2>"$tmp/agent-$z.log" &
	pids+=($!)
done

e2e_user=e2e-admin
e2e_password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
printf '%s\n' "$e2e_password" | "$mp" user add "$e2e_user" --admin --password-stdin --db "$tmp/team.db" --auth-key-file "$tmp/team.key" >/dev/null
"$mp" server --auth --auth-key-file "$tmp/team.key" --listen 127.0.0.1:0 --db "$tmp/team.db" --log-level warn 2>"$tmp/team.log" &
pids+=($!)
team=$(waitURL "$tmp/team.log" "listening on")
echo "single-user $single, team $team"

echo "== prometheus scraping the single-user server every second"
prom_port=$(node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
cat >"$tmp/prometheus.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
- job_name: meshperf
  static_configs: [{targets: ['${single#http://}']}]
EOF
"$prometheus" --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/prom" \
	--web.listen-address="127.0.0.1:$prom_port" --log.level=warn 2>"$tmp/prometheus.log" &
pids+=($!)

# The Cluster page's test wants a server reading a cluster: a bare
# kube-apiserver (scripts/kube-up.sh, about 15 s once its binaries are
# cached; E2E_CLUSTER=off skips it, and with no kubectl it is skipped) with
# the meshes' objects of internal/cluster/testdata. Without it the test
# checks the page's no-cluster state only.
cluster_url=
if [ "${E2E_CLUSTER:-auto}" != off ] && command -v kubectl >/dev/null 2>&1; then
	echo "== a real kube-apiserver with the meshes' objects, and a server reading it"
	MESHPERF_KUBE_WATCH_PID=$$ scripts/kube-up.sh "$tmp/kube" >/dev/null 2>"$tmp/kube-up.log" || { cat "$tmp/kube-up.log" >&2; exit 1; }
	kc="$tmp/kube/kubeconfig"
	data=internal/cluster/testdata
	kubectl --kubeconfig "$kc" apply -f "$data/crds.yaml" >/dev/null
	kubectl --kubeconfig "$kc" wait --for condition=established --timeout 60s -f "$data/crds.yaml" >/dev/null
	kubectl --kubeconfig "$kc" apply -f "$data/meshes.yaml" -f "$data/workloads.yaml" >/dev/null
	"$mp" server --kubeconfig "$kc" --listen 127.0.0.1:0 --db "$tmp/cluster.db" --log-level warn 2>"$tmp/cluster.log" &
	pids+=($!)
	cluster_url=$(waitURL "$tmp/cluster.log" "listening on")
else
	echo "== no cluster for the Cluster page's test (E2E_CLUSTER=off or no kubectl): its no-cluster state only"
fi

echo "== end-to-end (chromium)"
rm -rf "$root/test-output/screenshots"
mkdir -p "$root/test-output/screenshots"
(cd web && MESHPERF_URL="$single" MESHPERF_TEAM_URL="$team" E2E_USER="$e2e_user" E2E_PASSWORD="$e2e_password" \
	E2E_AGENTS="$e2e_agents" MESHPERF_CLUSTER_URL="$cluster_url" \
	MESHPERF_BIN="$mp" MESHPERF_DB="$tmp/single.db" PROMETHEUS_URL="http://127.0.0.1:$prom_port" \
	SCREENSHOTS="$root/test-output/screenshots" CHROMIUM="$chromium" node e2e/run.mjs)
