package spec

import (
	"strings"
	"testing"
)

func TestProfileMetrics(t *testing.T) {
	good := `name: m
duration: 5s
clients: [{endpoint_urls: ["http://127.0.0.1:8080/"]}]
metrics:
  prometheus: http://127.0.0.1:9090
  step: 2s
  cooldown: 1s
  queries:
  - {name: proxy_cpu_mcores, query: 'sum(rate(x[5s]))*1000', unit: mcores}
`
	p, warnings, err := ParseProfile([]byte(good))
	if err != nil || len(warnings) > 0 {
		t.Fatalf("ParseProfile: %v %v", err, warnings)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	m := p.Metrics
	if m == nil || m.Prometheus != "http://127.0.0.1:9090" || m.Step != "2s" || m.Cooldown != "1s" || len(m.Queries) != 1 || m.Queries[0].Unit != "mcores" {
		t.Fatalf("metrics %+v", m)
	}
	// It is written back.
	y, err := p.YAML()
	if err != nil || !strings.Contains(string(y), "proxy_cpu_mcores") {
		t.Errorf("YAML lacks the metrics: %v\n%s", err, y)
	}

	bad := strings.NewReplacer("http://127.0.0.1:9090", "127.0.0.1:9090", "step: 2s", "step: 0s",
		"{name: proxy_cpu_mcores,", "{name: 'a b',").Replace(good) +
		"  - {name: x, query: ''}\n  - {name: x, query: up}\n"
	p, _, err = ParseProfile([]byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	err = p.Validate()
	for _, want := range []string{
		"metrics.prometheus: want an http or https URL",
		"metrics.step: must be at least 1ms",
		`metrics.queries[0].name: "a b"`,
		"metrics.queries[1].query: the PromQL query is required",
		`metrics.queries[2].name: "x" is given twice`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error lacks %q:\n%v", want, err)
		}
	}
	_, _, err = ParseProfile([]byte("clients: []\nmetrics: {queries: 3}\n"))
	if err == nil || !strings.Contains(err.Error(), "metrics.queries: want a list of queries") {
		t.Errorf("a wrong type: %v", err)
	}
}
