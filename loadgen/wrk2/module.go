package wrk2

import (
	"os"

	"github.com/meshperf/meshperf/loadgen"
)

// Modules register wrk and wrk2 (loadgen/all).
var (
	ModuleWrk = loadgen.Module{
		Name:        NameWrk,
		Description: "wrk (closed loop only); apt-get install wrk",
		New:         func(string) loadgen.Generator { return &Generator{Name: NameWrk} },
	}
	ModuleWrk2 = loadgen.Module{
		Name:        NameWrk2,
		Description: "wrk2 (fixed rate, corrected latency); build from giltene/wrk2",
		New:         func(string) loadgen.Generator { return &Generator{Name: NameWrk2} },
	}
)

var _ loadgen.Prober = (*Generator)(nil)

// Probe implements loadgen.Prober: the binary is Path, or its name on PATH.
func (g *Generator) Probe() error {
	if g.Path != "" {
		_, err := os.Stat(g.Path)
		return err
	}
	return loadgen.LookPath(g.name())
}
