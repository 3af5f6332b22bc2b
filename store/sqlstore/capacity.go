package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/meshperf/meshperf/store"
)

// A capacity search is a row of capacity_searches (migration 0010); its
// steps are results found by their capacity label, named in its steps.

const capacityColumns = `id, name, state, error, run_id, profile_id, profile_revision, outcome, sustained_rps, owner_id, private, created_ns, updated_ns, options`

var _ store.CapacityStore = (*Store)(nil)

// checkCapacity is what a create or an update refuses.
func checkCapacity(c *store.CapacitySearch, update bool) error {
	switch {
	case c == nil:
		return fmt.Errorf("%w capacity search: nil", store.ErrInvalid)
	case update && c.ID == "":
		return fmt.Errorf("%w capacity search: no ID", store.ErrInvalid)
	case !store.ValidCapacityState(c.State):
		return fmt.Errorf("%w capacity search %q: unknown state %q", store.ErrInvalid, c.ID, c.State)
	case c.RunID == "":
		return fmt.Errorf("%w capacity search %q: no run", store.ErrInvalid, c.ID)
	}
	for name, doc := range map[string][]byte{"options": c.Options, "steps": c.Steps, "report": c.Report} {
		if len(doc) > store.MaxCapacityBody {
			return fmt.Errorf("%w capacity search %q: %s are %d bytes, more than the limit of %d", store.ErrInvalid, c.ID, name, len(doc), store.MaxCapacityBody)
		}
	}
	return nil
}

// orEmpty is b, or an empty (not NULL) value.
func orEmpty(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// CreateCapacitySearch implements store.CapacityStore.
func (s *Store) CreateCapacitySearch(ctx context.Context, c *store.CapacitySearch) error {
	if err := checkCapacity(c, false); err != nil {
		return err
	}
	next := *c
	if next.ID == "" {
		next.ID = store.NewID()
	}
	if next.CreatedAt.IsZero() {
		next.CreatedAt = time.Now()
	}
	next.CreatedAt = fromNanos(nanos(next.CreatedAt))
	next.UpdatedAt = next.CreatedAt
	err := s.inTx(ctx, func(tx db) error {
		_, err := tx.exec(ctx, `INSERT INTO capacity_searches (`+capacityColumns+`, steps, report) VALUES (`+placeholders(16)+`)`,
			next.ID, next.Name, next.State, next.Error, next.RunID, next.ProfileID, next.ProfileRevision,
			next.Outcome, next.SustainedRPS, next.OwnerID, next.Private, nanos(next.CreatedAt), nanos(next.UpdatedAt),
			orEmpty(next.Options), orEmpty(next.Steps), orEmpty(next.Report))
		return s.conflict(err, fmt.Sprintf("capacity search %q", next.ID))
	})
	if err != nil {
		return s.fail(err)
	}
	*c = next
	return nil
}

// UpdateCapacitySearch implements store.CapacityStore.
func (s *Store) UpdateCapacitySearch(ctx context.Context, c *store.CapacitySearch, from string) error {
	if err := checkCapacity(c, true); err != nil {
		return err
	}
	if from != "" && !store.ValidCapacityState(from) {
		return fmt.Errorf("%w capacity search %q: unknown state %q", store.ErrInvalid, c.ID, from)
	}
	now := fromNanos(nanos(time.Now()))
	set := []string{`state = ?`, `error = ?`, `run_id = ?`, `outcome = ?`, `sustained_rps = ?`, `updated_ns = ?`}
	args := []any{c.State, c.Error, c.RunID, c.Outcome, c.SustainedRPS, nanos(now)}
	if c.Steps != nil {
		set, args = append(set, `steps = ?`), append(args, c.Steps)
	}
	if c.Report != nil {
		set, args = append(set, `report = ?`), append(args, c.Report)
	}
	err := s.inTx(ctx, func(tx db) error {
		var state string
		err := tx.queryRow(ctx, `SELECT state FROM capacity_searches WHERE id = ?`+s.d.ForUpdate, c.ID).Scan(&state)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("capacity search %q %w", c.ID, store.ErrNotFound)
		} else if err != nil {
			return err
		}
		if from != "" && state != from {
			return fmt.Errorf("capacity search %q is %s, not %s: %w", c.ID, state, from, store.ErrConflict)
		}
		_, err = tx.exec(ctx, `UPDATE capacity_searches SET `+strings.Join(set, `, `)+` WHERE id = ?`, append(args, c.ID)...)
		return err
	})
	if err != nil {
		return s.fail(err)
	}
	c.UpdatedAt = now
	return nil
}

// GetCapacitySearch implements store.CapacityStore.
func (s *Store) GetCapacitySearch(ctx context.Context, id string) (*store.CapacitySearch, error) {
	q := s.reader()
	full, err := resolveID(ctx, q, "capacity_searches", "capacity search", id)
	if err != nil {
		return nil, s.fail(err)
	}
	cs, err := queryCapacity(ctx, q, true, `SELECT `+capacityColumns+`, steps, report FROM capacity_searches WHERE id = ?`, full)
	if err != nil {
		return nil, s.fail(err)
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("capacity search %q %w", id, store.ErrNotFound)
	}
	return &cs[0], nil
}

// ListCapacitySearches implements store.CapacityStore: newest first by
// (creation time, ID), a page at a time.
func (s *Store) ListCapacitySearches(ctx context.Context, f store.CapacityFilter) (*store.CapacityPage, error) {
	limit, err := pageLimit(f.Limit, "capacity filter")
	if err != nil {
		return nil, err
	}
	q := newestFirst{table: "capacity_searches", columns: capacityColumns, cursor: f.Cursor,
		states: f.States, valid: store.ValidCapacityState, what: "capacity filter", viewer: f.Viewer}
	if f.ProfileID != "" {
		q.where, q.args = []string{`profile_id = ?`}, []any{f.ProfileID}
	}
	query, args, err := q.query(limit)
	if err != nil {
		return nil, err
	}
	cs, err := queryCapacity(ctx, s.reader(), false, query, args...)
	if err != nil {
		return nil, s.fail(err)
	}
	page := &store.CapacityPage{Searches: cs}
	if page.Searches == nil {
		page.Searches = []store.CapacitySearch{}
	}
	if len(cs) > limit {
		page.Searches = cs[:limit]
		last := page.Searches[limit-1]
		page.Next = encodeCursor(nanos(last.CreatedAt), last.ID)
	}
	return page, nil
}

// queryCapacity runs a query selecting capacityColumns, and steps and
// report when withDocs.
func queryCapacity(ctx context.Context, q db, withDocs bool, query string, args ...any) ([]store.CapacitySearch, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.CapacitySearch
	for rows.Next() {
		var c store.CapacitySearch
		var created, updated int64
		dest := []any{&c.ID, &c.Name, &c.State, &c.Error, &c.RunID, &c.ProfileID, &c.ProfileRevision,
			&c.Outcome, &c.SustainedRPS, &c.OwnerID, &c.Private, &created, &updated, &c.Options}
		if withDocs {
			dest = append(dest, &c.Steps, &c.Report)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		c.CreatedAt, c.UpdatedAt = fromNanos(created), fromNanos(updated)
		// An empty document reads as nil, whatever the driver gives.
		for _, b := range []*[]byte{&c.Options, &c.Steps, &c.Report} {
			if len(*b) == 0 {
				*b = nil
			}
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// SetScheduleCapacity implements store.CapacityStore.
func (s *Store) SetScheduleCapacity(ctx context.Context, scheduleID string, options []byte) error {
	if len(options) > store.MaxCapacityBody {
		return fmt.Errorf("%w schedule %q: capacity options of %d bytes, more than the limit of %d", store.ErrInvalid, scheduleID, len(options), store.MaxCapacityBody)
	}
	err := s.inTx(ctx, func(tx db) error {
		var id string
		err := tx.queryRow(ctx, `SELECT id FROM schedules WHERE id = ?`+s.d.ForUpdate, scheduleID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("schedule %q %w", scheduleID, store.ErrNotFound)
		} else if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM capacity_schedules WHERE schedule_id = ?`, scheduleID); err != nil {
			return err
		}
		if len(options) == 0 {
			return nil
		}
		_, err = tx.exec(ctx, `INSERT INTO capacity_schedules (schedule_id, options) VALUES (?, ?)`, scheduleID, options)
		return err
	})
	return s.fail(err)
}

// ScheduleCapacity implements store.CapacityStore.
func (s *Store) ScheduleCapacity(ctx context.Context, scheduleID string) ([]byte, error) {
	var options []byte
	err := s.reader().queryRow(ctx, `SELECT options FROM capacity_schedules WHERE schedule_id = ?`, scheduleID).Scan(&options)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, s.fail(err)
	}
	if len(options) == 0 {
		return nil, nil
	}
	return options, nil
}
