// Package archtest checks the module's layering: a package outside
// internal/ (other than a main package, which is a binary's composition
// root) imports nothing under internal/, so every public package depends on
// public packages only. Test files are not checked: a public package's tests
// may start an internal test server (internal/echo) or run an internal suite
// (internal/auth/authtest), which is not a dependency of the package itself.
package archtest

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Violation is a public package's file importing an internal package.
type Violation struct {
	File   string // relative to the module root
	Import string
}

func (v Violation) String() string { return v.File + " imports " + v.Import }

// InternalImports walks the module rooted at root (whose path is module)
// and returns every non-test .go file of a non-main package outside
// internal/ that imports a package of the module's internal/ tree, whatever
// its build constraints. Directories named testdata, node_modules or
// starting with "." or "_" are skipped, as the go tool skips them, and so
// are nested modules (a directory with its own go.mod).
func InternalImports(root, module string) ([]Violation, error) {
	var out []Violation
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			name := d.Name()
			switch {
			case rel == ".":
				return nil
			case name == "testdata" || name == "node_modules" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_"):
				return filepath.SkipDir
			case rel == "internal" || strings.HasPrefix(rel, "internal/"):
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		if f.Name.Name == "main" {
			return nil
		}
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return fmt.Errorf("%s: import %s: %w", rel, imp.Path.Value, err)
			}
			if p == module+"/internal" || strings.HasPrefix(p, module+"/internal/") {
				out = append(out, Violation{File: rel, Import: p})
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b Violation) int { return strings.Compare(a.String(), b.String()) })
	return out, err
}
