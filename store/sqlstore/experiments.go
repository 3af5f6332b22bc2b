package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/meshperf/meshperf/store"
)

// An experiment is a row of experiments; its cells are results found by
// their experiment label.

const experimentColumns = `id, name, state, error, cells, done, created_ns, updated_ns`

func validExperimentState(s string) bool {
	switch s {
	case store.ExperimentRunning, store.ExperimentDone, store.ExperimentFailed, store.ExperimentInterrupted:
		return true
	}
	return false
}

// CreateExperiment implements store.Store.
func (s *Store) CreateExperiment(ctx context.Context, e *store.Experiment) error {
	switch {
	case e == nil:
		return fmt.Errorf("%w experiment: nil", store.ErrInvalid)
	case e.Name == "":
		return fmt.Errorf("%w experiment: no name", store.ErrInvalid)
	case !validExperimentState(e.State):
		return fmt.Errorf("%w experiment %q: unknown state %q", store.ErrInvalid, e.Name, e.State)
	case len(e.Body) > store.MaxExperimentBody:
		return fmt.Errorf("%w experiment %q: the definition is %d bytes, more than the limit of %d", store.ErrInvalid, e.Name, len(e.Body), store.MaxExperimentBody)
	case e.Cells < 0 || e.Done < 0:
		return fmt.Errorf("%w experiment %q: negative cell counts", store.ErrInvalid, e.Name)
	}
	next := *e
	if next.ID == "" {
		next.ID = store.NewID()
	}
	if next.CreatedAt.IsZero() {
		next.CreatedAt = time.Now()
	}
	next.CreatedAt = fromNanos(nanos(next.CreatedAt))
	next.UpdatedAt = next.CreatedAt
	body := next.Body
	if body == nil {
		body = []byte{}
	}
	err := s.inTx(ctx, func(tx db) error {
		_, err := tx.exec(ctx, `INSERT INTO experiments (`+experimentColumns+`, body) VALUES (`+placeholders(9)+`)`,
			next.ID, next.Name, next.State, next.Error, next.Cells, next.Done,
			nanos(next.CreatedAt), nanos(next.UpdatedAt), body)
		return s.conflict(err, fmt.Sprintf("experiment %q", next.ID))
	})
	if err != nil {
		return s.fail(err)
	}
	*e = next
	return nil
}

// UpdateExperiment implements store.Store.
func (s *Store) UpdateExperiment(ctx context.Context, e *store.Experiment) error {
	switch {
	case e == nil:
		return fmt.Errorf("%w experiment: nil", store.ErrInvalid)
	case e.ID == "":
		return fmt.Errorf("%w experiment: no ID", store.ErrInvalid)
	case !validExperimentState(e.State):
		return fmt.Errorf("%w experiment %q: unknown state %q", store.ErrInvalid, e.ID, e.State)
	case e.Cells < 0 || e.Done < 0:
		return fmt.Errorf("%w experiment %q: negative cell counts", store.ErrInvalid, e.ID)
	}
	now := fromNanos(nanos(time.Now()))
	err := s.inTx(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE experiments SET state = ?, error = ?, cells = ?, done = ?, updated_ns = ? WHERE id = ?`,
			e.State, e.Error, e.Cells, e.Done, nanos(now), e.ID)
		if err != nil {
			return err
		}
		return mustAffect(res, fmt.Errorf("experiment %q %w", e.ID, store.ErrNotFound))
	})
	if err != nil {
		return s.fail(err)
	}
	e.UpdatedAt = now
	return nil
}

// GetExperiment implements store.Store: an exact ID, then the newest
// experiment of that name, then an ID prefix.
func (s *Store) GetExperiment(ctx context.Context, ref string) (*store.Experiment, error) {
	q := s.reader()
	for _, query := range []string{
		`SELECT ` + experimentColumns + `, body FROM experiments WHERE id = ?`,
		`SELECT ` + experimentColumns + `, body FROM experiments WHERE name = ? ORDER BY created_ns DESC, id DESC LIMIT 1`,
	} {
		es, err := s.queryExperiments(ctx, q, true, query, ref)
		if err != nil {
			return nil, s.fail(err)
		}
		if len(es) > 0 {
			return es[0], nil
		}
	}
	full, err := resolveID(ctx, q, "experiments", "experiment", ref)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("experiment %q %w (by ID, ID prefix or name)", ref, store.ErrNotFound)
		}
		return nil, s.fail(err)
	}
	es, err := s.queryExperiments(ctx, q, true, `SELECT `+experimentColumns+`, body FROM experiments WHERE id = ?`, full)
	if err != nil {
		return nil, s.fail(err)
	}
	if len(es) == 0 {
		return nil, fmt.Errorf("experiment %q %w", ref, store.ErrNotFound)
	}
	return es[0], nil
}

// ListExperiments implements store.Store.
func (s *Store) ListExperiments(ctx context.Context) ([]*store.Experiment, error) {
	es, err := s.queryExperiments(ctx, s.reader(), false,
		`SELECT `+experimentColumns+` FROM experiments ORDER BY created_ns DESC, id DESC`)
	if err != nil {
		return nil, s.fail(err)
	}
	return es, nil
}

// queryExperiments runs a query selecting experimentColumns, and body when
// withBody.
func (s *Store) queryExperiments(ctx context.Context, q db, withBody bool, query string, args ...any) ([]*store.Experiment, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.Experiment
	for rows.Next() {
		e := &store.Experiment{}
		var created, updated int64
		dest := []any{&e.ID, &e.Name, &e.State, &e.Error, &e.Cells, &e.Done, &created, &updated}
		if withBody {
			dest = append(dest, &e.Body)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		e.CreatedAt, e.UpdatedAt = fromNanos(created), fromNanos(updated)
		out = append(out, e)
	}
	return out, rows.Err()
}
