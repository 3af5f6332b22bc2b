package loadgen

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
)

// Module is a load generator registered under its name, as caddy's modules
// are: what it is called, a line about it, and how to make one. What a
// generator can do beyond running a plan it says through optional
// interfaces on the Generator New returns: Describer (its capabilities)
// and Prober (whether it can run here).
type Module struct {
	Name        string
	Description string
	// New makes a generator; version is meshperf's (the native engine
	// reports it as its own).
	New func(version string) Generator
}

// Prober is a Generator that may be unable to run on this machine (an
// adapter whose tool is not installed). Probe returns why, or nil when it
// can run. Generators that do not implement it can always run.
type Prober interface {
	Probe() error
}

// ErrUnknownGenerator is a generator name no module is registered under.
var ErrUnknownGenerator = errors.New("unknown load generator")

// NativeName is the name of meshperf's own engine, the generator a plan
// without one runs on.
const NativeName = "meshperf"

var registry struct {
	sync.RWMutex
	modules []Module
}

// Register adds a module. It panics on an empty name, a nil New or a name
// already registered: registration happens once, at start-up, from one
// list (loadgen/all), and a mistake there is a programming error.
func Register(m Module) {
	if m.Name == "" || m.New == nil {
		panic(fmt.Sprintf("loadgen: module %q registered without a name or New", m.Name))
	}
	registry.Lock()
	defer registry.Unlock()
	for _, o := range registry.modules {
		if o.Name == m.Name {
			panic(fmt.Sprintf("loadgen: module %q registered twice", m.Name))
		}
	}
	registry.modules = append(registry.modules, m)
}

// Modules returns the registered modules in the order they were registered.
func Modules() []Module {
	registry.RLock()
	defer registry.RUnlock()
	return append([]Module(nil), registry.modules...)
}

// GeneratorNames returns the registered modules' names, in order.
func GeneratorNames() []string {
	ms := Modules()
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Name
	}
	return names
}

// Lookup returns the module called name; "" and "native" name meshperf's
// own engine.
func Lookup(name string) (Module, bool) {
	if name == "" || name == "native" {
		name = NativeName
	}
	for _, m := range Modules() {
		if m.Name == name {
			return m, true
		}
	}
	return Module{}, false
}

// NewGenerator returns a new generator of the module called name (see
// Lookup), or an error wrapping ErrUnknownGenerator.
func NewGenerator(name, version string) (Generator, error) {
	m, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownGenerator, name, strings.Join(GeneratorNames(), ", "))
	}
	return m.New(version), nil
}

// Available tells whether g can run here (Prober), and if not, why.
func Available(g Generator) (bool, string) {
	if p, ok := g.(Prober); ok {
		if err := p.Probe(); err != nil {
			return false, err.Error()
		}
	}
	return true, ""
}

// ErrNotOnPath is a generator's program missing from PATH (Prober).
var ErrNotOnPath = errors.New("not found on PATH")

// LookPath is a Prober's check for an adapter that runs bin: nil when bin
// is found on PATH (or is a path to an executable), else "bin not found on
// PATH" wrapping ErrNotOnPath.
func LookPath(bin string) error {
	if _, err := exec.LookPath(bin); err != nil {
		return fmt.Errorf("%s %w", bin, ErrNotOnPath)
	}
	return nil
}
