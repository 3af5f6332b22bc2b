package agentshare

import "github.com/meshperf/meshperf/loadgen"

// ScaleShape multiplies every rate of s by f; nil (closed loop) stays nil.
func ScaleShape(s loadgen.Shape, f float64) loadgen.Shape {
	switch s := s.(type) {
	case loadgen.Constant:
		return loadgen.Constant(float64(s) * f)
	case loadgen.Ramp:
		return loadgen.Ramp{From: s.From * f, To: s.To * f, Over: s.Over}
	case loadgen.Steps:
		out := make(loadgen.Steps, len(s))
		for i, st := range s {
			out[i] = loadgen.Step{Rate: st.Rate * f, Duration: st.Duration}
		}
		return out
	}
	return s
}
