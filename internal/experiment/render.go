package experiment

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// JSON writes the report as indented JSON.
func (r *Report) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Text writes the report for a terminal: per sweep point, each variant's
// medians over the repeats with their range, then its overhead against the
// baseline, "~" marking a difference within the noise.
func (r *Report) Text(w io.Writer) error {
	e := r.Experiment
	var b strings.Builder
	fmt.Fprintf(&b, "experiment %s (%s): %s, %d of %d cells, %d repeat(s), baseline %s\n", e.Name, e.ID, e.State, e.Done, e.Cells, r.Repeats, r.Baseline)
	if e.Error != "" {
		fmt.Fprintf(&b, "  stopped: %s\n", e.Error)
	}
	what := "latency (from intended send times, corrected for coordinated omission)"
	switch r.Latency {
	case "service_time":
		what = "service time (closed loop)"
	case "mixed":
		what = "latency for open-loop cells, service time for closed-loop ones"
	}
	fmt.Fprintf(&b, "figures: medians over the repeats [min-max], ms of %s\n", what)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	for _, pt := range r.Points {
		rate := FormatRPS(pt.RPS) + " rps"
		if pt.RPS == 0 {
			rate = "closed loop"
		}
		if _, err := fmt.Fprintf(w, "\n%s, %d connections\n", rate, pt.Connections); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		head := []string{"variant", "n"}
		for _, p := range Percentiles {
			head = append(head, PercentileKey(p))
		}
		head = append(head, "rps", "errors", "client cpu")
		head = append(head, r.Metrics...)
		fmt.Fprintln(tw, strings.Join(head, "\t"))
		for _, v := range pt.Variants {
			row := []string{v.Name, strconv.Itoa(len(v.Cells))}
			for _, p := range Percentiles {
				row = append(row, statStr(v.Latency[PercentileKey(p)], 3))
			}
			row = append(row, statStr(v.AchievedRPS, 1), pctStr(v.ErrorRate.Median), fmt.Sprintf("%.2f", v.ClientCPUCores.Median))
			if v.ClientSaturated {
				row[len(row)-1] += " SATURATED"
			}
			for _, m := range r.Metrics {
				s, ok := v.Metrics[m]
				if !ok {
					row = append(row, "missing")
					continue
				}
				row = append(row, statStr(s, 1))
			}
			fmt.Fprintln(tw, strings.Join(row, "\t"))
			if len(v.Overhead) > 0 {
				row := []string{"  vs " + r.Baseline, ""}
				for _, p := range Percentiles {
					o, ok := v.Overhead[PercentileKey(p)]
					if !ok {
						row = append(row, "-")
						continue
					}
					row = append(row, overheadStr(o))
				}
				fmt.Fprintln(tw, strings.Join(row, "\t"))
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	missing := r.missingReasons()
	if len(missing) > 0 {
		if _, err := fmt.Fprintf(w, "\nmissing metrics\n"); err != nil {
			return err
		}
		for _, m := range missing {
			if _, err := fmt.Fprintf(w, "  %s\n", m); err != nil {
				return err
			}
		}
	}
	_, err := fmt.Fprintf(w, "\n+ms ×ratio: a variant's median minus (over) the baseline's; ~ marks a difference within the noise (no larger than the spread of either side's repeats, or a single repeat)\n")
	return err
}

// missingReasons lists, once each, why metrics were missing in cells.
func (r *Report) missingReasons() []string {
	var out []string
	seen := map[string]bool{}
	for _, pt := range r.Points {
		for _, v := range pt.Variants {
			for _, c := range v.Cells {
				for _, n := range sortedKeys(c.MetricsMissing) {
					line := n + ": " + c.MetricsMissing[n]
					if !seen[line] {
						seen[line] = true
						out = append(out, line)
					}
				}
			}
		}
	}
	return out
}

func statStr(s Stat, prec int) string {
	if s.N == 0 {
		return "-"
	}
	m := strconv.FormatFloat(s.Median, 'f', prec, 64)
	if s.N == 1 {
		return m
	}
	return fmt.Sprintf("%s [%s-%s]", m, strconv.FormatFloat(s.Min, 'f', prec, 64), strconv.FormatFloat(s.Max, 'f', prec, 64))
}

func overheadStr(o Overhead) string {
	s := fmt.Sprintf("%+.3f", o.AddedMs)
	if o.Ratio > 0 {
		s += fmt.Sprintf(" ×%.2f", o.Ratio)
	}
	if o.WithinNoise {
		s += " ~"
	}
	return s
}

func pctStr(f float64) string { return strconv.FormatFloat(f*100, 'f', 2, 64) + "%" }

// CSV writes one row per sweep point and variant: the medians and ranges
// of the percentiles, the overhead against the baseline, achieved rate,
// error rate, client CPU and each metric's median.
func (r *Report) CSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := []string{"experiment", "rps", "connections", "variant", "repeats"}
	for _, p := range Percentiles {
		k := strings.ReplaceAll(PercentileKey(p), ".", "_")
		head = append(head, k+"_ms", k+"_min_ms", k+"_max_ms", k+"_added_ms", k+"_ratio", k+"_within_noise")
	}
	head = append(head, "achieved_rps", "error_rate", "client_cpu_cores", "client_saturated")
	for _, m := range r.Metrics {
		head = append(head, "metric_"+m)
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	for _, pt := range r.Points {
		for _, v := range pt.Variants {
			row := []string{r.Experiment.ID, f(pt.RPS), strconv.Itoa(pt.Connections), v.Name, strconv.Itoa(len(v.Cells))}
			for _, p := range Percentiles {
				k := PercentileKey(p)
				s, ok := v.Latency[k]
				if !ok {
					row = append(row, "", "", "")
				} else {
					row = append(row, f(s.Median), f(s.Min), f(s.Max))
				}
				o, ok := v.Overhead[k]
				if !ok {
					row = append(row, "", "", "")
				} else {
					row = append(row, f(o.AddedMs), f(o.Ratio), strconv.FormatBool(o.WithinNoise))
				}
			}
			row = append(row, f(v.AchievedRPS.Median), f(v.ErrorRate.Median), f(v.ClientCPUCores.Median), strconv.FormatBool(v.ClientSaturated))
			for _, m := range r.Metrics {
				if s, ok := v.Metrics[m]; ok {
					row = append(row, f(s.Median))
				} else {
					row = append(row, "")
				}
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
