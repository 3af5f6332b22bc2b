// Package web holds meshperf's web UI: a React + TypeScript app in this
// directory, built by Vite into dist/ (make web) and embedded in the binary
// here. A checkout that never ran npm still builds: dist/ then holds only a
// placeholder, and the server says how to build the UI.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist returns the built UI: the contents of dist/.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is a valid path: cannot happen
	}
	return sub
}
