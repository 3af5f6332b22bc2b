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

	"github.com/meshperf/meshperf/internal/cluster/kubetest"
)

// The tests against a real API server run when MESHPERF_KUBE_TEST=1 (CI
// sets it); internal/cluster/kubetest starts it (scripts/kube-up.sh) once
// for the package, and TestMain stops it.
var shared struct {
	binOnce sync.Once
	bin     string
	binDir  string
	binErr  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	kubetest.Stop()
	if shared.binDir != "" {
		os.RemoveAll(shared.binDir)
	}
	os.Exit(code)
}

func repoRoot() string { return kubetest.RepoRoot() }

// kubeCluster returns the kubeconfig of a real API server, starting one on
// first use.
func kubeCluster(t *testing.T) string {
	t.Helper()
	return kubetest.Kubeconfig(t)
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
