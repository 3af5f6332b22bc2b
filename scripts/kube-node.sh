# shellcheck shell=bash
# The node part of scripts/kube-up.sh --node, sourced by it (it uses its
# variables and functions: dir, bin, root, pki, start, wait_up, fail, log,
# die). See kube-up.sh for what the node is; scripts/kube-down.sh removes it.

node_ip=10.200.0.1
pod_cidr=10.244.0.0/24
cluster_cidr=10.244.0.0/16
service_cidr=10.96.0.0/16
pause_image=registry.k8s.io/pause:meshperf

# node_check fails early when something the node needs is missing.
node_check() {
	[ "$(id -u)" = 0 ] || die "--node needs root (network namespaces, containerd)"
	local tool
	for tool in ip nsenter unshare containerd runc ctr iptables; do
		command -v "$tool" >/dev/null 2>&1 || die "--node needs $tool (apt-get install iproute2 util-linux containerd runc iptables)"
	done
	[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] && [ -x /usr/lib/cni/loopback ] ||
		die "--node needs the CNI plugins in /usr/lib/cni (apt-get install containernetworking-plugins)"
	# The cluster DNS (built once, cached), before anything starts.
	coredns="$("$root/scripts/coredns-build.sh")/coredns" || die "--node needs CoreDNS (scripts/coredns-build.sh failed)"
}

# node_namespaces makes the network namespace (loopback up, a veth pair
# whose first end holds the node's address) and a process holding a private
# mount namespace, and sets in_node to enter both. It runs after the token
# file exists, so that kube-down.sh (which fail calls) accepts DIR.
node_namespaces() {
	netns="meshperf-node-$(basename "$dir" | sed 's/^meshperf-node[.-]//' | tr -c 'a-zA-Z0-9\n' '-')"
	echo "$netns" >"$dir/netns"
	ip netns add "$netns" >"$dir/netns.log" 2>&1 || fail "ip netns add $netns failed" netns
	{
		ip -n "$netns" link set lo up &&
			ip -n "$netns" link add mpnode0 type veth peer name mpnode1 &&
			ip -n "$netns" addr add "$node_ip/24" dev mpnode0 &&
			ip -n "$netns" link set mpnode0 up &&
			ip -n "$netns" link set mpnode1 up &&
			# Service addresses need a route for connections made on the
			# node itself (kube-proxy's DNAT comes after routing).
			ip -n "$netns" route add "$service_cidr" dev mpnode0 src "$node_ip"
	} >>"$dir/netns.log" 2>&1 || fail "setting up $netns failed" netns
	# A mount namespace of the node's own (private propagation): the
	# kubelet's volumes, containerd's rootfs, shm and netns mounts live and
	# die with it. Its holder only sleeps.
	setsid unshare --mount --propagation private sleep infinity </dev/null >/dev/null 2>&1 &
	echo $! >"$dir/mnt.pid"
	local holder
	holder="$(cat "$dir/mnt.pid")"
	for _ in $(seq 50); do
		[ "$(readlink "/proc/$holder/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] && break
		sleep 0.05
	done
	[ "$(readlink "/proc/$holder/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] || fail "unshare made no mount namespace" netns
	in_node=(nsenter "--mount=/proc/$holder/ns/mnt" "--net=/run/netns/$netns" --)
}

# node_tokens adds the components' identities to the token file.
node_tokens() {
	kubelet_token="$(openssl rand -hex 24)"
	cm_token="$(openssl rand -hex 24)"
	sched_token="$(openssl rand -hex 24)"
	proxy_token="$(openssl rand -hex 24)"
	dns_token="$(openssl rand -hex 24)"
	printf '%s,system:node:localhost,node-uid,"system:nodes"\n%s,system:kube-controller-manager,cm-uid\n%s,system:kube-scheduler,sched-uid\n%s,system:kube-proxy,proxy-uid\n%s,system:coredns,coredns-uid\n' \
		"$kubelet_token" "$cm_token" "$sched_token" "$proxy_token" "$dns_token" >>"$pki/tokens.csv"
}

# component_kubeconfig NAME TOKEN writes DIR/NAME.kubeconfig for a
# component inside the namespace.
component_kubeconfig() {
	cat >"$dir/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: node
  cluster:
    server: https://$node_ip:6443
    certificate-authority: $pki/ca.crt
users:
- name: $1
  user:
    token: $2
contexts:
- name: node
  context: {cluster: node, user: $1}
current-context: node
EOF
}

# kubectl_node runs kubectl as admin inside the node's namespace.
kubectl_node() {
	"${in_node[@]}" kubectl --server "https://$node_ip:6443" --certificate-authority "$pki/ca.crt" --token "$admin_token" "$@"
}

# node_up starts the node's components after the API server, imports the
# images, waits until the node is Ready and pods can be admitted, and sets
# url to the host's forwarded port.
node_up() {
	local start_node=$SECONDS
	component_kubeconfig kubelet "$kubelet_token"
	component_kubeconfig controller-manager "$cm_token"
	component_kubeconfig scheduler "$sched_token"
	component_kubeconfig proxy "$proxy_token"
	component_kubeconfig coredns "$dns_token"
	mkdir -p "$dir/cm" "$dir/scheduler" "$dir/kubelet/pki" "$dir/pod-logs" "$dir/cni/net.d" "$dir/cni/ipam" "$dir/containerd"

	start kube-controller-manager "$bin/kube-controller-manager" --kubeconfig "$dir/controller-manager.kubeconfig" \
		--leader-elect=false --bind-address 127.0.0.1 --cert-dir "$dir/cm" \
		--service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
		--use-service-account-credentials=true --cluster-cidr "$cluster_cidr" --service-cluster-ip-range "$service_cidr"
	start kube-scheduler "$bin/kube-scheduler" --kubeconfig "$dir/scheduler.kubeconfig" \
		--leader-elect=false --bind-address 127.0.0.1 --cert-dir "$dir/scheduler"

	# containerd: a private config, root, state and socket; pod network
	# namespaces under its state directory. restrict_oom_score_adj: nobody
	# may lower oom_score_adj here, and runc fails every sandbox otherwise.
	# enable_unprivileged_ports (containerd 2's default): pods' non-root
	# programs may bind ports below 1024 (the conformance suite's CoreDNS, 53).
	sock="$dir/containerd.sock"
	cat >"$dir/containerd.toml" <<EOF
version = 2
root = "$dir/containerd/root"
state = "$dir/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.internal.v1.opt", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$sock"
[ttrpc]
  address = "$dir/containerd.ttrpc.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause_image"
  restrict_oom_score_adj = true
  enable_unprivileged_ports = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$dir/cni/net.d"
EOF
	cat >"$dir/cni/net.d/10-meshperf.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "meshperf",
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "isGateway": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$pod_cidr"}]], "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$dir/cni/ipam"}},
    {"type": "loopback"}
  ]
}
EOF
	start containerd containerd --config "$dir/containerd.toml"
	wait_up containerd ctr --address "$sock" version || fail "containerd exited" containerd

	# Images: pause for the sandboxes and meshperf, packed by meshperf image.
	local mp="${MESHPERF_BIN:-}"
	if [ -z "$mp" ]; then
		mp="$dir/meshperf"
		(cd "$root" && CGO_ENABLED=0 go build -o "$mp" ./cmd/meshperf) >&2 || fail "building meshperf failed" containerd
	fi
	"$mp" image --binary "$bin/pause" --tag "$pause_image" --out "$dir/pause.tar" 2>/dev/null || fail "meshperf image (pause) failed" containerd
	"$mp" image --out "$dir/meshperf.tar" 2>"$dir/meshperf-image.log" || fail "meshperf image failed" meshperf-image
	ctr --address "$sock" -n k8s.io images import "$dir/pause.tar" >/dev/null || fail "ctr images import pause.tar failed" containerd
	ctr --address "$sock" -n k8s.io images import "$dir/meshperf.tar" >/dev/null || fail "ctr images import meshperf.tar failed" containerd

	# The kubelet, for cgroups v1 without systemd (see docs/kube.md).
	cat >"$dir/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
makeIPTablesUtilChains: false
localStorageCapacityIsolation: false
resolvConf: ""
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "50Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
readOnlyPort: 0
address: $node_ip
healthzBindAddress: 127.0.0.1
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://$sock
podLogsDir: $dir/pod-logs
serializeImagePulls: false
clusterDomain: cluster.local
clusterDNS: [$node_ip]
registerNode: true
nodeStatusUpdateFrequency: 2s
syncFrequency: 5s
EOF
	start kubelet "$bin/kubelet" --config "$dir/kubelet/config.yaml" --kubeconfig "$dir/kubelet.kubeconfig" \
		--root-dir "$dir/kubelet" --cert-dir "$dir/kubelet/pki" --volume-plugin-dir "$dir/kubelet/volume-plugins" \
		--hostname-override localhost --node-ip "$node_ip"

	# masqueradeAll hides a pod's address from the pod it reaches through a
	# Service. MESHPERF_KUBE_PROXY_MASQUERADE_ALL=0 keeps it (what a mesh
	# that allows or denies by source address needs, Traefik Mesh's ACL):
	# kube-proxy then masquerades only traffic from outside the pods' range,
	# and the namespace's bridge hands its traffic to iptables
	# (net.bridge.bridge-nf-call-iptables, per network namespace), so the
	# answers of a pod reached through a Service from the same bridge are
	# translated back.
	local masquerade_all=true
	if [ "${MESHPERF_KUBE_PROXY_MASQUERADE_ALL:-1}" = 0 ]; then
		masquerade_all=false
		ip netns exec "$netns" sysctl -qw net.bridge.bridge-nf-call-iptables=1 >>"$dir/netns.log" 2>&1 ||
			fail "net.bridge.bridge-nf-call-iptables=1 in $netns failed (is br_netfilter loaded?)" netns
	fi
	cat >"$dir/proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $dir/proxy.kubeconfig}
mode: iptables
hostnameOverride: localhost
clusterCIDR: $cluster_cidr
bindAddress: $node_ip
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
oomScoreAdj: 0
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {masqueradeAll: $masquerade_all, syncPeriod: 5s, minSyncPeriod: 0s}
EOF
	start kube-proxy "$bin/kube-proxy" --config "$dir/proxy.yaml"

	# The cluster DNS: CoreDNS with its kubernetes plugin, on port 53 of
	# the node's namespace (the kubelet's clusterDNS is the node's
	# address), reading Services, EndpointSlices, pods and namespaces as
	# system:coredns, with the RBAC role kubeadm gives CoreDNS. The
	# traefik.mesh zone is the stub domain Traefik Mesh's prepare step adds
	# to CoreDNS (addStubDomain, pkg/dns/dns.go, v1.4.8): a name rewritten
	# to its shadow Service in namespace traefik-mesh, and back in the
	# answer. Names outside these zones are refused: no upstream here.
	kubectl_node apply -f - >"$dir/coredns-rbac.log" 2>&1 <<EOF || fail "applying CoreDNS's RBAC failed" coredns-rbac
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:coredns"}
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:coredns"}
EOF
	cat >"$dir/Corefile" <<EOF
cluster.local:53 in-addr.arpa:53 ip6.arpa:53 traefik.mesh:53 {
    errors
    ready $node_ip:8181
    rewrite stop {
        name regex ^([a-z0-9-]+)\.([a-z0-9-]+)\.traefik\.mesh\.\$ traefik-mesh-{1}-6d61657368-{2}.traefik-mesh.svc.cluster.local.
        answer name ^traefik-mesh-([a-z0-9-]+)-6d61657368-([a-z0-9-]+)\.traefik-mesh\.svc\.cluster\.local\.\$ {1}.{2}.traefik.mesh.
    }
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $dir/coredns.kubeconfig node
        pods insecure
        ttl 5
    }
}
EOF
	start coredns "$coredns" -conf "$dir/Corefile"

	# Ready: the node reports Ready, and the controller-manager made the
	# default ServiceAccount (pods are refused without it).
	node_ready() {
		[ "$(kubectl_node get node localhost -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" = True ] &&
			kubectl_node get serviceaccount default -n default
	}
	local i
	for i in $(seq 600); do
		node_ready >/dev/null 2>&1 && break
		for d in kubelet kube-proxy kube-controller-manager kube-scheduler containerd coredns; do
			kill -0 "$(cat "$dir/$d.pid")" 2>/dev/null || fail "$d exited" "$d"
		done
		sleep 0.2
	done
	node_ready >/dev/null 2>&1 || fail "node not Ready after 120s" kubelet
	# CoreDNS is ready once its kubernetes plugin has synced.
	wait_up coredns "${in_node[@]}" curl -sf "http://$node_ip:8181/ready" || fail "coredns exited" coredns

	# Host clients reach the API server through a forwarded 127.0.0.1 port.
	setsid "$bin/netns-forward" 127.0.0.1:0 "/run/netns/$netns" "$node_ip:6443" </dev/null >"$dir/forward.addr" 2>"$dir/netns-forward.log" &
	echo $! >"$dir/netns-forward.pid"
	for i in $(seq 100); do
		[ -s "$dir/forward.addr" ] && break
		sleep 0.05
	done
	[ -s "$dir/forward.addr" ] || fail "netns-forward did not start" netns-forward
	url="https://$(head -n1 "$dir/forward.addr")"
	cat >"$dir/node.env" <<EOF
NETNS=$netns
NETNS_FILE=/run/netns/$netns
NODE_IP=$node_ip
POD_CIDR=$pod_cidr
SERVICE_CIDR=$service_cidr
CONTAINERD_SOCK=$sock
MNT_PID=$(cat "$dir/mnt.pid")
BIN=$bin
API_IN_NODE=https://$node_ip:6443
PAUSE_IMAGE=$pause_image
MESHPERF=$mp
MESHPERF_IMAGE=$(sed -n 's/^wrote image \([^ ]*\) .*/\1/p' "$dir/meshperf-image.log")
EOF
	log "node up in $((SECONDS - start_node))s"
}
