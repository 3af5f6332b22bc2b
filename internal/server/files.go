package server

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/meshperf/meshperf/spec"
)

// fileReadTimeout bounds the read of one file a profile names.
const fileReadTimeout = 5 * time.Second

// errNotAllowedFile is the one answer for a path outside the allowed
// directories, whether or not it exists, so that the API tells nothing
// about the server's files.
var errNotAllowedFile = errors.New("not a file this server reads: a path must name a regular file under a directory the server's operator allows (--allow-files)")

// fileAccess reads the files profiles name (client certificates, descriptor
// sets) over the API: only regular files under dirs (symlinks resolved),
// at most max bytes, within fileReadTimeout. No dirs: no files at all.
type fileAccess struct {
	dirs []string // absolute, symlinks resolved
	max  int64
}

// newFileAccess resolves dirs; one that does not resolve to a directory
// is an error (the operator's flag).
func newFileAccess(dirs []string, max int64) (*fileAccess, error) {
	fa := &fileAccess{max: max}
	for _, d := range dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("--allow-files %s: %w", d, err)
		}
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return nil, fmt.Errorf("--allow-files %s: %w", d, err)
		}
		if fi, err := os.Stat(real); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("--allow-files %s: not a directory", d)
		}
		fa.dirs = append(fa.dirs, real)
	}
	return fa, nil
}

func (fa *fileAccess) under(p string) bool {
	for _, d := range fa.dirs {
		if rel, err := filepath.Rel(d, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel) {
			return true
		}
	}
	return false
}

// read reads the file at p if it may: an absolute path under an allowed
// directory, before and after resolving symlinks, a regular file (a FIFO or
// a device is not opened for reading), no larger than max.
func (fa *fileAccess) read(ctx context.Context, p string) ([]byte, error) {
	if len(fa.dirs) == 0 {
		return nil, errors.New("this server reads no files named by a profile (its operator allows none: --allow-files); give the content inline")
	}
	if !filepath.IsAbs(p) {
		return nil, errNotAllowedFile
	}
	clean := filepath.Clean(p)
	if !fa.under(clean) {
		return nil, errNotAllowedFile
	}
	real, err := filepath.EvalSymlinks(clean)
	if err != nil || !fa.under(real) {
		return nil, errNotAllowedFile
	}
	ctx, cancel := context.WithTimeout(ctx, fileReadTimeout)
	defer cancel()
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := fa.readRegular(real)
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		return r.b, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("not read within %s", fileReadTimeout)
	}
}

func (fa *fileAccess) readRegular(p string) ([]byte, error) {
	// O_NONBLOCK: opening a FIFO does not wait for a writer; O_NOFOLLOW:
	// the path was resolved, a symlink swapped in since is refused.
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, errNotAllowedFile
	}
	defer f.Close()
	fi, err := f.Stat()
	switch {
	case err != nil:
		return nil, errNotAllowedFile
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	case fi.Size() > fa.max:
		return nil, fmt.Errorf("%d bytes, above the limit of %d (limit \"file_size\")", fi.Size(), fa.max)
	}
	b, err := io.ReadAll(io.LimitReader(f, fa.max+1))
	if err != nil {
		return nil, fmt.Errorf("reading: %w", errors.Unwrap(err))
	}
	if int64(len(b)) > fa.max {
		return nil, fmt.Errorf("grew above the limit of %d bytes while read (limit \"file_size\")", fa.max)
	}
	return b, nil
}

// inlineFiles replaces the files prof names (client certificates and
// keys, descriptor sets) by their content, read through fa, so that
// nothing later opens a path an API caller gave. Every problem is a
// *spec.FieldError naming the field.
func (fa *fileAccess) inlineFiles(ctx context.Context, prof *spec.Profile) error {
	var errs []error
	for i := range prof.Clients {
		x := prof.Clients[i].Meshperf
		if x == nil {
			continue
		}
		path := fmt.Sprintf("clients[%d].meshperf.", i)
		for _, f := range []struct {
			field string
			file  *string
			set   func([]byte)
		}{
			{"cert_file", &x.CertFile, func(b []byte) { x.CertPEM = string(b) }},
			{"key_file", &x.KeyFile, func(b []byte) { x.KeyPEM = string(b) }},
			{"grpc_descriptor_set", &x.GRPCDescriptorSet, func(b []byte) { x.GRPCDescriptorSetBase64 = base64.StdEncoding.EncodeToString(b) }},
		} {
			if *f.file == "" {
				continue
			}
			b, err := fa.read(ctx, *f.file)
			if err != nil {
				errs = append(errs, &spec.FieldError{Path: path + f.field, Reason: err.Error()})
				continue
			}
			f.set(b)
			*f.file = ""
		}
	}
	return errors.Join(errs...)
}
