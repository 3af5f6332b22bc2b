package spec

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"time"
)

// MaxMetricQueries is the most named queries a metrics block may hold.
const MaxMetricQueries = 100

// MetricsConfig names Prometheus queries to evaluate over each run's
// measured window: from the end of warm-up to Cooldown before the end. A
// meshperf extension of the SMP profile (top-level metrics:), also used by
// experiment files.
type MetricsConfig struct {
	// Prometheus is the base URL of the Prometheus HTTP API, e.g.
	// http://127.0.0.1:9090.
	Prometheus string `json:"prometheus"`
	// Step is the resolution of the range queries (a Go duration); empty
	// chooses 1s, or more for windows long enough to need it.
	Step string `json:"step,omitempty"`
	// Cooldown is left out of the end of the window (a Go duration).
	Cooldown string        `json:"cooldown,omitempty"`
	Queries  []MetricQuery `json:"queries"`
}

// MetricQuery is one named PromQL query. Some names are well known: see
// the SMP export (proxy_cpu_mcores, proxy_mem_mb...).
type MetricQuery struct {
	Name  string `json:"name"`
	Query string `json:"query"`
	Unit  string `json:"unit,omitempty"`
}

var metricName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.:-]*$`)

// ValidateMetrics reports every problem of m, each a *FieldError under
// path (e.g. "metrics"). The queries themselves are checked by Prometheus
// when they run: a bad one is reported with the run, not refused here.
func ValidateMetrics(path string, m *MetricsConfig) error {
	v := &validator{}
	v.metrics(path, m)
	return errors.Join(v.errs...)
}

func (v *validator) metrics(path string, m *MetricsConfig) {
	if m == nil {
		return
	}
	switch u, err := url.Parse(m.Prometheus); {
	case m.Prometheus == "":
		v.bad(path+".prometheus", "the Prometheus URL is required, e.g. http://127.0.0.1:9090")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		v.bad(path+".prometheus", "want an http or https URL such as http://127.0.0.1:9090, got %q", m.Prometheus)
	}
	if d, ok := v.duration(path+".step", m.Step); ok && m.Step != "" && d < time.Millisecond {
		v.bad(path+".step", "must be at least 1ms, got %s", m.Step)
	}
	v.duration(path+".cooldown", m.Cooldown)
	switch {
	case len(m.Queries) == 0:
		v.bad(path+".queries", "at least one query is required")
	case len(m.Queries) > MaxMetricQueries:
		v.bad(path+".queries", "more than %d queries", MaxMetricQueries)
	}
	seen := map[string]bool{}
	for i, q := range m.Queries {
		p := fmt.Sprintf("%s.queries[%d]", path, i)
		switch {
		case q.Name == "":
			v.bad(p+".name", "a query needs a name")
		case !metricName.MatchString(q.Name):
			v.bad(p+".name", "%q: use letters, digits and _ . : - (e.g. proxy_cpu_mcores)", q.Name)
		case seen[q.Name]:
			v.bad(p+".name", "%q is given twice", q.Name)
		}
		seen[q.Name] = true
		if q.Query == "" {
			v.bad(p+".query", "the PromQL query is required")
		}
	}
}

// metricsConfig decodes a metrics block.
func (d *profileDecoder) metricsConfig(path string, v any) *MetricsConfig {
	m := &MetricsConfig{}
	d.object(path, v, []field{
		{"prometheus", func(path string, v any) { m.Prometheus = d.str(path, v) }},
		{"step", func(path string, v any) { m.Step = d.duration(path, v) }},
		{"cooldown", func(path string, v any) { m.Cooldown = d.duration(path, v) }},
		{"queries", func(path string, v any) {
			list, ok := v.([]any)
			if !ok {
				d.fail(path, "want a list of queries ({name, query, unit}), got %s", describe(v))
				return
			}
			for i, e := range list {
				var q MetricQuery
				d.object(fmt.Sprintf("%s[%d]", path, i), e, []field{
					{"name", func(path string, v any) { q.Name = d.str(path, v) }},
					{"query", func(path string, v any) { q.Query = d.str(path, v) }},
					{"unit", func(path string, v any) { q.Unit = d.str(path, v) }},
				})
				m.Queries = append(m.Queries, q)
			}
		}},
	})
	return m
}
