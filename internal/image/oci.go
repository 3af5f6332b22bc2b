package image

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotations naming the image in an OCI layout's index: the standard one
// holds the tag, containerd's the full reference (ctr images import uses it).
const (
	annotationRefName        = "org.opencontainers.image.ref.name"
	annotationContainerdName = "io.containerd.image.name"
)

// writeOCI writes img as an OCI image layout in a tar stream: oci-layout,
// index.json naming the image, and its blobs (layers, config, manifest).
func writeOCI(w io.Writer, ref name.Reference, img v1.Image) error {
	tw := tar.NewWriter(w)
	add := func(path string, size int64, r io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: path, Mode: 0o644, Size: size, ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
		n, err := io.Copy(tw, r)
		if err == nil && n != size {
			err = fmt.Errorf("%s: wrote %d bytes of %d", path, n, size)
		}
		return err
	}
	addBytes := func(path string, b []byte) error {
		return add(path, int64(len(b)), bytes.NewReader(b))
	}
	if err := addBytes("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return err
		}
		size, err := l.Size()
		if err != nil {
			return err
		}
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		err = add("blobs/sha256/"+d.Hex, size, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		return err
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	if err := addBytes("blobs/sha256/"+cfgName.Hex, cfg); err != nil {
		return err
	}
	manifest, err := img.RawManifest()
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	if err := addBytes("blobs/sha256/"+digest.Hex, manifest); err != nil {
		return err
	}
	tag := "latest"
	if t, ok := ref.(name.Tag); ok {
		tag = t.TagStr()
	}
	index := v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests: []v1.Descriptor{{
			MediaType: types.OCIManifestSchema1,
			Size:      int64(len(manifest)),
			Digest:    digest,
			Annotations: map[string]string{
				annotationRefName:        tag,
				annotationContainerdName: FullName(ref),
			},
		}},
	}
	ib, err := json.Marshal(index)
	if err != nil {
		return err
	}
	if err := addBytes("index.json", ib); err != nil {
		return err
	}
	return tw.Close()
}

// FullName is ref as containerd and the kubelet name it: the registry
// always written, Docker Hub as docker.io (its library/ prefix included),
// a tag (latest if none) or a digest.
func FullName(ref name.Reference) string {
	reg := ref.Context().RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	full := reg + "/" + ref.Context().RepositoryStr()
	if d, ok := ref.(name.Digest); ok {
		return full + "@" + d.DigestStr()
	}
	tag := "latest"
	if t, ok := ref.(name.Tag); ok {
		tag = t.TagStr()
	}
	return full + ":" + tag
}
