package helmchart

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io/fs"
	"os"
	"path"
)

// Package packs the chart directory dir as `helm package` lays a chart
// out (every file under a top directory named name, gzipped tar), within
// the limits RenderArchive reads: for sending a local chart to the API
// inline, and for tests.
func Package(dir, name string) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	var total int64
	files := 0
	err := fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file (links and devices are refused)", p)
		}
		b, err := fs.ReadFile(os.DirFS(dir), p)
		if err != nil {
			return err
		}
		total += int64(len(b))
		if files++; total > MaxChartBytes || files > MaxChartFiles {
			return fmt.Errorf("more than %d bytes or %d files", MaxChartBytes, MaxChartFiles)
		}
		if err := tw.WriteHeader(&tar.Header{Name: path.Join(name, p), Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = tw.Write(b)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("package chart %s: %w", dir, err)
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
