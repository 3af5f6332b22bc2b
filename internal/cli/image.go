package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meshperf/meshperf/internal/image"
	"github.com/meshperf/meshperf/kube"
)

// imageFlags are the flags of meshperf image, as typed.
type imageFlags struct {
	out, binary, ref, path, format string
	labels                         map[string]string
	args, files                    []string
}

func newImageCmd(stdio IO) *cobra.Command {
	var f imageFlags
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Write a container image of meshperf (no Docker needed) as a tarball",
		Long: `meshperf image writes a container image of this meshperf binary (or of
--binary, any static Linux executable): the binary alone on an empty base, run
as the non-root user 65532, with OCI labels. The image is reproducible: the
same binary gives the same digest.

The tarball is an OCI image layout (--format oci, the default) or docker
save's format (--format docker); both name the image --tag, which is kept on
import. Load or push it with any of:

  ctr -n k8s.io images import meshperf.tar          (containerd, e.g. a kind node)
  skopeo copy oci-archive:meshperf.tar docker://REGISTRY/meshperf:TAG
  crane push meshperf.tar REGISTRY/meshperf:TAG     (with --format docker)
  docker load -i meshperf.tar                       (with --format docker)

The binary must be statically linked (the base has no libc): build meshperf
with CGO_ENABLED=0, as make image does. The default tag is the one
meshperf agent manifest and deploy use unless given --image.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runImage(stdio, f)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&f.out, "out", "o", "", "file to write (required; - for standard output)")
	fs.StringVar(&f.binary, "binary", "", "static executable to pack (default: this meshperf)")
	fs.StringVarP(&f.ref, "tag", "t", "", "image reference (default "+kube.DefaultImage(Version)+", or the binary's name:latest with --binary)")
	fs.StringVar(&f.path, "path", "", "where the binary goes in the image, also the entrypoint (default /<its file name>)")
	fs.StringSliceVar(&f.args, "arg", nil, "default argument (the image's Cmd), repeatable")
	fs.StringVar(&f.format, "format", image.FormatOCI, "tarball format: oci or docker")
	fs.StringToStringVar(&f.labels, "label", nil, "extra image labels, k=v,...")
	fs.StringArrayVar(&f.files, "file", nil, "another file for the image, SRC:PATH (mode 0755 when SRC is executable, else 0644), repeatable")
	return cmd
}

func runImage(stdio IO, f imageFlags) error {
	if f.out == "" {
		return usageErrorf("--out is required (a file, or - for standard output)")
	}
	if f.format != image.FormatOCI && f.format != image.FormatDocker {
		return usageErrorf("--format %q: want oci or docker", f.format)
	}
	labels := map[string]string{}
	o := image.Options{Binary: f.binary, Path: f.path, Args: f.args, Ref: f.ref, Format: f.format, Labels: labels}
	if o.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find this binary: %w", err)
		}
		o.Binary = exe
		if o.Path == "" {
			o.Path = "/meshperf"
		}
		if o.Ref == "" {
			o.Ref = kube.DefaultImage(Version)
		}
		labels["org.opencontainers.image.title"] = "meshperf"
		labels["org.opencontainers.image.description"] = "meshperf, a service-mesh performance tool"
		labels["org.opencontainers.image.version"] = Version
		labels["org.opencontainers.image.source"] = "https://github.com/meshperf/meshperf"
	}
	if o.Ref == "" {
		return usageErrorf("--tag is required with --binary")
	}
	for _, spec := range f.files {
		src, dst, ok := strings.Cut(spec, ":")
		if !ok || src == "" || dst == "" {
			return usageErrorf("--file %q: want SRC:PATH", spec)
		}
		st, err := os.Stat(src)
		if err != nil {
			return usageErrorf("--file: %v", err)
		}
		mode := int64(0o644)
		if st.Mode()&0o111 != 0 {
			mode = 0o755
		}
		o.Files = append(o.Files, image.File{Src: src, Path: dst, Mode: mode})
	}
	for k, v := range f.labels {
		labels[k] = v
	}
	var w io.Writer = stdio.Out
	var file *os.File
	if f.out != "-" {
		var err error
		if file, err = os.Create(f.out); err != nil {
			return usageErrorf("--out: %v", err)
		}
		w = file
	}
	built, err := image.Write(w, o)
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(f.out)
		}
	}
	if errors.Is(err, image.ErrNotStatic) {
		return &UsageError{Err: err}
	}
	if err != nil {
		return err
	}
	dest := f.out
	if dest == "-" {
		dest = "standard output"
	}
	fmt.Fprintf(stdio.Err, "wrote image %s (%s, %.1f MB, %s) to %s\n", built.Ref, built.Digest, float64(built.Size)/1e6, f.format, dest)
	return nil
}
