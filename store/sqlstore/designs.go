package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/meshperf/meshperf/store"
)

// Designs are two tables: designs (one row per design: ID, current name,
// latest revision, owner) and design_revisions (every revision's name,
// labels as a JSON object, and body).

const designColumns = `d.id, r.name, r.revision, d.created_ns, r.created_ns, d.owner_id, d.private, r.labels`

var _ store.DesignStore = (*Store)(nil)

// SaveDesign implements store.DesignStore.
func (s *Store) SaveDesign(ctx context.Context, d *store.Design) error {
	return s.saveDesign(ctx, d, false)
}

// CreateDesign implements store.DesignStore.
func (s *Store) CreateDesign(ctx context.Context, d *store.Design) error {
	return s.saveDesign(ctx, d, true)
}

func (s *Store) saveDesign(ctx context.Context, d *store.Design, create bool) error {
	switch {
	case d == nil:
		return fmt.Errorf("%w design: nil", store.ErrInvalid)
	case strings.TrimSpace(d.Name) == "":
		return fmt.Errorf("%w design: no name", store.ErrInvalid)
	case len(d.Body) > store.MaxDesignBody:
		return fmt.Errorf("%w design %q: the body is %d bytes, more than the limit of %d", store.ErrInvalid, d.Name, len(d.Body), store.MaxDesignBody)
	}
	labels, err := json.Marshal(d.Labels)
	if err != nil {
		return fmt.Errorf("%w design %q: labels: %v", store.ErrInvalid, d.Name, err)
	}
	if d.Labels == nil {
		labels = []byte("{}")
	}
	body := d.Body
	if body == nil {
		body = []byte{}
	}
	now := fromNanos(nanos(time.Now()))
	next := *d
	err = s.inTx(ctx, func(tx db) error {
		var created int64
		err := tx.queryRow(ctx, `SELECT id, revision, created_ns, owner_id, private FROM designs WHERE name = ?`+s.d.ForUpdate, d.Name).
			Scan(&next.ID, &next.Revision, &created, &next.OwnerID, &next.Private)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if d.Revision > 1 {
				return fmt.Errorf("design %q: revision %d is not the latest (there is none): %w", d.Name, d.Revision, store.ErrConflict)
			}
			if next.ID == "" {
				next.ID = store.NewID()
			}
			next.Revision, next.CreatedAt = 1, now
			_, err := tx.exec(ctx, `INSERT INTO designs (id, name, revision, owner_id, private, created_ns, updated_ns) VALUES (?, ?, 1, ?, ?, ?, ?)`,
				next.ID, next.Name, next.OwnerID, next.Private, nanos(now), nanos(now))
			if err != nil {
				return s.conflict(err, fmt.Sprintf("design %q", d.Name))
			}
		case err != nil:
			return err
		case create:
			return fmt.Errorf("design %q exists already: %w", d.Name, store.ErrConflict)
		case d.ID != "" && d.ID != next.ID:
			return fmt.Errorf("design %q is no longer the design %s (it was deleted and made again): %w", d.Name, d.ID, store.ErrConflict)
		default:
			if d.Revision != 0 && d.Revision != next.Revision {
				return fmt.Errorf("design %q: revision %d is not the latest (%d): %w", d.Name, d.Revision, next.Revision, store.ErrConflict)
			}
			next.Revision++
			next.CreatedAt = fromNanos(created)
			if _, err := tx.exec(ctx, `UPDATE designs SET revision = ?, updated_ns = ? WHERE id = ?`, next.Revision, nanos(now), next.ID); err != nil {
				return err
			}
		}
		_, err = tx.exec(ctx, `INSERT INTO design_revisions (design_id, revision, name, labels, body, created_ns) VALUES (?, ?, ?, ?, ?, ?)`,
			next.ID, next.Revision, next.Name, string(labels), body, nanos(now))
		return err
	})
	if err != nil {
		return s.fail(err)
	}
	next.UpdatedAt = now
	*d = next
	return nil
}

// GetDesign implements store.DesignStore.
func (s *Store) GetDesign(ctx context.Context, ref string, revision int) (*store.Design, error) {
	if revision < 0 {
		return nil, fmt.Errorf("%w design revision %d: revisions start at 1", store.ErrInvalid, revision)
	}
	q := s.reader()
	id, err := designID(ctx, q, ref)
	if err != nil {
		return nil, s.fail(err)
	}
	where, args := `d.id = ? AND r.revision = d.revision`, []any{id}
	if revision > 0 {
		where, args = `d.id = ? AND r.revision = ?`, []any{id, revision}
	}
	ds, err := queryDesigns(ctx, q, true, `SELECT `+designColumns+`, r.body
		FROM designs d JOIN design_revisions r ON r.design_id = d.id WHERE `+where, args...)
	if err != nil {
		return nil, s.fail(err)
	}
	if len(ds) == 0 {
		return nil, fmt.Errorf("design %q revision %d %w", ref, revision, store.ErrNotFound)
	}
	return ds[0], nil
}

// ListDesigns implements store.DesignStore. Names and labels are matched
// in Go.
func (s *Store) ListDesigns(ctx context.Context, f store.DesignFilter) ([]*store.Design, error) {
	query := `SELECT ` + designColumns + `
		FROM designs d JOIN design_revisions r ON r.design_id = d.id AND r.revision = d.revision`
	var args []any
	if f.Viewer.Restricted() {
		cond, a := visible("d", f.Viewer)
		query += ` WHERE ` + cond
		args = a
	}
	if f.After != "" {
		if len(args) == 0 {
			query += ` WHERE d.name > ?`
		} else {
			query += ` AND d.name > ?`
		}
		args = append(args, f.After)
	}
	ds, err := queryDesigns(ctx, s.reader(), false, query+` ORDER BY d.name`, args...)
	if err != nil {
		return nil, s.fail(err)
	}
	sub := strings.ToLower(f.Name)
	out := ds[:0]
	for _, d := range ds {
		if !strings.Contains(strings.ToLower(d.Name), sub) {
			continue
		}
		match := true
		for k, v := range f.Labels {
			if got, ok := d.Labels[k]; !ok || got != v {
				match = false
			}
		}
		if match {
			out = append(out, d)
		}
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out, nil
}

// DesignRevisions implements store.DesignStore.
func (s *Store) DesignRevisions(ctx context.Context, ref string) ([]*store.Design, error) {
	q := s.reader()
	id, err := designID(ctx, q, ref)
	if err != nil {
		return nil, s.fail(err)
	}
	ds, err := queryDesigns(ctx, q, false, `SELECT `+designColumns+`
		FROM designs d JOIN design_revisions r ON r.design_id = d.id WHERE d.id = ? ORDER BY r.revision`, id)
	if err != nil {
		return nil, s.fail(err)
	}
	return ds, nil
}

// designID resolves a design's ID or name to its ID.
func designID(ctx context.Context, q db, ref string) (string, error) {
	var id string
	err := q.queryRow(ctx, `SELECT id FROM designs WHERE id = ? OR name = ?
		ORDER BY CASE WHEN id = ? THEN 0 ELSE 1 END LIMIT 1`, ref, ref, ref).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("design %q %w", ref, store.ErrNotFound)
	}
	return id, err
}

// DeleteDesign implements store.DesignStore.
func (s *Store) DeleteDesign(ctx context.Context, ref string) error {
	return s.fail(s.inTx(ctx, func(tx db) error {
		id, err := designID(ctx, tx, ref)
		if err != nil {
			return err
		}
		// Revisions first: SQLite enforces ON DELETE CASCADE only with
		// its foreign-key pragma on.
		if _, err := tx.exec(ctx, `DELETE FROM design_revisions WHERE design_id = ?`, id); err != nil {
			return err
		}
		_, err = tx.exec(ctx, `DELETE FROM designs WHERE id = ?`, id)
		return err
	}))
}

func queryDesigns(ctx context.Context, q db, withBody bool, query string, args ...any) ([]*store.Design, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.Design
	for rows.Next() {
		d := &store.Design{}
		var created, updated int64
		var labels string
		dest := []any{&d.ID, &d.Name, &d.Revision, &created, &updated, &d.OwnerID, &d.Private, &labels}
		if withBody {
			dest = append(dest, &d.Body)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(labels), &d.Labels); err != nil {
			return nil, fmt.Errorf("design %q revision %d: stored labels: %w", d.Name, d.Revision, err)
		}
		if len(d.Labels) == 0 {
			d.Labels = nil
		}
		d.CreatedAt, d.UpdatedAt = fromNanos(created), fromNanos(updated)
		out = append(out, d)
	}
	return out, rows.Err()
}
