// Package store keeps test results and load profiles. The Store interface is
// implemented once over database/sql (store/sqlstore) and opened on SQLite
// (store/sqlite, the embedded default) or PostgreSQL (store/postgres).
package store

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/meshperf/meshperf/spec"
)

// Store keeps profiles, with every revision, results, and the server's runs.
type Store interface {
	// CreateProfile stores the first revision of a new profile. It assigns
	// p.ID (if empty), p.Revision = 1 and the timestamps; ErrConflict if the
	// name or ID exists.
	CreateProfile(ctx context.Context, p *Profile) error
	// UpdateProfile stores a new revision of the profile named by p.ID, or
	// by p.Name when p.ID is empty, keeping every old one. A non-zero
	// p.Revision must be the latest one (ErrConflict otherwise), so an edit
	// of a stale copy is not lost silently. A non-empty p.Name with p.ID
	// renames the profile.
	UpdateProfile(ctx context.Context, p *Profile) error
	// GetProfile returns the latest revision of a profile, by ID or name.
	GetProfile(ctx context.Context, ref string) (*Profile, error)
	// ProfileRevision returns one revision of a profile.
	ProfileRevision(ctx context.Context, ref string, revision int) (*Profile, error)
	// ProfileRevisions returns every revision of a profile, oldest first.
	ProfileRevisions(ctx context.Context, ref string) ([]*Profile, error)
	// ListProfiles returns the latest revision of matching profiles, by name.
	ListProfiles(ctx context.Context, f ProfileFilter) ([]*Profile, error)
	// DeleteProfile deletes a profile and its revisions. Results keep their
	// profile ID and revision.
	DeleteProfile(ctx context.Context, ref string) error

	// SaveResult stores r, assigning r.ID if empty, and returns its ID.
	SaveResult(ctx context.Context, r *spec.Result, ref ResultRef) (string, error)
	// GetResult returns a result by ID or by a unique ID prefix of at least
	// MinPrefix characters; an ambiguous prefix gives an *AmbiguousError.
	GetResult(ctx context.Context, id string) (*StoredResult, error)
	// ListResults returns a page of result summaries, newest first.
	ListResults(ctx context.Context, f ResultFilter) (*Page, error)
	// DeleteResult deletes a result, by ID or unique ID prefix.
	DeleteResult(ctx context.Context, id string) error

	// CreateRun stores a new run, which must be in state RunQueued
	// (ErrInvalid otherwise). It assigns r.ID (if empty) and r.CreatedAt (if
	// zero); ErrConflict if the ID exists.
	CreateRun(ctx context.Context, r *Run) error
	// UpdateRun moves the run r.ID names to r.State, writing r.ResultID,
	// r.Error, r.StartedAt and r.FinishedAt; an empty or zero one keeps the
	// stored value. A zero StartedAt becomes now when the run starts, a
	// zero FinishedAt now when it ends, if not stored already. Only the
	// moves of LegalRunTransition are allowed: ErrConflict from a final
	// state (the run has ended already, e.g. a cancel that lost the race
	// to the finish), ErrInvalid for another illegal move, ErrNotFound for
	// an unknown ID. On success r holds the run as stored.
	UpdateRun(ctx context.Context, r *Run) error
	// GetRun returns a run by ID or by a unique ID prefix of at least
	// MinPrefix characters; an ambiguous prefix gives an *AmbiguousError.
	GetRun(ctx context.Context, id string) (*Run, error)
	// ListRuns returns a page of runs, newest first (by CreatedAt, then
	// ID), without their Profile (GetRun has it).
	ListRuns(ctx context.Context, f RunFilter) (*RunPage, error)
	// InterruptRuns moves every queued or running run to RunInterrupted,
	// with Error = reason and FinishedAt = now, and returns how many it
	// moved. A server calls it when it starts: the runs it finds unfinished
	// were in the memory of a server that died.
	InterruptRuns(ctx context.Context, reason string) (int, error)

	Close() error
}

// Profile is one revision of a load profile.
type Profile struct {
	ID, Name string
	Labels   map[string]string
	Revision int
	// Body is the profile document (canonical JSON), stored as given.
	Body []byte
	// CreatedAt is when the profile was created, UpdatedAt when this
	// revision was stored.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// MaxProfileBody is the largest profile body a store accepts.
const MaxProfileBody = 1 << 20

// ProfileFilter selects profiles; the zero value selects all.
type ProfileFilter struct {
	// Name matches a substring of the name, case-insensitively.
	Name string
	// Labels must all be present with these values.
	Labels map[string]string
}

// ResultRef ties a result to the profile revision it ran.
type ResultRef struct {
	ProfileID       string
	ProfileRevision int
}

// ResultSummary is what a listing shows of a result, and what it filters on.
type ResultSummary struct {
	ID              string            `json:"id"`
	Name            string            `json:"name,omitempty"`
	ProfileID       string            `json:"profile_id,omitempty"`
	ProfileRevision int               `json:"profile_revision,omitempty"`
	Labels          map[string]string `json:"labels,omitempty"`
	Generator       string            `json:"generator"`
	// Target is the first requested target.
	Target       string    `json:"target"`
	StartTime    time.Time `json:"start_time"`
	EndTime      time.Time `json:"end_time"`
	RequestedRPS float64   `json:"requested_rps"`
	AchievedRPS  float64   `json:"achieved_rps"`
	Requests     int64     `json:"requests"`
	Errors       int64     `json:"errors"`
	ErrorRate    float64   `json:"error_rate"`
	// P50Ms, P90Ms and P99Ms are of the latency if present (open loop),
	// else of the service time.
	P50Ms       float64 `json:"p50_ms"`
	P90Ms       float64 `json:"p90_ms"`
	P99Ms       float64 `json:"p99_ms"`
	Interrupted bool    `json:"interrupted,omitempty"`
}

// StoredResult is a result with its summary.
type StoredResult struct {
	Summary ResultSummary
	Result  *spec.Result
}

// Result listing limits.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// ResultFilter selects results; the zero value selects all, a page at a time.
type ResultFilter struct {
	ProfileID string
	// Labels must all be present with these values.
	Labels map[string]string
	// Since (inclusive) and Until (exclusive) bound the start time.
	Since, Until time.Time
	// Generator matches exactly; Target matches any requested target exactly.
	Generator, Target string
	// Limit is the page size: DefaultLimit when 0, at most MaxLimit.
	Limit int
	// Cursor is Page.Next of the previous page, with the same filter.
	Cursor string
}

// Page is one page of a result listing.
type Page struct {
	Results []ResultSummary `json:"results"`
	// Next is the cursor of the next page, "" at the end.
	Next string `json:"next,omitempty"`
}

// Run states. A run starts queued; succeeded, failed, cancelled and
// interrupted are final.
const (
	RunQueued      = "queued"
	RunRunning     = "running"
	RunSucceeded   = "succeeded"
	RunFailed      = "failed"
	RunCancelled   = "cancelled"
	RunInterrupted = "interrupted"
)

// RunStates lists every run state, in the order a run goes through them.
var RunStates = []string{RunQueued, RunRunning, RunSucceeded, RunFailed, RunCancelled, RunInterrupted}

// ValidRunState reports whether state is one of RunStates.
func ValidRunState(state string) bool {
	switch state {
	case RunQueued, RunRunning, RunSucceeded, RunFailed, RunCancelled, RunInterrupted:
		return true
	}
	return false
}

// FinalRunState reports whether a run in state has ended: no transition
// leaves it.
func FinalRunState(state string) bool {
	switch state {
	case RunSucceeded, RunFailed, RunCancelled, RunInterrupted:
		return true
	}
	return false
}

// LegalRunTransition reports whether a run may go from state from to state
// to: queued to running, cancelled or interrupted; running to succeeded,
// failed, cancelled or interrupted.
func LegalRunTransition(from, to string) bool {
	switch from {
	case RunQueued:
		return to == RunRunning || to == RunCancelled || to == RunInterrupted
	case RunRunning:
		return to == RunSucceeded || to == RunFailed || to == RunCancelled || to == RunInterrupted
	}
	return false
}

// Run is one test run the server queued.
type Run struct {
	ID              string            `json:"id"`
	State           string            `json:"state"`
	ProfileID       string            `json:"profile_id,omitempty"`
	ProfileRevision int               `json:"profile_revision,omitempty"`
	Name            string            `json:"name,omitempty"`
	Labels          map[string]string `json:"labels,omitempty"`
	// Profile is the profile document run (JSON), as submitted; at most
	// MaxProfileBody bytes.
	Profile []byte `json:"-"`
	// ResultID is set when the run measured anything.
	ResultID   string    `json:"result_id,omitempty"`
	Error      string    `json:"error,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

// RunFilter selects runs; the zero value selects all, a page at a time.
type RunFilter struct {
	// States, if any, are the states to list.
	States []string
	// Limit is the page size: DefaultLimit when 0, at most MaxLimit.
	Limit int
	// Cursor is RunPage.Next of the previous page, with the same filter.
	Cursor string
}

// RunPage is one page of a run listing.
type RunPage struct {
	Runs []Run `json:"runs"`
	// Next is the cursor of the next page, "" at the end.
	Next string `json:"next,omitempty"`
}

// NewID returns a new time-sortable ID: 12 hex digits of the Unix time in
// milliseconds, then 8 random hex digits.
func NewID() string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return fmt.Sprintf("%012x%08x", time.Now().UnixMilli()&0xffffffffffff, binary.BigEndian.Uint32(b[:]))
}

// Summarize returns the summary of r, without the profile reference.
func Summarize(r *spec.Result) ResultSummary {
	s := ResultSummary{
		ID:           r.ID,
		Name:         r.Name,
		Labels:       r.Labels,
		Generator:    r.Generator.Name,
		StartTime:    r.StartTime,
		EndTime:      r.EndTime,
		RequestedRPS: r.Requested.RPS,
		AchievedRPS:  r.Achieved.RPS,
		Requests:     r.Achieved.Requests,
		Errors:       r.Achieved.Errors,
		ErrorRate:    r.Achieved.ErrorRate,
		Interrupted:  r.Interrupted,
	}
	if len(r.Requested.Targets) > 0 {
		s.Target = r.Requested.Targets[0]
	}
	d := r.Latency
	if d == nil {
		d = r.ServiceTime
	}
	s.P50Ms, _ = d.At(50)
	s.P90Ms, _ = d.At(90)
	s.P99Ms, _ = d.At(99)
	return s
}
