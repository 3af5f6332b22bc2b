package cli_test

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoConformanceBuild: meshperf built with -tags noconformance links no
// suite; its conformance command says so and fails (exit 3), and the rest
// of the CLI is there. It builds a second binary (about a minute).
func TestNoConformanceBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds meshperf with -tags noconformance (about a minute)")
	}
	bin := filepath.Join(t.TempDir(), "meshperf-noconformance")
	if out, err := exec.Command("go", "build", "-tags", "noconformance", "-o", bin, "../../cmd/meshperf").CombinedOutput(); err != nil {
		t.Fatalf("go build -tags noconformance: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "conformance", "run", "--profile", "MESH-HTTP").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(string(out), "built with -tags noconformance") {
		t.Errorf("conformance run: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "version").CombinedOutput(); err != nil {
		t.Errorf("version: %v\n%s", err, out)
	}
	if out, _ := exec.Command("go", "list", "-deps", "-tags", "noconformance", "../../cmd/meshperf").Output(); strings.Contains(string(out), "sigs.k8s.io/gateway-api/conformance\n") {
		t.Error("the noconformance build still imports the suite")
	}
}
