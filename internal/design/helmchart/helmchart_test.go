package helmchart

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/meshperf/meshperf/internal/design"
)

func TestRenderDirectory(t *testing.T) {
	rs, ref, notes, err := Render(Options{Path: "testdata/echo", Release: "r1", Namespace: "demo",
		Values: map[string]any{"replicas": 3}, Repo: "https://charts.example/echo"})
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, r := range rs {
		refs = append(refs, r.Ref())
	}
	want := []string{"customresourcedefinition.apiextensions.k8s.io/widgets.example.meshperf.dev",
		"deployment.apps/demo/r1-echo", "service/demo/r1-echo", "widget.example.meshperf.dev/demo/r1-echo"}
	if !slices.Equal(refs, want) {
		t.Fatalf("rendered %q, want %q", refs, want)
	}
	if got := design.Get(rs[1].Object, "spec", "replicas"); got != float64(3) {
		t.Errorf("replicas %v, want the value given, 3", got)
	}
	if ref.Chart != "echo" || ref.Version != "0.3.1" || ref.Release != "r1" || ref.Repo != "https://charts.example/echo" {
		t.Errorf("chart reference %+v", ref)
	}
	if len(notes) != 1 || !strings.Contains(notes[0].Reason, "test hook") || !strings.Contains(notes[0].Source, "templates/test.yaml") {
		t.Errorf("notes %v, want one saying the test hook is not applied", notes)
	}
	// The design orders the CRD before its custom resource, and the graph
	// links the Service to the Deployment.
	order := design.ApplyOrder(rs)
	if order[0].Kind() != "CustomResourceDefinition" || order[len(order)-1].Kind() != "Widget" {
		t.Errorf("apply order %v", order)
	}
	g := design.BuildGraph(rs, "demo")
	if !slices.Contains(g.Edges, design.Edge{From: "service/demo/r1-echo", To: "deployment.apps/demo/r1-echo", Why: "selects its pods"}) {
		t.Errorf("graph edges %v", g.Edges)
	}
}

func TestRenderPackage(t *testing.T) {
	tgz := filepath.Join(t.TempDir(), "echo-0.3.1.tgz")
	pack(t, "testdata/echo", "echo", tgz)
	rs, ref, _, err := Render(Options{Path: tgz, Release: "p", Namespace: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 4 || ref.Version != "0.3.1" {
		t.Errorf("packaged chart rendered %d resources (chart %+v), want 4", len(rs), ref)
	}
}

func TestRenderFails(t *testing.T) {
	_, _, _, err := Render(Options{Path: "testdata/broken", Release: "b", Namespace: "x"})
	if err == nil || !strings.Contains(err.Error(), "values.mustSet is required") || !strings.Contains(err.Error(), "broken/templates/cm.yaml") {
		t.Errorf("err %v, want the template's error naming the file", err)
	}
	_, _, _, err = Render(Options{Path: "testdata/broken", Release: "b", Namespace: "x", Values: map[string]any{"mustSet": "v"}})
	if err == nil || !strings.Contains(err.Error(), "nil pointer evaluating") && !strings.Contains(err.Error(), "missing") {
		t.Errorf("err %v, want the template's error on .Values.nested.missing", err)
	}
	_, _, _, err = Render(Options{Path: "testdata/nope", Release: "b"})
	if err == nil || !strings.Contains(err.Error(), "testdata/nope") {
		t.Errorf("err %v for a missing chart", err)
	}
}

// TestRenderRefusesLinks: a chart directory with a link (to a file
// outside it) is refused before Helm reads it.
func TestRenderRefusesLinks(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata/echo")); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(dir, "files.txt")); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := Render(Options{Path: dir, Release: "r"})
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("err %v, want the link refused", err)
	}
}

func TestReadValues(t *testing.T) {
	p := filepath.Join(t.TempDir(), "v.yaml")
	if err := os.WriteFile(p, []byte("a: {b: 2}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := ReadValues(p)
	if err != nil || design.Get(v, "a", "b") != float64(2) {
		t.Errorf("ReadValues = %v, %v", v, err)
	}
	if err := os.WriteFile(p, []byte("a: ["), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadValues(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("ReadValues of bad YAML: %v", err)
	}
}

// pack writes dir as a packaged chart whose top directory is name.
func pack(t *testing.T, dir, name, out string) {
	t.Helper()
	b, err := Package(dir, name)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRenderArchive: a packaged chart given as bytes renders as the
// directory does; what is not a chart archive, or decompresses past the
// limits, is refused before Helm's loader reads it.
func TestRenderArchive(t *testing.T) {
	tgz, err := Package("testdata/echo", "echo")
	if err != nil {
		t.Fatal(err)
	}
	rs, ref, _, err := RenderArchive(tgz, Options{Path: "echo.tgz", Release: "a", Namespace: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 4 || ref.Chart != "echo" || ref.From != "echo.tgz" {
		t.Errorf("rendered %d resources, chart %+v; want 4 from echo.tgz", len(rs), ref)
	}
	tarOf := func(files map[string]int) []byte {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		for name, size := range files {
			if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(size), Typeflag: tar.TypeReg}); err != nil {
				t.Fatal(err)
			}
			if _, err := tw.Write(make([]byte, size)); err != nil {
				t.Fatal(err)
			}
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := gz.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	many := map[string]int{}
	for i := range MaxChartFiles + 1 {
		many[fmt.Sprintf("c/f%d", i)] = 0
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"not gzip", []byte("apiVersion: v2"), "not a packaged chart"},
		{"a zip bomb", tarOf(map[string]int{"c/Chart.yaml": MaxChartBytes + 1}), "decompressed"},
		{"too many files", tarOf(many), "files"},
		{"not a chart inside", tarOf(map[string]int{"c/values.yaml": 3}), "values.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := RenderArchive(tc.data, Options{Path: "in.tgz", Release: "r"})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "in.tgz") {
				t.Errorf("err %v, want one naming in.tgz and saying %q", err, tc.want)
			}
		})
	}
}

// FuzzCheckArchive: whatever bytes an API caller sends as a chart, the
// check before Helm's loader ends without panicking, and what it admits
// is within the limits when decompressed.
func FuzzCheckArchive(f *testing.F) {
	tgz, err := Package("testdata/echo", "echo")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tgz)
	f.Add([]byte{0x1f, 0x8b})
	f.Add([]byte("not a chart"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if checkArchive(data) != nil {
			return
		}
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("admitted what is not gzip: %v", err)
		}
		tr := tar.NewReader(zr)
		var total int64
		for files := 0; ; files++ {
			h, err := tr.Next()
			if err != nil {
				break
			}
			total += h.Size
			if files > MaxChartFiles {
				t.Fatalf("admitted more than %d files", MaxChartFiles)
			}
		}
		if total > MaxChartBytes {
			t.Fatalf("admitted %d bytes decompressed", total)
		}
	})
}
