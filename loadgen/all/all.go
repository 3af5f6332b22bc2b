// Package all registers every load generator meshperf can run a plan on,
// in the order they are listed (meshperf generators, the API's info):
// meshperf's own engine first, then the adapters. Import it for its side
// effect where generators are made or named (internal/runner does).
package all

import (
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/loadgen/fortio"
	"github.com/meshperf/meshperf/loadgen/native"
	"github.com/meshperf/meshperf/loadgen/nighthawk"
	"github.com/meshperf/meshperf/loadgen/vegeta"
	"github.com/meshperf/meshperf/loadgen/wrk2"
)

func init() {
	for _, m := range []loadgen.Module{
		native.Module,
		wrk2.ModuleWrk,
		wrk2.ModuleWrk2,
		nighthawk.Module,
		vegeta.Module,
		fortio.Module,
	} {
		loadgen.Register(m)
	}
}
