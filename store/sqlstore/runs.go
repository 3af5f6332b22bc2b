package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/meshperf/meshperf/store"
)

// A run is a row of runs, its labels a JSON object in one column: runs are
// listed by time and state, never by label.

const runColumns = `id, state, profile_id, profile_revision, name, labels, result_id, error,
	created_ns, started_ns, finished_ns, schedule_id, due_ns, owner_id, private, instance_id`

// CreateRun implements store.Store.
func (s *Store) CreateRun(ctx context.Context, r *store.Run) error {
	if r == nil {
		return fmt.Errorf("%w run: nil", store.ErrInvalid)
	}
	if r.State != store.RunQueued && r.State != store.RunMissed {
		return fmt.Errorf("%w run: a new run must be %s or %s, not %q", store.ErrInvalid, store.RunQueued, store.RunMissed, r.State)
	}
	if r.ProfileRevision < 0 || (r.ProfileID == "" && r.ProfileRevision != 0) {
		return fmt.Errorf("%w run: profile revision %d of profile %q", store.ErrInvalid, r.ProfileRevision, r.ProfileID)
	}
	if len(r.Profile) > store.MaxProfileBody {
		return fmt.Errorf("%w run: the profile is %d bytes, more than the limit of %d", store.ErrInvalid, len(r.Profile), store.MaxProfileBody)
	}
	labels, err := encodeRunLabels(r.Labels)
	if err != nil {
		return err
	}
	next := *r
	if next.ID == "" {
		next.ID = store.NewID()
	}
	now := time.Now()
	if next.CreatedAt.IsZero() {
		next.CreatedAt = now
	}
	if next.State == store.RunMissed && next.FinishedAt.IsZero() {
		next.FinishedAt = now
	}
	next.CreatedAt = fromNanos(nanos(next.CreatedAt))
	next.StartedAt, next.FinishedAt, next.DueAt = storedTime(next.StartedAt), storedTime(next.FinishedAt), storedTime(next.DueAt)
	profile := next.Profile
	if profile == nil {
		profile = []byte{}
	}
	err = s.inTx(ctx, func(tx db) error {
		_, err := tx.exec(ctx, `INSERT INTO runs (`+runColumns+`, profile) VALUES (`+placeholders(17)+`)`,
			next.ID, next.State, next.ProfileID, next.ProfileRevision, next.Name, labels, next.ResultID, next.Error,
			nanos(next.CreatedAt), nullNanos(next.StartedAt), nullNanos(next.FinishedAt), next.ScheduleID, nullNanos(next.DueAt),
			next.OwnerID, next.Private, next.InstanceID, profile)
		return s.conflict(err, fmt.Sprintf("run %q", next.ID))
	})
	if err != nil {
		return s.fail(err)
	}
	*r = next
	return nil
}

// UpdateRun implements store.Store. The current state is read under the
// row lock (PostgreSQL) or the database's write lock (SQLite), so of two
// updates racing to end a run, the second sees the first's final state.
func (s *Store) UpdateRun(ctx context.Context, r *store.Run) error {
	if r == nil {
		return fmt.Errorf("%w run: nil", store.ErrInvalid)
	}
	if r.ID == "" {
		return fmt.Errorf("%w run: no ID", store.ErrInvalid)
	}
	if !store.ValidRunState(r.State) {
		return fmt.Errorf("%w run %q: unknown state %q", store.ErrInvalid, r.ID, r.State)
	}
	var next *store.Run
	err := s.inTx(ctx, func(tx db) error {
		rows, err := tx.query(ctx, `SELECT `+runColumns+`, profile FROM runs WHERE id = ?`+s.d.ForUpdate, r.ID)
		if err != nil {
			return err
		}
		var profile []byte
		runs, err := scanRuns(rows, &profile)
		if err != nil {
			return err
		}
		if len(runs) == 0 {
			return fmt.Errorf("run %q %w", r.ID, store.ErrNotFound)
		}
		cur := runs[0]
		cur.Profile = profile
		switch {
		case store.FinalRunState(cur.State):
			return fmt.Errorf("run %q has ended already (%s), it cannot become %s: %w", r.ID, cur.State, r.State, store.ErrConflict)
		case !store.LegalRunTransition(cur.State, r.State):
			return fmt.Errorf("%w run %q: it cannot go from %s to %s", store.ErrInvalid, r.ID, cur.State, r.State)
		}
		now := time.Now()
		cur.State = r.State
		if r.ResultID != "" {
			cur.ResultID = r.ResultID
		}
		if r.Error != "" {
			cur.Error = r.Error
		}
		if !r.StartedAt.IsZero() {
			cur.StartedAt = r.StartedAt
		}
		if !r.FinishedAt.IsZero() {
			cur.FinishedAt = r.FinishedAt
		}
		if cur.State == store.RunRunning && cur.StartedAt.IsZero() {
			cur.StartedAt = now
		}
		if store.FinalRunState(cur.State) && cur.FinishedAt.IsZero() {
			cur.FinishedAt = now
		}
		cur.StartedAt, cur.FinishedAt = storedTime(cur.StartedAt), storedTime(cur.FinishedAt)
		_, err = tx.exec(ctx, `UPDATE runs SET state = ?, result_id = ?, error = ?, started_ns = ?, finished_ns = ? WHERE id = ?`,
			cur.State, cur.ResultID, cur.Error, nullNanos(cur.StartedAt), nullNanos(cur.FinishedAt), cur.ID)
		next = &cur
		return err
	})
	if err != nil {
		return s.fail(err)
	}
	*r = *next
	return nil
}

// GetRun implements store.Store.
func (s *Store) GetRun(ctx context.Context, id string) (*store.Run, error) {
	q := s.reader()
	full, err := resolveID(ctx, q, "runs", "run", id)
	if err != nil {
		return nil, s.fail(err)
	}
	rows, err := q.query(ctx, `SELECT `+runColumns+`, profile FROM runs WHERE id = ?`, full)
	if err != nil {
		return nil, s.fail(err)
	}
	var profile []byte
	runs, err := scanRuns(rows, &profile)
	if err != nil {
		return nil, s.fail(err)
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("run %q %w", id, store.ErrNotFound)
	}
	r := runs[0]
	r.Profile = profile
	return &r, nil
}

// ListRuns implements store.Store: newest first by (creation time, ID), a
// page at a time, resuming after the last row of the previous page.
func (s *Store) ListRuns(ctx context.Context, f store.RunFilter) (*store.RunPage, error) {
	limit, err := pageLimit(f.Limit, "run filter")
	if err != nil {
		return nil, err
	}
	q := newestFirst{table: "runs", columns: runColumns, cursor: f.Cursor,
		states: f.States, valid: store.ValidRunState, what: "run filter", viewer: f.Viewer}
	query, args, err := q.query(limit)
	if err != nil {
		return nil, err
	}
	rows, err := s.reader().query(ctx, query, args...)
	if err != nil {
		return nil, s.fail(err)
	}
	runs, err := scanRuns(rows)
	if err != nil {
		return nil, s.fail(err)
	}
	page := &store.RunPage{Runs: runs}
	if page.Runs == nil {
		page.Runs = []store.Run{}
	}
	if len(runs) > limit {
		page.Runs = runs[:limit]
		last := page.Runs[limit-1]
		page.Next = encodeCursor(nanos(last.CreatedAt), last.ID)
	}
	return page, nil
}

// InterruptRuns implements store.Store.
func (s *Store) InterruptRuns(ctx context.Context, reason string) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE runs SET state = ?, error = ?, finished_ns = ? WHERE state IN (?, ?)`,
			store.RunInterrupted, reason, nanos(time.Now()), store.RunQueued, store.RunRunning)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, s.fail(err)
	}
	return int(n), nil
}

// Heartbeat implements store.Store.
func (s *Store) Heartbeat(ctx context.Context, instanceID string) error {
	if instanceID == "" {
		return fmt.Errorf("%w heartbeat: no instance ID", store.ErrInvalid)
	}
	now := nanos(time.Now())
	err := s.inTx(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE server_instances SET heartbeat_ns = ? WHERE id = ?`, now, instanceID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		_, err = tx.exec(ctx, `INSERT INTO server_instances (id, started_ns, heartbeat_ns) VALUES (?, ?, ?)`, instanceID, now, now)
		return err
	})
	return s.fail(err)
}

// InterruptOrphanedRuns implements store.Store.
func (s *Store) InterruptOrphanedRuns(ctx context.Context, self, reason string, staleBefore time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE runs SET state = ?, error = ?, finished_ns = ?
			WHERE state IN (?, ?) AND instance_id <> ? AND NOT EXISTS (
				SELECT 1 FROM server_instances i WHERE i.id = runs.instance_id AND i.heartbeat_ns >= ?)`,
			store.RunInterrupted, reason, nanos(time.Now()), store.RunQueued, store.RunRunning, self, nanos(staleBefore))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, s.fail(err)
	}
	return int(n), nil
}

// SetRunResult implements store.Store.
func (s *Store) SetRunResult(ctx context.Context, runID, resultID string) error {
	if runID == "" || resultID == "" {
		return fmt.Errorf("%w run result: run %q, result %q", store.ErrInvalid, runID, resultID)
	}
	err := s.inTx(ctx, func(tx db) error {
		var state string
		if err := tx.queryRow(ctx, `SELECT state FROM runs WHERE id = ?`+s.d.ForUpdate, runID).Scan(&state); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("run %q %w", runID, store.ErrNotFound)
			}
			return err
		}
		if store.FinalRunState(state) {
			return fmt.Errorf("run %q has ended already (%s): %w", runID, state, store.ErrConflict)
		}
		_, err := tx.exec(ctx, `UPDATE runs SET result_id = ? WHERE id = ?`, resultID, runID)
		return err
	})
	return s.fail(err)
}

// scanRuns reads rows selecting runColumns, then, if extra is given, more
// columns into it (of the last row).
func scanRuns(rows *sql.Rows, extra ...any) ([]store.Run, error) {
	defer rows.Close()
	var out []store.Run
	for rows.Next() {
		var r store.Run
		var labels string
		var created int64
		var started, finished, due sql.NullInt64
		dest := append([]any{&r.ID, &r.State, &r.ProfileID, &r.ProfileRevision, &r.Name, &labels, &r.ResultID, &r.Error,
			&created, &started, &finished, &r.ScheduleID, &due, &r.OwnerID, &r.Private, &r.InstanceID}, extra...)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if labels != "" {
			if err := json.Unmarshal([]byte(labels), &r.Labels); err != nil {
				return nil, fmt.Errorf("run %s: corrupt labels: %w", r.ID, err)
			}
		}
		r.CreatedAt = fromNanos(created)
		if started.Valid {
			r.StartedAt = fromNanos(started.Int64)
		}
		if finished.Valid {
			r.FinishedAt = fromNanos(finished.Int64)
		}
		if due.Valid {
			r.DueAt = fromNanos(due.Int64)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func encodeRunLabels(labels map[string]string) (string, error) {
	if len(labels) == 0 {
		return "", nil
	}
	b, err := json.Marshal(labels)
	if err != nil { // cannot happen: invalid UTF-8 is replaced, not refused
		return "", fmt.Errorf("%w run labels: %w", store.ErrInvalid, err)
	}
	return string(b), nil
}

// storedTime returns t as the store gives it back: UTC, to the nanosecond,
// without a monotonic reading; zero stays zero.
func storedTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return fromNanos(nanos(t))
}

// nullNanos is t in Unix nanoseconds, or NULL for the zero time.
func nullNanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return nanos(t)
}
