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

// TestRunProfileDesigns: meshperf run of a profile naming a stored design
// applies it before the load and deletes it after; one marked keep stays.
// Against the test API server alone (no node runs pods), so the designs
// are not waited for (timeout 0s); a design that does not become ready
// stops the run before any load, and is deleted all the same.
func TestRunProfileDesigns(t *testing.T) {
	kc := kubetest.Kubeconfig(t)
	t.Cleanup(kubetest.Stop)
	t.Setenv("KUBECONFIG", kc)
	ns := "run-design-" + strconv.FormatInt(time.Now().UnixNano()%1e6, 36)
	kubetest.Kubectl(t, kc, "", "create", "namespace", ns)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	app := write("app.yaml", `apiVersion: v1
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
`)
	kept := write("kept.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kept}\ndata: {k: v}\n")
	for _, c := range [][]string{{"web", app}, {"kept", kept}} {
		if out, stderr, code := meshperf(t, "design", "import", c[0], "-f", c[1], "-n", ns); code != 0 {
			t.Fatalf("import %s: exit %d\n%s%s", c[0], code, out, stderr)
		}
	}
	url := startEcho(t)
	profile := func(name, timeout string) string {
		return write(name+".yaml", `name: `+name+`
duration: 1s
clients: [{connections: 1, rps: 20, endpoint_urls: ["`+url+`/"]}]
meshperf:
  designs:
  - {name: kept, keep: true, timeout: 0s}
  - {name: web, timeout: "`+timeout+`"}
`)
	}

	out, stderr, code := meshperf(t, "run", "-f", profile("with-designs", "0s"), "--no-save")
	if code != 0 {
		t.Fatalf("run with designs: exit %d\nstdout %s\nstderr %s", code, out, stderr)
	}
	for _, want := range []string{"applying design kept", "applying design web", "deployment.apps/" + ns + "/web created", "deleting design web", "deployment.apps/" + ns + "/web deleted"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "deleting design kept") {
		t.Errorf("the design marked keep was deleted:\n%s", stderr)
	}
	if !strings.Contains(out, "Requests ") || strings.Index(stderr, "applying design web") > strings.Index(stderr, "deleting design web") {
		t.Errorf("no report, or the designs out of order:\nstdout %s\nstderr %s", out, stderr)
	}
	if got := kubetest.Kubectl(t, kc, "", "get", "deployments,configmaps", "-n", ns, "-l", "meshperf.dev/design=web", "-o", "name"); got != "" {
		t.Errorf("left on the cluster after the run: %s", got)
	}
	if got := kubetest.Kubectl(t, kc, "", "get", "configmaps", "-n", ns, "-l", "meshperf.dev/design=kept", "-o", "name"); !strings.Contains(got, "configmap/kept") {
		t.Errorf("the kept design is gone: %q", got)
	}

	out, stderr, code = meshperf(t, "run", "-f", profile("not-ready", "1s"), "--no-save")
	if code != 3 || !strings.Contains(stderr, "design web: 1 of 2 objects not ready by the timeout") || !strings.Contains(stderr, "deleting design web") {
		t.Errorf("run whose design is not ready: exit %d\nstdout %s\nstderr %s", code, out, stderr)
	}
	if strings.Contains(out, "requests") {
		t.Errorf("the load ran although the design was not ready:\n%s", out)
	}
	if got := kubetest.Kubectl(t, kc, "", "get", "deployments", "-n", ns, "-o", "name"); got != "" {
		t.Errorf("left on the cluster after the failed start: %s", got)
	}

	out, stderr, code = meshperf(t, "run", "-f", profile("cluster-off", "0s"), "--cluster", "off", "--no-save")
	if code != 2 || !strings.Contains(stderr, "--cluster off") {
		t.Errorf("designs with --cluster off: exit %d\n%s%s", code, out, stderr)
	}
}
