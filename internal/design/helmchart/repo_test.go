package helmchart

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/meshperf/meshperf/internal/design"
)

// chartRepo is a real chart repository served on 127.0.0.1: index.yaml
// lists the echo chart packaged from testdata at versions 0.2.0 (an
// absolute URL) and 0.3.1 (a relative one), with their digests.
type chartRepo struct {
	*httptest.Server
	tgz    []byte
	digest string // what the index says for 0.3.1
	index  func(base string) string
	slow   chan struct{} // when set, archive requests wait on it
}

func newChartRepo(t *testing.T) *chartRepo {
	t.Helper()
	tgz, err := Package("testdata/echo", "echo")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(tgz)
	r := &chartRepo{tgz: tgz, digest: hex.EncodeToString(sum[:])}
	r.index = func(base string) string {
		return fmt.Sprintf(`apiVersion: v1
entries:
  echo:
  - apiVersion: v2
    name: echo
    version: 0.3.1
    digest: %s
    urls:
    - charts/echo-0.3.1.tgz
  - apiVersion: v2
    name: echo
    version: 0.2.0
    urls:
    - %s/charts/echo-0.3.1.tgz
  other:
  - name: other
    version: 1.0.0
    urls: [other-1.0.0.tgz]
generated: "2026-12-03T00:00:00Z"
`, r.digest, base)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /repo/index.yaml", func(w http.ResponseWriter, req *http.Request) {
		fmt.Fprint(w, r.index("http://"+req.Host+"/repo"))
	})
	mux.HandleFunc("GET /repo/charts/echo-0.3.1.tgz", func(w http.ResponseWriter, req *http.Request) {
		if r.slow != nil {
			select {
			case <-r.slow:
			case <-req.Context().Done():
				return
			}
		}
		w.Write(r.tgz)
	})
	r.Server = httptest.NewServer(mux)
	t.Cleanup(r.Close)
	return r
}

func TestRenderRepositoryMatchesArchive(t *testing.T) {
	r := newChartRepo(t)
	o := Options{Release: "r1", Namespace: "demo", Values: map[string]any{"replicas": 2}}
	want, _, wantNotes, err := RenderArchive(r.tgz, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, version, wantErr string }{
		{name: "exact, relative URL", version: "0.3.1"},
		{name: "constraint", version: "^0.3"},
		// The index's 0.2.0 names, by an absolute URL, an archive whose
		// Chart.yaml says 0.3.1: fetched, then refused.
		{name: "exact, absolute URL", version: "0.2.0", wantErr: "the archive is echo 0.3.1, the index listed echo 0.2.0"},
		{name: "range", version: ">=0.1 <0.3", wantErr: "the archive is echo 0.3.1, the index listed echo 0.2.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, ref, notes, err := RenderRepository(t.Context(), Fetcher{}, Repository{URL: r.URL + "/repo", Chart: "echo", Version: tc.version}, o)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(rs, want, func(a, b design.Resource) bool { return a.Ref() == b.Ref() && a.Source == b.Source }) || len(rs) != 4 {
				t.Errorf("rendered %v, want what the archive renders, %v", refsOf(rs), refsOf(want))
			}
			if !slices.Equal(notes, wantNotes) {
				t.Errorf("notes %v, want %v", notes, wantNotes)
			}
			if ref.Chart != "echo" || ref.Version != "0.3.1" || ref.Repo != r.URL+"/repo" ||
				ref.From != r.URL+"/repo/charts/echo-0.3.1.tgz" || ref.Digest != "sha256:"+r.digest || ref.Release != "r1" {
				t.Errorf("chart reference %+v", ref)
			}
		})
	}
}

func TestRenderRepositoryWithoutDigest(t *testing.T) {
	r := newChartRepo(t)
	r.index = func(string) string {
		return "apiVersion: v1\nentries:\n  echo:\n  - name: echo\n    version: 0.3.1\n    urls: [charts/echo-0.3.1.tgz]\n"
	}
	_, ref, notes, err := RenderRepository(t.Context(), Fetcher{}, Repository{URL: r.URL + "/repo/", Chart: "echo", Version: "0.3.1"}, Options{Release: "r", Namespace: "n"})
	if err != nil {
		t.Fatal(err)
	}
	if ref.Digest != "sha256:"+r.digest || ref.From != r.URL+"/repo/charts/echo-0.3.1.tgz" {
		t.Errorf("chart reference %+v, want the archive's digest recorded", ref)
	}
	if n := notes[len(notes)-1]; n.Field != "digest" || !strings.Contains(n.Reason, "gives no digest for echo 0.3.1") {
		t.Errorf("notes %v, want one saying the digest was not checked", notes)
	}
}

func TestFetchRefuses(t *testing.T) {
	r := newChartRepo(t)
	repoURL := r.URL + "/repo"
	cases := []struct {
		name  string
		setup func()
		f     Fetcher
		repo  Repository
		want  []string
	}{
		{name: "wrong version", repo: Repository{URL: repoURL, Chart: "echo", Version: "9.9.9"},
			want: []string{`chart echo has no version "9.9.9"`, "available: 0.3.1, 0.2.0"}},
		{name: "constraint nothing meets", repo: Repository{URL: repoURL, Chart: "echo", Version: "^2"},
			want: []string{`no version "^2"`, "available: 0.3.1, 0.2.0"}},
		{name: "unknown chart", repo: Repository{URL: repoURL, Chart: "nope", Version: "1.0.0"},
			want: []string{`no chart "nope" in the index`, "echo, other"}},
		{name: "digest mismatch", setup: func() { r.digest = strings.Repeat("ab", 32) },
			repo: Repository{URL: repoURL, Chart: "echo", Version: "0.3.1"},
			want: []string{"digest mismatch", "the index says " + strings.Repeat("ab", 32)}},
		{name: "index too large", f: Fetcher{MaxIndexBytes: 100}, repo: Repository{URL: repoURL, Chart: "echo", Version: "0.3.1"},
			want: []string{"repository index", "more than 100"}},
		{name: "archive too large", f: Fetcher{MaxArchiveBytes: 100}, repo: Repository{URL: repoURL, Chart: "echo", Version: "0.3.1"},
			want: []string{"chart echo 0.3.1 archive", "more than 100"}},
		{name: "index 404", repo: Repository{URL: r.URL + "/elsewhere", Chart: "echo", Version: "0.3.1"},
			want: []string{"repository index", "/elsewhere/index.yaml", "404 Not Found"}},
		{name: "archive 404", setup: func() {
			r.index = func(string) string {
				return "apiVersion: v1\nentries:\n  echo:\n  - name: echo\n    version: 0.3.1\n    urls: [gone.tgz]\n"
			}
		}, repo: Repository{URL: repoURL, Chart: "echo", Version: "0.3.1"},
			want: []string{"chart echo 0.3.1 archive", "/repo/gone.tgz", "404 Not Found"}},
		{name: "archive URL of another scheme", setup: func() {
			r.index = func(string) string {
				return "apiVersion: v1\nentries:\n  echo:\n  - name: echo\n    version: 0.3.1\n    urls: [file:///etc/passwd]\n"
			}
		}, repo: Repository{URL: repoURL, Chart: "echo", Version: "0.3.1"},
			want: []string{"file:///etc/passwd", "only http and https"}},
		{name: "not an index", setup: func() { r.index = func(string) string { return "<html>hello</html>" } },
			repo: Repository{URL: repoURL, Chart: "echo", Version: "0.3.1"},
			want: []string{"not a chart repository index"}},
		{name: "file URL", repo: Repository{URL: "file:///tmp/repo", Chart: "echo", Version: "0.3.1"},
			want: []string{"only http and https"}},
		{name: "credentials", repo: Repository{URL: "http://u:secret@127.0.0.1:1/repo", Chart: "echo", Version: "0.3.1"},
			want: []string{"credentials in the URL are refused"}},
		{name: "no version", repo: Repository{URL: repoURL, Chart: "echo"}, want: []string{"chart version: required"}},
		{name: "name with a path", repo: Repository{URL: repoURL, Chart: "../echo", Version: "0.3.1"}, want: []string{`chart name "../echo"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			saveDigest, saveIndex := r.digest, r.index
			t.Cleanup(func() { r.digest, r.index = saveDigest, saveIndex })
			if tc.setup != nil {
				tc.setup()
			}
			_, err := tc.f.Fetch(t.Context(), tc.repo)
			if err == nil {
				t.Fatal("fetched, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows the URL's password", err)
			}
		})
	}
}

func TestFetchCancelled(t *testing.T) {
	r := newChartRepo(t)
	r.slow = make(chan struct{})
	defer close(r.slow)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := Fetcher{}.Fetch(ctx, Repository{URL: r.URL + "/repo", Chart: "echo", Version: "0.3.1"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if !strings.Contains(err.Error(), "chart echo 0.3.1 archive") {
		t.Errorf("error %q does not say it was fetching the archive", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("returned after %v", d)
	}
}

func TestFetchTimeout(t *testing.T) {
	r := newChartRepo(t)
	r.slow = make(chan struct{})
	defer close(r.slow)
	_, err := Fetcher{Timeout: 200 * time.Millisecond}.Fetch(t.Context(), Repository{URL: r.URL + "/repo", Chart: "echo", Version: "0.3.1"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want the fetch timeout", err)
	}
}

func TestFetchRefusesSchemeChangingRedirect(t *testing.T) {
	tls := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(tls.Close)
	plain := httptest.NewServer(http.RedirectHandler(tls.URL+"/index.yaml", http.StatusFound))
	t.Cleanup(plain.Close)
	_, err := Fetcher{Client: tls.Client()}.Fetch(t.Context(), Repository{URL: plain.URL, Chart: "echo", Version: "0.3.1"})
	if err == nil || !strings.Contains(err.Error(), "redirect from http to https refused") {
		t.Fatalf("err %v, want the redirect refused", err)
	}
}

func refsOf(rs []design.Resource) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Ref())
	}
	return out
}

func TestPickListsEveryVersion(t *testing.T) {
	idx := index{Entries: map[string][]*chartVersion{"c": {{Version: "1.0.0"}, nil, {Version: "nightly"}, {Version: "1.10.0"}, {Version: "1.2.0"}}}}
	for _, tc := range []struct{ version, want string }{
		{"nightly", "nightly"},
		{"1.2.0", "1.2.0"},
		{"~1.2", "1.2.0"},
		{"1.x", "1.10.0"},
		{">1.0.0 <1.5", "1.2.0"},
	} {
		t.Run(tc.version, func(t *testing.T) {
			got, err := pick(idx, "c", tc.version)
			if err != nil || got.Version != tc.want {
				t.Fatalf("pick %q: %v, %v; want %s", tc.version, got, err, tc.want)
			}
		})
	}
	_, err := pick(idx, "c", "2.0.0")
	if err == nil || !strings.Contains(err.Error(), "(available: 1.10.0, 1.2.0, 1.0.0, nightly)") {
		t.Errorf("err %v, want every version listed, newest first", err)
	}
	_, err = pick(idx, "c", "^^1")
	if err == nil || !strings.Contains(err.Error(), "not a version nor a semver constraint") {
		t.Errorf("err %v, want the constraint refused", err)
	}
}

// FuzzIndex: any index.yaml a repository serves, and any version asked
// for, gives a version or an error, never a panic.
func FuzzIndex(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nentries:\n  echo:\n  - name: echo\n    version: 0.3.1\n    urls: [a.tgz]\n"), "^0.3")
	f.Add([]byte("entries: {echo: [null, {version: x}]}"), "1.x")
	f.Add([]byte("{}"), "")
	f.Fuzz(func(t *testing.T, b []byte, version string) {
		var idx index
		if yaml.Unmarshal(b, &idx) != nil {
			return
		}
		if cv, err := pick(idx, "echo", version); err == nil && cv == nil {
			t.Fatal("no version and no error")
		}
	})
}
