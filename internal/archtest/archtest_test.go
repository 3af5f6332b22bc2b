package archtest

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The module itself: no public package imports an internal one.
func TestPublicPackagesImportNoInternal(t *testing.T) {
	root := filepath.Join("..", "..")
	got, err := InternalImports(root, "github.com/meshperf/meshperf")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range got {
		t.Errorf("%s: a public package may depend on public packages only (move what it needs out of internal/, or the package in)", v)
	}
}

// The checker finds what it must on a small module, and only that: a
// public file importing an internal package, whatever its build
// constraints; not test files, main packages, internal packages, a
// package whose name only begins with "internal", or a nested module.
func TestInternalImportsFinds(t *testing.T) {
	got, err := InternalImports(filepath.Join("testdata", "mod"), "example.com/m")
	if err != nil {
		t.Fatal(err)
	}
	want := []Violation{
		{File: "pub/pub.go", Import: "example.com/m/internal/priv"},
		{File: "pub/pub_linux.go", Import: "example.com/m/internal"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("InternalImports:\n got %v\nwant %v", got, want)
	}
}

// The go tool agrees for the packages the issue names: none of their
// dependencies, as built on this platform, is internal.
func TestGoListDeps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go list needs the go tool: %v", err)
	}
	cmd := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}}", "./store/...", "./loadgen/...", "./spec/...", "./hist/...", "./kube/...")
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/meshperf/meshperf/internal/") {
			t.Errorf("a public package depends on %s", p)
		}
	}
}
