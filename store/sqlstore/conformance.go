package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/meshperf/meshperf/store"
)

// A conformance result is a row of conformance_results (migration 0008).

const conformanceColumns = `id, kind, profile, suite_version, mesh, mesh_version, outcome, passed, failed, skipped, not_run, started_ns, finished_ns`

var _ store.ConformanceStore = (*Store)(nil)

// SaveConformance implements store.ConformanceStore.
func (s *Store) SaveConformance(ctx context.Context, c *store.Conformance) error {
	switch {
	case c == nil:
		return fmt.Errorf("%w conformance result: nil", store.ErrInvalid)
	case c.Profile == "" || c.Outcome == "":
		return fmt.Errorf("%w conformance result: no profile or outcome", store.ErrInvalid)
	case len(c.Body) > store.MaxConformanceBody:
		return fmt.Errorf("%w conformance result: %d bytes, more than the limit of %d", store.ErrInvalid, len(c.Body), store.MaxConformanceBody)
	case c.Passed < 0 || c.Failed < 0 || c.Skipped < 0 || c.NotRun < 0:
		return fmt.Errorf("%w conformance result: negative counts", store.ErrInvalid)
	}
	next := *c
	if next.ID == "" {
		next.ID = store.NewID()
	}
	next.Started, next.Finished = fromNanos(nanos(next.Started)), fromNanos(nanos(next.Finished))
	if next.Body == nil {
		next.Body = []byte{}
	}
	err := s.inTx(ctx, func(tx db) error {
		_, err := tx.exec(ctx, `INSERT INTO conformance_results (`+conformanceColumns+`, body) VALUES (`+placeholders(14)+`)`,
			next.ID, next.Kind, next.Profile, next.SuiteVersion, next.Mesh, next.MeshVersion, next.Outcome,
			next.Passed, next.Failed, next.Skipped, next.NotRun, nanos(next.Started), nanos(next.Finished), next.Body)
		return s.conflict(err, fmt.Sprintf("conformance result %q", next.ID))
	})
	if err != nil {
		return s.fail(err)
	}
	*c = next
	return nil
}

// GetConformance implements store.ConformanceStore.
func (s *Store) GetConformance(ctx context.Context, id string) (*store.Conformance, error) {
	q := s.reader()
	full, err := resolveID(ctx, q, "conformance_results", "conformance result", id)
	if err != nil {
		return nil, s.fail(err)
	}
	cs, err := s.queryConformance(ctx, q, true, `SELECT `+conformanceColumns+`, body FROM conformance_results WHERE id = ?`, full)
	if err != nil {
		return nil, s.fail(err)
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("conformance result %q %w", id, store.ErrNotFound)
	}
	return cs[0], nil
}

// ListConformance implements store.ConformanceStore.
func (s *Store) ListConformance(ctx context.Context, f store.ConformanceFilter) ([]*store.Conformance, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	query := `SELECT ` + conformanceColumns + ` FROM conformance_results WHERE 1 = 1`
	var args []any
	if f.Mesh != "" {
		query += ` AND lower(mesh) = ?`
		args = append(args, strings.ToLower(f.Mesh))
	}
	if f.MeshVersion != "" {
		query += ` AND mesh_version = ?`
		args = append(args, f.MeshVersion)
	}
	if f.Profile != "" {
		query += ` AND profile = ?`
		args = append(args, f.Profile)
	}
	if f.Cursor != "" {
		started, id, err := store.ParseConformanceCursor(f.Cursor)
		if err != nil {
			return nil, err
		}
		query += ` AND (started_ns < ? OR (started_ns = ? AND id < ?))`
		args = append(args, nanos(started), nanos(started), id)
	}
	query += ` ORDER BY started_ns DESC, id DESC LIMIT ?`
	cs, err := s.queryConformance(ctx, s.reader(), false, query, append(args, limit)...)
	if err != nil {
		return nil, s.fail(err)
	}
	return cs, nil
}

func (s *Store) queryConformance(ctx context.Context, q db, withBody bool, query string, args ...any) ([]*store.Conformance, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.Conformance
	for rows.Next() {
		c := &store.Conformance{}
		var started, finished int64
		dest := []any{&c.ID, &c.Kind, &c.Profile, &c.SuiteVersion, &c.Mesh, &c.MeshVersion, &c.Outcome,
			&c.Passed, &c.Failed, &c.Skipped, &c.NotRun, &started, &finished}
		if withBody {
			dest = append(dest, &c.Body)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		c.Started, c.Finished = fromNanos(started), fromNanos(finished)
		out = append(out, c)
	}
	return out, rows.Err()
}
