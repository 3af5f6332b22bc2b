#!/usr/bin/env bash
# Starts a real Kubernetes API server (kube-apiserver + etcd, built from Go
# modules by test/kube) on 127.0.0.1, for meshperf's Kubernetes tests. No
# kubelet, scheduler or controller-manager runs: objects are validated and
# stored, pods never start.
#
#   scripts/kube-up.sh [DIR]       start both, write DIR/kubeconfig, print its path
#   scripts/kube-up.sh --node [DIR]  the same plus a node that runs pods (below)
#   scripts/kube-up.sh --build     only build (or find) the binaries (and the node's CoreDNS), print their directory
#   scripts/kube-down.sh DIR       stop both and remove DIR
#
# DIR defaults to a new temporary directory. Only the kubeconfig's path goes
# to stdout, e.g. for
#   export KUBECONFIG="$(scripts/kube-up.sh)"
# The kubeconfig has two contexts: meshperf-test (current; user admin, group
# system:masters) and meshperf-test-noperm (a user with no RBAC role).
#
# The binaries are built once into ${XDG_CACHE_HOME:-~/.cache}/meshperf-kube/bin/HASH,
# HASH covering test/kube's go.mod, go.sum and sources; the first build takes
# a few minutes; one binary, kube, holds etcd and every Kubernetes program
# (test/kube/cmd/kube), linked under each name. MESHPERF_KUBE_BIN=DIR uses prebuilt etcd and kube-apiserver
# from DIR instead. MESHPERF_KUBE_WATCH_PID=PID stops the cluster when
# process PID ends (tests set it to themselves). Needs go, openssl and curl.
#
# --node: everything runs in a network namespace of its own
# (meshperf-node-<DIR's name>, node address 10.200.0.1 on a veth pair inside
# it) and a private mount namespace, so nothing touches the host's network
# and every mount goes when the node does: etcd, kube-apiserver (6443, its
# kubernetes Service reaching it from pods), kube-controller-manager,
# kube-scheduler, containerd (Debian's, private config, root and socket)
# with runc and the bridge CNI plugin (pods in 10.244.0.0/24), the kubelet
# (node name localhost), kube-proxy (iptables, Services in 10.96.0.0/16) and
# the cluster DNS, CoreDNS with its kubernetes plugin on the node's address
# (scripts/coredns-build.sh). The host reaches the API server through netns-forward on a
# 127.0.0.1 port, which the kubeconfig names. DIR/node.env says the rest
# (NETNS, NODE_IP, CONTAINERD_SOCK, MNT_PID, the binaries' directory); the
# pause image and an image of meshperf (MESHPERF_BIN=FILE, a static binary;
# else one is built) are imported. Needs root, ip, nsenter, unshare,
# containerd, runc, ctr, iptables and the CNI plugins in /usr/lib/cni
# (apt-get install containerd runc containernetworking-plugins iptables).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
mod="$root/test/kube"
node=0
if [ "${1:-}" = "--node" ]; then
	node=1
	shift
fi
dir="${1:-}"

log() { echo "kube-up.sh: $*" >&2; }
die() { log "$*"; exit 1; }

for tool in openssl curl; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is needed (apt-get install $tool)"
done

# free_port prints a port nothing listens on (from a random start).
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	die "no free port found"
}

# build_bins prints the directory holding etcd and kube-apiserver, building
# them first if this version of test/kube was never built.
build_bins() {
	if [ -n "${MESHPERF_KUBE_BIN:-}" ]; then
		[ -x "$MESHPERF_KUBE_BIN/etcd" ] && [ -x "$MESHPERF_KUBE_BIN/kube-apiserver" ] ||
			die "MESHPERF_KUBE_BIN=$MESHPERF_KUBE_BIN lacks etcd or kube-apiserver"
		echo "$MESHPERF_KUBE_BIN"
		return
	fi
	command -v go >/dev/null 2>&1 || die "go is needed to build etcd and kube-apiserver"
	local hash cache bin
	hash="$(cd "$mod" && cat go.mod go.sum $(find cmd -name '*.go' | sort) | sha256sum | cut -c1-16)"
	cache="${XDG_CACHE_HOME:-$HOME/.cache}/meshperf-kube/bin"
	bin="$cache/$hash"
	mkdir -p "$cache"
	# One build at a time: tests started together wait for the first.
	exec 9>"$cache/.lock"
	flock 9
	if [ ! -x "$bin/kube" ] || [ ! -x "$bin/pause" ] || [ ! -x "$bin/netns-forward" ]; then
		local version tmp start
		version="$(sed -n 's/^[[:space:]]*k8s.io\/kubernetes \(v[0-9.]*\).*/\1/p' "$mod/go.mod" | head -n1)"
		[ -n "$version" ] || die "no k8s.io/kubernetes version in $mod/go.mod"
		local minor="${version#v1.}"
		minor="${minor%%.*}"
		log "building etcd and Kubernetes $version (one binary, kube) into $bin (first time only: several minutes)"
		start=$SECONDS
		tmp="$(mktemp -d "$cache/.build.XXXXXX")"
		# The version kubectl and clients see; without it the server says v0.0.0.
		local pkg=k8s.io/component-base/version
		(cd "$mod" && GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" go build \
			-ldflags "-s -w -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean" \
			-o "$tmp/" ./cmd/kube &&
			CGO_ENABLED=0 GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" go build -ldflags "-s -w" -o "$tmp/" ./cmd/pause ./cmd/netns-forward) >&2 ||
			{ rm -rf "$tmp"; die "build failed"; }
		# One binary, a link per program: it runs the one its name says.
		for p in etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do
			ln -s kube "$tmp/$p"
		done
		rm -rf "$bin"
		mv "$tmp" "$bin"
		log "built in $((SECONDS - start))s"
	fi
	flock -u 9
	echo "$bin"
}

bin="$(build_bins)"
if [ "$dir" = "--build" ]; then
	# The node's cluster DNS too (its own module, its own cache).
	"$root/scripts/coredns-build.sh" >/dev/null
	echo "$bin"
	exit 0
fi

if [ -z "$dir" ]; then
	dir="$(mktemp -d "${TMPDIR:-/tmp}/meshperf-kube.XXXXXX")"
else
	mkdir -p "$dir"
	dir="$(cd "$dir" && pwd)"
fi
[ ! -f "$dir/etcd.pid" ] || die "$dir already has a running cluster (scripts/kube-down.sh $dir)"
mkdir -p "$dir/pki" "$dir/etcd" "$dir/certs"
chmod 700 "$dir"

# in_node runs a command in the node's namespaces (nothing without --node).
in_node=()
if [ "$node" = 1 ]; then
	# shellcheck source=scripts/kube-node.sh
	. "$root/scripts/kube-node.sh"
	node_check
fi

# Keys and certificates: a CA, the API server's serving certificate for
# 127.0.0.1, and the service-account signing key.
pki="$dir/pki"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=meshperf-test-ca" \
	-keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
	-keyout "$pki/apiserver.key" -out "$pki/apiserver.csr" 2>/dev/null
sans="IP:127.0.0.1,DNS:localhost"
[ "$node" = 0 ] || sans="$sans,IP:$node_ip,IP:10.96.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n' "$sans" >"$pki/ext.cnf"
openssl x509 -req -in "$pki/apiserver.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
	-days 2 -extfile "$pki/ext.cnf" -out "$pki/apiserver.crt" 2>/dev/null
openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null

# Static bearer tokens: an admin and a user RBAC grants nothing.
admin_token="$(openssl rand -hex 24)"
noperm_token="$(openssl rand -hex 24)"
printf '%s,admin,admin-uid,"system:masters"\n%s,meshperf-noperm,noperm-uid\n' \
	"$admin_token" "$noperm_token" >"$pki/tokens.csv"
if [ "$node" = 1 ]; then
	node_tokens
	node_namespaces
fi

etcd_port="$(free_port)"
peer_port="$(free_port)"
api_port="$(free_port)"

# start NAME ARGS... runs a daemon in its own session, logging to DIR/NAME.log.
start() {
	local name="$1"
	shift
	setsid "${in_node[@]}" "$@" </dev/null >"$dir/$name.log" 2>&1 &
	echo $! >"$dir/$name.pid"
}

# fail says why a daemon did not come up, with the end of its log.
fail() {
	log "$1; last lines of $dir/$2.log:"
	tail -n 20 "$dir/$2.log" >&2 || true
	"$root/scripts/kube-down.sh" "$dir" >/dev/null 2>&1 || true
	exit 1
}

# wait_up NAME CHECK...: waits until CHECK succeeds (0), or NAME exits (1);
# fails after two minutes.
wait_up() {
	local name="$1" i
	shift
	for i in $(seq 1200); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		kill -0 "$(cat "$dir/$name.pid")" 2>/dev/null || return 1
		sleep 0.1
	done
	fail "$name not ready after 120s" "$name"
}

# retry NAME ATTEMPT: after NAME exited, go on with other ports if another
# process took one of its ports since free_port chose it; else fail.
retry() {
	if [ "$2" -lt 5 ] && grep -q "address already in use" "$dir/$1.log"; then
		log "$1: a port was taken meanwhile; trying others"
		return
	fi
	fail "$1 exited" "$1"
}

etcd_up() { "${in_node[@]}" curl -fsS "http://127.0.0.1:$etcd_port/health"; }
api_up() {
	# Ready, and the default namespace (made by a post-start hook) exists.
	local auth=(--cacert "$pki/ca.crt" -H "Authorization: Bearer $admin_token")
	"${in_node[@]}" curl -fsS "${auth[@]}" "$url/readyz" && "${in_node[@]}" curl -fsS "${auth[@]}" "$url/api/v1/namespaces/default"
}

for attempt in 1 2 3 4 5; do
	etcd_port="$(free_port)"
	peer_port="$(free_port)"
	while [ "$peer_port" = "$etcd_port" ]; do peer_port="$(free_port)"; done
	rm -rf "$dir/etcd"
	start etcd "$bin/etcd" --data-dir "$dir/etcd" \
		--listen-client-url "http://127.0.0.1:$etcd_port" --listen-peer-url "http://127.0.0.1:$peer_port"
	if wait_up etcd etcd_up; then break; fi
	retry etcd "$attempt"
done

for attempt in 1 2 3 4 5; do
	api_port="$(free_port)"
	url="https://127.0.0.1:$api_port"
	# The node's API server listens on every address of its namespace (pods
	# reach it through the kubernetes Service), and reaches the kubelet by the
	# node's InternalIP, never by a name.
	api_node_args=(--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --endpoint-reconciler-type none --authorization-mode RBAC)
	if [ "$node" = 1 ]; then
		api_port=6443
		url="https://127.0.0.1:$api_port"
		api_node_args=(--bind-address 0.0.0.0 --advertise-address "$node_ip" --authorization-mode Node,RBAC
			--kubelet-preferred-address-types InternalIP --allow-privileged=true)
	fi
	start kube-apiserver "$bin/kube-apiserver" "${api_node_args[@]}" \
		--etcd-servers "http://127.0.0.1:$etcd_port" \
		--secure-port "$api_port" \
		--cert-dir "$dir/certs" --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
		--client-ca-file "$pki/ca.crt" \
		--service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
		--service-account-issuer https://kubernetes.default.svc.cluster.local \
		--token-auth-file "$pki/tokens.csv" \
		--service-cluster-ip-range 10.96.0.0/16 \
		--enable-priority-and-fairness=false
	if wait_up kube-apiserver api_up; then break; fi
	retry kube-apiserver "$attempt"
done

# The node's components, then a port on the host's 127.0.0.1 for clients.
[ "$node" = 0 ] || node_up

cat >"$dir/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: meshperf-test
  cluster:
    server: $url
    certificate-authority-data: $(base64 -w0 <"$pki/ca.crt")
users:
- name: admin
  user:
    token: $admin_token
- name: meshperf-noperm
  user:
    token: $noperm_token
contexts:
- name: meshperf-test
  context:
    cluster: meshperf-test
    user: admin
- name: meshperf-test-noperm
  context:
    cluster: meshperf-test
    user: meshperf-noperm
current-context: meshperf-test
EOF
chmod 600 "$dir/kubeconfig"
# MESHPERF_KUBE_WATCH_PID=PID: stop the cluster when that process ends, so
# a test killed before its cleanup leaves nothing running.
if [ -n "${MESHPERF_KUBE_WATCH_PID:-}" ]; then
	setsid bash -c 'while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 1; done
		[ ! -d "$2" ] || exec "$3" "$2"' watch "$MESHPERF_KUBE_WATCH_PID" "$dir" "$root/scripts/kube-down.sh" \
		</dev/null >/dev/null 2>&1 &
fi
[ "$node" = 0 ] || log "node localhost Ready in netns $netns (node IP $node_ip, pods $pod_cidr); host clients use $url"
log "kube-apiserver ready at $url (etcd on 127.0.0.1:$etcd_port); logs in $dir; stop with scripts/kube-down.sh $dir"
echo "$dir/kubeconfig"
