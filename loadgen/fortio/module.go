package fortio

import "github.com/meshperf/meshperf/loadgen"

// Module registers the generator (loadgen/all).
var Module = loadgen.Module{
	Name:        Name,
	Description: "fortio, in-process (open and closed loop; bucketed histograms, not coordinated omission corrected)",
	New:         func(string) loadgen.Generator { return &Generator{} },
}
