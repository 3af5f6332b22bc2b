package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/cluster/kubetest"
)

// designCLI runs meshperf in-process with the store db.
func designCLI(t *testing.T, db string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errw bytes.Buffer
	code = Main(t.Context(), append(args, "--db", db), strings.NewReader(""), &out, &errw)
	return out.String(), errw.String(), code
}

func repoFile(parts ...string) string {
	return filepath.Join(append([]string{kubetest.RepoRoot()}, parts...)...)
}

// TestDesignStoreCommands: import from each kind of source, list, show
// (resources, references, the import report), export, and bad input
// with exit status 2 naming the file and what is wrong. No cluster.
func TestDesignStoreCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "m.db")
	out, stderr, code := designCLI(t, db, "design", "import", "shop", "--compose", repoFile("internal", "design", "compose", "testdata", "shop.yaml"), "-n", "shop", "--label", "app=shop")
	if code != 0 || !strings.Contains(out, "design shop revision 1: 8 resources") || !strings.Contains(out, "cache-data: size: Compose volumes have no size") {
		t.Fatalf("import --compose: exit %d\n%s%s", code, out, stderr)
	}
	out, stderr, code = designCLI(t, db, "design", "import", "lacking", "--compose", repoFile("internal", "design", "compose", "testdata", "lacking.yaml"))
	if code != 0 || !strings.Contains(out, "service web: devices: not converted") || !strings.Contains(out, "service db: build: not converted") {
		t.Errorf("import of a Compose file with what Kubernetes lacks: exit %d\n%s%s", code, out, stderr)
	}
	out, stderr, code = designCLI(t, db, "design", "import", "echo", "--chart", repoFile("internal", "design", "helmchart", "testdata", "echo"), "--release", "e", "-n", "demo")
	if code != 0 || !strings.Contains(out, "design echo revision 1: 4 resources (4 from charts)") || !strings.Contains(out, "a test hook") {
		t.Errorf("import --chart: exit %d\n%s%s", code, out, stderr)
	}
	out, stderr, code = designCLI(t, db, "design", "import", "sample-app", "--sample", "--sample-fanout", "3", "--sample-delay", "1ms", "-n", "bench")
	if code != 0 || !strings.Contains(out, "design sample-app revision 1: 10 resources") {
		t.Errorf("import --sample: exit %d\n%s%s", code, out, stderr)
	}
	out, _, _ = designCLI(t, db, "design", "export", "sample-app")
	if !strings.Contains(out, "- --upstream\n        - http://backend-3/\n") || !strings.Contains(out, "- --delay\n        - 1ms\n") {
		t.Errorf("the sample's front does not call backend-3 with a 1ms delay:\n%s", out)
	}
	_, stderr, code = designCLI(t, db, "design", "import", "s", "--sample", "--sample-delay", "soon")
	if code != ExitUsage || !strings.Contains(stderr, "--sample-delay") {
		t.Errorf("--sample-delay soon: exit %d, %q", code, stderr)
	}
	// Revisions: importing again stores revision 2.
	out, _, code = designCLI(t, db, "design", "import", "shop", "--compose", repoFile("internal", "design", "compose", "testdata", "shop.yaml"), "-n", "shop", "--label", "app=shop")
	if code != 0 || !strings.Contains(out, "revision 2") {
		t.Errorf("second import: exit %d: %s", code, out)
	}

	out, _, code = designCLI(t, db, "design", "list", "--label", "app=shop")
	if code != 0 || !strings.Contains(out, "shop") || strings.Contains(out, "echo") || !strings.Contains(out, "2 ") {
		t.Errorf("list --label app=shop: exit %d\n%s", code, out)
	}
	out, _, code = designCLI(t, db, "design", "show", "shop", "--revision", "1")
	for _, want := range []string{"design shop revision 1", "namespace: shop", "deployment.apps/front", "shop.yaml: service front",
		"service/front -> deployment.apps/front (selects its pods)", "deployment.apps/cache -> persistentvolumeclaim/cache-data (mounts)", "import report:"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("show lacks %q (exit %d):\n%s", want, code, out)
		}
	}
	out, _, code = designCLI(t, db, "design", "show", "echo")
	if code != 0 || !strings.Contains(out, "chart: release e: echo 0.3.1 from "+repoFile("internal", "design", "helmchart", "testdata", "echo")) {
		t.Errorf("show of a chart design: exit %d\n%s", code, out)
	}

	// export writes manifests kubectl takes, which import again as the same.
	out, _, code = designCLI(t, db, "design", "export", "shop")
	if code != 0 || strings.Count(out, "\n---\n") != 7 || !strings.Contains(out, "kind: Deployment") {
		t.Fatalf("export: exit %d\n%s", code, out)
	}
	f := filepath.Join(t.TempDir(), "shop.yaml")
	if err := os.WriteFile(f, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code = designCLI(t, db, "design", "import", "shop-copy", "-f", f)
	if code != 0 || !strings.Contains(out, "8 resources") {
		t.Errorf("import of the export: exit %d\n%s%s", code, out, stderr)
	}
	doc, _, code := designCLI(t, db, "design", "export", "echo", "--format", "design")
	if code != 0 || !strings.Contains(doc, "kind: Design") {
		t.Fatalf("export --format design: exit %d\n%s", code, doc)
	}
	if err := os.WriteFile(f, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code = designCLI(t, db, "design", "import", "echo-copy", "--design", f)
	if code != 0 || !strings.Contains(out, "4 resources (4 from charts)") {
		t.Errorf("import --design: exit %d\n%s%s", code, out, stderr)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"design", "import", "x", "-f", bad}, bad + "#1: ConfigMap : metadata.name missing"},
		{[]string{"design", "import", "x", "--chart", repoFile("internal", "design", "helmchart", "testdata", "broken")}, "values.mustSet is required"},
		{[]string{"design", "import", "x"}, "name a source"},
		{[]string{"design", "import", "Not_A_Name", "-f", repoFile("internal", "cluster", "testdata", "workloads.yaml")}, `name "Not_A_Name"`},
		{[]string{"design", "show", "nope"}, `no design "nope" in the store`},
	} {
		_, stderr, code := designCLI(t, db, tc.args...)
		if code != ExitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", tc.args, code, stderr, ExitUsage, tc.want)
		}
	}
}

// TestDesignClusterCommands runs the lifecycle as a user would against
// the API server alone: apply says what was created and that nothing
// became ready (exit 3), diff says no changes, delete removes it.
func TestDesignClusterCommands(t *testing.T) {
	kc := kubetest.Kubeconfig(t)
	t.Cleanup(kubetest.Stop)
	db := filepath.Join(t.TempDir(), "m.db")
	ns := "cli-design-" + strconv.FormatInt(time.Now().UnixNano()%1e6, 36)
	kubetest.Kubectl(t, kc, "", "create", "namespace", ns)
	manifests := filepath.Join(t.TempDir(), "app.yaml")
	if err := os.WriteFile(manifests, []byte(`apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {delay: 1ms}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "ghcr.io/meshperf/meshperf:e2e", envFrom: [{configMapRef: {name: settings}}]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, stderr, code := designCLI(t, db, "design", "import", "web", "-f", manifests, "-n", ns); code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, out, stderr)
	}
	k := []string{"--kubeconfig", kc}
	out, stderr, code := designCLI(t, db, append([]string{"design", "validate", "web"}, k...)...)
	if code != 0 || !strings.Contains(out, "design web: 2 resources valid") {
		t.Errorf("validate: exit %d\n%s%s", code, out, stderr)
	}
	out, stderr, code = designCLI(t, db, append([]string{"design", "apply", "web", "--timeout", "2s", "--inject", "linkerd"}, k...)...)
	for _, want := range []string{"namespace/" + ns + " configured (annotation linkerd.io/inject=enabled for Linkerd)",
		"configmap/" + ns + "/settings created", "deployment.apps/" + ns + "/web created", "1 of 2 ready",
		"deployment.apps/" + ns + "/web: no controller has observed it yet"} {
		if !strings.Contains(out, want) {
			t.Errorf("apply output lacks %q:\n%s", want, out)
		}
	}
	if code != ExitFailed || !strings.Contains(stderr, "design web: 1 of 2 objects not ready by the timeout") || !strings.Contains(stderr, "waiting: 1 of 2 ready") {
		t.Errorf("apply on the bare API server: exit %d, stderr %q; want %d saying what is not ready", code, stderr, ExitFailed)
	}
	if got := kubetest.Kubectl(t, kc, "", "get", "namespace", ns, "-o", `jsonpath={.metadata.annotations.linkerd\.io/inject}`); got != "enabled" {
		t.Errorf("namespace annotation linkerd.io/inject = %q", got)
	}
	out, _, code = designCLI(t, db, append([]string{"design", "diff", "web"}, k...)...)
	if code != 0 || !strings.Contains(out, "design web: no changes (2 objects as in the cluster)") {
		t.Errorf("diff after apply: exit %d\n%s", code, out)
	}
	out, stderr, code = designCLI(t, db, append([]string{"design", "delete", "web", "--timeout", "10s"}, k...)...)
	if code != 0 || !strings.Contains(out, "deployment.apps/"+ns+"/web deleted\nconfigmap/"+ns+"/settings deleted\n") || !strings.Contains(out, "2 of 2 removed") {
		t.Errorf("delete: exit %d\n%s%s", code, out, stderr)
	}
	_, stderr, code = designCLI(t, db, append([]string{"design", "apply", "web", "--context", "meshperf-test-noperm", "--no-wait"}, k...)...)
	if code != ExitFailed || !strings.Contains(stderr, "forbidden") || !strings.Contains(stderr, `cannot patch resource "configmaps"`) {
		t.Errorf("apply without permissions: exit %d, %q", code, stderr)
	}

	// A mesh from a local chart: the version must be the chart's.
	chart := repoFile("internal", "design", "helmchart", "testdata", "echo")
	_, stderr, code = designCLI(t, db, append([]string{"mesh", "install", "demo", "--chart", chart, "--version", "9.9.9"}, k...)...)
	if code != ExitUsage || !strings.Contains(stderr, "is echo version 0.3.1, not --version 9.9.9") {
		t.Errorf("mesh install of the wrong version: exit %d, %q", code, stderr)
	}
	meshNS := "mesh-" + strconv.FormatInt(time.Now().UnixNano()%1e6, 36)
	out, stderr, code = designCLI(t, db, append([]string{"mesh", "install", "demo", "--chart", chart, "--version", "0.3.1", "-n", meshNS, "--timeout", "2s"}, k...)...)
	if !strings.Contains(out, "design mesh-demo revision 1: echo 0.3.1, 4 resources") || !strings.Contains(out, "namespace/"+meshNS+" created") ||
		!strings.Contains(out, "widget.example.meshperf.dev/"+meshNS+"/demo-echo created") || code != ExitFailed {
		t.Errorf("mesh install: exit %d\n%s%s", code, out, stderr)
	}
	out, stderr, code = designCLI(t, db, append([]string{"mesh", "uninstall", "demo", "-n", meshNS, "--timeout", "30s"}, k...)...)
	if code != 0 || !strings.Contains(out, "4 of 4 removed") {
		t.Errorf("mesh uninstall: exit %d\n%s%s", code, out, stderr)
	}
}
