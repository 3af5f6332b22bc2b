package server

import (
	"net/http"
	"strings"

	"github.com/meshperf/meshperf/internal/api"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

// Info is api.Info, the contract's type.
type Info = api.Info

// GeneratorInfo is api.GeneratorInfo, the contract's type.
type GeneratorInfo = api.GeneratorInfo

func (s *Server) info(w http.ResponseWriter, _ *http.Request) error {
	in := Info{Version: s.version, Mode: "single-user", EchoURL: s.echoURL, Generators: []GeneratorInfo{}}
	if s.auth != nil {
		in.Mode = "team"
	}
	for _, m := range loadgen.Modules() {
		ok, why := loadgen.Available(m.New(s.version))
		in.Generators = append(in.Generators, GeneratorInfo{Name: m.Name, Description: m.Description, Available: ok, Why: why})
	}
	writeJSON(w, http.StatusOK, in)
	return nil
}

// VerdictsResponse is api.VerdictsResponse, the contract's type.
type VerdictsResponse = api.VerdictsResponse

// verdicts checks a result against objectives: those given as
// ?objectives=p99<=20ms,error_rate<1%, else those of the profile of the run
// named by ?run=ID, else those of the stored profile revision the result
// came from. Results do not carry their objectives, so the UI asks here.
// The objectives of a run that did not succeed (failed, cancelled,
// interrupted) and of a result cut short are "not evaluated", never met.
func (s *Server) verdicts(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	res, err := s.result(r, id)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	out := VerdictsResponse{Verdicts: []spec.Verdict{}}
	var slo []string
	var stopped string // the run did not end as it should: why
	switch {
	case q.Get("objectives") != "":
		out.Source, slo = "query", []string{q.Get("objectives")}
	case q.Get("run") != "":
		run, err := s.visibleRun(r, q.Get("run"))
		if err != nil {
			return err
		}
		if run.ResultID != res.ID {
			return badRequest("run", "run: %s did not produce result %s", run.ID, res.ID)
		}
		p, _, err := spec.ParseProfile(run.Profile)
		if err != nil {
			return err
		}
		if p.Meshperf != nil {
			out.Source, slo = "run", p.Meshperf.SLO
		}
		if run.State != store.RunSucceeded {
			stopped = notEvaluatedReason(run)
		}
	case res.ProfileID != "" && res.ProfileRevision > 0:
		sp, err := s.st.ProfileRevision(r.Context(), res.ProfileID, res.ProfileRevision)
		if err != nil {
			break // the profile was deleted: no objectives to check
		}
		if !s.viewer(r).CanSee(sp.OwnerID, sp.Private) {
			break
		}
		if p, _, err := spec.ParseProfile(sp.Body); err == nil && p.Meshperf != nil {
			out.Source, slo = "profile", p.Meshperf.SLO
		}
	}
	if len(slo) > 0 {
		objs, err := spec.ParseObjectives(strings.Join(slo, ","))
		if err != nil {
			return invalid("objectives", "objectives: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
		}
		if stopped != "" {
			out.Verdicts = spec.NotEvaluated(objs, stopped)
		} else {
			out.Verdicts = spec.Check(res, objs)
		}
	}
	if len(out.Verdicts) == 0 {
		out.Source = ""
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// notEvaluatedReason says why a run's objectives are not evaluated: "the
// run was cancelled", "the run failed: no request got a response", with
// the run's own reason unless it only repeats the state.
func notEvaluatedReason(run *store.Run) string {
	why := "the run was " + run.State
	if run.State == store.RunFailed {
		why = "the run failed"
	}
	if run.Error != "" && !strings.HasPrefix(run.Error, run.State) {
		why += ": " + run.Error
	}
	return why
}
