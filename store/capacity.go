package store

import (
	"context"
	"time"
)

// Capacity search states. A search is queued, then running; it ends
// succeeded (it reached an answer, whatever the answer), failed, cancelled
// (by a user) or interrupted (its server shut down). An interrupted search
// is not final: a server resumes it from its stored steps, with a new run.
const (
	CapacityQueued      = "queued"
	CapacityRunning     = "running"
	CapacitySucceeded   = "succeeded"
	CapacityFailed      = "failed"
	CapacityCancelled   = "cancelled"
	CapacityInterrupted = "interrupted"
)

// ValidCapacityState reports whether state is one of the Capacity states.
func ValidCapacityState(state string) bool {
	switch state {
	case CapacityQueued, CapacityRunning, CapacitySucceeded, CapacityFailed, CapacityCancelled, CapacityInterrupted:
		return true
	}
	return false
}

// MaxCapacityBody bounds each of a search's JSON documents (options,
// steps, report): a search has at most 200 steps of a few hundred bytes.
const MaxCapacityBody = 4 << 20

// CapacitySearch is a capacity search (internal/capacity) the server runs:
// what a listing shows and filters on, and its documents as JSON, which
// the store keeps as given (it does not know their types). Its steps are
// results labelled capacity=ID; Steps refers to them by result ID.
type CapacitySearch struct {
	ID    string `json:"id"`
	Name  string `json:"name,omitempty"`
	State string `json:"state"`
	// Error says why a search failed, was cancelled or interrupted.
	Error string `json:"error,omitempty"`
	// RunID is the run that runs (or last ran) the search: its first run
	// has the search's ID, a resumed search a new run.
	RunID           string `json:"run_id"`
	ProfileID       string `json:"profile_id,omitempty"`
	ProfileRevision int    `json:"profile_revision,omitempty"`
	// Outcome and SustainedRPS are the report's, once there is one.
	Outcome      string  `json:"outcome,omitempty"`
	SustainedRPS float64 `json:"sustained_rps"`
	// Options are the search's options as requested (JSON), Steps the
	// judged steps so far (a JSON array), Report the final report (JSON,
	// empty until the search ends).
	Options []byte `json:"-"`
	Steps   []byte `json:"-"`
	Report  []byte `json:"-"`
	// OwnerID and Private are set when the search is created, as a run's.
	OwnerID   string    `json:"owner_id,omitempty"`
	Private   bool      `json:"private,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// CapacityFilter selects capacity searches; the zero value selects all, a
// page at a time.
type CapacityFilter struct {
	// ProfileID, if set, selects the searches of that stored profile.
	ProfileID string
	// States, if any, are the states to list.
	States []string
	// Limit is the page size: DefaultLimit when 0, at most MaxLimit.
	Limit int
	// Cursor is CapacityPage.Next of the previous page, same filter.
	Cursor string
	// Viewer, when set, leaves out what it may not see.
	Viewer *Viewer
}

// CapacityPage is one page of a capacity search listing, without the
// searches' Steps and Report.
type CapacityPage struct {
	Searches []CapacitySearch `json:"searches"`
	// Next is the cursor of the next page, "" at the end.
	Next string `json:"next,omitempty"`
}

// CapacityStore keeps capacity searches.
type CapacityStore interface {
	// CreateCapacitySearch stores a new search, assigning c.ID (if empty)
	// and the times; ErrConflict if the ID exists, ErrInvalid for an
	// unknown state, no run or a document over MaxCapacityBody.
	CreateCapacitySearch(ctx context.Context, c *CapacitySearch) error
	// UpdateCapacitySearch writes c.State, c.Error, c.RunID, c.Outcome,
	// c.SustainedRPS, c.Steps and c.Report (nil keeps the stored Steps or
	// Report) of the search c.ID names, and sets UpdatedAt. When from is
	// not "", the search must be in state from (ErrConflict otherwise):
	// two servers resuming one search, only one wins. ErrNotFound for an
	// unknown ID.
	UpdateCapacitySearch(ctx context.Context, c *CapacitySearch, from string) error
	// GetCapacitySearch returns a search by ID or unique ID prefix, with
	// its documents.
	GetCapacitySearch(ctx context.Context, id string) (*CapacitySearch, error)
	// ListCapacitySearches returns a page of searches, newest first, with
	// their Options but not their Steps and Report.
	ListCapacitySearches(ctx context.Context, f CapacityFilter) (*CapacityPage, error)
	// SetScheduleCapacity makes the schedule scheduleID queue capacity
	// searches with these options (JSON) instead of runs; nil or empty
	// options make it queue runs again. ErrNotFound for an unknown
	// schedule, ErrInvalid for options over MaxCapacityBody. Deleting the
	// schedule deletes its options.
	SetScheduleCapacity(ctx context.Context, scheduleID string, options []byte) error
	// ScheduleCapacity returns a schedule's capacity options, nil when it
	// queues runs (or is unknown).
	ScheduleCapacity(ctx context.Context, scheduleID string) ([]byte, error)
}
