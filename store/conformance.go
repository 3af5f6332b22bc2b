package store

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
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
	// Mesh matches case-insensitively; MeshVersion exactly.
	Mesh        string
	MeshVersion string
	Profile     string
	// Limit caps the count (0: 100; at most 1000).
	Limit int
	// Cursor continues a listing after the row ConformanceCursor made it
	// of (the last of the previous page), with the same filter.
	Cursor string
}

// ConformanceCursor is the cursor continuing a listing after c: its start
// time and ID, opaque.
func ConformanceCursor(c *Conformance) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.Started.UnixNano(), 10) + "." + c.ID))
}

// ParseConformanceCursor reads a cursor ConformanceCursor made; ErrInvalid
// for any other string.
func ParseConformanceCursor(cursor string) (started time.Time, id string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err == nil {
		ns, id, ok := strings.Cut(string(b), ".")
		if n, err := strconv.ParseInt(ns, 10, 64); ok && err == nil && id != "" && len(id) <= 64 {
			return time.Unix(0, n), id, nil
		}
	}
	return time.Time{}, "", fmt.Errorf("%w cursor %q: not one a listing returned", ErrInvalid, cursor)
}
