package kubenode_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
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

// meshperf echo runs as pods with probes on its own endpoints, behind a
// ClusterIP Service: load from the node to the ClusterIP (kube-proxy
// spreading it over both pods) and to one pod's IP, every request answered
// 200, the result naming the address used, and the pods' own counters
// adding up to what was sent.
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
	const requests = 600 // 300 a second for 2 s
	for _, tc := range []struct {
		name, target string
	}{
		{"cluster IP", "http://" + clusterIP + "/"},
		{"pod IP", "http://" + net.JoinHostPort(pods[0].IP, "8080") + "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runIn(t, n, tc.target, "--rps", "300", "-c", "8", "-d", "2s")
			if len(r.Requested.Targets) != 1 || r.Requested.Targets[0] != tc.target {
				t.Errorf("result's targets %v, want [%s]", r.Requested.Targets, tc.target)
			}
			if r.Achieved.Requests != requests || r.Achieved.Responses != requests || r.Achieved.Errors != 0 {
				t.Errorf("achieved %d requests, %d responses, %d errors; want %d, %d, 0 (errors %+v)",
					r.Achieved.Requests, r.Achieved.Responses, r.Achieved.Errors, requests, requests, r.Errors)
			}
			if got := r.StatusCodes[200]; got != requests {
				t.Errorf("status codes %v, want %d × 200", r.StatusCodes, requests)
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
	if total != 2*requests {
		t.Errorf("pods served %d requests, want %d", total, 2*requests)
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
