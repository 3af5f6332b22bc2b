package server

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"github.com/meshperf/meshperf/internal/api"
	"github.com/meshperf/meshperf/internal/report"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

func (s *Server) listResults(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := store.ResultFilter{Generator: q.Get("generator"), Target: q.Get("target"), Cursor: q.Get("cursor"), Limit: 50, Viewer: s.viewer(r),
		Mesh: q.Get("mesh"), MeshVersion: q.Get("mesh_version")}
	var err error
	if f.Labels, err = parseLabels(q["label"]); err != nil {
		return err
	}
	if f.Since, err = parseTime("since", q.Get("since")); err != nil {
		return err
	}
	if f.Until, err = parseTime("until", q.Get("until")); err != nil {
		return err
	}
	if l := q.Get("limit"); l != "" {
		if f.Limit, err = parsePositive("limit", l); err != nil {
			return err
		}
		if f.Limit > 1000 {
			return badRequest("limit", "limit: at most 1000, got %d", f.Limit)
		}
	}
	if ref := q.Get("profile"); ref != "" {
		p, err := s.visibleProfile(r, ref)
		if err != nil {
			return err
		}
		f.ProfileID = p.ID
	}
	page, err := s.st.ListResults(r.Context(), f)
	if err != nil {
		return fromStore(err, "results", "")
	}
	if page.Results == nil {
		page.Results = []store.ResultSummary{}
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) getResult(w http.ResponseWriter, r *http.Request) error {
	res, err := s.result(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// result returns the result id names if the caller may see it, and a 404
// otherwise.
func (s *Server) result(r *http.Request, id string) (*spec.Result, error) {
	sr, err := s.visibleResult(r, id)
	if err != nil {
		return nil, err
	}
	return sr.Result, nil
}

// visibleResult is result with its summary (owner, private flag).
func (s *Server) visibleResult(r *http.Request, id string) (*store.StoredResult, error) {
	sr, err := s.st.GetResult(s.viewing(r), id)
	if err != nil {
		return nil, fromStore(err, "result", id)
	}
	if !s.viewer(r).CanSee(sr.Summary.OwnerID, sr.Summary.Private) {
		return nil, notFound("result", id)
	}
	return sr, nil
}

func (s *Server) deleteResult(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	sr, err := s.visibleResult(r, id)
	if err != nil {
		return err
	}
	res := sr.Result
	if err := s.mayChange(r, "result", id, sr.Summary.OwnerID); err != nil {
		return err
	}
	if err := s.st.DeleteResult(r.Context(), res.ID); err != nil {
		return fromStore(err, "result", id)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// exportFormats maps each export format to its content type and file
// extension.
var exportFormats = map[string]struct{ contentType, ext string }{
	"json":         {"application/json", "json"},
	"smp":          {"application/yaml", "smp.yaml"},
	"smp-strict":   {"application/json", "smp.json"},
	"fortio":       {"application/json", "fortio.json"},
	"csv":          {"text/csv", "csv"},
	"timeline-csv": {"text/csv", "timeline.csv"},
}

func (s *Server) exportResult(w http.ResponseWriter, r *http.Request) error {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "json"
	}
	ft, ok := exportFormats[format]
	if !ok {
		return badRequest("format", "format: unknown %q (want json, smp, smp-strict, fortio, csv or timeline-csv)", format)
	}
	res, err := s.result(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	switch format {
	case "json":
		err = report.JSON(&buf, res)
	case "csv":
		err = report.CSV(&buf, []*spec.Result{res})
	case "timeline-csv":
		err = report.TimelineCSV(&buf, res)
	case "smp":
		var b []byte
		b, err = report.SMPResult(res, report.SMPMeta{})
		buf.Write(b)
	case "smp-strict":
		var b []byte
		b, err = report.SMPResultStrict(res, report.SMPMeta{})
		buf.Write(b)
	case "fortio":
		var b []byte
		b, err = report.FortioJSON(res)
		buf.Write(b)
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", ft.contentType)
	w.Header().Set("Content-Disposition", `attachment; filename="meshperf-`+res.ID+`.`+ft.ext+`"`)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// CompareRequest is api.CompareRequest, the contract's type.
type CompareRequest = api.CompareRequest

func (s *Server) compare(w http.ResponseWriter, r *http.Request) error {
	var req CompareRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if len(req.IDs) < 2 {
		return invalid("ids", "ids: want two or more result ids, got %d", len(req.IDs))
	}
	if len(req.IDs) > 20 {
		return invalid("ids", "ids: at most 20 results at once, got %d", len(req.IDs))
	}
	var rs []*spec.Result
	for _, id := range req.IDs {
		res, err := s.result(r, id)
		if err != nil {
			return err
		}
		rs = append(rs, res)
	}
	c, err := report.Compare(rs)
	if err != nil {
		return invalid("ids", "%v", err)
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func parseLabels(ls []string) (map[string]string, error) {
	m, err := store.ParseLabels(ls)
	if err != nil {
		return nil, badRequest("label", "%v", err)
	}
	return m, nil
}

func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, badRequest(field, "%s: %q is not an RFC 3339 time", field, s)
	}
	return t, nil
}

func parsePositive(field, s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, badRequest(field, "%s: want a positive integer, got %q", field, s)
	}
	return n, nil
}
