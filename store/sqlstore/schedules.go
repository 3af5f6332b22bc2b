package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/meshperf/meshperf/store"
)

// A schedule is a row of schedules, deleted with its profile by ON DELETE
// CASCADE. Its spec and time zone are stored as given: the server parses
// them (internal/schedule).

const scheduleColumns = `id, profile_id, spec, timezone, enabled, created_ns, last_due_ns, last_run_id, next_due_ns, owner_id, private`

// CreateSchedule implements store.Store.
func (s *Store) CreateSchedule(ctx context.Context, sc *store.Schedule) error {
	if sc == nil {
		return fmt.Errorf("%w schedule: nil", store.ErrInvalid)
	}
	if sc.Spec == "" {
		return fmt.Errorf("%w schedule of profile %q: no spec", store.ErrInvalid, sc.ProfileID)
	}
	next := *sc
	if next.ID == "" {
		next.ID = store.NewID()
	}
	if next.CreatedAt.IsZero() {
		next.CreatedAt = time.Now()
	}
	next.CreatedAt = fromNanos(nanos(next.CreatedAt))
	next.LastDueAt, next.NextDueAt = storedTime(next.LastDueAt), storedTime(next.NextDueAt)
	err := s.inTx(ctx, func(tx db) error {
		_, err := tx.exec(ctx, `INSERT INTO schedules (`+scheduleColumns+`) VALUES (`+placeholders(11)+`)`,
			next.ID, next.ProfileID, next.Spec, next.Timezone, next.Enabled, nanos(next.CreatedAt),
			nullNanos(next.LastDueAt), next.LastRunID, nullNanos(next.NextDueAt), next.OwnerID, next.Private)
		err = s.conflict(err, fmt.Sprintf("schedule %q", next.ID))
		return s.missing(err, fmt.Errorf("schedule: profile %q %w", next.ProfileID, store.ErrNotFound))
	})
	if err != nil {
		return s.fail(err)
	}
	*sc = next
	return nil
}

// UpdateSchedule implements store.Store.
func (s *Store) UpdateSchedule(ctx context.Context, sc *store.Schedule) error {
	if sc == nil {
		return fmt.Errorf("%w schedule: nil", store.ErrInvalid)
	}
	if sc.ID == "" {
		return fmt.Errorf("%w schedule: no ID", store.ErrInvalid)
	}
	if sc.Spec == "" {
		return fmt.Errorf("%w schedule %q: no spec", store.ErrInvalid, sc.ID)
	}
	var got *store.Schedule
	err := s.inTx(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE schedules
			SET spec = ?, timezone = ?, enabled = ?, last_due_ns = ?, last_run_id = ?, next_due_ns = ?
			WHERE id = ?`,
			sc.Spec, sc.Timezone, sc.Enabled, nullNanos(sc.LastDueAt), sc.LastRunID, nullNanos(sc.NextDueAt), sc.ID)
		if err != nil {
			return err
		}
		if err := mustAffect(res, fmt.Errorf("schedule %q %w", sc.ID, store.ErrNotFound)); err != nil {
			return err
		}
		ss, err := querySchedules(ctx, tx, `SELECT `+scheduleColumns+` FROM schedules WHERE id = ?`, sc.ID)
		if err != nil {
			return err
		}
		got = ss[0]
		return nil
	})
	if err != nil {
		return s.fail(err)
	}
	*sc = *got
	return nil
}

// GetSchedule implements store.Store.
func (s *Store) GetSchedule(ctx context.Context, id string) (*store.Schedule, error) {
	ss, err := querySchedules(ctx, s.reader(), `SELECT `+scheduleColumns+` FROM schedules WHERE id = ?`, id)
	if err != nil {
		return nil, s.fail(err)
	}
	if len(ss) == 0 {
		return nil, fmt.Errorf("schedule %q %w", id, store.ErrNotFound)
	}
	return ss[0], nil
}

// ListSchedules implements store.Store.
func (s *Store) ListSchedules(ctx context.Context, f store.ScheduleFilter) ([]*store.Schedule, error) {
	var where []string
	var args []any
	if f.ProfileID != "" {
		where = append(where, `profile_id = ?`)
		args = append(args, f.ProfileID)
	}
	if f.Viewer.Restricted() {
		cond, a := visible("schedules", f.Viewer)
		where = append(where, cond)
		args = append(args, a...)
	}
	query := `SELECT ` + scheduleColumns + ` FROM schedules`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	ss, err := querySchedules(ctx, s.reader(), query+` ORDER BY created_ns, id`, args...)
	if err != nil {
		return nil, s.fail(err)
	}
	return ss, nil
}

// DeleteSchedule implements store.Store.
func (s *Store) DeleteSchedule(ctx context.Context, id string) error {
	return s.fail(s.inTx(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `DELETE FROM schedules WHERE id = ?`, id)
		if err != nil {
			return err
		}
		return mustAffect(res, fmt.Errorf("schedule %q %w", id, store.ErrNotFound))
	}))
}

// DueSchedules implements store.Store, reading the partial index of
// enabled schedules by next due time.
func (s *Store) DueSchedules(ctx context.Context, now time.Time) ([]*store.Schedule, error) {
	ss, err := querySchedules(ctx, s.reader(), `SELECT `+scheduleColumns+` FROM schedules
		WHERE enabled AND next_due_ns <= ? ORDER BY next_due_ns, id`, nanos(now))
	if err != nil {
		return nil, s.fail(err)
	}
	return ss, nil
}

// querySchedules runs a query selecting scheduleColumns; it never returns
// a nil slice without an error.
func querySchedules(ctx context.Context, q db, query string, args ...any) ([]*store.Schedule, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ss := []*store.Schedule{}
	for rows.Next() {
		var sc store.Schedule
		var created int64
		var lastDue, nextDue sql.NullInt64
		if err := rows.Scan(&sc.ID, &sc.ProfileID, &sc.Spec, &sc.Timezone, &sc.Enabled, &created,
			&lastDue, &sc.LastRunID, &nextDue, &sc.OwnerID, &sc.Private); err != nil {
			return nil, err
		}
		sc.CreatedAt = fromNanos(created)
		if lastDue.Valid {
			sc.LastDueAt = fromNanos(lastDue.Int64)
		}
		if nextDue.Valid {
			sc.NextDueAt = fromNanos(nextDue.Int64)
		}
		ss = append(ss, &sc)
	}
	return ss, rows.Err()
}
