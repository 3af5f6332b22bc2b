package store

import (
	"context"
	"time"
)

// ConformanceStore keeps conformance results (meshperf conformance run).
type ConformanceStore interface {
	// SaveConformance stores c, assigning c.ID if empty; ErrConflict if
	// the ID exists, ErrInvalid for a result without profile or outcome,
	// or a body over MaxConformanceBody.
	SaveConformance(ctx context.Context, c *Conformance) error
	// GetConformance returns a conformance result by ID or by a unique ID
	// prefix of at least MinPrefix characters.
	GetConformance(ctx context.Context, id string) (*Conformance, error)
	// ListConformance returns summaries (no Body), newest first.
	ListConformance(ctx context.Context, f ConformanceFilter) ([]*Conformance, error)
}

// MaxConformanceBody bounds a stored conformance result's JSON.
const MaxConformanceBody = 32 << 20

// Conformance is one conformance run: the columns listings filter on, and
// the whole result as JSON in Body (internal/conformance.Result).
type Conformance struct {
	ID           string
	Kind         string // "gateway-api"
	Profile      string
	SuiteVersion string
	Mesh         string
	MeshVersion  string
	Outcome      string
	Passed       int
	Failed       int
	Skipped      int
	NotRun       int
	Started      time.Time
	Finished     time.Time
	Body         []byte
}

// ConformanceFilter selects conformance results; empty fields match all.
type ConformanceFilter struct {
	Mesh    string
	Profile string
	// Limit caps the count (0: 100; at most 1000).
	Limit int
}
