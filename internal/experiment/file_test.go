package experiment

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshperf/meshperf/spec"
)

const goodFile = `
name: proxy-overhead
duration: 5s
warmup: 1s
cooldown: 1s
repeats: 2
connections: 4
variants:
- {name: baseline, targets: ["http://127.0.0.1:8080/"]}
- {name: proxy, targets: ["http://127.0.0.1:8081/"]}
sweep: {rps: [100, 200, 400]}
metrics:
  prometheus: http://127.0.0.1:9090
  queries:
  - {name: proxy_cpu_mcores, query: 'sum(rate(process_cpu_seconds_total[5s]))*1000', unit: mcores}
`

func TestParseGood(t *testing.T) {
	f, err := Parse([]byte(goodFile))
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "proxy-overhead" || len(f.Variants) != 2 || len(f.Sweep.RPS) != 3 || f.Metrics == nil || f.Metrics.Queries[0].Unit != "mcores" {
		t.Errorf("parsed %+v", f)
	}
	if got := f.BaselineName(); got != "baseline" {
		t.Errorf("baseline = %q", got)
	}
	if n := len(f.Cells()); n != 12 {
		t.Errorf("%d cells, want 2 variants × 3 rates × 2 repeats = 12", n)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string // each a line of the error
	}{
		{"empty", "", []string{"empty experiment file"}},
		{"unknown field", "name: x\nrepeat: 2\n", []string{`unknown field "repeat"`}},
		{"wrong type", "name: x\nrepeats: many\n", []string{"repeats: want a number"}},
		{"everything wrong", `
name: "bad name"
duration: soon
warmup: 1500ms
cooldown: -1s
repeats: 1000
baseline: nope
variants:
- {name: a, targets: ["ftp://x/"]}
- {name: a}
sweep: {rps: [100, 100, -1], connections: [0]}
metrics: {prometheus: "localhost:9090", queries: [{name: "", query: ""}]}
`, []string{
			`name: "bad name": use letters`,
			`duration: invalid duration "soon"`,
			"warmup: must be whole seconds, got 1.5s",
			"cooldown: must not be negative",
			"repeats: at most 100",
			`variants[0].targets[0]: invalid URL "ftp://x/": scheme must be http or https`,
			`variants[1].name: "a" is given twice`,
			"variants[1]: give targets or a profile",
			`baseline: "nope" is not a variant`,
			"sweep.rps[1]: 100 is given twice",
			"sweep.rps[2]: must be >= 0",
			"sweep.connections[0]: must be at least 1",
			"metrics.prometheus: want an http or https URL",
			"metrics.queries[0].name: a query needs a name",
			"metrics.queries[0].query: the PromQL query is required",
		}},
		{"no sweep", "name: x\nduration: 1s\nvariants: [{name: a, targets: ['http://127.0.0.1/']}]\n",
			[]string{"sweep: give rps and/or connections", "rps: give sweep.rps or rps"}},
		{"cooldown eats the duration", "name: x\nduration: 2s\ncooldown: 2s\nrps: 1\nsweep: {connections: [1]}\nvariants: [{name: a, targets: ['http://127.0.0.1/']}]\n",
			[]string{"cooldown: 2s leaves nothing of the 2s duration"}},
		{"reserved label", "name: x\nduration: 1s\nrps: 0\nlabels: {variant: v}\nsweep: {connections: [1]}\nvariants: [{name: a, targets: ['http://127.0.0.1/']}]\n",
			[]string{"labels.variant: reserved"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			var fe *spec.FieldError
			if len(tc.want) > 2 && !errors.As(err, &fe) {
				t.Errorf("error %v names no field", err)
			}
		})
	}
}

// Every cell appears once; each variant runs once per point and repeat;
// the order is rotated so that no variant always goes first.
func TestCellsInterleaved(t *testing.T) {
	f, err := Parse([]byte(strings.Replace(goodFile, "repeats: 2", "repeats: 3", 1) +
		"\n"))
	if err != nil {
		t.Fatal(err)
	}
	f.Variants = append(f.Variants, Variant{Name: "mesh", Targets: []string{"http://127.0.0.1:8082/"}})
	cells := f.Cells()
	if len(cells) != 3*3*3 {
		t.Fatalf("%d cells", len(cells))
	}
	seen := map[Key]bool{}
	first := map[string]int{}
	for i, c := range cells {
		if c.Index != i {
			t.Errorf("cell %d has index %d", i, c.Index)
		}
		if seen[c.Key()] {
			t.Errorf("cell %+v twice", c)
		}
		seen[c.Key()] = true
		if i%3 == 0 {
			first[c.Variant]++
		}
	}
	for _, v := range []string{"baseline", "proxy", "mesh"} {
		if first[v] != 3 {
			t.Errorf("%s goes first at %d of 9 points, want 3 (rotated): %v", v, first[v], first)
		}
	}
	// The first point of the first repeat in file order; of the second, rotated by one.
	got := []string{cells[0].Variant, cells[1].Variant, cells[2].Variant, cells[9].Variant}
	want := []string{"baseline", "proxy", "mesh", "proxy"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("order %v, want %v", got, want)
	}
}

func TestPlansOfACell(t *testing.T) {
	dir := t.TempDir()
	prof := `name: two clients
duration: 30s
meshperf: {warmup: 3s, requests: 500}
clients:
- {rps: 300, connections: 8, endpoint_urls: ["http://127.0.0.1:9000/a"]}
- {rps: 100, connections: 8, endpoint_urls: ["http://127.0.0.1:9000/b"]}
`
	if err := os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(prof), 0o600); err != nil {
		t.Fatal(err)
	}
	exp := `name: split
duration: 4s
warmup: 1s
variants:
- {name: direct, profile: p.yaml}
- {name: proxied, profile: p.yaml, targets: ["http://127.0.0.1:9001/"]}
sweep: {rps: [1000, 0], connections: [5]}
`
	path := filepath.Join(dir, "exp.yaml")
	if err := os.WriteFile(path, []byte(exp), 0o600); err != nil {
		t.Fatal(err)
	}
	def, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cells := def.File.Cells()
	plans, err := def.Plans(cells[0]) // direct, 1000 rps, 5 connections
	if err != nil {
		t.Fatal(err)
	}
	if len(plans) != 2 {
		t.Fatalf("%d plans", len(plans))
	}
	if r0, r1 := plans[0].Rate.RateAt(0), plans[1].Rate.RateAt(0); r0 != 750 || r1 != 250 {
		t.Errorf("rates %g and %g, want 750 and 250 (in proportion to 300:100)", r0, r1)
	}
	if c0, c1 := plans[0].Connections, plans[1].Connections; c0 != 3 || c1 != 2 {
		t.Errorf("connections %d and %d, want 3 and 2", c0, c1)
	}
	if plans[0].Duration.String() != "4s" || plans[0].Warmup.String() != "1s" || plans[0].Requests != 0 {
		t.Errorf("duration %s, warm-up %s, requests %d; want the file's 4s and 1s, no request count", plans[0].Duration, plans[0].Warmup, plans[0].Requests)
	}
	if plans[0].Targets[0] != "http://127.0.0.1:9000/a" {
		t.Errorf("targets %v, want the profile's", plans[0].Targets)
	}
	plans, err = def.Plans(cells[1]) // proxied: targets replaced
	if err != nil {
		t.Fatal(err)
	}
	if plans[1].Targets[0] != "http://127.0.0.1:9001/" {
		t.Errorf("targets %v, want the variant's", plans[1].Targets)
	}
	plans, err = def.Plans(cells[2]) // closed loop
	if err != nil {
		t.Fatal(err)
	}
	if plans[0].Rate != nil {
		t.Errorf("rps 0 gave rate %v, want closed loop", plans[0].Rate)
	}
	// The stored definition carries the profile: it does not need the file.
	body, err := def.Body()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeDefinition(body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := back.Plans(cells[0]); err != nil {
		t.Errorf("plans from the stored definition: %v", err)
	}
	b2, _ := back.Body()
	if string(b2) != string(body) {
		t.Errorf("the definition does not round-trip:\n%s\n%s", body, b2)
	}
}

func TestLoadMissingProfile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "exp.yaml")
	exp := "name: x\nrps: 10\nsweep: {connections: [1]}\nvariants: [{name: a, profile: nowhere.yaml}]\n"
	if err := os.WriteFile(path, []byte(exp), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), "variants[0].profile: open") {
		t.Errorf("Load = %v, want an error naming variants[0].profile", err)
	}
}
