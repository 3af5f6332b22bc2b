package nighthawk

import (
	"cmp"

	"github.com/meshperf/meshperf/loadgen"
)

// Module registers the generator (loadgen/all).
var Module = loadgen.Module{
	Name:        Name,
	Description: "Envoy's Nighthawk (nighthawk_client, open loop); build from envoyproxy/nighthawk",
	New:         func(string) loadgen.Generator { return &Generator{} },
}

var _ loadgen.Prober = (*Generator)(nil)

// Probe implements loadgen.Prober: Binary (default DefaultBinary) is found.
func (g *Generator) Probe() error { return loadgen.LookPath(cmp.Or(g.Binary, DefaultBinary)) }
