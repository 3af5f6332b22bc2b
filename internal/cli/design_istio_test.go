package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/meshperf/meshperf/internal/cluster/kubetest"
)

// istioCharts returns the directory of Istio's own Helm charts
// (manifests/charts) in the istio.io/istio module that
// test/conformance-images pins (the module proxy serves it; CI downloads it
// for the conformance images), downloading the module if needed.
func istioCharts(t *testing.T) string {
	t.Helper()
	mod, err := os.ReadFile(repoFile("test", "conformance-images", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*istio\.io/istio (v\S+)`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("test/conformance-images/go.mod names no istio.io/istio version")
	}
	cmd := exec.CommandContext(t.Context(), "go", "mod", "download", "-json", "istio.io/istio@"+string(m[1]))
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go mod download istio.io/istio@%s: %v\n%s", m[1], err, out)
	}
	var dl struct{ Dir string }
	if err := json.Unmarshal(out, &dl); err != nil || dl.Dir == "" {
		t.Fatalf("go mod download: %v\n%s", err, out)
	}
	return filepath.Join(dl.Dir, "manifests", "charts")
}

// TestMeshInstallIstioCharts installs a real mesh from its official
// charts: Istio's base chart (its CRDs and webhook configuration) and
// istiod's (istio-control/istio-discovery, with a values file naming the
// image tag), from the istio.io/istio module's source, against a real API
// server without a node. The CRDs become established; istiod's Deployment
// and Service can never be ready there, and the install says so by name
// and fails; discovery then finds Istio at the tag's version; uninstalling
// both removes every object, and discovery finds no mesh.
func TestMeshInstallIstioCharts(t *testing.T) {
	kc := kubetest.Kubeconfig(t)
	charts := istioCharts(t)
	db := filepath.Join(t.TempDir(), "m.db")
	k := []string{"--kubeconfig", kc, "-n", "istio-system"}
	values := filepath.Join(t.TempDir(), "istiod.yaml")
	if err := os.WriteFile(values, []byte("global:\n  hub: docker.io/istio\n  tag: 1.28.0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		designCLI(t, db, append([]string{"mesh", "uninstall", "istiod", "--timeout", "30s"}, k...)...)
		designCLI(t, db, append([]string{"mesh", "uninstall", "istio-base", "--timeout", "30s"}, k...)...)
	})

	out, stderr, code := designCLI(t, db, append([]string{"mesh", "install", "istio-base", "--chart", filepath.Join(charts, "base"), "--version", "1.0.0", "--timeout", "60s"}, k...)...)
	if code != 0 || !strings.Contains(out, "customresourcedefinition.apiextensions.k8s.io/peerauthentications.security.istio.io created") ||
		!regexp.MustCompile(`(?m)^(\d+) of (\d+) ready$`).MatchString(out) {
		t.Fatalf("mesh install istio-base: exit %d\n%s%s", code, out, stderr)
	}
	if got := kubetest.Kubectl(t, kc, "", "get", "crd", "virtualservices.networking.istio.io", "-o", `jsonpath={.status.conditions[?(@.type=="Established")].status}`); got != "True" {
		t.Errorf("Istio's VirtualService CRD established: %q", got)
	}

	out, stderr, code = designCLI(t, db, append([]string{"mesh", "install", "istiod", "--chart", filepath.Join(charts, "istio-control", "istio-discovery"),
		"--version", "1.0.0", "--values", values, "--timeout", "10s"}, k...)...)
	if code != ExitFailed || !strings.Contains(out, "deployment.apps/istio-system/istiod created") ||
		!strings.Contains(out, "deployment.apps/istio-system/istiod: no controller has observed it yet") ||
		!strings.Contains(stderr, "not ready by the timeout") {
		t.Errorf("mesh install istiod on an API server without a node: exit %d, want %d naming what is not ready\n%s%s", code, ExitFailed, out, stderr)
	}
	if img := kubetest.Kubectl(t, kc, "", "get", "deployment", "istiod", "-n", "istio-system", "-o", "jsonpath={.spec.template.spec.containers[0].image}"); img != "docker.io/istio/pilot:1.28.0" {
		t.Errorf("istiod's image %q, want the values file's docker.io/istio/pilot:1.28.0", img)
	}

	out, stderr, code = designCLI(t, db, "cluster", "status", "--kubeconfig", kc, "-o", "json")
	var status struct {
		Meshes []struct {
			Mesh, Version string
			Healthy       bool
			CRDs          []string
		}
	}
	if err := json.Unmarshal([]byte(out), &status); code != 0 || err != nil {
		t.Fatalf("cluster status: exit %d %v\n%s%s", code, err, out, stderr)
	}
	if len(status.Meshes) != 1 || status.Meshes[0].Mesh != "istio" || status.Meshes[0].Version != "1.28.0" ||
		status.Meshes[0].Healthy || len(status.Meshes[0].CRDs) < 10 {
		t.Errorf("discovery after the charts: %+v, want Istio 1.28.0 with its CRDs, not healthy", status.Meshes)
	}

	for _, name := range []string{"istiod", "istio-base"} {
		out, stderr, code = designCLI(t, db, append([]string{"mesh", "uninstall", name, "--timeout", "60s"}, k...)...)
		if m := regexp.MustCompile(`(?m)^(\d+) of (\d+) removed$`).FindStringSubmatch(out); code != 0 || m == nil || m[1] != m[2] {
			t.Errorf("mesh uninstall %s: exit %d\n%s%s", name, code, out, stderr)
		}
	}
	out, _, _ = designCLI(t, db, "cluster", "status", "--kubeconfig", kc, "-o", "json")
	if err := json.Unmarshal([]byte(out), &status); err != nil || len(status.Meshes) != 0 {
		t.Errorf("discovery after uninstalling: %+v (%v)", status.Meshes, err)
	}
}
