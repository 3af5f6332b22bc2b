package capacity

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Report is what a search found, with every step; the text, JSON and CSV
// forms are all written from it.
type Report struct {
	// ID names the search; its steps' results carry it as label capacity.
	ID         string   `json:"id,omitempty"`
	Name       string   `json:"name,omitempty"`
	Objectives []string `json:"objectives"`
	Min        float64  `json:"min_rps"`
	Max        float64  `json:"max_rps"`
	Tolerance  float64  `json:"tolerance"`
	Confirm    int      `json:"confirm"`
	MaxSteps   int      `json:"max_steps"`
	// PauseSeconds is the idle time between steps.
	PauseSeconds float64 `json:"pause_seconds"`
	Outcome      string  `json:"outcome"`
	// Sustained is the highest rate that met every objective (and its
	// confirmations), 0 if none.
	Sustained float64 `json:"sustained_rps"`
	// Breaks is the lowest rate that broke an objective, 0 if none; the
	// limit lies in [Sustained, Breaks).
	Breaks float64 `json:"breaks_rps,omitempty"`
	// Uncertainty is Breaks − Sustained when both are known.
	Uncertainty float64 `json:"uncertainty_rps,omitempty"`
	// BrokenBy are the objectives broken at Breaks.
	BrokenBy []string `json:"broken_by,omitempty"`
	// P99AtSustained is the worst p99 of the steps at Sustained, in ms.
	P99AtSustained float64 `json:"p99_ms_at_sustained,omitempty"`
	// ErrorRateAtSustained is the worst error rate of those steps.
	ErrorRateAtSustained float64 `json:"error_rate_at_sustained"`
	// Knee is the last rate before the curve turns (see KneeFactor), 0
	// when it never does.
	Knee float64 `json:"knee_rps,omitempty"`
	// ClientLimitRPS is the rate at which the client was the limit.
	ClientLimitRPS float64 `json:"client_limit_rps,omitempty"`
	// Advice says what to do when the answer is not the target's limit.
	Advice   []string `json:"advice,omitempty"`
	Steps    []Step   `json:"steps"`
	Duration float64  `json:"duration_seconds"`
	// Curve is the steps that count, by rate: the latency and error curve.
	Curve []CurvePoint `json:"curve"`
}

// CurvePoint is one counted step of the curve, by rate.
type CurvePoint struct {
	RPS         float64 `json:"rps"`
	AchievedRPS float64 `json:"achieved_rps"`
	P50Ms       float64 `json:"p50_ms"`
	P90Ms       float64 `json:"p90_ms"`
	P99Ms       float64 `json:"p99_ms"`
	P999Ms      float64 `json:"p99_9_ms"`
	ErrorRate   float64 `json:"error_rate"`
	Met         bool    `json:"met"`
	Step        int     `json:"step"`
	Knee        bool    `json:"knee,omitempty"`
}

func newReport(o Options) *Report {
	r := &Report{Min: o.Min, Max: o.Max, Tolerance: o.Tolerance, Confirm: o.Confirm, MaxSteps: o.MaxSteps,
		PauseSeconds: o.Pause.Seconds()}
	for _, x := range o.Objectives {
		r.Objectives = append(r.Objectives, x.Raw)
	}
	for _, x := range o.Metrics {
		r.Objectives = append(r.Objectives, x.Raw)
	}
	return r
}

// counted are the steps that say something about the target.
func (r *Report) counted() []Step {
	var out []Step
	for _, s := range r.Steps {
		if !s.ClientLimited && !s.Interrupted {
			out = append(out, s)
		}
	}
	return out
}

// highestMetBelow is the highest rate below hi whose every step met the
// objectives, 0 if none.
func (r *Report) highestMetBelow(hi float64) float64 {
	met := map[float64]bool{}
	for _, s := range r.counted() {
		if _, seen := met[s.RPS]; !seen {
			met[s.RPS] = true
		}
		met[s.RPS] = met[s.RPS] && s.Met
	}
	best := 0.0
	for rate, ok := range met {
		if ok && rate < hi && rate > best {
			best = rate
		}
	}
	return best
}

// finish fills the answer and the curve from the steps: the limit lies in
// [lo, hi) as the search left them (0: unknown).
func (r *Report) finish(d time.Duration, lo, hi float64) {
	r.Duration = d.Seconds()
	counted := r.counted()
	r.Sustained, r.Breaks = lo, hi
	if r.Sustained > 0 && r.Breaks > 0 {
		r.Uncertainty = r.Breaks - r.Sustained
	}
	seen := map[string]bool{}
	for _, s := range counted {
		switch {
		case s.RPS == r.Sustained:
			r.P99AtSustained = max(r.P99AtSustained, s.P99Ms)
			r.ErrorRateAtSustained = max(r.ErrorRateAtSustained, s.ErrorRate)
		case s.RPS == r.Breaks && !s.Met:
			for _, b := range s.Broken {
				if !seen[b] {
					seen[b] = true
					r.BrokenBy = append(r.BrokenBy, b)
				}
			}
		}
	}
	r.Curve = curve(counted)
	r.Knee = knee(r.Curve)
	r.advise()
}

func (r *Report) advise() {
	switch r.Outcome {
	case OutcomeClientLimit:
		reason, agent := "", ""
		for _, s := range r.Steps {
			if s.ClientLimited && s.RPS == r.ClientLimitRPS {
				reason, agent = s.ClientReason, s.LimitAgent
			}
		}
		if agent != "" {
			r.Advice = append(r.Advice, fmt.Sprintf("agent %s was the limit at %s rps (%s): the target's limit is above what these agents can send; select more agents (agents.count) or give each fewer connections",
				agent, fmtRate(r.ClientLimitRPS), reason))
			break
		}
		r.Advice = append(r.Advice, fmt.Sprintf("meshperf itself was the limit at %s rps (%s): the target's limit is above what this client can send; run the profile with agents: (several machines) or fewer connections per core",
			fmtRate(r.ClientLimitRPS), reason))
	case OutcomeAboveMax:
		r.Advice = append(r.Advice, fmt.Sprintf("every objective was met at --max %s rps: raise --max to find the limit", fmtRate(r.Max)))
	case OutcomeBelowMin:
		r.Advice = append(r.Advice, fmt.Sprintf("objectives were broken at --min %s rps: lower --min", fmtRate(r.Min)))
	case OutcomeStepCap:
		r.Advice = append(r.Advice, fmt.Sprintf("the search used its %d steps before converging: raise --max-steps or --tolerance", r.MaxSteps))
	}
	// A breaking step with every connection busy may be the connection
	// count, not the target.
	for _, s := range r.counted() {
		if s.RPS == r.Breaks && !s.Met && s.Connections > 0 && s.BusyConnections >= busyShare*float64(s.Connections) {
			r.Advice = append(r.Advice, fmt.Sprintf("at %s rps the %d connections were all busy (%.0f on average): if the target's service time is acceptable there, rerun with more connections (-c)",
				fmtRate(s.RPS), s.Connections, s.BusyConnections))
			break
		}
	}
}

// curve sorts the counted steps by rate (then step).
func curve(steps []Step) []CurvePoint {
	out := make([]CurvePoint, 0, len(steps))
	for _, s := range steps {
		out = append(out, CurvePoint{RPS: s.RPS, AchievedRPS: s.AchievedRPS, P50Ms: s.P50Ms, P90Ms: s.P90Ms,
			P99Ms: s.P99Ms, P999Ms: s.P999Ms, ErrorRate: s.ErrorRate, Met: s.Met, Step: s.N})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].RPS < out[j].RPS })
	return out
}

// Knee thresholds: the curve turns at the first rate whose median p99 is
// above KneeFactor × the median p99 of every lower rate, or whose error rate
// is above the lowest rate's by KneeErrorRise.
const (
	KneeFactor    = 3
	KneeErrorRise = 0.001
)

// knee marks the last rate before the curve turns (see KneeFactor) and
// returns it; 0 when fewer than two rates were measured or the curve never
// turns. Medians, so one noisy step does not move it.
func knee(c []CurvePoint) float64 {
	var rates []float64
	p99s := map[float64][]float64{}
	errs := map[float64][]float64{}
	for _, p := range c {
		if _, ok := p99s[p.RPS]; !ok {
			rates = append(rates, p.RPS)
		}
		p99s[p.RPS] = append(p99s[p.RPS], p.P99Ms)
		errs[p.RPS] = append(errs[p.RPS], p.ErrorRate)
	}
	if len(rates) < 2 {
		return 0
	}
	var below []float64
	k := 0.0
	for i, r := range rates {
		p99, e := median(p99s[r]), median(errs[r])
		if i > 0 && (p99 > KneeFactor*median(below) || e > median(errs[rates[0]])+KneeErrorRise) {
			k = rates[i-1]
			break
		}
		below = append(below, p99s[r]...)
	}
	if k == 0 {
		return 0
	}
	for i := range c {
		c[i].Knee = c[i].RPS == k
	}
	return k
}

func median(xs []float64) float64 {
	ys := append([]float64(nil), xs...)
	sort.Float64s(ys)
	return ys[len(ys)/2]
}

// Summary is the one-line answer.
func (r *Report) Summary() string {
	switch r.Outcome {
	case OutcomeFound:
		return fmt.Sprintf("sustains %s rps (+%s, %.1f%%, within the %s tolerance), p99 %s at that rate; breaks at %s rps on %s",
			fmtRate(r.Sustained), fmtRate(r.Uncertainty), 100*r.Uncertainty/r.Sustained, fmtPct(r.Tolerance),
			fmtMs(r.P99AtSustained), fmtRate(r.Breaks), strings.Join(r.BrokenBy, ", "))
	case OutcomeAboveMax:
		return fmt.Sprintf("sustains at least %s rps (--max), p99 %s at that rate; no objective broken", fmtRate(r.Sustained), fmtMs(r.P99AtSustained))
	case OutcomeBelowMin:
		return fmt.Sprintf("breaks already at %s rps (--min) on %s", fmtRate(r.Breaks), strings.Join(r.BrokenBy, ", "))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "no answer (%s)", strings.ReplaceAll(r.Outcome, "_", " "))
	if r.Sustained > 0 {
		fmt.Fprintf(&b, "; sustained %s rps, p99 %s", fmtRate(r.Sustained), fmtMs(r.P99AtSustained))
	}
	if r.Breaks > 0 {
		fmt.Fprintf(&b, "; broke at %s rps on %s", fmtRate(r.Breaks), strings.Join(r.BrokenBy, ", "))
	}
	if r.ClientLimitRPS > 0 {
		fmt.Fprintf(&b, "; the client was the limit at %s rps", fmtRate(r.ClientLimitRPS))
	}
	return b.String()
}

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	head := "capacity"
	if r.ID != "" {
		head += " " + r.ID
	}
	if r.Name != "" {
		head += " (" + r.Name + ")"
	}
	fmt.Fprintf(&b, "%s: %s\n", head, r.Summary())
	fmt.Fprintf(&b, "objectives %s; rates %s–%s rps, tolerance %s, %d confirmation(s)\n",
		strings.Join(r.Objectives, ", "), fmtRate(r.Min), fmtRate(r.Max), fmtPct(r.Tolerance), r.Confirm)
	fmt.Fprintf(&b, "%d steps in %.1fs\n\n", len(r.Steps), r.Duration)
	fmt.Fprintf(&b, "%4s  %-8s %9s %9s %9s %9s %9s %9s %8s  %-7s %s\n",
		"step", "phase", "rps", "achieved", "p50", "p90", "p99", "p99.9", "errors", "verdict", "result")
	for _, s := range r.Steps {
		verdict := "met"
		switch {
		case s.Interrupted:
			verdict = "stopped"
		case s.ClientLimited:
			verdict = "client"
		case !s.Met:
			verdict = "BROKEN " + strings.Join(s.Broken, ",")
		}
		fmt.Fprintf(&b, "%4d  %-8s %9s %9.1f %9s %9s %9s %9s %8s  %-7s %s\n",
			s.N, s.Phase, fmtRate(s.RPS), s.AchievedRPS, fmtMs(s.P50Ms), fmtMs(s.P90Ms), fmtMs(s.P99Ms), fmtMs(s.P999Ms),
			fmtPct(s.ErrorRate), verdict, s.ResultID)
	}
	if len(r.Curve) > 1 {
		fmt.Fprintf(&b, "\ncurve (by rate; * the knee: the last rate before p99 passes %d× the median below it or the error rate rises by %s):\n", KneeFactor, fmtPct(KneeErrorRise))
		for _, p := range r.Curve {
			mark := " "
			if p.Knee {
				mark = "*"
			}
			fmt.Fprintf(&b, "%s %9s rps  p50 %9s  p99 %9s  errors %8s  %s\n", mark, fmtRate(p.RPS), fmtMs(p.P50Ms), fmtMs(p.P99Ms), fmtPct(p.ErrorRate), metWord(p.Met))
		}
	}
	for _, a := range r.Advice {
		fmt.Fprintf(&b, "\nnote: %s\n", a)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// CSVHeader is the first row of WriteCSV.
var CSVHeader = []string{"capacity", "step", "phase", "rps", "achieved_rps", "p50_ms", "p90_ms", "p99_ms", "p99_9_ms",
	"error_rate", "met", "broken", "client_limited", "knee", "sustained", "breaks", "result_id"}

// WriteCSV writes one row per step; sustained and breaks mark the steps
// at the answer's two rates, knee the knee's.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(CSVHeader)
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	for _, s := range r.Steps {
		_ = cw.Write([]string{r.ID, strconv.Itoa(s.N), s.Phase, f(s.RPS), f(s.AchievedRPS), f(s.P50Ms), f(s.P90Ms),
			f(s.P99Ms), f(s.P999Ms), f(s.ErrorRate), strconv.FormatBool(s.Met), strings.Join(s.Broken, ";"),
			strconv.FormatBool(s.ClientLimited), strconv.FormatBool(r.Knee > 0 && s.RPS == r.Knee),
			strconv.FormatBool(r.Sustained > 0 && s.RPS == r.Sustained), strconv.FormatBool(r.Breaks > 0 && s.RPS == r.Breaks),
			s.ResultID})
	}
	cw.Flush()
	return cw.Error()
}

func metWord(met bool) string {
	if met {
		return "met"
	}
	return "broken"
}

func fmtRate(r float64) string {
	s := strconv.FormatFloat(r, 'f', 0, 64)
	if r != float64(int64(r)) {
		s = strconv.FormatFloat(r, 'f', 1, 64)
	}
	// thousands separators for the integer part
	intPart, frac, _ := strings.Cut(s, ".")
	var out []byte
	for i, c := range []byte(intPart) {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, c)
	}
	if frac != "" {
		return string(out) + "." + frac
	}
	return string(out)
}

func fmtMs(ms float64) string {
	return time.Duration(ms * float64(time.Millisecond)).Round(time.Microsecond).String()
}

func fmtPct(x float64) string { return strconv.FormatFloat(100*x, 'g', 3, 64) + "%" }
