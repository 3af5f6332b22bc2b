package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshperf/meshperf/internal/design/helmchart"
)

// TestDesignImportFromRepository imports a chart by name and version from
// a real chart repository served on 127.0.0.1 (index.yaml and the echo
// test chart packaged), as users call the CLI: the design holds what
// importing the packaged chart itself gives, and records where it came
// from; bad versions and a repository that does not answer are errors
// naming what was wrong.
func TestDesignImportFromRepository(t *testing.T) {
	tgz, err := helmchart.Package(repoFile("internal", "design", "helmchart", "testdata", "echo"), "echo")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(tgz)
	digest := hex.EncodeToString(sum[:])
	mux := http.NewServeMux()
	mux.HandleFunc("GET /charts/index.yaml", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "apiVersion: v1\nentries:\n  echo:\n  - name: echo\n    version: 0.3.1\n    digest: %s\n    urls: [echo-0.3.1.tgz]\n", digest)
	})
	mux.HandleFunc("GET /charts/echo-0.3.1.tgz", func(w http.ResponseWriter, _ *http.Request) { w.Write(tgz) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	repo := srv.URL + "/charts"

	db := filepath.Join(t.TempDir(), "m.db")
	local := filepath.Join(t.TempDir(), "echo-0.3.1.tgz")
	if err := os.WriteFile(local, tgz, 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := designCLI(t, db, "design", "import", "local", "--chart", local, "--release", "e", "-n", "demo", "--version", "0.3.1")
	if code != 0 || !strings.Contains(out, "4 resources (4 from charts)") {
		t.Fatalf("import of the packaged chart: exit %d\n%s%s", code, out, stderr)
	}
	out, stderr, code = designCLI(t, db, "design", "import", "fetched", "--chart", "echo", "--repo", repo, "--version", "^0.3", "--release", "e", "-n", "demo")
	if code != 0 || !strings.Contains(out, "design fetched revision 1: 4 resources (4 from charts)") || !strings.Contains(out, "a test hook") {
		t.Fatalf("import --chart echo --repo: exit %d\n%s%s", code, out, stderr)
	}
	want, _, _ := designCLI(t, db, "design", "export", "local")
	got, _, _ := designCLI(t, db, "design", "export", "fetched")
	if got != want || !strings.Contains(got, "kind: Deployment") {
		t.Errorf("the chart fetched exports\n%s\nnot what the packaged chart does\n%s", got, want)
	}
	out, _, code = designCLI(t, db, "design", "show", "fetched")
	if wantShow := "chart: release e: echo 0.3.1 from " + repo + "/echo-0.3.1.tgz (repository " + repo + ") sha256:" + digest; code != 0 || !strings.Contains(out, wantShow) {
		t.Errorf("show lacks %q (exit %d):\n%s", wantShow, code, out)
	}

	// A port nothing listens on: the repository does not answer.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deaf := "http://" + l.Addr().String()
	l.Close()
	for _, tc := range []struct {
		args     []string
		wantCode int
		want     []string
	}{
		{[]string{"design", "import", "x", "--chart", "echo", "--repo", repo, "--version", "1.0.0"}, ExitUsage,
			[]string{`chart echo has no version "1.0.0" (available: 0.3.1)`}},
		{[]string{"design", "import", "x", "--chart", "echo", "--repo", repo}, ExitUsage, []string{"--version V is required"}},
		{[]string{"design", "import", "x", "--chart", "echo", "--repo", srv.URL + "/nowhere", "--version", "0.3.1"}, ExitUsage,
			[]string{"/nowhere/index.yaml: 404 Not Found"}},
		{[]string{"design", "import", "x", "--chart", "echo", "--repo", "file:///etc", "--version", "0.3.1"}, ExitUsage, []string{"only http and https"}},
		{[]string{"design", "import", "x", "--chart", local, "--version", "0.2.0"}, ExitUsage, []string{"is echo version 0.3.1, not --version 0.2.0"}},
		{[]string{"design", "import", "x", "--sample", "--version", "0.2.0"}, ExitUsage, []string{"go with --chart"}},
		{[]string{"design", "import", "x", "--chart", "echo", "--repo", deaf, "--version", "0.3.1"}, ExitFailed, []string{"repository index", "connection refused"}},
		// mesh install fetches the same way; the design is stored before the
		// cluster is reached (here a kubeconfig that does not exist).
		{[]string{"mesh", "install", "demo", "--chart", "echo", "--repo", repo, "--version", "~0.3.0", "--kubeconfig", filepath.Join(t.TempDir(), "none")}, -1,
			[]string{"none"}},
	} {
		out, stderr, code := designCLI(t, db, tc.args...)
		if (tc.wantCode >= 0 && code != tc.wantCode) || (tc.wantCode < 0 && code == 0) {
			t.Errorf("%v: exit %d, want %d\n%s%s", tc.args, code, tc.wantCode, out, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: stderr %q does not say %q", tc.args, stderr, w)
			}
		}
	}
	out, _, code = designCLI(t, db, "design", "show", "mesh-demo")
	if code != 0 || !strings.Contains(out, "chart: release demo: echo 0.3.1 from "+repo+"/echo-0.3.1.tgz") || !strings.Contains(out, "version=0.3.1") {
		t.Errorf("mesh install --repo did not store the fetched chart (exit %d):\n%s", code, out)
	}
}
