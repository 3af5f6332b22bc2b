package vegeta

import (
	"cmp"

	"github.com/meshperf/meshperf/loadgen"
)

// Module registers the generator (loadgen/all).
var Module = loadgen.Module{
	Name:        Name,
	Description: "vegeta (fixed rate; every result recorded, HDR exact)",
	New:         func(string) loadgen.Generator { return &Generator{} },
}

var _ loadgen.Prober = (*Generator)(nil)

// Probe implements loadgen.Prober: Binary (default DefaultBinary) is found.
func (g *Generator) Probe() error { return loadgen.LookPath(cmp.Or(g.Binary, DefaultBinary)) }
