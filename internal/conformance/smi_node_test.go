package conformance

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/meshperf/meshperf/internal/cluster/kubetest"
	"github.com/meshperf/meshperf/internal/conformance/smi"
	"github.com/meshperf/meshperf/kube"
)

// envSMIClientOut, when set, names a directory where TestSMINode writes
// the echo client's real output (smi/testdata/client-*.txt are one run's).
const envSMIClientOut = "MESHPERF_TEST_SMI_CLIENT_OUT"

// TestSMINode runs the SMI test set for real on the test node (the one
// TestNode starts, with the suite's images: pods of the echo app are the
// backends and the clients, requests are the echo client run in a pod by
// pods/exec) with meshperf's SMI CRDs applied and no mesh, as there is
// none here. The honest outcome, test by test: the split tests fail with
// shares showing that both echo backends answered (hostnames read from
// the client's real output) and say no SMI implementation applied the
// split; access allow passes, every request answered by an echo-v1 pod;
// access deny and the route tests fail because nothing refused the
// requests that should have been; the run's namespace is deleted.
func TestSMINode(t *testing.T) {
	kc := nodeWithImages(t)
	kubetest.Kubectl(t, kc, smi.CRDs(), "apply", "--server-side", "--force-conflicts", "-f", "-")
	kubetest.Kubectl(t, kc, "", "wait", "--for=condition=Established", "--timeout=60s",
		"crd/trafficsplits.split.smi-spec.io", "crd/traffictargets.access.smi-spec.io", "crd/httproutegroups.specs.smi-spec.io")

	const requests = 200
	checked := false
	res, err := smi.Run(t.Context(), smi.Options{
		Kube: kube.Config{Kubeconfig: kc}, Timeout: 10 * time.Minute, SetupTimeout: 5 * time.Minute,
		Requests: requests, Consistency: 2 * time.Second, DiscoveryWait: 5 * time.Second,
		Progress: func(tr TestResult) {
			t.Logf("%s %s (%s): %s", strings.ToUpper(string(tr.Status)), tr.Name, tr.Duration.Round(time.Millisecond), tr.Message)
			if !checked {
				// While the harness is up: the client's own output,
				// answered and failed, and what PodSender reads of it.
				checked = true
				checkClient(t, kc)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %+v in %s; deleted %v", res.Outcome, res.Counts, res.Finished.Sub(res.Started).Round(time.Second), res.Cleanup)
	for _, tr := range res.Tests {
		t.Logf("%s %s (%s)\n%s", tr.Status, tr.Name, tr.Duration.Round(time.Millisecond), tr.Output)
	}
	if res.Kind != smi.Kind || res.Profile != smi.Profile || res.Implementation.Detected {
		t.Errorf("kind %s, profile %s, implementation %+v: want no mesh detected", res.Kind, res.Profile, res.Implementation)
	}
	if !strings.Contains(res.SuiteVersion, "split.smi-spec.io/v1alpha4") {
		t.Errorf("suite version %q: want the newest split version the CRDs serve", res.SuiteVersion)
	}

	// The split tests: both backends answered, every request, in shares
	// far from the weights. The "no SMI implementation" note needs the
	// shares to be within the 99.9% bound of an even spread, which
	// kube-proxy's random choice misses about once in a thousand runs.
	shares := regexp.MustCompile(`the split was not honoured: observed echo-v1 (\d+)/(\d+) \([0-9.]+%\), echo-v2 (\d+)/(\d+) `)
	for name, n := range map[string]int{"SMITrafficSplitWeights": requests, "SMITrafficSplitSingleBackend": 50} {
		tr := mustTest(t, res, name, Fail)
		m := shares.FindStringSubmatch(tr.Message)
		if m == nil || !strings.HasPrefix(tr.Message, "no SMI implementation seems to have applied the split") {
			t.Errorf("%s: %q: want the shares of both backends and no SMI implementation", name, tr.Message)
			continue
		}
		v1, _ := strconv.Atoi(m[1])
		v2, _ := strconv.Atoi(m[3])
		if v1 == 0 || v2 == 0 || v1+v2 != n || m[2] != strconv.Itoa(n) || m[4] != m[2] {
			t.Errorf("%s: echo-v1 %s/%s, echo-v2 %s/%s: want both answering, %d in all", name, m[1], m[2], m[3], m[4], n)
		}
	}
	// Nothing denies: the allowed client is answered by echo-v1's pod...
	allow := mustTest(t, res, "SMIAccessAllow", Pass)
	if !strings.Contains(allow.Output, "smi-client: GET http://echo-v1/ ×20: echo-v1 20/20 (100.0%)\n") {
		t.Errorf("SMIAccessAllow passed without every request answered by echo-v1:\n%s", allow.Output)
	}
	// ... and so is everyone the tests want refused.
	for name, msg := range map[string]string{
		"SMIAccessDeny":       "smi-other, which no TrafficTarget names, to echo-v1: 20 of 20 requests were answered, want all refused: echo-v1 20/20 (100.0%)",
		"SMIRouteMatchPath":   "a request not matching pathRegex /smi/allowed.*: 20 of 20 requests were answered, want all refused: echo-v1 20/20 (100.0%)",
		"SMIRouteMatchMethod": "a request not matching methods [GET]: 20 of 20 requests were answered, want all refused: echo-v1 20/20 (100.0%)",
		"SMIRouteMatchHeader": "a request not matching header x-meshperf-smi: ^allow$: 20 of 20 requests were answered, want all refused: echo-v1 20/20 (100.0%)",
	} {
		if tr := mustTest(t, res, name, Fail); tr.Message != msg {
			t.Errorf("%s: %q, want %q", name, tr.Message, msg)
		}
	}
	if res.Counts.Passed != 1 || res.Counts.Failed != 6 || res.Counts.Skipped != 0 || res.Counts.NotRun != 0 || res.Outcome != "failed" {
		t.Errorf("%s %+v: want failed, 1 passed and 6 failed", res.Outcome, res.Counts)
	}

	// The run's namespace, and the SMI resources in it, are gone.
	if len(res.Cleanup) != 1 || !strings.HasPrefix(res.Cleanup[0], smi.NamespacePrefix) || res.CleanupError != "" {
		t.Fatalf("deleted %v (%s): want the run's one namespace", res.Cleanup, res.CleanupError)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		out, err := exec.Command("kubectl", "--kubeconfig", kc, "get", "namespace", res.Cleanup[0], "-o", "name").CombinedOutput()
		if err != nil && strings.Contains(string(out), "NotFound") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("namespace %s still there 3 minutes after the run: %v %s", res.Cleanup[0], err, out)
		}
		time.Sleep(2 * time.Second)
	}
	if out := kubetest.Kubectl(t, kc, "", "get", "namespaces", "-l", smi.RunLabel, "-o", "name"); out != "" {
		t.Errorf("namespaces of SMI runs left: %s", out)
	}
}

func mustTest(t *testing.T, r *Result, name string, want Status) TestResult {
	t.Helper()
	tr, ok := r.Test(name)
	if !ok || tr.Status != want {
		t.Errorf("%s: %s %q, want %s", name, tr.Status, tr.Message, want)
	}
	return tr
}

// checkClient runs the echo client in the run's smi-client pod, to a
// backend and to a name that does not resolve, and checks that
// smi.PodSender reads both as the client wrote them.
func checkClient(t *testing.T, kc string) {
	t.Helper()
	pod := strings.Fields(kubetest.Kubectl(t, kc, "", "get", "pods", "-A", "-l", "app=smi-client",
		"-o", "jsonpath={.items[0].metadata.namespace} {.items[0].metadata.name}"))
	if len(pod) != 2 {
		t.Fatalf("no smi-client pod: %q", pod)
	}
	dir := os.Getenv(envSMIClientOut)
	run := func(name, url string) {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command("kubectl", "--kubeconfig", kc, "exec", "-n", pod[0], pod[1], "-c", "echo", "--",
			"client", url, "--count=2", "--timeout=2s")
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		t.Logf("echo client %s (%v):\n%s\nstderr:\n%s", url, err, stdout.String(), stderr.String())
		if dir != "" {
			if err := os.WriteFile(filepath.Join(dir, "client-"+name+".txt"), stdout.Bytes(), 0o644); err != nil {
				t.Error(err)
			}
		}
	}
	run("answered", "http://"+smi.ServiceV1+"/")
	run("unresolved", "http://smi-no-such-service/")

	rc, _, err := kube.RESTConfig(kube.Config{Kubeconfig: kc})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	s := smi.PodSender{CS: cs, Config: rc, Namespace: pod[0], Pod: pod[1]}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	rs, err := s.Send(ctx, smi.Request{Host: smi.ServiceV1, Path: "/", Count: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		if r.Code != 200 || r.Err != "" || !strings.HasPrefix(r.Hostname, smi.ServiceV1+"-") {
			t.Errorf("to %s, response %d: %+v: want 200 from an %s pod", smi.ServiceV1, i, r, smi.ServiceV1)
		}
	}
	rs, err = s.Send(ctx, smi.Request{Host: "smi-no-such-service", Path: "/", Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		if r.Code != 0 || r.Answered() || !strings.Contains(r.Err, "smi-no-such-service") {
			t.Errorf("to a name that does not resolve, response %d: %+v: want no response, its error naming the host", i, r)
		}
	}
}
