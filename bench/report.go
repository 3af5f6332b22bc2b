//go:build bench

package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// section is one benchmark's part of the report.
type section struct {
	Title   string                 `json:"title"`
	Params  string                 `json:"params"`
	Peers   []string               `json:"peers"`
	OpenRPS float64                `json:"open_rps,omitempty"`
	Memory  bool                   `json:"memory,omitempty"`
	Runs    map[string][]runResult `json:"runs"`
	Targets []target               `json:"targets"`
	Notes   []string               `json:"notes,omitempty"`
	// Figures, when set, are the section's table instead of the per-tool
	// runs (the team-mode server benchmark), as name and value.
	Figures [][2]string `json:"figures,omitempty"`
}

// target is one figure compared with what the issue asks.
type target struct {
	Name   string  `json:"name"`
	Unit   string  `json:"unit"` // the b.ReportMetric unit
	Value  float64 `json:"value"`
	Want   string  `json:"want"`
	Known  bool    `json:"known"` // false: a figure it needs is missing
	Pass   bool    `json:"pass"`
	Info   bool    `json:"info,omitempty"` // a reference figure, no target
	Format string  `json:"-"`
}

func (t target) result() string {
	switch {
	case t.Info:
		return "info"
	case !t.Known:
		return "NO DATA"
	case t.Pass:
		return "PASS"
	default:
		return "FAIL"
	}
}

func (t target) value() string {
	if !t.Known || math.IsNaN(t.Value) {
		return "–"
	}
	return fmt.Sprintf(t.Format, t.Value)
}

// MarshalJSON keeps NaN out of the JSON.
func (t target) MarshalJSON() ([]byte, error) {
	type plain target
	if math.IsNaN(t.Value) || math.IsInf(t.Value, 0) {
		t.Value = 0
	}
	return json.Marshal(plain(t))
}

func fnum(v float64, prec int) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.*f", prec, v)
}

// writeReport writes the markdown report and, beside it, the raw runs as
// JSON. It returns the markdown's path.
func (s *suite) writeReport() (string, error) {
	path := s.cfg.report
	if path == "" {
		path = filepath.Join(s.root, "bench", "out", "latest.md")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	var w strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&w, format, a...) }

	p("# meshperf benchmark report\n\n")
	p("Each tool runs as its own process against one private nginx (one worker, `return 200 \"hello\\n\"`, access log off, keep-alive for the whole run) on 127.0.0.1. ")
	p("Client CPU and peak RSS come from the child's rusage; nginx CPU from /proc/<pid>/stat of its master and worker; \"others\" is the CPU of every other process on the machine over the run (neighbours, kernel threads), from /proc/*/stat. ")
	p("Figures are medians over runs; ratios are of medians.\n\n")
	if s.setupErr != nil {
		p("**Setup failed:** %s\n\n", s.setupErr)
	}
	if len(s.info) > 0 {
		p("| machine | |\n|---|---|\n")
		for _, kv := range s.info {
			p("| %s | %s |\n", kv[0], strings.ReplaceAll(kv[1], "|", "\\|"))
		}
		p("\n")
	}
	if s.mpErr != "" {
		p("**meshperf was not measured:** %s\n\n", s.mpErr)
	}

	var summary []target
	for _, key := range s.order {
		sec := s.sections[key]
		writeSection(&w, sec)
		for _, t := range sec.Targets {
			if !t.Info {
				summary = append(summary, t)
			}
		}
	}
	if len(summary) > 0 {
		p("## Summary of targets\n\n| target | value | want | result |\n|---|---|---|---|\n")
		for _, t := range summary {
			p("| %s | %s | %s | %s |\n", t.Name, t.value(), t.Want, t.result())
		}
		p("\n")
	}

	if err := os.WriteFile(path, []byte(w.String()), 0o644); err != nil {
		return "", err
	}
	raw := struct {
		Machine  [][2]string `json:"machine"`
		Sections []*section  `json:"sections"`
	}{Machine: s.info}
	for _, key := range s.order {
		raw.Sections = append(raw.Sections, s.sections[key])
	}
	js, err := json.MarshalIndent(raw, "", "  ")
	if err != nil {
		return path, err
	}
	return path, os.WriteFile(strings.TrimSuffix(path, filepath.Ext(path))+".json", js, 0o644)
}

func writeSection(w *strings.Builder, sec *section) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("## %s\n\n%s.\n\n", sec.Title, sec.Params)
	if sec.Figures != nil {
		p("| figure | value |\n|---|---|\n")
		for _, f := range sec.Figures {
			p("| %s | %s |\n", f[0], f[1])
		}
		p("\n")
		if len(sec.Targets) > 0 {
			p("| target | value | want | result |\n|---|---|---|---|\n")
			for _, t := range sec.Targets {
				p("| %s | %s | %s | %s |\n", t.Name, t.value(), t.Want, t.result())
			}
			p("\n")
		}
		for _, n := range sec.Notes {
			p("- %s\n", n)
		}
		p("\n")
		return
	}

	if sec.Memory {
		p("| tool | short run peak RSS (MB) | long run peak RSS (MB) | long run RSS over time (MB, every 10%%) |\n|---|---|---|---|\n")
		for _, peer := range sec.Peers {
			rs := sec.Runs[peer]
			cell := func(i int) string {
				if i >= len(rs) {
					return "–"
				}
				if !rs[i].OK {
					return "failed"
				}
				return fnum(rs[i].MaxRSSMB, 1)
			}
			trend := "–"
			if len(rs) > 1 && rs[1].OK {
				trend = rssTrend(rs[1].RSSMB)
			}
			p("| %s | %s | %s | %s |\n", peer, cell(0), cell(1), trend)
		}
		p("\n")
	} else {
		n := 0
		for _, rs := range sec.Runs {
			n = max(n, len(rs))
		}
		var rowOf func(label string, rs []runResult, f func(runResult) float64, med func([]runResult, func(runResult) float64) float64, prec int)
		head := func(label string) {
			p("| %s |", label)
			for i := 1; i <= n; i++ {
				p(" run %d |", i)
			}
			p(" median |\n|---|")
			for i := 0; i <= n; i++ {
				p("---|")
			}
			p("\n")
		}
		row := func(peer string, f func(runResult) float64, prec int) {
			rowOf(peer, sec.Runs[peer], f, medianOf, prec)
		}
		rowOf = func(label string, rs []runResult, f func(runResult) float64, med func([]runResult, func(runResult) float64) float64, prec int) {
			p("| %s |", label)
			for i := 0; i < n; i++ {
				switch {
				case i >= len(rs):
					p(" – |")
				case !rs[i].OK:
					p(" failed |")
				default:
					p(" %s |", fnum(f(rs[i]), prec))
				}
			}
			p(" **%s** |\n", fnum(med(rs, f), prec))
		}
		rps := func(r runResult) float64 { return r.RPS }
		if sec.OpenRPS > 0 {
			head("client CPU s per million requests")
			for _, peer := range sec.Peers {
				row(peer, runResult.cpuPerMReq, 2)
			}
			p("\n")
			head("achieved requests/s")
			for _, peer := range sec.Peers {
				row(peer, rps, 0)
			}
			// meshperf's own median latencies: what its send schedule
			// costs (corrected) next to the server's answer (service).
			var lat []string
			for _, peer := range sec.Peers {
				rs := sec.Runs[peer]
				if !math.IsNaN(medianPositive(rs, latP50)) || !math.IsNaN(medianPositive(rs, svcP50)) {
					lat = append(lat, peer)
				}
			}
			if len(lat) > 0 {
				p("\n")
				head("latency p50 (ms)")
				for _, peer := range lat {
					rs := sec.Runs[peer]
					cell := func(f func(runResult) float64) func(runResult) float64 {
						return func(r runResult) float64 {
							if v := f(r); v > 0 {
								return v
							}
							return math.NaN()
						}
					}
					rowOf(peer+" corrected", rs, cell(latP50), medianPositive, 3)
					rowOf(peer+" service time", rs, cell(svcP50), medianPositive, 3)
				}
			}
		} else {
			head("requests/s")
			for _, peer := range sec.Peers {
				row(peer, rps, 0)
			}
		}
		p("\n")
		head("nginx CPU (cores)")
		for _, peer := range sec.Peers {
			row(peer, runResult.nginxCores, 2)
		}
		p("\n")
	}

	if len(sec.Targets) > 0 {
		p("| target | value | want | result |\n|---|---|---|---|\n")
		for _, t := range sec.Targets {
			p("| %s | %s | %s | %s |\n", t.Name, t.value(), t.Want, t.result())
		}
		p("\n")
	}

	p("<details><summary>per-run detail</summary>\n\n")
	p("| tool | run | wall s | req/s | requests | errors | non-2xx | client CPU s (user+sys) | CPU s/Mreq | client cores | peak RSS MB | nginx cores | others cores | others before |\n")
	p("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, peer := range sec.Peers {
		for _, r := range sec.Runs[peer] {
			if !r.OK {
				p("| %s | %d | failed: %s |||||||||||\n", peer, r.Run, strings.ReplaceAll(r.Err, "|", "\\|"))
				continue
			}
			p("| %s | %d | %.1f | %.0f | %d | %d | %d | %.2f (%.2f+%.2f) | %.2f | %.2f | %.1f | %.2f | %.2f | %.2f |\n",
				peer, r.Run, r.Wall, r.RPS, r.Requests, r.Errors, r.Non2xx, r.cpu(), r.CPUUser, r.CPUSys,
				r.cpuPerMReq(), r.clientCores(), r.MaxRSSMB, r.nginxCores(), r.Others, r.Background)
		}
	}
	p("\nCommands:\n\n")
	seen := map[string]bool{}
	for _, peer := range sec.Peers {
		for _, r := range sec.Runs[peer] {
			// The fortio JSON file name changes with each run; show it once.
			key := strings.Replace(r.Cmd, fmt.Sprintf("-%d.json", r.Run), "-N.json", 1)
			if r.Cmd != "" && !seen[key] {
				seen[key] = true
				p("- `%s`\n", key)
			}
		}
	}
	p("\n</details>\n\n")

	var notes []string
	for _, peer := range sec.Peers {
		for _, r := range sec.Runs[peer] {
			if r.OK && (r.Errors > 0 || r.Non2xx > 0) {
				notes = append(notes, fmt.Sprintf("%s run %d: %d transport errors, %d non-2xx/3xx responses", peer, r.Run, r.Errors, r.Non2xx))
			}
		}
		if rs := sec.Runs[peer]; len(rs) > 0 && !anyOK(rs) {
			notes = append(notes, fmt.Sprintf("%s: no successful run: %s", peer, rs[0].Err))
		}
	}
	if !sec.Memory {
		notes = append(notes, bottleneckNote(sec))
	}
	var busy []string
	for _, peer := range sec.Peers {
		for _, r := range sec.Runs[peer] {
			if r.OK && (r.Background >= quietThreshold || r.Others >= quietThreshold) {
				busy = append(busy, fmt.Sprintf("%s#%d", peer, r.Run))
			}
		}
	}
	if len(busy) > 0 {
		notes = append(notes, fmt.Sprintf("**noisy:** other work took %.2f cores or more before or during %s; those figures are not clean (see \"others\" in the per-run detail)",
			quietThreshold, strings.Join(busy, ", ")))
	}
	notes = append(notes, sec.Notes...)
	if len(notes) > 0 {
		for _, n := range notes {
			p("- %s\n", n)
		}
		p("\n")
	}
}

// bottleneckNote says, per tool, how busy nginx and the client were, so the
// reader can tell whether the server, the client or the machine was the
// limit.
func bottleneckNote(sec *section) string {
	var parts []string
	for _, peer := range sec.Peers {
		rs := sec.Runs[peer]
		if !anyOK(rs) {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s: nginx %s, client %s, others %s",
			peer,
			fnum(medianOf(rs, runResult.nginxCores), 2),
			fnum(medianOf(rs, runResult.clientCores), 2),
			fnum(medianOf(rs, func(r runResult) float64 { return r.Others }), 2)))
	}
	if len(parts) == 0 {
		return "no successful runs"
	}
	return "median busy cores (of " + fmt.Sprint(numCPU()) + ") — " + strings.Join(parts, "; ") +
		". nginx near 1.00 means its one worker was the limit; nginx + client near the core count means they were sharing the machine's CPU, each held back by the other"
}

// rssTrend picks the samples at each tenth of the run.
func rssTrend(s []float64) string {
	if len(s) == 0 {
		return "–"
	}
	var out []string
	for i := 1; i <= 10; i++ {
		j := i*len(s)/10 - 1
		if j < 0 {
			j = 0
		}
		out = append(out, fnum(s[j], 1))
	}
	return strings.Join(out, " ")
}
