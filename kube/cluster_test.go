package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests against a real API server run when MESHPERF_KUBE_TEST=1 (CI
// sets it). They then fail, never skip, when something they need is
// missing. scripts/kube-up.sh starts etcd and kube-apiserver (building them
// from test/kube the first time, a few minutes), once for the package;
// TestMain stops them. MESHPERF_TEST_KUBECONFIG=FILE uses a cluster already
// running instead (e.g. one kube-up.sh started by hand).
const (
	envKubeTest       = "MESHPERF_KUBE_TEST"
	envKubeconfigTest = "MESHPERF_TEST_KUBECONFIG"
)

var shared struct {
	once       sync.Once
	kubeconfig string
	dir        string // to stop, when we started it
	err        error

	binOnce sync.Once
	bin     string
	binDir  string
	binErr  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.dir != "" {
		out, err := exec.Command(filepath.Join(repoRoot(), "scripts", "kube-down.sh"), shared.dir).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "kube-down.sh: %v\n%s", err, out)
		}
	}
	if shared.binDir != "" {
		os.RemoveAll(shared.binDir)
	}
	os.Exit(code)
}

func repoRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Dir(wd) // the package is kube/, one level down
}

// kubeCluster returns the kubeconfig of a real API server, starting one on
// first use; without MESHPERF_KUBE_TEST=1 the test is skipped.
func kubeCluster(t *testing.T) string {
	t.Helper()
	if os.Getenv(envKubeTest) != "1" && os.Getenv(envKubeconfigTest) == "" {
		t.Skipf("against a real kube-apiserver: set %s=1 (needs go, kubectl, openssl, curl; first build a few minutes)", envKubeTest)
	}
	for _, tool := range []string{"kubectl", "go", "openssl", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s=1 but %s is not on PATH: %v", envKubeTest, tool, err)
		}
	}
	shared.once.Do(func() {
		if kc := os.Getenv(envKubeconfigTest); kc != "" {
			shared.kubeconfig = kc
			return
		}
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(filepath.Join(repoRoot(), "scripts", "kube-up.sh"))
		// Should the test binary die before TestMain's clean-up (a
		// timeout), the cluster stops with it.
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

// meshperfBin builds the meshperf binary once for the package's tests.
func meshperfBin(t *testing.T) string {
	t.Helper()
	shared.binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "meshperf-kube-bin")
		if err != nil {
			shared.binErr = err
			return
		}
		shared.binDir = dir
		bin := filepath.Join(dir, "meshperf")
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/meshperf")
		cmd.Dir = repoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			shared.binErr = fmt.Errorf("go build ./cmd/meshperf: %v\n%s", err, out)
			return
		}
		shared.bin = bin
	})
	if shared.binErr != nil {
		t.Fatal(shared.binErr)
	}
	return shared.bin
}

// result is what a command did.
type result struct {
	stdout, stderr string
	code           int
}

// run runs name with args (and stdin, if not empty), with env added to a
// clean environment, and waits at most two minutes.
func run(t *testing.T, env []string, stdin, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return r
}

// mustRun is run that fails the test unless the command succeeds.
func mustRun(t *testing.T, env []string, stdin, name string, args ...string) string {
	t.Helper()
	r := run(t, env, stdin, name, args...)
	if r.code != 0 {
		t.Fatalf("%s %s: exit %d\nstdout:\n%s\nstderr:\n%s", filepath.Base(name), strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}
