package capacity

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"

	"github.com/meshperf/meshperf/internal/procstat"
	"github.com/meshperf/meshperf/spec"
)

// Step is one step as measured and judged.
type Step struct {
	N     int     `json:"step"`
	Phase string  `json:"phase"`
	RPS   float64 `json:"rps"`
	// ResultID is the stored result of the step, empty when not stored.
	ResultID    string  `json:"result_id,omitempty"`
	AchievedRPS float64 `json:"achieved_rps"`
	Requests    int64   `json:"requests"`
	ErrorRate   float64 `json:"error_rate"`
	LateRatio   float64 `json:"late_ratio"`
	// Corrected latency percentiles, in ms (service time in closed loop).
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p99_9_ms"`
	// CPUCores is the client's own CPU during the step.
	CPUCores float64 `json:"cpu_cores"`
	// BusyConnections estimates the connections in use on average (rate ×
	// mean service time, Little's law); Connections is how many there were.
	BusyConnections float64        `json:"busy_connections"`
	Connections     int            `json:"connections"`
	Verdicts        []spec.Verdict `json:"verdicts"`
	MetricVerdicts  []MetricResult `json:"metric_verdicts,omitempty"`
	// Met is set when every objective was met.
	Met bool `json:"met"`
	// Broken lists the objectives not met, as written.
	Broken []string `json:"broken,omitempty"`
	// ClientLimited is set when meshperf itself could not keep up, so the
	// step says nothing about the target; ClientReason says why.
	ClientLimited bool   `json:"client_limited,omitempty"`
	ClientReason  string `json:"client_reason,omitempty"`
	// LimitAgent names the agent that was the limit of a distributed
	// step (ClientLimited on its own report).
	LimitAgent  string `json:"limit_agent,omitempty"`
	Interrupted bool   `json:"interrupted,omitempty"`
}

// RateShortfall is how far a step's achieved rate may fall below the rate
// asked before the step counts as not sustained.
const RateShortfall = 0.01

// busyShare is the share of the connections that, on average in use,
// explains late sends by the target's slowness rather than the client's.
const busyShare = 0.8

// judge measures res against the objectives and the client-limit rule.
func judge(n int, r float64, phase string, res *spec.Result, o Options) Step {
	st := Step{N: n, Phase: phase, RPS: r, ResultID: res.ID, Interrupted: res.Interrupted,
		AchievedRPS: res.Achieved.RPS, Requests: res.Achieved.Requests,
		ErrorRate: res.Achieved.ErrorRate, LateRatio: res.Achieved.LateRatio,
		Connections: res.Requested.Connections}
	d := res.Latency
	if d == nil {
		d = res.ServiceTime
	}
	st.P50Ms, _ = d.At(50)
	st.P90Ms, _ = d.At(90)
	st.P99Ms, _ = d.At(99)
	st.P999Ms, _ = d.At(99.9)
	if res.ServiceTime != nil {
		st.BusyConnections = res.Achieved.RPS * res.ServiceTime.MeanMs / 1000
	}
	if p := res.Process; p != nil {
		st.CPUCores = p.CPUCores
	}
	st.Verdicts = spec.Check(res, o.Objectives)
	st.Met = true
	var broken []spec.Objective
	for _, v := range st.Verdicts {
		if !v.Met {
			st.Met = false
			st.Broken = append(st.Broken, v.Objective.Raw)
			broken = append(broken, v.Objective)
		}
	}
	// A fixed-rate step the target did not keep up with is not sustained,
	// even when the queue it builds has not yet reached the latency
	// objectives in a short step: its responses fall short of the rate.
	// (Below the limit they match it: responses of requests sent in the
	// step are counted when they finish.)
	if r > 0 && !res.Interrupted && st.AchievedRPS < r*(1-RateShortfall) {
		st.Met = false
		raw := fmt.Sprintf("achieved rate >= %.0f%% of %s/s", 100*(1-RateShortfall), strconv.FormatFloat(r, 'f', -1, 64))
		st.Broken = append(st.Broken, raw)
		broken = append(broken, spec.Objective{Metric: "rps", Raw: raw})
	}
	for _, m := range o.Metrics {
		mr := m.check(res)
		st.MetricVerdicts = append(st.MetricVerdicts, mr)
		if !mr.Met {
			st.Met = false
			st.Broken = append(st.Broken, m.Raw)
			broken = append(broken, spec.Objective{Metric: "metric:" + m.Name, Raw: m.Raw})
		}
	}
	if !st.Met {
		// A step that met its objectives passed, whatever the client's
		// state: its lateness is inside the latencies judged.
		if len(res.Agents) > 0 {
			st.ClientLimited, st.ClientReason, st.LimitAgent = agentsLimit(res, broken)
		} else {
			st.ClientLimited, st.ClientReason = clientLimit(res, st.BusyConnections, o.MaxProcs, broken)
		}
	}
	return st
}

// clientLimit decides whether a step that broke objectives did so because
// of meshperf rather than the target, on procstat's saturated rule with two
// refinements, so that a slow target is not taken for a saturated client:
//
//   - CPU at the limit (procstat.CPULimit of GOMAXPROCS) is the client's.
//   - Late sends above procstat.LateRatioLimit are the client's only when
//     the connections were not all busy (otherwise requests waited behind a
//     slow target: that is the target's limit) and every broken objective
//     is a latency the target's own service time met (so the lateness, not
//     the target, broke it), or the achieved rate, which requests sent
//     late with connections free fall short of. An error rate is never
//     the client's lateness.
func clientLimit(res *spec.Result, busy float64, maxProcs int, broken []spec.Objective) (bool, string) {
	p := res.Process
	if p == nil {
		return false, ""
	}
	if maxProcs <= 0 {
		maxProcs = runtime.GOMAXPROCS(0)
	}
	if p.CPUCores >= procstat.CPULimit*float64(maxProcs) {
		return true, fmt.Sprintf("meshperf used %.2f of its %d CPUs", p.CPUCores, maxProcs)
	}
	return lateLimit(res, busy, broken)
}

// agentsLimit is the client-limit rule of a distributed step, applied to
// each agent on its own report (its process, late sends, connections and
// service time): the first agent found at its limit is named. The merged
// result adds their load: one agent at its limit hides in it.
//
//   - An agent whose report says saturated with few late sends was at its
//     CPU limit (procstat.Saturated: late sends or CPU; the agent knows
//     its CPUs, the server does not).
//   - Late sends are the agent's as in lateLimit, on its own share.
func agentsLimit(res *spec.Result, broken []spec.Objective) (limited bool, reason, agent string) {
	for _, a := range res.Agents {
		p := a.Process
		if p == nil || a.Dropped {
			continue
		}
		if p.Saturated && p.LateRatio <= procstat.LateRatioLimit {
			return true, fmt.Sprintf("agent %s was at its CPU limit (%.2f cores)", a.Name, p.CPUCores), a.Name
		}
		share := &spec.Result{Achieved: a.Achieved, Latency: a.Latency, ServiceTime: a.ServiceTime, Process: p,
			Requested: spec.Requested{Connections: a.Connections}}
		var busy float64
		if a.ServiceTime != nil {
			busy = a.Achieved.RPS * a.ServiceTime.MeanMs / 1000
		}
		if ok, why := lateLimit(share, busy, broken); ok {
			return true, "agent " + a.Name + ": " + why, a.Name
		}
	}
	return false, "", ""
}

// lateLimit is the late-sends part of clientLimit.
func lateLimit(res *spec.Result, busy float64, broken []spec.Objective) (bool, string) {
	p := res.Process
	if p.LateRatio <= procstat.LateRatioLimit {
		return false, ""
	}
	conns := float64(res.Requested.Connections)
	if conns > 0 && busy >= busyShare*conns {
		return false, "" // requests waited for connections held by a slow target
	}
	for _, o := range broken {
		if o.Metric == "rps" {
			// The achieved rate fell short with connections free: the
			// requests not answered in the step were the ones sent late.
			continue
		}
		if !latencyMetric(o.Metric) {
			return false, ""
		}
		svc := o
		svc.Metric = "service_" + o.Metric
		if v := spec.Check(res, []spec.Objective{svc}); len(v) != 1 || !v[0].Met {
			return false, "" // the target's own service time broke it too
		}
	}
	return true, fmt.Sprintf("%.1f%% of requests were sent late with %.0f of %d connections busy on average, and the target's service time met %s",
		100*p.LateRatio, busy, res.Requested.Connections, objectiveList(broken))
}

// latencyMetric tells a corrected-latency objective (p99, max, mean...),
// which lateness can break, from the others.
func latencyMetric(m string) bool {
	if strings.HasPrefix(m, "service_") {
		return false
	}
	return m == "max" || m == "mean" || (strings.HasPrefix(m, "p") && m != "")
}

func objectiveList(objs []spec.Objective) string {
	var s []string
	for _, o := range objs {
		s = append(s, o.Raw)
	}
	return strings.Join(s, ", ")
}

// MetricObjective is an objective on one of the profile's Prometheus
// queries (spec.Metric by name), on its average over the step's measured
// window: "proxy_cpu_mcores<=500".
type MetricObjective struct {
	Name  string  `json:"name"`
	Op    string  `json:"op"`
	Value float64 `json:"value"`
	Raw   string  `json:"raw"`
}

// MetricResult is a MetricObjective judged on one step.
type MetricResult struct {
	Objective MetricObjective `json:"objective"`
	Actual    float64         `json:"actual"`
	Met       bool            `json:"met"`
	// Reason says why no value was measured (such a verdict is not met:
	// a search cannot pass a step on what it did not see).
	Reason string `json:"reason,omitempty"`
}

// maxMetricName bounds a metric objective's name.
const maxMetricName = 128

// ParseMetricObjectives reads comma-separated NAME OP NUMBER objectives,
// naming every malformed one.
func ParseMetricObjectives(s string) ([]MetricObjective, error) {
	var out []MetricObjective
	var errs []error
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		m, err := parseMetricObjective(part)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, m)
	}
	return out, errors.Join(errs...)
}

func parseMetricObjective(s string) (MetricObjective, error) {
	i := strings.IndexAny(s, "<>")
	if i <= 0 {
		return MetricObjective{}, fmt.Errorf("metric objective %q: want NAME OP NUMBER, e.g. proxy_cpu_mcores<=500", s)
	}
	m := MetricObjective{Raw: s, Name: strings.TrimSpace(s[:i])}
	rest := s[i:]
	for _, op := range []string{"<=", ">=", "<", ">"} {
		if strings.HasPrefix(rest, op) {
			m.Op, rest = op, strings.TrimSpace(rest[len(op):])
			break
		}
	}
	if len(m.Name) > maxMetricName || strings.ContainsAny(m.Name, " \t=") {
		return MetricObjective{}, fmt.Errorf("metric objective %q: %q is not a metric name", s, m.Name)
	}
	v, err := strconv.ParseFloat(rest, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return MetricObjective{}, fmt.Errorf("metric objective %q: %q is not a number", s, rest)
	}
	m.Value = v
	return m, nil
}

func (m MetricObjective) check(res *spec.Result) MetricResult {
	out := MetricResult{Objective: m}
	for _, x := range res.Metrics {
		if x.Name != m.Name {
			continue
		}
		if x.Missing != "" {
			out.Reason = x.Missing
			return out
		}
		out.Actual = x.Average
		switch m.Op {
		case "<":
			out.Met = x.Average < m.Value
		case "<=":
			out.Met = x.Average <= m.Value
		case ">":
			out.Met = x.Average > m.Value
		case ">=":
			out.Met = x.Average >= m.Value
		}
		return out
	}
	out.Reason = "the profile has no metric " + strconv.Quote(m.Name)
	return out
}
