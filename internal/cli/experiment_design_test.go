package cli_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/cluster/kubetest"
)

// TestExperimentDesigns: an experiment naming a stored design applies it
// before its first cell and deletes it after its last; a design that
// does not become ready (the bare API server runs no pods) stops the
// experiment before any cell, and is deleted all the same.
func TestExperimentDesigns(t *testing.T) {
	kc := kubetest.Kubeconfig(t)
	t.Cleanup(kubetest.Stop)
	t.Setenv("KUBECONFIG", kc)
	ns := "exp-design-" + strconv.FormatInt(time.Now().UnixNano()%1e6, 36)
	kubetest.Kubectl(t, kc, "", "create", "namespace", ns)
	dir := t.TempDir()
	manifests := filepath.Join(dir, "app.yaml")
	if err := os.WriteFile(manifests, []byte(`apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {a: b}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "ghcr.io/meshperf/meshperf:e2e"}]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, stderr, code := meshperf(t, "design", "import", "web", "-f", manifests, "-n", ns); code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, out, stderr)
	}
	url := startEcho(t)
	write := func(name, timeout string) string {
		p := filepath.Join(dir, name+".yaml")
		body := `name: ` + name + `
duration: 1s
connections: 2
variants: [{name: baseline, targets: ["` + url + `/"]}]
sweep: {rps: [50]}
designs: [{name: web, timeout: "` + timeout + `"}]
`
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	out, stderr, code := meshperf(t, "experiment", "run", "-f", write("with-design", "0s"))
	if code != 0 || !strings.Contains(stderr, "applying design web") || !strings.Contains(stderr, "deployment.apps/"+ns+"/web created") ||
		!strings.Contains(stderr, "deleting design web") || !strings.Contains(stderr, "deployment.apps/"+ns+"/web deleted") || !strings.Contains(stderr, "cell 1/1") ||
		strings.Index(stderr, "cell 1/1") < strings.Index(stderr, "applying design web") || strings.Index(stderr, "cell 1/1") > strings.Index(stderr, "deleting design web") {
		t.Fatalf("experiment with a design: exit %d\nstdout %s\nstderr %s", code, out, stderr)
	}
	if got := kubetest.Kubectl(t, kc, "", "get", "deployments,configmaps", "-n", ns, "-l", "meshperf.dev/design=web", "-o", "name"); got != "" {
		t.Errorf("left on the cluster after the experiment: %s", got)
	}

	out, stderr, code = meshperf(t, "experiment", "run", "-f", write("not-ready", "1s"))
	if code != 3 || !strings.Contains(stderr, "design web: 1 of 2 objects not ready by the timeout") || !strings.Contains(stderr, "deleting design web") {
		t.Errorf("experiment whose design is not ready: exit %d\nstdout %s\nstderr %s", code, out, stderr)
	}
	if strings.Contains(stderr, "cell 1/") || strings.Contains(out, "baseline") {
		t.Errorf("a cell ran although the design was not ready:\n%s%s", out, stderr)
	}
	if got := kubetest.Kubectl(t, kc, "", "get", "deployments", "-n", ns, "-o", "name"); got != "" {
		t.Errorf("left on the cluster after the failed start: %s", got)
	}
}
