package conformance

import (
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshperf/meshperf/internal/cluster/kubetest"
	"github.com/meshperf/meshperf/internal/kubenode"
)

// The test binary doubles as the suite's child process: with
// envChild set it is what "meshperf conformance suite" is, and with
// envFake it runs a small made-up suite whose output the parser tests
// read (real testing output: pass, fail through require, skip, parallel
// tests, a subtest, a setup log).
const (
	envChild = "MESHPERF_CONFORMANCE_TEST_CHILD"
	envFake  = "MESHPERF_CONFORMANCE_TEST_FAKE"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(envChild); path != "" {
		SuiteMain(path)
		return
	}
	if os.Getenv(envFake) != "" {
		fakeSuite()
		return
	}
	code := m.Run()
	kubetest.Stop()
	kubenode.Stop()
	os.Exit(code)
}

func fakeSuite() {
	os.Args = []string{os.Args[0], "-test.v=test2json", "-test.run=^" + suiteTestName + "$"}
	match := func(pat, str string) (bool, error) { return regexp.MatchString(pat, str) }
	testing.Main(match, []testing.InternalTest{{Name: suiteTestName, F: func(t *testing.T) {
		t.Log("2026-12-03T12:57:03.775845783Z: Test Setup: Applying base manifests")
		t.Run("MeshBasic", func(t *testing.T) {
			t.Log("--- FAIL: a test's own line that looks like a frame")
		})
		t.Run("MeshHTTPRouteMatching", func(t *testing.T) {
			t.Parallel()
			time.Sleep(20 * time.Millisecond)
			t.Log("sending request")
			require.NoErrorf(t, os.ErrDeadlineExceeded, "expected response %d never came", 200)
		})
		t.Run("MeshHTTPRouteRewritePath", func(t *testing.T) {
			t.Parallel()
			t.Skip("Skipping MeshHTTPRouteRewritePath: suite does not support MeshHTTPRouteRewritePath")
		})
		t.Run("HTTPRouteMultipleGateways", func(t *testing.T) {
			// As the suite's tests nest: the reason is the innermost
			// failure, not what its parent logged after it.
			t.Run("parents", func(t *testing.T) {
				t.Run("request", func(t *testing.T) {
					t.Errorf("expected pod name to start with infra-backend-v3, got infra-backend-v2")
				})
				t.Log("Parents matched expectations")
			})
		})
		t.Run("MeshTrafficSplit", func(t *testing.T) {
			t.Run("weights", func(t *testing.T) {
				t.Errorf("weights off: got 80/20, want 50/50\nsecond line")
			})
		})
	}}}, nil, nil)
}
