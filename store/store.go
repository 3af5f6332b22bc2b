// Package store keeps test results and load profiles. The Store interface is
// implemented once over database/sql (store/sqlstore) and opened on SQLite
// (store/sqlite, the embedded default) or PostgreSQL (store/postgres).
package store

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/meshperf/meshperf/spec"
)

// Store keeps profiles, with every revision, results, and the server's runs,
// schedules and experiments: one small interface per concern, as
// authstore.Store is, so a caller that needs one concern can take just that
// one. store/sqlstore implements them all (and authstore.Store).
type Store interface {
	ProfileStore
	ResultStore
	RunStore
	InstanceStore
	ScheduleStore
	ExperimentStore
	ConformanceStore
	DesignStore
	CapacityStore
	Close() error
}

// ProfileStore keeps load profiles, with every revision.
type ProfileStore interface {
	// CreateProfile stores the first revision of a new profile. It assigns
	// p.ID (if empty), p.Revision = 1 and the timestamps; ErrConflict if the
	// name or ID exists.
	CreateProfile(ctx context.Context, p *Profile) error
	// UpdateProfile stores a new revision of the profile named by p.ID, or
	// by p.Name when p.ID is empty, keeping every old one. The owner and
	// the private flag are the profile's, not the revision's: they stay as
	// created (p gets them back). A non-zero
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
	// DeleteProfile deletes a profile, its revisions and its schedules.
	// Results and runs keep their profile ID and revision.
	DeleteProfile(ctx context.Context, ref string) error
}

// ResultStore keeps test results.
type ResultStore interface {
	// SaveResult stores r, assigning r.ID if empty, and returns its ID.
	SaveResult(ctx context.Context, r *spec.Result, ref ResultRef) (string, error)
	// GetResult returns a result by ID or by a unique ID prefix of at least
	// MinPrefix characters; an ambiguous prefix gives an *AmbiguousError.
	GetResult(ctx context.Context, id string) (*StoredResult, error)
	// ListResults returns a page of result summaries, newest first.
	ListResults(ctx context.Context, f ResultFilter) (*Page, error)
	// DeleteResult deletes a result, by ID or unique ID prefix.
	DeleteResult(ctx context.Context, id string) error
	// ReplaceResult overwrites the stored result whose ID is r.ID (the
	// full ID) with r: its summary, labels, targets and body. The profile
	// reference, the owner and the private flag stay as saved.
	// ErrNotFound if there is none. A running test's partial result is
	// replaced by later ones and, at its end, by the final one.
	ReplaceResult(ctx context.Context, r *spec.Result) error
}

// RunStore keeps the server's runs and their state machine.
type RunStore interface {
	// CreateRun stores a new run, which must be in state RunQueued, or
	// RunMissed for a scheduled run that did not happen (ErrInvalid
	// otherwise). It assigns r.ID (if empty) and r.CreatedAt (if zero), and
	// for a missed run r.FinishedAt (now, if zero); ErrConflict if the ID
	// exists.
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
	// InterruptOrphanedRuns moves to RunInterrupted, with Error = reason
	// and FinishedAt = now, every queued or running run whose instance is
	// gone: no instance, an unknown one, or one whose last heartbeat is
	// before staleBefore; the runs of instance self are left alone. It
	// returns how many it moved. A server calls it when it starts, so that
	// a second server on the same database leaves the first one's live
	// runs alone; a run keeps the result attached to it (SetRunResult).
	InterruptOrphanedRuns(ctx context.Context, self, reason string, staleBefore time.Time) (int, error)
	// SetRunResult attaches resultID to a queued or running run: the
	// partial result a server saves while the run goes on, so that a
	// crash keeps it. ErrConflict once the run has ended, ErrNotFound for
	// an unknown ID.
	SetRunResult(ctx context.Context, runID, resultID string) error
}

// InstanceStore keeps the liveness of server instances, whose runs are
// theirs (RunStore.InterruptOrphanedRuns).
type InstanceStore interface {
	// Heartbeat records that the server instance instanceID is alive now,
	// creating its row the first time. Runs created with its InstanceID
	// belong to it.
	Heartbeat(ctx context.Context, instanceID string) error
}

// ScheduleStore keeps schedules of stored profiles.
type ScheduleStore interface {
	// CreateSchedule stores a new schedule of the profile whose ID is
	// s.ProfileID (ErrNotFound if there is none: a name is not looked up).
	// It assigns s.ID (if empty) and s.CreatedAt (if zero); ErrConflict if
	// the ID exists, ErrInvalid if s.Spec is empty. The spec and the time
	// zone are stored as given: the caller validates them.
	CreateSchedule(ctx context.Context, s *Schedule) error
	// UpdateSchedule writes s.Spec, s.Timezone, s.Enabled, s.LastDueAt,
	// s.LastRunID and s.NextDueAt, all as given (a zero time clears one), to
	// the schedule s.ID names; ErrNotFound if there is none, ErrInvalid
	// without an ID or a spec. The profile
	// and the creation time do not change: on success s holds the schedule
	// as stored.
	UpdateSchedule(ctx context.Context, s *Schedule) error
	// GetSchedule returns a schedule by ID.
	GetSchedule(ctx context.Context, id string) (*Schedule, error)
	// ListSchedules returns the schedules of the profile with ID
	// f.ProfileID, or all when it is "", that f.Viewer may see, oldest
	// first (by CreatedAt, then ID). It returns an empty list, not an
	// error, for an unknown profile.
	ListSchedules(ctx context.Context, f ScheduleFilter) ([]*Schedule, error)
	// DeleteSchedule deletes a schedule by ID. Its runs are kept, with
	// their ScheduleID. Deleting a profile deletes its schedules.
	DeleteSchedule(ctx context.Context, id string) error
	// DueSchedules returns the enabled schedules whose NextDueAt is at or
	// before now, by NextDueAt then ID. A zero NextDueAt (no next time) is
	// never due.
	DueSchedules(ctx context.Context, now time.Time) ([]*Schedule, error)
}

// ExperimentStore keeps experiments and their progress.
type ExperimentStore interface {
	// CreateExperiment stores a new experiment, assigning e.ID (if empty)
	// and the timestamps; ErrConflict if the ID exists, ErrInvalid without
	// a name or with an unknown state.
	CreateExperiment(ctx context.Context, e *Experiment) error
	// UpdateExperiment writes e.State, e.Error, e.Done and e.Cells of the
	// experiment e.ID names, and sets UpdatedAt; ErrNotFound if none.
	UpdateExperiment(ctx context.Context, e *Experiment) error
	// GetExperiment returns an experiment by ID, unique ID prefix (as
	// GetResult), or name (the newest of that name).
	GetExperiment(ctx context.Context, ref string) (*Experiment, error)
	// ListExperiments returns every experiment, newest first, without
	// their Body.
	ListExperiments(ctx context.Context) ([]*Experiment, error)
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
	// OwnerID is the user who created the profile in team mode; "" for one
	// made in single-user mode or by the CLI. A Private profile is seen
	// only by its owner and admins. Both are set when the profile is
	// created and kept by its revisions.
	OwnerID string `json:"owner_id,omitempty"`
	Private bool   `json:"private,omitempty"`
}

// Viewer is who reads the store in team mode: listings given one return
// only what it may see (Viewer.CanSee). A nil *Viewer sees everything, as
// in single-user mode and the CLI.
type Viewer struct {
	UserID string
	Admin  bool
}

// CanSee reports whether v may see an object owned by ownerID, private or
// not: an admin sees everything, a user what is not private and what is
// their own. A nil v sees everything. The server checks it after Get*.
func (v *Viewer) CanSee(ownerID string, private bool) bool {
	return v == nil || v.Admin || !private || (v.UserID != "" && ownerID == v.UserID)
}

// Restricted reports whether listings for v must leave out others'
// private objects: v is set and not an admin.
func (v *Viewer) Restricted() bool { return v != nil && !v.Admin }

// MaxProfileBody is the largest profile body a store accepts.
const MaxProfileBody = 1 << 20

// ProfileFilter selects profiles; the zero value selects all.
type ProfileFilter struct {
	// Name matches a substring of the name, case-insensitively.
	Name string
	// Labels must all be present with these values.
	Labels map[string]string
	// Viewer, when set, leaves out what it may not see.
	Viewer *Viewer
	// After leaves out the names up to and including it (a page's cursor:
	// the last name of the page before).
	After string
	// Limit is the most profiles returned; 0 returns all.
	Limit int
	// NoBody leaves Body empty: for lists that show names, labels and
	// dates, so that a page does not read every document.
	NoBody bool
}

// ResultRef ties a result to the profile revision it ran, and says whose it
// is: the owner and the private flag of the run that saved it.
type ResultRef struct {
	ProfileID       string
	ProfileRevision int
	OwnerID         string
	Private         bool
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
	// OwnerID and Private are those of the ResultRef it was saved with.
	OwnerID string `json:"owner_id,omitempty"`
	Private bool   `json:"private,omitempty"`
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

// ParseLabels reads label selectors written key=value, as the CLI's
// --label and the API's ?label= take them, into a filter's Labels: nil for
// none, the last value for a key given twice. A selector with no "=" or an
// empty key is an error naming it.
func ParseLabels(selectors []string) (map[string]string, error) {
	if len(selectors) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, l := range selectors {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("label %q: want key=value", l)
		}
		m[k] = v
	}
	return m, nil
}

// ResultFilter selects results; the zero value selects all, a page at a time.
type ResultFilter struct {
	ProfileID string
	// Labels must all be present with these values.
	Labels map[string]string
	// Since (inclusive) and Until (exclusive) bound the start time.
	Since, Until time.Time
	// Generator matches exactly; Target matches any requested target exactly.
	Generator, Target string
	// Mesh (case-insensitive) and MeshVersion (exact, with Mesh) match a
	// mesh the result's mesh context found (ResultMeshes).
	Mesh, MeshVersion string
	// Limit is the page size: DefaultLimit when 0, at most MaxLimit.
	Limit int
	// Cursor is Page.Next of the previous page, with the same filter.
	Cursor string
	// Viewer, when set, leaves out what it may not see.
	Viewer *Viewer
}

// Page is one page of a result listing.
type Page struct {
	Results []ResultSummary `json:"results"`
	// Next is the cursor of the next page, "" at the end.
	Next string `json:"next,omitempty"`
}

// Run states. A run starts queued; succeeded, degraded, failed, cancelled
// and interrupted are final. A missed run is created in its final state.
const (
	RunQueued    = "queued"
	RunRunning   = "running"
	RunSucceeded = "succeeded"
	// RunDegraded is a run that finished but lost part of its load: an
	// agent dropped, failed or had its data refused. Error says which and
	// why; the result keeps the rest.
	RunDegraded    = "degraded"
	RunFailed      = "failed"
	RunCancelled   = "cancelled"
	RunInterrupted = "interrupted"
	RunMissed      = "missed" // a scheduled run that did not happen (the server was down); a final state
)

// RunStates lists every run state, in the order a run goes through them.
var RunStates = []string{RunQueued, RunRunning, RunSucceeded, RunDegraded, RunFailed, RunCancelled, RunInterrupted, RunMissed}

// ValidRunState reports whether state is one of RunStates.
func ValidRunState(state string) bool {
	switch state {
	case RunQueued, RunRunning, RunSucceeded, RunDegraded, RunFailed, RunCancelled, RunInterrupted, RunMissed:
		return true
	}
	return false
}

// FinalRunState reports whether a run in state has ended: no transition
// leaves it.
func FinalRunState(state string) bool {
	switch state {
	case RunSucceeded, RunDegraded, RunFailed, RunCancelled, RunInterrupted, RunMissed:
		return true
	}
	return false
}

// LegalRunTransition reports whether a run may go from state from to state
// to: queued to running, cancelled or interrupted; running to succeeded,
// degraded, failed, cancelled or interrupted. No transition leads to
// RunMissed.
func LegalRunTransition(from, to string) bool {
	switch from {
	case RunQueued:
		return to == RunRunning || to == RunCancelled || to == RunInterrupted
	case RunRunning:
		return to == RunSucceeded || to == RunDegraded || to == RunFailed || to == RunCancelled || to == RunInterrupted
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
	// ScheduleID is the schedule that started the run, and DueAt the due
	// time it was for; "" and zero for a run started by hand.
	ScheduleID string    `json:"schedule_id,omitempty"`
	DueAt      time.Time `json:"due_at,omitzero"`
	// OwnerID is the user who submitted the run (or owns its schedule) in
	// team mode, "" otherwise; a Private run is seen only by its owner and
	// admins. Both are set when the run is created and never change.
	OwnerID string `json:"owner_id,omitempty"`
	Private bool   `json:"private,omitempty"`
	// InstanceID is the server instance that queued the run (and runs it);
	// set when the run is created, never changed. See
	// Store.InterruptOrphanedRuns.
	InstanceID string `json:"instance_id,omitempty"`
}

// RunFilter selects runs; the zero value selects all, a page at a time.
type RunFilter struct {
	// States, if any, are the states to list.
	States []string
	// Limit is the page size: DefaultLimit when 0, at most MaxLimit.
	Limit int
	// Cursor is RunPage.Next of the previous page, with the same filter.
	Cursor string
	// Viewer, when set, leaves out what it may not see.
	Viewer *Viewer
}

// RunPage is one page of a run listing.
type RunPage struct {
	Runs []Run `json:"runs"`
	// Next is the cursor of the next page, "" at the end.
	Next string `json:"next,omitempty"`
}

// Schedule runs a stored profile at times a cron spec (or "every N") gives.
type Schedule struct {
	ID        string    `json:"id"`
	ProfileID string    `json:"profile_id"`
	Spec      string    `json:"spec"`               // cron, @macro or "every 15m"
	Timezone  string    `json:"timezone,omitempty"` // IANA name; "" is UTC
	Enabled   bool      `json:"enabled"`
	CreatedAt time.Time `json:"created_at"`
	// LastDueAt is the last due time handled (run, or recorded as missed).
	LastDueAt time.Time `json:"last_due_at,omitzero"`
	LastRunID string    `json:"last_run_id,omitempty"`
	NextDueAt time.Time `json:"next_due_at,omitzero"`
	// OwnerID is the user who created the schedule in team mode, "" else;
	// a Private schedule is seen only by its owner and admins. Both are set
	// when the schedule is created and never change; its runs get them.
	OwnerID string `json:"owner_id,omitempty"`
	Private bool   `json:"private,omitempty"`
}

// ScheduleFilter selects schedules; the zero value selects all.
type ScheduleFilter struct {
	// ProfileID, if set, is the profile whose schedules to list.
	ProfileID string
	// Viewer, when set, leaves out what it may not see.
	Viewer *Viewer
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
	s.P50Ms, _ = d.Value(50) // the one percentile list (spec.Distribution.Value)
	s.P90Ms, _ = d.Value(90)
	s.P99Ms, _ = d.Value(99)
	return s
}

type viewerKey struct{}

// WithViewer returns ctx carrying v, for the lookups by ID prefix
// (GetResult, DeleteResult, GetRun): with a restricted viewer in the
// context, a prefix (or a full ID) resolves only among the results and
// runs v may see, so that neither an ambiguity listing IDs nor the
// difference between "ambiguous" and "not found" tells v about objects
// hidden from it. The server puts the caller's Viewer there in team mode.
func WithViewer(ctx context.Context, v *Viewer) context.Context {
	return context.WithValue(ctx, viewerKey{}, v)
}

// ViewerFrom returns the Viewer WithViewer put in ctx, or nil (sees
// everything).
func ViewerFrom(ctx context.Context) *Viewer {
	v, _ := ctx.Value(viewerKey{}).(*Viewer)
	return v
}

// ResultMeshes are the meshes r's mesh context found, as the store keys
// them: display name (else detection key) lowercased, and version.
func ResultMeshes(r *spec.Result) [][2]string {
	if r.Mesh == nil {
		return nil
	}
	var out [][2]string
	for _, m := range r.Mesh.Meshes {
		name := m.Name
		if name == "" {
			name = m.Mesh
		}
		if name != "" {
			out = append(out, [2]string{strings.ToLower(name), m.Version})
		}
	}
	return out
}
