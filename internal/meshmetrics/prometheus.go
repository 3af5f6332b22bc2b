package meshmetrics

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/meshperf/meshperf/internal/prom"
)

// maxGroups bounds the workloads (or edges) one report holds.
const maxGroups = 5000

// Prometheus reads traffic metrics from a Prometheus server with each
// mesh's QuerySet, through internal/prom's bounded client.
type Prometheus struct {
	url  string
	api  *prom.Client
	sets []QuerySet
}

var _ Source = (*Prometheus)(nil)

// NewPrometheus returns a Source reading the Prometheus at rawURL with
// sets (QuerySets when nil).
func NewPrometheus(rawURL string, sets []QuerySet) (*Prometheus, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(rawURL) > 2048 {
		return nil, fmt.Errorf("prometheus %q: want an http:// or https:// URL", clip(rawURL))
	}
	client, err := prom.NewClient(rawURL)
	if err != nil {
		return nil, fmt.Errorf("prometheus %q: %w", clip(rawURL), err)
	}
	if sets == nil {
		sets = QuerySets
	}
	return &Prometheus{url: rawURL, api: client, sets: sets}, nil
}

// URL is the Prometheus read.
func (p *Prometheus) URL() string { return p.url }

// group is the label values a series is summed by.
type group []string

func (g group) key() string { return strings.Join(g, "\x00") }

// figureQueries are the queries of one kind of traffic: by is the label
// names grouped by, sel the matchers, derived the labels made before
// grouping.
func figureQueries(qs QuerySet, by []string, sel string, window string, derived []Derived) map[string]string {
	b := strings.Join(by, ", ")
	responses := cmp.Or(qs.Responses, qs.Requests)
	rate := func(metric, sel string) string {
		r := fmt.Sprintf(`rate(%s{%s}[%s])`, metric, sel, window)
		for _, d := range derived {
			r = fmt.Sprintf(`label_replace(%s, %q, %q, %q, %q)`, r, d.Label, d.Replacement, d.From, d.Regex)
		}
		return r
	}
	m := map[string]string{
		"requests":  fmt.Sprintf(`sum by (%s) (%s)`, b, rate(qs.Requests, sel)),
		"responses": fmt.Sprintf(`sum by (%s) (%s)`, b, rate(responses, sel)),
		"successes": fmt.Sprintf(`sum by (%s) (%s)`, b, rate(responses, sel+", "+qs.Success)),
	}
	for _, q := range []string{"0.5", "0.9", "0.99"} {
		m["p"+q] = fmt.Sprintf(`histogram_quantile(%s, sum by (%s, le) (%s))`, q, b, rate(qs.Latency, sel))
	}
	return m
}

// Traffic implements Source.
func (p *Prometheus) Traffic(ctx context.Context, q Query) (*Report, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	qs, ok := p.set(q.Mesh)
	if !ok {
		return nil, fmt.Errorf("%w %q (meshperf reads %s)", ErrNoMesh, q.Mesh, p.meshes())
	}
	if q.At.IsZero() {
		q.At = time.Now()
	}
	window := fmt.Sprintf("%ds", int(q.Window/time.Second))
	rep := &Report{Mesh: q.Mesh, Source: "prometheus " + p.url, Window: window, At: q.At.UTC(),
		Workloads: []WorkloadTraffic{}}
	kind := "Deployment"
	if len(qs.WorkloadKinds) > 1 {
		kind = "Workload" // the mesh's label does not say which kind
	}

	// Is the mesh's metric there at all? Absent, nothing is zero: it is missing.
	present, err := p.vector(ctx, fmt.Sprintf(`count(%s{%s})`, qs.Requests, qs.Inbound), q.At)
	if err != nil {
		return nil, err
	}
	if len(present) == 0 {
		rep.Missing = fmt.Sprintf("prometheus at %s has no %s series (%s): the mesh's metrics are not scraped, or it carries no traffic", p.url, qs.Requests, qs.Inbound)
		return rep, nil
	}

	sel := qs.Inbound + matchers(qs.Namespace, q.Namespace, qs.Workload, q.Workload)
	groups, figs, err := p.figures(ctx, figureQueries(qs, []string{qs.Namespace, qs.Workload}, sel, window, nil), q.At, q.Window)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		if g[1] == "" {
			continue // traffic to no workload (unknown destination)
		}
		rep.Workloads = append(rep.Workloads, WorkloadTraffic{Resource: Resource{Kind: kind, Namespace: g[0], Name: g[1]}, Figures: figs[g.key()]})
	}
	if q.Workload != "" && len(rep.Workloads) == 0 {
		rep.Workloads = append(rep.Workloads, WorkloadTraffic{Resource: Resource{Kind: kind, Namespace: q.Namespace, Name: q.Workload},
			Figures: Figures{Missing: []string{fmt.Sprintf("no %s series for %s/%s in the %s before %s", qs.Requests, q.Namespace, q.Workload,
				window, q.At.UTC().Format(time.RFC3339))}}})
	}
	if q.Edges {
		esel := qs.Edge
		if len(qs.EdgeDerived) == 0 {
			esel += matchers(qs.EdgeNamespace, q.Namespace, qs.EdgeWorkload, q.Workload)
		}
		by := []string{qs.SourceNamespace, qs.SourceWorkload, qs.EdgeNamespace, qs.EdgeWorkload}
		groups, figs, err := p.figures(ctx, figureQueries(qs, by, esel, window, qs.EdgeDerived), q.At, q.Window)
		if err != nil {
			return nil, err
		}
		dkind := cmp.Or(qs.EdgeDestinationKind, kind)
		for _, g := range groups {
			// Derived labels cannot be matched in the selector: the
			// destination is narrowed here.
			if g[3] == "" || (q.Namespace != "" && g[2] != q.Namespace) || (q.Workload != "" && g[3] != q.Workload) {
				continue
			}
			src := Resource{Kind: kind, Namespace: g[0], Name: g[1]}
			if src.Name == "" || src.Name == "unknown" {
				src = Resource{Kind: "Unknown", Name: "unknown"} // from outside the mesh
			}
			rep.Edges = append(rep.Edges, EdgeTraffic{Source: src, Destination: Resource{Kind: dkind, Namespace: g[2], Name: g[3]}, Side: qs.EdgeSide, Figures: figs[g.key()]})
		}
	}
	if q.Services || q.Service != "" {
		if err := p.services(ctx, qs, q, window, rep); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// services adds to rep the traffic to each destination Service q selects.
func (p *Prometheus) services(ctx context.Context, qs QuerySet, q Query, window string, rep *Report) error {
	rep.Services = []ServiceTraffic{}
	if qs.Service == "" {
		rep.Services = append(rep.Services, ServiceTraffic{Resource: Resource{Kind: "Service", Namespace: q.Namespace, Name: q.Service},
			Figures: Figures{Missing: []string{fmt.Sprintf("%s's metrics do not name the destination Service", qs.Mesh)}}})
		return nil
	}
	sel := qs.Service
	if len(qs.ServiceDerived) == 0 {
		sel += matchers(qs.ServiceNamespace, q.Namespace, qs.ServiceName, q.Service)
	}
	groups, figs, err := p.figures(ctx, figureQueries(qs, []string{qs.ServiceNamespace, qs.ServiceName}, sel, window, qs.ServiceDerived), q.At, q.Window)
	if err != nil {
		return err
	}
	for _, g := range groups {
		// Derived labels cannot be matched in the selector: narrowed here.
		if g[1] == "" || (q.Namespace != "" && g[0] != q.Namespace) || (q.Service != "" && g[1] != q.Service) {
			continue // no Service named (a passthrough, an unknown destination)
		}
		rep.Services = append(rep.Services, ServiceTraffic{Resource: Resource{Kind: "Service", Namespace: g[0], Name: g[1]}, Side: qs.ServiceSide, Figures: figs[g.key()]})
	}
	if q.Service != "" && len(rep.Services) == 0 {
		rep.Services = append(rep.Services, ServiceTraffic{Resource: Resource{Kind: "Service", Namespace: q.Namespace, Name: q.Service}, Side: qs.ServiceSide,
			Figures: Figures{Missing: []string{fmt.Sprintf("no %s series for Service %s/%s in the %s before %s", qs.Requests, q.Namespace, q.Service,
				window, q.At.UTC().Format(time.RFC3339))}}})
	}
	return nil
}

// matchers adds label matchers for the values given.
func matchers(nsLabel, ns, wlLabel, wl string) string {
	var s string
	if ns != "" {
		s += fmt.Sprintf(`, %s=%q`, nsLabel, ns)
	}
	if wl != "" {
		s += fmt.Sprintf(`, %s=%q`, wlLabel, wl)
	}
	return s
}

// figures runs qs (figureQueries) and assembles the figures of each group,
// ordered by their label values.
func (p *Prometheus) figures(ctx context.Context, qs map[string]string, at time.Time, window time.Duration) ([]group, map[string]Figures, error) {
	vals := map[string]map[string]float64{} // query → group key → value
	byKey := map[string]group{}
	names := make([]string, 0, len(qs))
	for n := range qs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		vec, err := p.vector(ctx, qs[n], at)
		if err != nil {
			return nil, nil, err
		}
		vals[n] = map[string]float64{}
		by := byLabels(qs[n])
		for _, s := range vec {
			g := make(group, len(by))
			for i, l := range by {
				g[i] = string(s.Metric[model.LabelName(l)])
			}
			if _, ok := byKey[g.key()]; !ok {
				if len(byKey) >= maxGroups {
					continue
				}
				byKey[g.key()] = g
			}
			vals[n][g.key()] = float64(s.Value)
		}
	}
	var groups []group
	figs := map[string]Figures{}
	for k, g := range byKey {
		if _, ok := vals["requests"][k]; !ok {
			if _, ok := vals["responses"][k]; !ok {
				continue // latency buckets without requests: not traffic
			}
		}
		groups = append(groups, g)
		figs[k] = assemble(vals, k, window)
	}
	slices.SortFunc(groups, func(a, b group) int { return strings.Compare(a.key(), b.key()) })
	return groups, figs, nil
}

// byLabels reads back the labels of a query's "sum by (...)".
func byLabels(q string) []string {
	_, rest, _ := strings.Cut(q, "sum by (")
	list, _, _ := strings.Cut(rest, ")")
	var out []string
	for _, l := range strings.Split(list, ",") {
		if l = strings.TrimSpace(l); l != "" && l != "le" {
			out = append(out, l)
		}
	}
	return out
}

// assemble computes one group's figures from the query values.
func assemble(vals map[string]map[string]float64, k string, window time.Duration) Figures {
	var f Figures
	get := func(n string) (float64, bool) {
		v, ok := vals[n][k]
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, false
		}
		return v, true
	}
	if v, ok := get("requests"); ok {
		f.RequestRate = &v
	} else {
		f.Missing = append(f.Missing, "request rate: no request series")
	}
	resp, okR := get("responses")
	succ, okS := get("successes")
	if !okS && okR {
		succ, okS = 0, true // no series matches success: none succeeded
	}
	switch {
	case !okR:
		f.Missing = append(f.Missing, "success rate: no response series")
	case resp == 0:
		f.Missing = append(f.Missing, "success rate: no responses in the window")
	default:
		sr := succ / resp
		ns, nf := succ*window.Seconds(), (resp-succ)*window.Seconds()
		f.SuccessRate, f.Successes, f.Failures = &sr, &ns, &nf
	}
	for _, pq := range []struct {
		query, name string
		to          **float64
	}{{"p0.5", "p50", &f.P50Ms}, {"p0.9", "p90", &f.P90Ms}, {"p0.99", "p99", &f.P99Ms}} {
		if v, ok := get(pq.query); ok {
			*pq.to = &v
		} else {
			f.Missing = append(f.Missing, pq.name+" latency: no latency histogram observations in the window")
		}
	}
	return f
}

// vector runs an instant query; an error says what failed without the
// remote's text (prom.Client.Instant).
func (p *Prometheus) vector(ctx context.Context, q string, at time.Time) (model.Vector, error) {
	val, err := p.api.Instant(ctx, q, at)
	if err != nil {
		return nil, err
	}
	vec, ok := val.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("prometheus at %s answered a %s, want a vector", p.url, val.Type())
	}
	return vec, nil
}

func (p *Prometheus) set(mesh string) (QuerySet, bool) {
	for _, s := range p.sets {
		if s.Mesh == mesh {
			return s, true
		}
	}
	return QuerySet{}, false
}

func (p *Prometheus) meshes() string {
	var names []string
	for _, s := range p.sets {
		names = append(names, s.Mesh)
	}
	return strings.Join(names, ", ")
}
