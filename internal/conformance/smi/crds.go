package smi

import (
	"embed"
	"io/fs"
	"strings"
)

//go:embed crds/*.yaml
var crdFiles embed.FS

// CRDs are the SMI CRDs meshperf carries (crds/), one YAML stream, for
// `meshperf conformance smi-crds | kubectl apply -f -`: every version the
// specification published, served, the newest stored. They define the
// resources only; an SMI implementation acts on them.
func CRDs() string {
	entries, _ := fs.ReadDir(crdFiles, "crds")
	var b strings.Builder
	for _, e := range entries {
		data, _ := crdFiles.ReadFile("crds/" + e.Name())
		b.WriteString("---\n")
		b.Write(data)
	}
	return b.String()
}
