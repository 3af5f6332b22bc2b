package native

import "github.com/meshperf/meshperf/loadgen"

// Module registers the engine (loadgen/all).
var Module = loadgen.Module{
	Name:        Name,
	Description: "meshperf's own engine: open and closed loop, HDR histograms, coordinated omission corrected",
	New:         func(version string) loadgen.Generator { return &Engine{Version: version} },
}
