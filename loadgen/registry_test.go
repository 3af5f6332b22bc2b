package loadgen_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/meshperf/meshperf/loadgen"
	_ "github.com/meshperf/meshperf/loadgen/all"
	"github.com/meshperf/meshperf/loadgen/native"
)

// loadgen/all registers every generator once, meshperf's engine first.
func TestRegisteredModules(t *testing.T) {
	got := loadgen.GeneratorNames()
	want := []string{"meshperf", "wrk", "wrk2", "nighthawk", "vegeta", "fortio"}
	if !slices.Equal(got, want) {
		t.Fatalf("GeneratorNames() = %v, want %v", got, want)
	}
	for _, m := range loadgen.Modules() {
		if m.Description == "" {
			t.Errorf("module %s has no description", m.Name)
		}
		if g := m.New("v1"); g.Info().Name != m.Name {
			t.Errorf("module %s makes a generator named %q", m.Name, g.Info().Name)
		}
	}
}

func TestNewGenerator(t *testing.T) {
	for _, name := range []string{"", "native", "meshperf"} {
		g, err := loadgen.NewGenerator(name, "v9")
		if err != nil {
			t.Fatalf("NewGenerator(%q): %v", name, err)
		}
		e, ok := g.(*native.Engine)
		if !ok || e.Version != "v9" {
			t.Errorf("NewGenerator(%q) = %#v, want the engine at version v9", name, g)
		}
	}
	_, err := loadgen.NewGenerator("gatling", "v9")
	if !errors.Is(err, loadgen.ErrUnknownGenerator) || !strings.Contains(err.Error(), `"gatling" (known: meshperf, wrk, wrk2, nighthawk, vegeta, fortio)`) {
		t.Errorf("NewGenerator(gatling): %v, want ErrUnknownGenerator naming the known ones", err)
	}
}

func TestRegisterRefusesMistakes(t *testing.T) {
	for name, m := range map[string]loadgen.Module{
		"a taken name": native.Module,
		"no name":      {New: native.Module.New},
		"no New":       {Name: "new-one"},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("Register did not panic")
				}
			}()
			loadgen.Register(m)
		})
	}
	if n := len(loadgen.Modules()); n != 6 {
		t.Errorf("%d modules after refused registrations, want 6", n)
	}
}

// Adapters whose tool is missing say so through Prober; in-process
// generators can always run.
func TestAvailable(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	want := map[string]string{
		"meshperf":  "",
		"fortio":    "",
		"wrk":       "wrk not found on PATH",
		"wrk2":      "wrk2 not found on PATH",
		"nighthawk": "nighthawk_client not found on PATH",
		"vegeta":    "vegeta not found on PATH",
	}
	for _, m := range loadgen.Modules() {
		g := m.New("v1")
		ok, why := loadgen.Available(g)
		if ok != (want[m.Name] == "") || why != want[m.Name] {
			t.Errorf("Available(%s) = %v, %q; want %q", m.Name, ok, why, want[m.Name])
		}
		if p, isProber := g.(loadgen.Prober); isProber && !ok && !errors.Is(p.Probe(), loadgen.ErrNotOnPath) {
			t.Errorf("%s: Probe() = %v, want ErrNotOnPath", m.Name, p.Probe())
		}
	}
}
