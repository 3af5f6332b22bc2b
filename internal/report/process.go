package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/meshperf/meshperf/internal/procstat"
	"github.com/meshperf/meshperf/spec"
)

// clientLine writes the load generator's own figures (one "Client" line),
// and a warning line when it looked saturated, so that a busy client is not
// read as a slow service.
func clientLine(w io.Writer, p *spec.ProcessStats) {
	if p == nil {
		return
	}
	fmt.Fprintf(w, "Client    cpu %.2f cores (%.1fs), memory %s, %d goroutines, late sends %s\n",
		p.CPUCores, p.CPUSeconds, bytesStr(p.MaxRSSBytes), p.MaxGoroutines, pct(p.LateRatio))
	if p.Saturated {
		fmt.Fprintf(w, "WARNING   the load generator looks saturated (%s): latency may be the client's, not the service's\n", saturatedWhy(p))
	}
}

// saturatedWhy says which of procstat's rules marked p saturated.
func saturatedWhy(p *spec.ProcessStats) string {
	var why []string
	if p.LateRatio > procstat.LateRatioLimit {
		why = append(why, "over 5% of requests sent late")
	}
	if len(why) == 0 {
		why = append(why, "CPU near all the cores it may use")
	}
	return strings.Join(why, ", ")
}
