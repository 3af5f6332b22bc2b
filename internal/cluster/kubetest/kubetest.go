// Package kubetest starts a real kube-apiserver (scripts/kube-up.sh) for a
// test binary's tests, once, and stops it when they end. Tests against it
// run when MESHPERF_KUBE_TEST=1 (CI sets it) and then fail, never skip,
// when a tool is missing; MESHPERF_TEST_KUBECONFIG=FILE uses a cluster
// already running instead.
package kubetest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	EnvKubeTest       = "MESHPERF_KUBE_TEST"
	EnvKubeconfigTest = "MESHPERF_TEST_KUBECONFIG"
)

var shared struct {
	once       sync.Once
	kubeconfig string
	dir        string
	err        error
}

// Main runs the tests and stops the API server if one was started.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops the API server if Kubeconfig started one, for packages with
// a TestMain of their own (else kube-up.sh stops it when the test binary
// ends, leaving its directory behind), or for a test that leaves the
// cluster changed: a later Kubeconfig starts a new one.
func Stop() {
	if shared.dir == "" {
		return
	}
	out, err := exec.Command(filepath.Join(RepoRoot(), "scripts", "kube-down.sh"), shared.dir).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "kube-down.sh: %v\n%s", err, out)
	}
	// A later Kubeconfig starts another: tests of one package that each
	// clean up after themselves do not hand a stopped server to the next.
	shared.dir, shared.kubeconfig, shared.err = "", "", nil
	shared.once = sync.Once{}
}

// RepoRoot is the module's root, found from the working directory.
func RepoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			panic("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Kubeconfig returns the kubeconfig of a real API server (contexts
// meshperf-test, an admin, and meshperf-test-noperm, a user without
// roles), starting one on first use; without MESHPERF_KUBE_TEST=1 the
// test is skipped.
func Kubeconfig(t testing.TB) string {
	t.Helper()
	if os.Getenv(EnvKubeTest) != "1" && os.Getenv(EnvKubeconfigTest) == "" {
		t.Skipf("against a real kube-apiserver: set %s=1 (needs go, kubectl, openssl, curl; first build a few minutes)", EnvKubeTest)
	}
	for _, tool := range []string{"kubectl", "go", "openssl", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s=1 but %s is not on PATH: %v", EnvKubeTest, tool, err)
		}
	}
	shared.once.Do(func() {
		if kc := os.Getenv(EnvKubeconfigTest); kc != "" {
			shared.kubeconfig = kc
			return
		}
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(filepath.Join(RepoRoot(), "scripts", "kube-up.sh"))
		cmd.Env = append(os.Environ(), fmt.Sprintf("MESHPERF_KUBE_WATCH_PID=%d", os.Getpid()))
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			shared.err = fmt.Errorf("scripts/kube-up.sh: %v\n%s", err, stderr.String())
			return
		}
		shared.kubeconfig = strings.TrimSpace(stdout.String())
		shared.dir = filepath.Dir(shared.kubeconfig)
		fmt.Fprintf(os.Stderr, "kube test: API server up in %s: %s", time.Since(start).Round(time.Second), stderr.String())
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.kubeconfig
}

// Kubectl runs kubectl against kubeconfig with stdin, failing the test
// when it fails; it returns stdout.
func Kubectl(t testing.TB, kubeconfig, stdin string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}
