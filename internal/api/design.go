package api

import (
	"time"

	"github.com/meshperf/meshperf/internal/design"
)

// DesignRequest stores a design: POST /api/v1/designs creates it, PUT
// /api/v1/designs/{ref} stores its next revision. Its resources come from
// the sources given, combined as `meshperf design import` combines its
// flags (at least one): a design document, manifests, a Compose file, a
// packaged Helm chart. Every source is in the body: the server reads none
// of its own files and fetches nothing.
type DesignRequest struct {
	// Name is the design's (a DNS subdomain); a PUT may leave it out, and
	// may not change it.
	Name string `json:"name,omitempty"`
	// Namespace is where the resources that name none go.
	Namespace string            `json:"namespace,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	// Private (team mode; only when creating) shows the design to its
	// owner and admins only. Revisions keep it.
	Private bool `json:"private,omitempty"`
	// Revision (PUT) is the revision this one follows: a 409 when another
	// was stored since. 0: whatever is the latest.
	Revision int `json:"revision,omitempty"`
	// Document is a design document (design export --format design, or
	// GET's design); its name and namespace give way to the request's.
	Document *design.Design `json:"document,omitempty"`
	// Manifests are Kubernetes objects, multi-document YAML or JSON.
	Manifests string         `json:"manifests,omitempty"`
	Compose   *ComposeImport `json:"compose,omitempty"`
	Chart     *ChartImport   `json:"chart,omitempty"`
}

// ComposeImport is a Docker Compose file to convert. Files it names
// (configs' file:, env_file) are not read: they are listed in the
// design's report.
type ComposeImport struct {
	// File is the Compose file's content (YAML).
	File string `json:"file"`
	// Env gives the file's ${VAR} their values; the server's environment
	// is never read.
	Env map[string]string `json:"env,omitempty"`
}

// ChartImport is a packaged Helm chart (the .tgz of helm package or helm
// pull) to render, as helm template would.
type ChartImport struct {
	// Archive is the packaged chart (base64 in JSON).
	Archive []byte `json:"archive"`
	// Filename names the archive in the design and its errors (default
	// chart.tgz).
	Filename string `json:"filename,omitempty"`
	// Release is the release name (default: the design's name).
	Release string         `json:"release,omitempty"`
	Values  map[string]any `json:"values,omitempty"`
	// Repo is the repository URL the chart was pulled from: recorded in
	// the design, never fetched.
	Repo string `json:"repo,omitempty"`
}

// DesignView is a stored design as the API shows it: with its document
// and the graph of its resources' references when one design is asked
// for, without them in listings.
type DesignView struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Revision  int               `json:"revision"`
	Labels    map[string]string `json:"labels,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
	OwnerID   string            `json:"owner_id,omitempty"`
	Private   bool              `json:"private,omitempty"`
	Design    *design.Design    `json:"design,omitempty"`
	Graph     *design.Graph     `json:"graph,omitempty"`
}

// DesignList is the body of GET /api/v1/designs: a page of designs by
// name; NextCursor, when set, asks for the next.
type DesignList struct {
	Designs    []*DesignView `json:"designs"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// DesignRevisions is the body of GET /api/v1/designs/{ref}/revisions,
// oldest first.
type DesignRevisions struct {
	Revisions []*DesignView `json:"revisions"`
}
