// Package kubenode starts a real one-node Kubernetes cluster for a test
// binary's tests (scripts/kube-up.sh --node), once, and stops it when they
// end: etcd, kube-apiserver, controller-manager, scheduler, containerd with
// runc and the bridge CNI plugin, the kubelet, kube-proxy and CoreDNS as the
// cluster DNS (on NodeIP, the pods' nameserver), all in a
// network namespace of their own. Pods run there; their addresses and the
// Services' exist only inside it, so the helpers here run commands and dial
// connections from inside that namespace.
//
// Tests using it run when MESHPERF_KUBE_TEST=1 (CI sets it) and then fail,
// never skip, when a tool is missing. They need root.
package kubenode

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/meshperf/meshperf/internal/cluster/kubetest"
)

// TraefikMeshNamespace is where the node's cluster DNS looks for Traefik
// Mesh's shadow Services: the traefik.mesh stub domain of its Corefile
// (scripts/kube-node.sh) rewrites <service>.<namespace>.traefik.mesh to
// traefik-mesh-<service>-6d61657368-<namespace> in this namespace, as
// Traefik Mesh's prepare step would for a mesh installed there.
const TraefikMeshNamespace = "traefik-mesh"

// Node is a running test node.
type Node struct {
	// Kubeconfig is for clients on the host (the API server through a
	// forwarded 127.0.0.1 port); context meshperf-test is an admin.
	Kubeconfig string
	// Dir holds the node's state, logs and kubeconfigs.
	Dir string
	// NetNS is the network namespace's file (/run/netns/...).
	NetNS string
	// NodeIP is the node's address inside the namespace; pods reach
	// servers listening there.
	NodeIP string
	// Meshperf is the static meshperf binary the node's image was made of.
	Meshperf string
	// Image is that image's reference, imported into the node's containerd.
	Image string
	// ContainerdSock is the node's containerd socket (for ctr --address).
	ContainerdSock string
	// APIInNode is the API server's URL for clients inside the node's
	// network namespace.
	APIInNode string
	// StartTime is how long scripts/kube-up.sh --node took.
	StartTime time.Duration
}

var shared struct {
	once sync.Once
	node *Node
	err  error
}

// Main runs the tests and stops the node if one was started.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops the node if Get started one.
func Stop() {
	if shared.node == nil {
		return
	}
	start := time.Now()
	out, err := exec.Command(filepath.Join(kubetest.RepoRoot(), "scripts", "kube-down.sh"), shared.node.Dir).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "kube-down.sh: %v\n%s", err, out)
	}
	fmt.Fprintf(os.Stderr, "kube node: down in %s\n", time.Since(start).Round(100*time.Millisecond))
	shared.node = nil
}

// Get returns the node, starting it on first use; without
// MESHPERF_KUBE_TEST=1 the test is skipped.
func Get(t testing.TB) *Node {
	t.Helper()
	if os.Getenv(kubetest.EnvKubeTest) != "1" {
		t.Skipf("against a real Kubernetes node: set %s=1 (needs root, go, kubectl, openssl, curl, containerd, runc, containernetworking-plugins, iptables)", kubetest.EnvKubeTest)
	}
	for _, tool := range []string{"kubectl", "go", "openssl", "curl", "containerd", "runc", "ctr", "nsenter", "unshare", "ip", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s=1 but %s is not on PATH: %v", kubetest.EnvKubeTest, tool, err)
		}
	}
	if os.Geteuid() != 0 {
		t.Fatalf("%s=1 but the node needs root (network namespaces, containerd)", kubetest.EnvKubeTest)
	}
	shared.once.Do(func() { shared.node, shared.err = start() })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.node
}

func start() (*Node, error) {
	var stdout, stderr bytes.Buffer
	dir, err := os.MkdirTemp("", "meshperf-node.")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(kubetest.RepoRoot(), "scripts", "kube-up.sh"), "--node", dir)
	cmd.Env = append(os.Environ(), fmt.Sprintf("MESHPERF_KUBE_WATCH_PID=%d", os.Getpid()))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("scripts/kube-up.sh --node: %v\n%s", err, stderr.String())
	}
	n := &Node{Kubeconfig: strings.TrimSpace(stdout.String()), Dir: dir, StartTime: time.Since(began)}
	env, err := readEnv(filepath.Join(dir, "node.env"))
	if err != nil {
		return nil, err
	}
	n.NetNS, n.NodeIP, n.Meshperf, n.Image, n.ContainerdSock = env["NETNS_FILE"], env["NODE_IP"], env["MESHPERF"], env["MESHPERF_IMAGE"], env["CONTAINERD_SOCK"]
	n.APIInNode = env["API_IN_NODE"]
	fmt.Fprintf(os.Stderr, "kube node: up in %s: %s", n.StartTime.Round(100*time.Millisecond), stderr.String())
	return n, nil
}

func readEnv(file string) (map[string]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	return env, sc.Err()
}

// Command is name with args run inside the node's network namespace.
func (n *Node) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + n.NetNS, "--", name}, args...)...)
}

// DialContext dials addr from inside the node's network namespace: the
// socket is made on a thread switched into it, whose goroutine then ends
// still locked, so Go discards the thread.
func (n *Node) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open(n.NetNS)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{err: fmt.Errorf("setns %s: %w", n.NetNS, err)}
			return
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

// HTTPClient is an HTTP client whose connections start inside the node's
// network namespace.
func (n *Node) HTTPClient() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: n.DialContext}}
}

// Kubectl runs kubectl (on the host, through the forwarded port) with
// stdin, failing the test when it fails; it returns stdout.
func (n *Node) Kubectl(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	return kubetest.Kubectl(t, n.Kubeconfig, stdin, args...)
}

// Pod is what the tests read of a pod.
type Pod struct {
	Name, Phase, IP, Node string
	Ready                 bool
	Restarts              int
}

// Pods lists the pods of namespace ns matching selector.
func (n *Node) Pods(t testing.TB, ns, selector string) []Pod {
	t.Helper()
	var list struct {
		Items []struct {
			Metadata struct {
				Name              string  `json:"name"`
				DeletionTimestamp *string `json:"deletionTimestamp"`
			} `json:"metadata"`
			Spec struct {
				NodeName string `json:"nodeName"`
			} `json:"spec"`
			Status struct {
				Phase      string `json:"phase"`
				PodIP      string `json:"podIP"`
				Conditions []struct {
					Type, Status string
				} `json:"conditions"`
				ContainerStatuses []struct {
					RestartCount int `json:"restartCount"`
				} `json:"containerStatuses"`
			} `json:"status"`
		} `json:"items"`
	}
	out := n.Kubectl(t, "", "get", "pods", "-n", ns, "-l", selector, "-o", "json")
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("kubectl get pods: %v", err)
	}
	var pods []Pod
	for _, it := range list.Items {
		if it.Metadata.DeletionTimestamp != nil {
			continue
		}
		p := Pod{Name: it.Metadata.Name, Phase: it.Status.Phase, IP: it.Status.PodIP, Node: it.Spec.NodeName}
		for _, c := range it.Status.Conditions {
			if c.Type == "Ready" {
				p.Ready = c.Status == "True"
			}
		}
		for _, c := range it.Status.ContainerStatuses {
			p.Restarts += c.RestartCount
		}
		pods = append(pods, p)
	}
	return pods
}

// WaitPods waits until exactly count pods match selector, all Running and
// Ready, and returns them; it fails the test after timeout, with the pods'
// states and the namespace's events.
func (n *Node) WaitPods(t testing.TB, ns, selector string, count int, timeout time.Duration) []Pod {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var pods []Pod
	for {
		pods = n.Pods(t, ns, selector)
		ready := len(pods) == count
		for _, p := range pods {
			ready = ready && p.Phase == "Running" && p.Ready
		}
		if ready {
			return pods
		}
		if time.Now().After(deadline) {
			events := n.Kubectl(t, "", "get", "events", "-n", ns, "--sort-by", ".lastTimestamp")
			t.Fatalf("after %s, pods %s in %s: %+v, want %d Running and Ready\nevents:\n%s", timeout, selector, ns, pods, count, events)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
