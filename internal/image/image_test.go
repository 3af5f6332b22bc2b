package image

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// staticBinary builds a tiny static Go program once per test.
func staticBinary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() { println(\"hello\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module hello\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-o", "hello", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return filepath.Join(dir, "hello")
}

// untar reads a tar stream into a map of file name to contents.
func untar(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = data
	}
}

func TestWriteOCI(t *testing.T) {
	bin := staticBinary(t)
	o := Options{Binary: bin, Path: "/bin/hello", Args: []string{"--x"}, Ref: "example.com/team/hello:v1",
		Labels: map[string]string{"org.opencontainers.image.title": "hello"}}
	var buf bytes.Buffer
	built, err := Write(&buf, o)
	if err != nil {
		t.Fatal(err)
	}
	if built.Ref != "example.com/team/hello:v1" || !strings.HasPrefix(built.Digest, "sha256:") || built.Size != int64(buf.Len()) {
		t.Errorf("built %+v (tarball %d bytes)", built, buf.Len())
	}
	files := untar(t, buf.Bytes())
	if string(files["oci-layout"]) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout %q", files["oci-layout"])
	}
	var index v1.IndexManifest
	if err := json.Unmarshal(files["index.json"], &index); err != nil {
		t.Fatal(err)
	}
	if len(index.Manifests) != 1 {
		t.Fatalf("index %+v", index)
	}
	d := index.Manifests[0]
	if d.Digest.String() != built.Digest || d.Annotations[annotationContainerdName] != "example.com/team/hello:v1" || d.Annotations[annotationRefName] != "v1" {
		t.Errorf("index descriptor %+v, want digest %s and the name annotations", d, built.Digest)
	}
	// Every blob is there under its digest, the manifest naming config and layer.
	manifest, err := v1.ParseManifest(bytes.NewReader(files["blobs/sha256/"+d.Digest.Hex]))
	if err != nil {
		t.Fatal(err)
	}
	var cfg v1.ConfigFile
	if err := json.Unmarshal(files["blobs/sha256/"+manifest.Config.Digest.Hex], &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Config.User != "65532:65532" || len(cfg.Config.Entrypoint) != 1 || cfg.Config.Entrypoint[0] != "/bin/hello" ||
		len(cfg.Config.Cmd) != 1 || cfg.Config.Cmd[0] != "--x" || cfg.Config.Labels["org.opencontainers.image.title"] != "hello" || cfg.OS != "linux" {
		t.Errorf("config %+v", cfg.Config)
	}
	if len(manifest.Layers) != 1 {
		t.Fatalf("layers %+v", manifest.Layers)
	}
	layerBlob, ok := files["blobs/sha256/"+manifest.Layers[0].Digest.Hex]
	if !ok {
		t.Fatal("layer blob missing")
	}
	l, err := tarball.LayerFromReader(bytes.NewReader(layerBlob))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	content, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	layer := untar(t, content)
	want, _ := os.ReadFile(bin)
	if !bytes.Equal(layer["bin/hello"], want) || !strings.Contains(string(layer["etc/passwd"]), "nonroot:x:65532:65532") {
		t.Errorf("layer files: %v", keys(layer))
	}

	// Reproducible: the same binary and options, the same digest.
	var again bytes.Buffer
	built2, err := Write(&again, o)
	if err != nil || built2.Digest != built.Digest || !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Errorf("second build %+v (%v), want digest %s and the same bytes", built2, err, built.Digest)
	}
}

func TestWriteDocker(t *testing.T) {
	bin := staticBinary(t)
	var buf bytes.Buffer
	built, err := Write(&buf, Options{Binary: bin, Ref: "hello:dev", Format: FormatDocker})
	if err != nil {
		t.Fatal(err)
	}
	if built.Ref != "docker.io/library/hello:dev" {
		t.Errorf("ref %q", built.Ref)
	}
	var manifest []struct{ RepoTags []string }
	if err := json.Unmarshal(untar(t, buf.Bytes())["manifest.json"], &manifest); err != nil {
		t.Fatal(err)
	}
	if len(manifest) != 1 || len(manifest[0].RepoTags) != 1 || manifest[0].RepoTags[0] != "hello:dev" {
		t.Errorf("manifest.json %+v", manifest)
	}
	img, err := tarball.Image(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil || cf.Config.Entrypoint[0] != "/hello" {
		t.Errorf("config %+v %v", cf, err)
	}
}

func TestWriteRefuses(t *testing.T) {
	bin := staticBinary(t)
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"dynamic binary", Options{Binary: "/bin/sh", Ref: "x:1"}, "not statically linked"},
		{"not ELF", Options{Binary: "image_test.go", Ref: "x:1"}, "not an ELF executable"},
		{"bad reference", Options{Binary: bin, Ref: "Bad Ref"}, "image reference"},
		{"bad format", Options{Binary: bin, Ref: "x:1", Format: "zip"}, "format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Write(io.Discard, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
			if tc.name == "dynamic binary" && !errors.Is(err, ErrNotStatic) {
				t.Errorf("error %v is not ErrNotStatic", err)
			}
		})
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestWriteFiles: more files land in the layer at their paths and modes
// (the conformance suite's echo image: a second program and its
// certificates); a relative path or the binary's own is refused.
func TestWriteFiles(t *testing.T) {
	bin := staticBinary(t)
	crt := filepath.Join(t.TempDir(), "cert.crt")
	if err := os.WriteFile(crt, []byte("CERT"), 0o600); err != nil {
		t.Fatal(err)
	}
	img, _, err := Build(Options{Binary: bin, Path: "/server", Ref: "echo:1", Files: []File{
		{Src: bin, Path: "/client", Mode: 0o755}, {Src: crt, Path: "/etc/certs/cert.crt"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers %d, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	modes := map[string]int64{}
	contents := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		modes[h.Name] = h.Mode
		b, _ := io.ReadAll(tr)
		contents[h.Name] = string(b)
	}
	for name, want := range map[string]int64{"server": 0o755, "client": 0o755, "etc/certs/": 0o755, "etc/certs/cert.crt": 0o644} {
		if got, ok := modes[name]; !ok || got != want {
			t.Errorf("%s: mode %o (present %v), want %o", name, got, ok, want)
		}
	}
	if contents["etc/certs/cert.crt"] != "CERT" || contents["client"] != contents["server"] {
		t.Errorf("file contents differ from their sources")
	}
	for _, bad := range []string{"client", "/server", "/a/../b"} {
		if _, _, err := Build(Options{Binary: bin, Path: "/server", Ref: "echo:1", Files: []File{{Src: crt, Path: bad}}}); err == nil {
			t.Errorf("path %q accepted", bad)
		}
	}
}
