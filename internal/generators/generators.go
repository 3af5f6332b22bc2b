// Package generators names the load generators meshperf can run a plan on:
// its own engine and adapters for other tools.
package generators

import (
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"strings"

	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/loadgen/fortio"
	"github.com/meshperf/meshperf/loadgen/native"
	"github.com/meshperf/meshperf/loadgen/nighthawk"
	"github.com/meshperf/meshperf/loadgen/vegeta"
	"github.com/meshperf/meshperf/loadgen/wrk2"
)

// ErrUnknown is a generator name meshperf does not know.
var ErrUnknown = errors.New("unknown load generator")

// Entry is one load generator.
type Entry struct {
	Name        string
	Description string
	// Binary is the program an adapter runs ("" for in-process ones).
	Binary string
	New    func(version string) loadgen.Generator
}

var entries = []Entry{
	{Name: "meshperf", Description: "meshperf's own engine: open and closed loop, HDR histograms, coordinated omission corrected",
		New: func(v string) loadgen.Generator { return &native.Engine{Version: v} }},
	{Name: "wrk", Description: "wrk (closed loop only); apt-get install wrk", Binary: "wrk",
		New: func(string) loadgen.Generator { return &wrk2.Generator{Name: wrk2.NameWrk} }},
	{Name: "wrk2", Description: "wrk2 (fixed rate, corrected latency); build from giltene/wrk2", Binary: "wrk2",
		New: func(string) loadgen.Generator { return &wrk2.Generator{Name: wrk2.NameWrk2} }},
	{Name: "nighthawk", Description: "Envoy's Nighthawk (nighthawk_client, open loop); build from envoyproxy/nighthawk", Binary: nighthawk.DefaultBinary,
		New: func(string) loadgen.Generator { return &nighthawk.Generator{} }},
	{Name: "vegeta", Description: "vegeta (fixed rate; every result recorded, HDR exact)", Binary: "vegeta",
		New: func(string) loadgen.Generator { return &vegeta.Generator{} }},
	{Name: "fortio", Description: "fortio, in-process (open and closed loop; bucketed histograms, not coordinated omission corrected)",
		New: func(string) loadgen.Generator { return &fortio.Generator{} }},
}

// register adds an entry (adapters in their own files).
func register(e Entry) {
	entries = append(entries, e)
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].Name == "meshperf" && entries[j].Name != "meshperf" })
}

// List returns every generator meshperf knows.
func List() []Entry { return append([]Entry(nil), entries...) }

// New returns the generator called name ("" is meshperf's own engine).
func New(name, version string) (loadgen.Generator, error) {
	if name == "" || name == "native" {
		name = "meshperf"
	}
	for _, e := range entries {
		if e.Name == name {
			return e.New(version), nil
		}
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name
	}
	return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknown, name, strings.Join(names, ", "))
}

// Available tells whether an entry can run here, and if not, why.
func Available(e Entry) (bool, string) {
	if e.Binary == "" {
		return true, ""
	}
	if _, err := exec.LookPath(e.Binary); err != nil {
		return false, e.Binary + " not found on PATH"
	}
	return true, ""
}
