package server

import (
	"net/http"

	"github.com/meshperf/meshperf/internal/api"
	"github.com/meshperf/meshperf/internal/experiment"
	"github.com/meshperf/meshperf/store"
)

// ExperimentList is api.ExperimentList, the contract's type.
type ExperimentList = api.ExperimentList

// listExperiments lists experiments, newest first: id, name, state, cells
// done and total, times.
func (s *Server) listExperiments(w http.ResponseWriter, r *http.Request) error {
	es, err := s.st.ListExperiments(r.Context())
	if err != nil {
		return fromStore(err, "experiments", "")
	}
	if es == nil {
		es = []*store.Experiment{}
	}
	writeJSON(w, http.StatusOK, ExperimentList{Experiments: es})
	return nil
}

// getExperiment answers an experiment's report, the JSON of `meshperf
// experiment report --output json`; {id} is an ID, an ID prefix or a name.
func (s *Server) getExperiment(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	exp, err := s.st.GetExperiment(r.Context(), ref)
	if err != nil {
		return fromStore(err, "experiment", ref)
	}
	rep, err := experiment.BuildReport(r.Context(), s.st, exp)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}
