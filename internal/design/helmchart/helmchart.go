// Package helmchart renders a Helm chart (a chart directory or a packaged
// .tgz) into a design's resources with Helm's own Go library, as `helm
// template` would: the chart's crds/ first, then its templates, with the
// release name, namespace and values given. Nothing talks to a cluster
// (lookup returns nothing) and nothing is fetched: a chart from a
// repository is pulled by the user first (helm pull REPO/NAME --version V).
package helmchart

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	"sigs.k8s.io/yaml"

	"github.com/meshperf/meshperf/internal/design"
)

// Limits on what a chart may be.
const (
	MaxChartBytes  = 32 << 20 // a packaged chart, or a directory's files together
	MaxChartFiles  = 5000
	MaxValuesBytes = 4 << 20
)

// Options say which chart to render, and how.
type Options struct {
	// Path is a chart directory or a packaged chart (.tgz).
	Path string
	// Release is the release name ({{ .Release.Name }}).
	Release string
	// Namespace is the release namespace ({{ .Release.Namespace }}).
	Namespace string
	// Values override the chart's values.yaml.
	Values map[string]any
	// Repo is the repository URL the chart was pulled from, recorded in
	// the design only.
	Repo string
}

// ReadValues reads a values file (YAML), bounded.
func ReadValues(path string) (map[string]any, error) {
	b, err := readRegular(path, MaxValuesBytes)
	if err != nil {
		return nil, fmt.Errorf("values file: %w", err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("values file %s: %w", path, err)
	}
	return v, nil
}

// Render loads and renders the chart and returns its resources, the
// chart reference for the design, and notes on what was left out.
func Render(o Options) ([]design.Resource, design.Chart, []design.Note, error) {
	ch, err := load(o.Path)
	if err != nil {
		return nil, design.Chart{Release: o.Release, Namespace: o.Namespace, From: o.Path, Repo: o.Repo, Values: o.Values}, nil, err
	}
	return render(ch, o)
}

// RenderArchive renders a packaged chart (.tgz) given as data, as Render
// does; o.Path only names it. Its size, its files' total once
// decompressed and their count are bounded before Helm's loader reads it.
func RenderArchive(data []byte, o Options) ([]design.Resource, design.Chart, []design.Note, error) {
	ref := design.Chart{Release: o.Release, Namespace: o.Namespace, From: o.Path, Repo: o.Repo, Values: o.Values}
	if err := checkArchive(data); err != nil {
		return nil, ref, nil, fmt.Errorf("chart %s: %w", o.Path, err)
	}
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, ref, nil, fmt.Errorf("chart %s: %w", o.Path, err)
	}
	return render(ch, o)
}

// checkArchive reads a gzipped tar through once, refusing it past
// MaxChartBytes compressed or decompressed, or MaxChartFiles entries.
func checkArchive(data []byte) error {
	if len(data) > MaxChartBytes {
		return fmt.Errorf("%d bytes, more than %d", len(data), MaxChartBytes)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("not a packaged chart (a gzipped tar): %w", err)
	}
	tr := tar.NewReader(zr)
	var total int64
	for files := 0; ; files++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("not a packaged chart: %w", err)
		}
		if files >= MaxChartFiles {
			return fmt.Errorf("more than %d files", MaxChartFiles)
		}
		n, err := io.Copy(io.Discard, io.LimitReader(tr, MaxChartBytes-total+1))
		if err != nil {
			return fmt.Errorf("not a packaged chart: %s: %w", h.Name, err)
		}
		if total += n; total > MaxChartBytes {
			return fmt.Errorf("more than %d bytes decompressed", MaxChartBytes)
		}
	}
}

func render(ch *chart.Chart, o Options) ([]design.Resource, design.Chart, []design.Note, error) {
	ref := design.Chart{Release: o.Release, Namespace: o.Namespace, From: o.Path, Repo: o.Repo, Values: o.Values}
	ref.Chart, ref.Version = ch.Name(), ch.Metadata.Version
	src := "chart " + o.Release
	vals, err := util.ToRenderValues(ch, o.Values, common.ReleaseOptions{
		Name: o.Release, Namespace: o.Namespace, Revision: 1, IsInstall: true,
	}, common.DefaultCapabilities)
	if err != nil {
		return nil, ref, nil, fmt.Errorf("chart %s (%s): values: %w", ch.Name(), o.Path, err)
	}
	out, err := engine.Render(ch, vals)
	if err != nil {
		return nil, ref, nil, fmt.Errorf("chart %s (%s) does not render: %w", ch.Name(), o.Path, err)
	}
	var rs []design.Resource
	var notes []design.Note
	for _, crd := range ch.CRDObjects() {
		got, err := design.ParseManifests(src+": "+crd.Filename, crd.File.Data)
		if err != nil {
			return nil, ref, nil, err
		}
		rs = append(rs, got...)
	}
	for _, name := range slices.Sorted(maps.Keys(out)) {
		base := filepath.Base(name)
		if base == "NOTES.txt" || strings.HasPrefix(base, "_") || strings.TrimSpace(out[name]) == "" {
			continue
		}
		got, err := design.ParseManifests(src+": "+name, []byte(out[name]))
		if err != nil {
			return nil, ref, nil, fmt.Errorf("chart %s renders what is not a manifest: %w", ch.Name(), err)
		}
		for _, r := range got {
			hook, _ := design.Get(r.Object, "metadata", "annotations", "helm.sh/hook").(string)
			switch {
			case hook == "":
				rs = append(rs, r)
			case strings.Contains(hook, "test"):
				notes = append(notes, design.Note{Source: r.Source, Field: "helm.sh/hook", Reason: r.Ref() + ": a test hook (" + hook + "), not applied"})
			default:
				notes = append(notes, design.Note{Source: r.Source, Field: "helm.sh/hook", Reason: r.Ref() + ": a " + hook + " hook, applied as an ordinary resource in kind order"})
				rs = append(rs, r)
			}
		}
	}
	return rs, ref, notes, nil
}

// load loads a chart directory or a packaged chart after checking it:
// a directory holds only regular files and directories (no links out of
// it), within the size and count limits; a package is a regular file
// within the size limit (Helm's loader bounds what it decompresses).
func load(path string) (*chart.Chart, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return nil, fmt.Errorf("chart: %w", err)
	}
	if st.Mode().IsRegular() {
		if st.Size() > MaxChartBytes {
			return nil, fmt.Errorf("chart %s: %d bytes, more than %d", path, st.Size(), MaxChartBytes)
		}
		ch, err := loader.LoadFile(path)
		if err != nil {
			return nil, fmt.Errorf("chart %s: %w", path, err)
		}
		return ch, nil
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("chart %s: neither a directory nor a packaged chart (.tgz)", path)
	}
	var total int64
	files := 0
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file (links and devices are refused)", p)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += info.Size()
		files++
		if total > MaxChartBytes || files > MaxChartFiles {
			return fmt.Errorf("more than %d bytes or %d files", MaxChartBytes, MaxChartFiles)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", path, err)
	}
	ch, err := loader.LoadDir(path)
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", path, err)
	}
	return ch, nil
}

func readRegular(path string, limit int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s: %d bytes, more than %d", path, st.Size(), limit)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errors.New(path + ": grew past the limit while read")
	}
	return b, nil
}
