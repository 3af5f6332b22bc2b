package kubenode_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/kubenode"
	"github.com/meshperf/meshperf/spec"
)

func TestMain(m *testing.M) { kubenode.Main(m) }

// echoManifest is meshperf echo as a Deployment of replicas pods, probed on
// its own /healthz, behind a ClusterIP Service on port 80.
func echoManifest(ns, image string, replicas int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: echo, namespace: %[1]s}
spec:
  replicas: %[3]d
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: echo
        image: %[2]s
        imagePullPolicy: Never
        args: [echo, --addr, ":8080"]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 1}
        livenessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 2, failureThreshold: 3}
        securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: %[1]s}
spec:
  type: ClusterIP
  selector: {app: echo}
  ports: [{name: http, port: 80, targetPort: http}]
`, ns, image, replicas)
}

// deployEcho applies the echo Deployment and Service in a new namespace,
// waits for its pods Running and Ready and for the Service's endpoints to
// list every pod, and returns the pods and the Service's ClusterIP.
func deployEcho(t *testing.T, n *kubenode.Node, ns string, replicas int) ([]kubenode.Pod, string) {
	t.Helper()
	n.Kubectl(t, "", "create", "namespace", ns)
	t.Cleanup(func() { n.Kubectl(t, "", "delete", "namespace", ns, "--wait=false") })
	n.Kubectl(t, echoManifest(ns, n.Image, replicas), "apply", "-f", "-")
	pods := n.WaitPods(t, ns, "app=echo", replicas, 2*time.Minute)
	clusterIP := strings.TrimSpace(n.Kubectl(t, "", "get", "service", "echo", "-n", ns, "-o", "jsonpath={.spec.clusterIP}"))
	if net.ParseIP(clusterIP) == nil {
		t.Fatalf("service echo has no ClusterIP: %q", clusterIP)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		eps := n.Kubectl(t, "", "get", "endpointslices", "-n", ns, "-l", "kubernetes.io/service-name=echo",
			"-o", `jsonpath={range .items[*].endpoints[?(@.conditions.ready==true)]}{.addresses[0]}{" "}{end}`)
		got := strings.Fields(eps)
		if len(got) == replicas {
			want := map[string]bool{}
			for _, p := range pods {
				want[p.IP] = true
			}
			for _, ip := range got {
				if !want[ip] {
					t.Fatalf("service endpoints %v, pods %+v", got, pods)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("service echo: ready endpoints %v, want the %d pods %+v", got, replicas, pods)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return pods, clusterIP
}

// echoStats reads a pod's /admin/stats from inside the node.
func echoStats(t *testing.T, n *kubenode.Node, podIP string) int64 {
	t.Helper()
	resp, err := n.HTTPClient().Get("http://" + net.JoinHostPort(podIP, "8080") + "/admin/stats")
	if err != nil {
		t.Fatalf("echo stats of %s: %v", podIP, err)
	}
	defer resp.Body.Close()
	var s struct {
		Requests int64 `json:"requests"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s.Requests
}

// runIn runs `meshperf run` inside the node's network namespace and returns
// its JSON result.
func runIn(t *testing.T, n *kubenode.Node, args ...string) spec.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := n.Command(ctx, n.Meshperf, append([]string{"run", "--no-save", "--output", "json"}, args...)...)
	cmd.Env = append(cmd.Environ(), "HOME="+t.TempDir())
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("meshperf run %v: %v\n%s", args, err, stderr.String())
	}
	var r spec.Result
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("meshperf run: %v\n%s", err, stdout.String())
	}
	return r
}

// inNodeKubeconfig is the test node's admin kubeconfig for clients inside
// its network namespace: the API server at its in-node address instead of
// the host's forwarded port.
func inNodeKubeconfig(t *testing.T, n *kubenode.Node) string {
	t.Helper()
	b, err := os.ReadFile(n.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`server: https://127\.0\.0\.1:[0-9]+`)
	if !re.Match(b) {
		t.Fatalf("%s names no forwarded 127.0.0.1 server", n.Kubeconfig)
	}
	file := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(file, re.ReplaceAll(b, []byte("server: "+n.APIInNode)), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// runInPod runs meshperf run as a pod of namespace ns (the node's meshperf
// image, restricted, not restarted), waits up to 2 minutes for it to
// succeed, and reads its JSON result from the pod's log.
func runInPod(t *testing.T, n *kubenode.Node, ns string, args ...string) spec.Result {
	t.Helper()
	name := fmt.Sprintf("meshperf-run-%d", time.Now().UnixNano()%1_000_000)
	quoted := []string{"run", "--no-save", "--output", "json", "--progress", "never", "--cluster", "off"}
	quoted = append(quoted, args...)
	for i, a := range quoted {
		quoted[i] = strconv.Quote(a)
	}
	n.Kubectl(t, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s, namespace: %s}
spec:
  restartPolicy: Never
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: run
    image: %s
    imagePullPolicy: Never
    args: [%s]
    env: [{name: HOME, value: /tmp}]
    volumeMounts: [{name: tmp, mountPath: /tmp}]
    securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
  volumes: [{name: tmp, emptyDir: {}}]
`, name, ns, n.Image, strings.Join(quoted, ", ")), "apply", "-f", "-")
	t.Cleanup(func() { n.Kubectl(t, "", "delete", "pod", name, "-n", ns, "--wait=false") })
	deadline := time.Now().Add(2 * time.Minute)
	for {
		phase := n.Kubectl(t, "", "get", "pod", name, "-n", ns, "-o", "jsonpath={.status.phase}")
		if phase == "Succeeded" {
			break
		}
		if phase == "Failed" || time.Now().After(deadline) {
			t.Fatalf("pod %s: %s\n%s", name, phase, n.Kubectl(t, "", "logs", name, "-n", ns))
		}
		time.Sleep(300 * time.Millisecond)
	}
	out := n.Kubectl(t, "", "logs", name, "-n", ns)
	var r spec.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("pod %s's log is no result: %v\n%s", name, err, out)
	}
	return r
}

// meshperf echo runs as pods with probes on its own endpoints, behind a
// ClusterIP Service: load to the ClusterIP (kube-proxy spreading it over
// both pods) and to one pod's IP, from the node and from a pod, every
// request answered 200, the result saying which address it was (the
// Service's ClusterIP or the pod's), and the pods' own counters adding up
// to what was sent.
func TestNodeEchoService(t *testing.T) {
	n := kubenode.Get(t)
	pods, clusterIP := deployEcho(t, n, "echo-svc", 2)
	for _, p := range pods {
		if p.Node != "localhost" || p.Restarts != 0 {
			t.Errorf("pod %+v: want node localhost, no restarts", p)
		}
	}

	// Ready endpoints come before kube-proxy's rules for them: wait
	// (bounded) until new connections to the ClusterIP are answered.
	waitClusterIP(t, n, clusterIP)

	before := map[string]int64{}
	for _, p := range pods {
		before[p.IP] = echoStats(t, n, p.IP)
	}
	// From the node (with the cluster's context recorded: the result says
	// whether the address was the Service's ClusterIP or a pod's) and from
	// a pod of meshperf.
	kc := inNodeKubeconfig(t, n)
	podTarget := "http://" + net.JoinHostPort(pods[0].IP, "8080") + "/"
	sent := int64(0)
	for _, tc := range []struct {
		name, target, via, pod string
		fromPod                bool
		requests               int64
	}{
		{name: "cluster IP", target: "http://" + clusterIP + "/", via: "cluster-ip", requests: 600}, // 300 a second for 2 s
		{name: "pod IP", target: podTarget, via: "pod-ip", pod: pods[0].Name, requests: 600},
		{name: "cluster IP from a pod", target: "http://" + clusterIP + "/", fromPod: true, requests: 200}, // 100 a second for 2 s
		{name: "pod IP from a pod", target: podTarget, fromPod: true, requests: 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r spec.Result
			if tc.fromPod {
				r = runInPod(t, n, "echo-svc", tc.target, "--rps", "100", "-c", "4", "-d", "2s")
			} else {
				r = runIn(t, n, tc.target, "--rps", "300", "-c", "8", "-d", "2s", "--kubeconfig", kc)
			}
			sent += tc.requests
			if len(r.Requested.Targets) != 1 || r.Requested.Targets[0] != tc.target {
				t.Errorf("result's targets %v, want [%s]", r.Requested.Targets, tc.target)
			}
			if r.Achieved.Requests != tc.requests || r.Achieved.Responses != tc.requests || r.Achieved.Errors != 0 {
				t.Errorf("achieved %d requests, %d responses, %d errors; want %d, %d, 0 (errors %+v)",
					r.Achieved.Requests, r.Achieved.Responses, r.Achieved.Errors, tc.requests, tc.requests, r.Errors)
			}
			if got := r.StatusCodes[200]; got != tc.requests {
				t.Errorf("status codes %v, want %d × 200", r.StatusCodes, tc.requests)
			}
			if tc.fromPod {
				return
			}
			if r.Mesh == nil || len(r.Mesh.Targets) != 1 {
				t.Fatalf("mesh context %+v, want the one target", r.Mesh)
			}
			mt := r.Mesh.Targets[0]
			if mt.Via != tc.via || mt.Namespace != "echo-svc" || mt.Pod != tc.pod || mt.Workloads == nil {
				t.Errorf("the result's target %+v: want reached by %s in echo-svc (pod %q)", mt, tc.via, tc.pod)
			}
			if tc.pod == "" && (mt.Service != "echo" || mt.Pods != 2) {
				t.Errorf("through the Service: %+v, want Service echo with its 2 pods", mt)
			}
		})
	}
	// The pods counted them: the total is both runs' requests. kube-proxy
	// picks a pod per connection, and an open-loop run at 300/s may use
	// only a few of its connections, so one pod serving all of the
	// Service's share is possible and only logged.
	var total int64
	for _, p := range pods {
		got := echoStats(t, n, p.IP) - before[p.IP]
		if got == 0 {
			t.Logf("pod %s (%s) served no request through the Service this time", p.Name, p.IP)
		}
		total += got
	}
	if total != sent {
		t.Errorf("pods served %d requests, want %d", total, sent)
	}
}

// waitClusterIP waits up to 30 s until 10 new connections in a row to the
// Service's ClusterIP are answered 200.
func waitClusterIP(t *testing.T, n *kubenode.Node, clusterIP string) {
	t.Helper()
	c := n.HTTPClient()
	c.Timeout = 2 * time.Second
	ok := 0
	for deadline := time.Now().Add(30 * time.Second); ok < 10; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the ClusterIP %s did not answer 10 new connections in a row within 30 s", clusterIP)
		}
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+clusterIP+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Close = true
		resp, err := c.Do(req)
		if err != nil {
			ok = 0
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			ok++
		} else {
			ok = 0
		}
	}
}
