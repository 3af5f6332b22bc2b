package store

import (
	"context"
	"time"
)

// MaxDesignBody is the largest design document a store accepts: a design
// holds the rendered manifests of its charts, and a mesh's CRDs alone run
// to a few MiB.
const MaxDesignBody = 16 << 20

// Design is one revision of a design (internal/design): a named set of
// Kubernetes resources and chart references, stored like a profile.
type Design struct {
	ID, Name string
	Labels   map[string]string
	Revision int
	// Body is the design document (JSON), stored as given.
	Body []byte
	// CreatedAt is when the design was created, UpdatedAt when this
	// revision was stored.
	CreatedAt time.Time
	UpdatedAt time.Time
	// OwnerID and Private are set when the design is created and kept by
	// its revisions, as a profile's are.
	OwnerID string
	Private bool
}

// DesignFilter selects designs; the zero value selects all.
type DesignFilter struct {
	// Name matches a substring of the name, case-insensitively.
	Name string
	// Labels must all be present with these values.
	Labels map[string]string
	// Viewer, when set, leaves out what it may not see.
	Viewer *Viewer
	// After, when set, starts after this name (a page's last); Limit, when
	// positive, is the most returned.
	After string
	Limit int
}

// DesignStore keeps designs with every revision.
type DesignStore interface {
	// SaveDesign stores d as a new design (revision 1) or, when a design
	// of that name exists, as its next revision, keeping the owner and the
	// private flag of the first. A non-zero d.Revision must be the latest
	// one, and a non-empty d.ID the design's (ErrConflict otherwise). It
	// sets d's ID, Revision and times.
	SaveDesign(ctx context.Context, d *Design) error
	// CreateDesign stores d as a new design (revision 1): ErrConflict
	// when a design of that name exists.
	CreateDesign(ctx context.Context, d *Design) error
	// GetDesign returns a revision (the latest when revision is 0) of the
	// design with ID or name ref.
	GetDesign(ctx context.Context, ref string, revision int) (*Design, error)
	// ListDesigns returns the latest revision of matching designs, by
	// name, without their Body.
	ListDesigns(ctx context.Context, f DesignFilter) ([]*Design, error)
	// DesignRevisions returns every revision of the design with ID or
	// name ref, oldest first, without their Body.
	DesignRevisions(ctx context.Context, ref string) ([]*Design, error)
	// DeleteDesign deletes a design and every revision.
	DeleteDesign(ctx context.Context, ref string) error
}
