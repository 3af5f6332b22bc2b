package nighthawk

import (
	"cmp"
	"fmt"
	"os/exec"

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
func (g *Generator) Probe() error {
	bin := cmp.Or(g.Binary, DefaultBinary)
	if _, err := exec.LookPath(bin); err != nil {
		return fmt.Errorf("%s not found on PATH", bin)
	}
	return nil
}
