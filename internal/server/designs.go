package server

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path"
	"strings"

	"github.com/meshperf/meshperf/internal/api"
	"github.com/meshperf/meshperf/internal/design"
	"github.com/meshperf/meshperf/internal/design/compose"
	"github.com/meshperf/meshperf/internal/design/helmchart"
	"github.com/meshperf/meshperf/store"
)

// Designs are stored like profiles (revisions, labels, owner, private
// flag, the same visibility rules); their resources come from the
// request's sources, each converted here with internal/design's parsers.
// Nothing is read from the server's files and nothing is fetched: a
// Compose file's other files are reported, not read; a chart comes as its
// packaged archive; a chart's repository URL is recorded only. The body is
// bounded by the server's --max-body; the resources by design.MaxResources.

// Bounds on a design request besides the body's size.
const (
	maxDesignLabels  = 64
	maxDesignLabel   = 253 // a label's key or value
	maxChartFilename = 255
	maxChartRepo     = 2048
)

// DesignView is api.DesignView, the contract's type.
type DesignView = api.DesignView

func (s *Server) designRoutes() []route {
	return []route{
		{"GET /api/v1/designs", s.listDesigns},
		{"POST /api/v1/designs", s.createDesign},
		{"GET /api/v1/designs/{ref}", s.getDesign},
		{"PUT /api/v1/designs/{ref}", s.updateDesign},
		{"DELETE /api/v1/designs/{ref}", s.deleteDesign},
		{"GET /api/v1/designs/{ref}/revisions", s.designRevisions},
		{"GET /api/v1/designs/{ref}/manifests", s.designManifests},
	}
}

// designView shows a stored design; with its body, the design document
// and the graph of its references.
func designView(sd *store.Design, withBody bool) (*DesignView, error) {
	v := &DesignView{ID: sd.ID, Name: sd.Name, Revision: sd.Revision, Labels: sd.Labels, CreatedAt: sd.CreatedAt.UTC(),
		UpdatedAt: sd.UpdatedAt.UTC(), OwnerID: sd.OwnerID, Private: sd.Private}
	if withBody {
		d, err := design.Unmarshal(sd.Body)
		if err != nil {
			return nil, fmt.Errorf("stored design %s revision %d: %w", sd.Name, sd.Revision, err)
		}
		g := design.BuildGraph(d.Resources, d.Namespace)
		v.Design, v.Graph = d, &g
	}
	return v, nil
}

// visibleDesign returns a revision (0: the latest) of the design ref
// names if the caller may see it, and a 404 otherwise.
func (s *Server) visibleDesign(r *http.Request, ref string, revision int) (*store.Design, error) {
	sd, err := s.st.GetDesign(r.Context(), ref, revision)
	if err != nil {
		return nil, fromStore(err, "design", ref)
	}
	if !s.viewer(r).CanSee(sd.OwnerID, sd.Private) {
		return nil, notFound("design", ref)
	}
	return sd, nil
}

func (s *Server) listDesigns(w http.ResponseWriter, r *http.Request) error {
	q, err := parseNamedList(r.URL.Query())
	if err != nil {
		return err
	}
	ds, err := s.st.ListDesigns(r.Context(), store.DesignFilter{Name: q.name, Labels: q.labels, Viewer: s.viewer(r),
		After: q.after, Limit: q.limit + 1})
	if err != nil {
		return err
	}
	page := api.DesignList{Designs: []*DesignView{}}
	ds, page.NextCursor = trimPage(ds, q.limit, func(d *store.Design) string { return d.Name })
	for _, d := range ds {
		v, _ := designView(d, false)
		page.Designs = append(page.Designs, v)
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) createDesign(w http.ResponseWriter, r *http.Request) error {
	var req api.DesignRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.checkPrivate("private", req.Private); err != nil {
		return err
	}
	if req.Revision != 0 {
		return invalid("revision", "revision: only a PUT of a stored design names the revision it follows")
	}
	d, err := s.designFromRequest(r.Context(), &req, req.Name)
	if err != nil {
		return err
	}
	body, err := d.Marshal()
	if err != nil {
		return err
	}
	sd := &store.Design{Name: d.Name, Labels: req.Labels, Body: body, OwnerID: s.owner(r), Private: req.Private}
	if err := s.st.CreateDesign(r.Context(), sd); err != nil {
		return fromStore(err, "design", d.Name)
	}
	v, err := designView(sd, true)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/designs/"+sd.ID)
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// changeableDesign returns the latest revision of the design the path
// names if the caller may change it: 404 when they may not see it, 403
// when they may only read it.
func (s *Server) changeableDesign(r *http.Request) (*store.Design, string, error) {
	ref := r.PathValue("ref")
	sd, err := s.visibleDesign(r, ref, 0)
	if err != nil {
		return nil, ref, err
	}
	return sd, ref, s.mayChange(r, "design", ref, sd.OwnerID)
}

func (s *Server) updateDesign(w http.ResponseWriter, r *http.Request) error {
	old, ref, err := s.changeableDesign(r)
	if err != nil {
		return err
	}
	var req api.DesignRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Name != "" && req.Name != old.Name {
		return invalid("name", "name: a design keeps its name (%q); create another design for a new name", old.Name)
	}
	if req.Private != old.Private {
		return invalid("private", "private: set when a design is created (it is %t); revisions keep it", old.Private)
	}
	d, err := s.designFromRequest(r.Context(), &req, old.Name)
	if err != nil {
		return err
	}
	body, err := d.Marshal()
	if err != nil {
		return err
	}
	// The ID makes the store refuse a design deleted and made again since.
	sd := &store.Design{ID: old.ID, Name: old.Name, Labels: req.Labels, Body: body, Revision: req.Revision}
	if err := s.st.SaveDesign(r.Context(), sd); err != nil {
		return fromStore(err, "design", ref)
	}
	v, err := designView(sd, true)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// revisionParam reads ?revision=N (0 when absent: the latest).
func revisionParam(r *http.Request) (int, error) {
	rev := r.URL.Query().Get("revision")
	if rev == "" {
		return 0, nil
	}
	return parsePositive("revision", rev)
}

func (s *Server) getDesign(w http.ResponseWriter, r *http.Request) error {
	rev, err := revisionParam(r)
	if err != nil {
		return err
	}
	sd, err := s.visibleDesign(r, r.PathValue("ref"), rev)
	if err != nil {
		return err
	}
	v, err := designView(sd, true)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// designManifests answers the design's resources as multi-document YAML
// in apply order, as `meshperf design export` writes them.
func (s *Server) designManifests(w http.ResponseWriter, r *http.Request) error {
	rev, err := revisionParam(r)
	if err != nil {
		return err
	}
	sd, err := s.visibleDesign(r, r.PathValue("ref"), rev)
	if err != nil {
		return err
	}
	d, err := design.Unmarshal(sd.Body)
	if err != nil {
		return fmt.Errorf("stored design %s revision %d: %w", sd.Name, sd.Revision, err)
	}
	var buf bytes.Buffer
	if err := design.WriteManifests(&buf, d.Resources); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	_, err = w.Write(buf.Bytes())
	return err
}

func (s *Server) deleteDesign(w http.ResponseWriter, r *http.Request) error {
	sd, ref, err := s.changeableDesign(r)
	if err != nil {
		return err
	}
	if err := s.st.DeleteDesign(r.Context(), sd.ID); err != nil {
		return fromStore(err, "design", ref)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) designRevisions(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("ref")
	sd, err := s.visibleDesign(r, ref, 0)
	if err != nil {
		return err
	}
	revs, err := s.st.DesignRevisions(r.Context(), sd.ID)
	if err != nil {
		return fromStore(err, "design", ref)
	}
	out := api.DesignRevisions{Revisions: []*DesignView{}}
	for _, d := range revs {
		v, _ := designView(d, false)
		out.Revisions = append(out.Revisions, v)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// designFromRequest builds the design named name from the request's
// sources, each checked and converted; every problem is a 422 naming the
// request's field.
func (s *Server) designFromRequest(ctx context.Context, req *api.DesignRequest, name string) (*design.Design, error) {
	if err := design.CheckName(name); err != nil {
		return nil, invalid("name", "name: %v", err)
	}
	if err := design.CheckNamespace(req.Namespace); err != nil {
		return nil, invalid("namespace", "namespace: %v", err)
	}
	if err := checkDesignLabels(req.Labels); err != nil {
		return nil, err
	}
	if req.Document == nil && req.Manifests == "" && req.Compose == nil && req.Chart == nil {
		return nil, invalid("document", "a design needs a source: document, manifests, compose or chart")
	}
	d := design.New(name, req.Namespace)
	if doc := req.Document; doc != nil {
		if doc.APIVersion == "" && doc.Kind == "" {
			doc.APIVersion, doc.Kind = design.APIVersion, design.Kind
		}
		doc.Name = name
		if req.Namespace != "" || doc.Namespace == "" {
			doc.Namespace = req.Namespace
		}
		if err := doc.Validate(); err != nil {
			return nil, fieldProblems("document", err)
		}
		d = doc
	}
	if req.Manifests != "" {
		rs, err := design.ParseManifests("manifests", []byte(req.Manifests))
		if err == nil {
			err = d.Add(rs...)
		}
		if err != nil {
			return nil, invalid("manifests", "manifests: %v", err)
		}
	}
	if c := req.Compose; c != nil {
		if strings.TrimSpace(c.File) == "" {
			return nil, invalid("compose.file", "compose.file: empty: give the Compose file's content")
		}
		cd, err := compose.ConvertInline(ctx, []byte(c.File), compose.Options{Name: name, Namespace: d.Namespace, Env: c.Env})
		if err == nil {
			err = d.Add(cd.Resources...)
		}
		if err != nil {
			return nil, invalid("compose.file", "compose.file: %v", err)
		}
		d.Report = append(d.Report, cd.Report...)
	}
	if req.Chart != nil {
		if err := s.addChart(ctx, d, req.Chart); err != nil {
			return nil, err
		}
	}
	if err := d.Validate(); err != nil {
		return nil, fieldProblems("document", err)
	}
	return d, nil
}

// addChart renders the packaged chart c into d. One chart renders at a
// time: Helm's template engine cannot be interrupted, so a chart that
// loops holds one CPU, not all.
func (s *Server) addChart(ctx context.Context, d *design.Design, c *api.ChartImport) error {
	if len(c.Archive) == 0 {
		return invalid("chart.archive", "chart.archive: empty: give the packaged chart (.tgz), base64")
	}
	filename := c.Filename
	if filename == "" {
		filename = "chart.tgz"
	}
	if len(filename) > maxChartFilename || strings.ContainsAny(filename, "\n\r/\\") || path.Clean(filename) != filename {
		return invalid("chart.filename", "chart.filename: a file name of at most %d bytes, without a directory", maxChartFilename)
	}
	if len(c.Repo) > maxChartRepo || strings.ContainsAny(c.Repo, "\n\r ") {
		return invalid("chart.repo", "chart.repo: a URL of at most %d bytes (recorded only: the server fetches nothing)", maxChartRepo)
	}
	release := c.Release
	if release == "" {
		release = d.Name
	}
	if err := design.CheckNamespace(release); err != nil {
		return invalid("chart.release", "chart.release: %v", err)
	}
	ns := d.Namespace
	if ns == "" {
		ns = "default"
	}
	select {
	case s.chartRender <- struct{}{}:
		defer func() { <-s.chartRender }()
	case <-ctx.Done():
		return ctx.Err()
	}
	rs, ref, notes, err := helmchart.RenderArchive(c.Archive, helmchart.Options{Path: filename, Release: release, Namespace: ns,
		Values: c.Values, Repo: c.Repo})
	if err == nil {
		err = d.Add(rs...)
	}
	if err != nil {
		return invalid("chart", "chart: %v", err)
	}
	d.Charts = append(d.Charts, ref)
	d.Report = append(d.Report, notes...)
	return nil
}

func checkDesignLabels(labels map[string]string) error {
	if len(labels) > maxDesignLabels {
		return invalid("labels", "labels: %d, at most %d", len(labels), maxDesignLabels)
	}
	for k, v := range labels {
		if k == "" || len(k) > maxDesignLabel || len(v) > maxDesignLabel {
			return invalid("labels", "labels: keys of 1 to %d bytes, values of at most %d", maxDesignLabel, maxDesignLabel)
		}
	}
	return nil
}

// fieldProblems is problems (every error listed, 422) with each field
// under prefix.
func fieldProblems(prefix string, err error) *APIError {
	ae := problems(http.StatusUnprocessableEntity, CodeInvalid, err)
	ae.Field = prefix
	for i := range ae.Details {
		ae.Details[i].Field = prefix
	}
	return ae
}
