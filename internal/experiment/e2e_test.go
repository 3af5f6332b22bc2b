package experiment_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/experiment"
	"github.com/meshperf/meshperf/internal/prom"
	"github.com/meshperf/meshperf/internal/runner"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
	"github.com/meshperf/meshperf/store/sqlite"
)

func openStore(t *testing.T, path string) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Baseline = meshperf echo directly, proxy = the same echo behind HAProxy;
// three rates, two repeats; a real Prometheus scrapes HAProxy's exporter
// and the proxy's process figures during the experiment.
func TestExperimentProxyOverhead(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: about a minute of load against HAProxy and Prometheus")
	}
	r := startRig(t)
	ctx := context.Background()
	const warmup, cooldown, step = time.Second, time.Second, time.Second
	f, err := experiment.Parse([]byte(fmt.Sprintf(`
name: proxy-overhead
duration: 3s
warmup: 1s
cooldown: 1s
repeats: 2
connections: 4
variants:
- {name: baseline, targets: ["%s"]}
- {name: proxy, targets: ["%s"]}
sweep: {rps: [100, 200, 400]}
metrics:
  prometheus: %s
  step: 1s
  queries:
  - {name: proxy_cpu_mcores, unit: mcores, query: 'sum(rate(namedprocess_namegroup_cpu_seconds_total{groupname="sidecar"}[3s])) * 1000'}
  - {name: proxy_mem_mb, unit: MB, query: 'sum(namedprocess_namegroup_memory_bytes{groupname="sidecar",memtype="resident"}) / 1e6'}
  - {name: proxy_requests, unit: requests, query: 'sum(haproxy_frontend_http_requests_total{proxy="sidecar"})'}
`, r.echo, r.proxy, r.prom)))
	if err != nil {
		t.Fatal(err)
	}
	def, err := experiment.Resolve(f, ".")
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t, filepath.Join(t.TempDir(), "m.db"))
	exp, _, err := experiment.Open(ctx, st, def, false)
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	if err := (&experiment.Runner{Store: st, Version: "test", Log: &log}).Run(ctx, exp, def); err != nil {
		t.Fatalf("experiment: %v\n%s", err, log.String())
	}
	t.Logf("cells:\n%s", log.String())
	rep, err := experiment.BuildReport(ctx, st, exp)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	if err := rep.Text(&text); err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", text.String())

	t.Run("the proxy adds latency at every point", func(t *testing.T) {
		if rep.Experiment.State != store.ExperimentDone || rep.Experiment.Done != 12 {
			t.Fatalf("experiment %+v, want done with 12 cells", rep.Experiment)
		}
		for _, pt := range rep.Points {
			proxy := pt.Variants[1]
			if proxy.Name != "proxy" || len(proxy.Cells) != 2 || len(pt.Variants[0].Cells) != 2 {
				t.Fatalf("point %g: variants %+v", pt.RPS, pt.Variants)
			}
			o, ok := proxy.Overhead["p50"]
			if !ok || o.AddedMs <= 0 || o.Ratio <= 1 {
				t.Errorf("at %g rps the proxy adds %+v to the median p50, want more than 0", pt.RPS, o)
			}
			for _, v := range pt.Variants {
				if v.ErrorRate.Max > 0 || math.Abs(v.AchievedRPS.Median-pt.RPS) > 0.05*pt.RPS {
					t.Errorf("at %g rps %s achieved %+v with error rate %+v", pt.RPS, v.Name, v.AchievedRPS, v.ErrorRate)
				}
			}
		}
	})

	stored, err := experiment.Stored(ctx, st, exp.ID)
	if err != nil {
		t.Fatal(err)
	}
	results := map[experiment.Key]*spec.Result{}
	for k, s := range stored {
		sr, err := st.GetResult(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		results[k] = sr.Result
	}

	t.Run("metric series cover exactly the measured window", func(t *testing.T) {
		for k, res := range results {
			wantStart := res.StartTime.Add(warmup)
			wantEnd := res.EndTime.Add(-cooldown)
			if len(res.Metrics) != 3 {
				t.Fatalf("cell %+v: %d metrics", k, len(res.Metrics))
			}
			for _, m := range res.Metrics {
				if m.Missing != "" {
					t.Errorf("cell %+v: %s missing: %s", k, m.Name, m.Missing)
					continue
				}
				if m.Start.Sub(wantStart).Abs() > time.Millisecond || m.End.Sub(wantEnd).Abs() > time.Millisecond {
					t.Errorf("cell %+v: %s window %s–%s, want %s–%s", k, m.Name, m.Start, m.End, wantStart, wantEnd)
				}
				if len(m.Series) != 1 {
					t.Errorf("cell %+v: %s has %d series, want 1 (summed)", k, m.Name, len(m.Series))
					continue
				}
				ss := m.Series[0].Samples
				first, last := ss[0].T, ss[len(ss)-1].T
				for _, s := range ss {
					if s.T.Before(m.Start) || s.T.After(m.End) {
						t.Errorf("cell %+v: %s sample at %s outside %s–%s", k, m.Name, s.T, m.Start, m.End)
					}
				}
				if first.Sub(m.Start) >= step || m.End.Sub(last) >= step {
					t.Errorf("cell %+v: %s samples %s–%s do not cover %s–%s within a step", k, m.Name, first, last, m.Start, m.End)
				}
			}
			cpu, _ := prom.Find(res.Metrics, "proxy_cpu_mcores")
			mem, _ := prom.Find(res.Metrics, "proxy_mem_mb")
			// HAProxy's request counter over the window: samples one step
			// apart are scraped at the same phase, so their difference
			// counts the requests of a span as long as the window, shifted
			// by less than a scrape interval (< warm-up, < cool-down): it
			// lies within the cell.
			reqs, _ := prom.Find(res.Metrics, "proxy_requests")
			ss := reqs.Series[0].Samples
			counted := ss[len(ss)-1].V - ss[0].V
			span := ss[len(ss)-1].T.Sub(ss[0].T).Seconds()
			rate := res.Requested.RPS
			switch k.Variant {
			case "proxy":
				if got := counted / span; math.Abs(got-rate) > 0.1*rate {
					t.Errorf("cell %+v: HAProxy counted %.0f requests in %.1fs of the window (%.1f/s), want %g/s", k, counted, span, got, rate)
				}
				if cpu.Average <= 0 {
					t.Errorf("cell %+v: proxy CPU %.2f mcores, want above 0", k, cpu.Average)
				}
			case "baseline":
				// Nothing went through the proxy in a baseline cell's
				// window: the window is the cell's, not its neighbours'.
				if counted != 0 {
					t.Errorf("cell %+v: HAProxy counted %.0f requests during a baseline cell's window, want 0", k, counted)
				}
			}
			if mem.Average <= 0.5 {
				t.Errorf("cell %+v: proxy memory %.2f MB", k, mem.Average)
			}
			if p := res.Process; p == nil || p.CPUSeconds <= 0 || p.MaxRSSBytes <= 0 || p.MaxGoroutines <= 0 || p.LateRatio != res.Achieved.LateRatio {
				t.Errorf("cell %+v: process %+v", k, res.Process)
			}
		}
	})

	t.Run("the baseline agrees with a plain run", func(t *testing.T) {
		cell := experiment.Cell{Variant: "baseline", Point: experiment.Point{RPS: 200, Connections: 4}, Repeat: 1}
		plans, err := def.Plans(cell)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := runner.Run(ctx, "test", plans, nil)
		if err != nil {
			t.Fatal(err)
		}
		base := rep.Points[1].Variants[0]
		p50, _ := plain.Latency.At(50)
		if got := base.Latency["p50"].Median; math.Abs(got-p50) > math.Max(0.5, 0.3*p50) {
			t.Errorf("baseline p50 %.3f ms in the experiment, %.3f ms in a plain run", got, p50)
		}
		if math.Abs(base.AchievedRPS.Median-plain.Achieved.RPS) > 0.02*plain.Achieved.RPS {
			t.Errorf("baseline rate %.1f/s in the experiment, %.1f/s in a plain run", base.AchievedRPS.Median, plain.Achieved.RPS)
		}
	})

	t.Run("a query with a syntax error is missing with Prometheus's status and class", func(t *testing.T) {
		res := results[experiment.Cell{Variant: "proxy", Point: experiment.Point{RPS: 100, Connections: 4}, Repeat: 1}.Key()]
		cfg := &spec.MetricsConfig{Prometheus: r.prom, Queries: []spec.MetricQuery{
			{Name: "bad", Query: `sum(rate(haproxy_frontend_http_requests_total[2s])`},
			{Name: "none", Query: `no_such_metric_anywhere`},
			{Name: "good", Query: `sum(rate(haproxy_frontend_http_requests_total{proxy="sidecar"}[2s]))`},
		}}
		ms := prom.Collect(ctx, cfg, prom.MeasuredWindow(res, cooldown))
		// Only the status and Prometheus's error class: the remote's own
		// text is never carried back (docs/security.md, allow-lists).
		if !strings.Contains(ms[0].Missing, "HTTP 400 (bad_data)") || strings.Contains(ms[0].Missing, "parse error") {
			t.Errorf("bad PromQL: missing %q, want Prometheus's status and class, not its text", ms[0].Missing)
		}
		if !strings.Contains(ms[1].Missing, "no data") {
			t.Errorf("unknown metric: missing %q, want no data", ms[1].Missing)
		}
		if ms[2].Missing != "" || ms[2].Average <= 0 {
			t.Errorf("the good query next to them: %+v", ms[2])
		}
	})
}

// A run whose profile names a Prometheus that is down completes, stored,
// with the metric missing and the reason; the client's own figures are in
// the result.
func TestRunWithPrometheusDown(t *testing.T) {
	echoURL := startEcho(t, "0")
	dir := t.TempDir()
	down := freePort(t) // nothing listens there
	prof := filepath.Join(dir, "p.yaml")
	writeFile(t, prof, fmt.Sprintf(`name: prom-down
duration: 2s
clients: [{rps: 50, connections: 2, endpoint_urls: ["%s"]}]
metrics:
  prometheus: http://127.0.0.1:%d
  queries: [{name: proxy_cpu_mcores, query: up}]
`, echoURL, down))
	db := filepath.Join(dir, "m.db")
	out, err := exec.Command(meshperf(t), "--db", db, "run", "-f", prof, "--output", "json").Output()
	if err != nil {
		t.Fatalf("meshperf run: %v", err)
	}
	var res spec.Result
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Metrics) != 1 || !strings.Contains(res.Metrics[0].Missing, "unreachable") || !strings.Contains(res.Metrics[0].Missing, "connection refused") {
		t.Errorf("metrics %+v, want proxy_cpu_mcores missing: unreachable", res.Metrics)
	}
	if res.Achieved.Responses == 0 || res.Process == nil || res.Process.CPUSeconds <= 0 {
		t.Errorf("the run did not complete with its process figures: %+v, %+v", res.Achieved, res.Process)
	}
}

// SIGKILL mid-way, then the same command: only the cells not stored run,
// and the report has every cell exactly once.
func TestResumeAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: runs the CLI twice for about 15 s")
	}
	echoURL := startEcho(t, "1ms")
	dir := t.TempDir()
	file := filepath.Join(dir, "exp.yaml")
	writeFile(t, file, fmt.Sprintf(`name: resume-me
duration: 1s
connections: 2
variants:
- {name: baseline, targets: ["%[1]s"]}
- {name: again, targets: ["%[1]s?x=1"]}
sweep: {rps: [50, 100, 150]}
`, echoURL))
	db := filepath.Join(dir, "m.db")
	bin := meshperf(t)

	cmd := exec.Command(bin, "--db", db, "experiment", "run", "-f", file)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := watch(bufio.NewScanner(stderr))
	deadline := time.Now().Add(60 * time.Second)
	for w.count() < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-w.done
	_ = cmd.Wait()
	first := w.count()
	if first < 2 || first >= 6 {
		t.Fatalf("killed after %d cells, want 2 to 5:\n%s", first, w.text())
	}

	st := openStore(t, db)
	exp, err := st.GetExperiment(context.Background(), "resume-me")
	if err != nil {
		t.Fatal(err)
	}
	if exp.State != store.ExperimentRunning {
		t.Errorf("after SIGKILL the experiment is %s, want still running", exp.State)
	}
	before, err := experiment.Stored(context.Background(), st, exp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != first {
		t.Errorf("%d cells stored, %d reported", len(before), first)
	}

	cmd = exec.Command(bin, "--db", db, "experiment", "run", "-f", file, "--output", "json")
	var errOut strings.Builder
	cmd.Stderr = &errOut
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the second run: %v\n%s", err, errOut.String())
	}
	if want := fmt.Sprintf("resuming, %d of 6 cells already stored", first); !strings.Contains(errOut.String(), want) {
		t.Errorf("the second run does not say %q:\n%s", want, errOut.String())
	}
	if n := strings.Count(errOut.String(), "\ncell ") + map[bool]int{true: 1}[strings.HasPrefix(errOut.String(), "cell ")]; n != 6-first {
		t.Errorf("the second run ran %d cells, want the %d left:\n%s", n, 6-first, errOut.String())
	}
	for k := range before {
		if strings.Contains(errOut.String(), fmt.Sprintf("%-12s rps %-6s c %-4s repeat %s ", k.Variant, k.RPS, k.Connections, k.Repeat)) {
			t.Errorf("cell %+v ran again", k)
		}
	}
	var rep experiment.Report
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	if rep.Experiment.ID != exp.ID || rep.Experiment.State != store.ExperimentDone || rep.Experiment.Done != 6 {
		t.Errorf("report of %+v, want %s done with 6 cells", rep.Experiment, exp.ID)
	}
	ids := map[string]bool{}
	for _, pt := range rep.Points {
		for _, v := range pt.Variants {
			if len(v.Cells) != 1 {
				t.Errorf("%g rps %s: %d cells, want exactly 1", pt.RPS, v.Name, len(v.Cells))
			}
			for _, c := range v.Cells {
				ids[c.ResultID] = true
			}
		}
	}
	page, err := st.ListResults(context.Background(), store.ResultFilter{Labels: map[string]string{experiment.LabelExperiment: exp.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Results) != 6 || len(ids) != 6 {
		t.Errorf("%d results stored and %d in the report, want 6 each", len(page.Results), len(ids))
	}
	// The report command gives the same JSON.
	again, err := exec.Command(bin, "--db", db, "experiment", "report", "resume-me", "--output", "json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var rep2 experiment.Report
	if err := json.Unmarshal(again, &rep2); err != nil || len(rep2.Points) != 3 || rep2.Experiment.ID != exp.ID {
		t.Errorf("experiment report: %v %s", err, again)
	}
	list, err := exec.Command(bin, "--db", db, "experiment", "list").Output()
	if err != nil || !strings.Contains(string(list), exp.ID) || !strings.Contains(string(list), "6/6") {
		t.Errorf("experiment list: %v\n%s", err, list)
	}
}
