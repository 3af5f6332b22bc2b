// Package image builds a container image of a static binary without Docker:
// one layer holding the binary (and /etc/passwd, /etc/group and /tmp for a
// non-root user) on an empty base, written as a tarball that
// `ctr images import`, `docker load`, `skopeo copy` and `crane push` read.
// It uses go-containerregistry. The image is reproducible: the same binary
// and options give the same digest.
package image

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// NonRootUID is the user and group the image runs as (distroless's
// "nonroot"), the one kube's Deployment asks for.
const NonRootUID = 65532

// Formats of the written tarball.
const (
	// FormatOCI is an OCI image layout in a tar (oci-layout, index.json,
	// blobs/sha256/...), the reference in index.json's annotations.
	FormatOCI = "oci"
	// FormatDocker is `docker save`'s format (manifest.json with RepoTags).
	FormatDocker = "docker"
)

// ErrNotStatic is returned for a binary that needs a dynamic loader, which
// an empty base image does not have.
var ErrNotStatic = errors.New("binary is not statically linked")

// Options say what goes into the image.
type Options struct {
	// Binary is the file to pack (a static Linux executable).
	Binary string
	// Path is where it goes in the image and the entrypoint (default
	// /<base name of Binary>).
	Path string
	// Args are the default arguments (the image's Cmd).
	Args []string
	// Ref names the image (repository:tag), kept by import.
	Ref string
	// Labels are the image's labels (org.opencontainers.image.*).
	Labels map[string]string
	// Created is the image's creation time (zero: the Unix epoch, for
	// reproducible digests).
	Created time.Time
	// Format is FormatOCI (default) or FormatDocker.
	Format string
	// Files are more files for the layer, next to the binary (e.g. a
	// second program, certificates).
	Files []File
}

// File is one more file of the image: the host's Src at Path, with Mode
// (0644 when 0; 0755 for an executable is the caller's to say).
type File struct {
	Src, Path string
	Mode      int64
}

// Built describes a written image.
type Built struct {
	Ref    string
	Digest string // the manifest's, sha256:...
	Size   int64  // bytes of the tarball
}

// Build makes the image Options describe.
func Build(o Options) (v1.Image, name.Reference, error) {
	ref, err := name.ParseReference(o.Ref, name.WeakValidation)
	if err != nil {
		return nil, nil, fmt.Errorf("image reference %q: %w", o.Ref, err)
	}
	if err := checkStatic(o.Binary); err != nil {
		return nil, nil, err
	}
	bin, err := os.ReadFile(o.Binary)
	if err != nil {
		return nil, nil, err
	}
	p := o.Path
	if p == "" {
		p = "/" + path.Base(o.Binary)
	}
	extra := make([]extraFile, 0, len(o.Files))
	for _, f := range o.Files {
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || f.Path == p {
			return nil, nil, fmt.Errorf("image file %q: want a clean absolute path other than the binary's", f.Path)
		}
		b, err := os.ReadFile(f.Src)
		if err != nil {
			return nil, nil, err
		}
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		extra = append(extra, extraFile{path: f.Path, mode: mode, data: b})
	}
	files, err := layerTar(p, bin, o.Created, extra...)
	if err != nil {
		return nil, nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(files)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
	if err != nil {
		return nil, nil, fmt.Errorf("layer: %w", err)
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		History:   v1.History{CreatedBy: "meshperf image", Created: v1.Time{Time: o.Created}},
		MediaType: types.OCILayer,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("append layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Created = v1.Time{Time: o.Created}
	cf.Config.Entrypoint = []string{p}
	cf.Config.Cmd = o.Args
	cf.Config.User = fmt.Sprintf("%d:%d", NonRootUID, NonRootUID)
	cf.Config.WorkingDir = "/"
	cf.Config.Env = []string{"PATH=/"}
	cf.Config.Labels = o.Labels
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	return img, ref, nil
}

// Write builds the image and writes it to w in o.Format.
func Write(w io.Writer, o Options) (Built, error) {
	img, ref, err := Build(o)
	if err != nil {
		return Built{}, err
	}
	cw := &countWriter{w: w}
	switch o.Format {
	case "", FormatOCI:
		err = writeOCI(cw, ref, img)
	case FormatDocker:
		err = tarball.Write(ref, img, cw)
	default:
		return Built{}, fmt.Errorf("format %q: want %s or %s", o.Format, FormatOCI, FormatDocker)
	}
	if err != nil {
		return Built{}, fmt.Errorf("write image: %w", err)
	}
	d, err := img.Digest()
	if err != nil {
		return Built{}, err
	}
	return Built{Ref: FullName(ref), Digest: d.String(), Size: cw.n}, nil
}

// checkStatic refuses a binary with an ELF interpreter (dynamically linked)
// or that is not a Linux ELF executable at all.
func checkStatic(file string) error {
	f, err := elf.Open(file)
	if err != nil {
		return fmt.Errorf("%s: not an ELF executable: %w", file, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s: %w (it needs a dynamic loader the empty base lacks): build it with CGO_ENABLED=0", file, ErrNotStatic)
		}
	}
	return nil
}

// layerTar is the layer's files: /etc/passwd and /etc/group naming the
// non-root user, /tmp, and the binary at p, all owned by root, with fixed
// times.
func layerTar(p string, bin []byte, mtime time.Time, extra ...extraFile) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", NonRootUID, NonRootUID)
	group := fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", NonRootUID)
	dirs := map[string]bool{}
	dir := func(d string, mode int64) error {
		if d == "/" || d == "." || dirs[d] {
			return nil
		}
		dirs[d] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d[1:] + "/", Mode: mode, ModTime: mtime, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, b []byte) error {
		for _, d := range parents(name) {
			if err := dir(d, 0o755); err != nil {
				return err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name[1:], Mode: mode, Size: int64(len(b)), ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	if err := dir("/tmp", 0o1777); err != nil {
		return nil, err
	}
	if err := file("/etc/passwd", 0o644, []byte(passwd)); err != nil {
		return nil, err
	}
	if err := file("/etc/group", 0o644, []byte(group)); err != nil {
		return nil, err
	}
	if err := file(p, 0o755, bin); err != nil {
		return nil, err
	}
	for _, f := range extra {
		if err := file(f.path, f.mode, f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type extraFile struct {
	path string
	mode int64
	data []byte
}

// parents lists the directories above p, outermost first.
func parents(p string) []string {
	var out []string
	for d := path.Dir(p); d != "/" && d != "."; d = path.Dir(d) {
		out = append([]string{d}, out...)
	}
	return out
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
