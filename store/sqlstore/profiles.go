package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/meshperf/meshperf/store"
)

// Profiles are three tables: profiles (one row per profile: ID, current
// name and latest revision), profile_revisions (every revision's name and
// body) and profile_labels (every revision's labels).

const profileColumns = `p.id, r.name, r.revision, p.created_ns, r.created_ns, r.body, p.owner_id, p.private`

// profileColumnsNoBody is profileColumns with an empty body in its place.
const profileColumnsNoBody = `p.id, r.name, r.revision, p.created_ns, r.created_ns, '', p.owner_id, p.private`

// CreateProfile implements store.Store.
func (s *Store) CreateProfile(ctx context.Context, p *store.Profile) error {
	if err := checkProfile(p); err != nil {
		return err
	}
	if p.Name == "" {
		return fmt.Errorf("%w profile: no name", store.ErrInvalid)
	}
	id := p.ID
	if id == "" {
		id = store.NewID()
	}
	now := time.Now().UTC()
	err := s.inTx(ctx, func(tx db) error {
		cols, vals := ownerColumns(p.OwnerID, p.Private)
		_, err := tx.exec(ctx, `INSERT INTO profiles (id, name, revision, created_ns, updated_ns`+cols+`)
			VALUES (?, ?, 1, ?, ?`+strings.Repeat(", ?", len(vals))+`)`,
			append([]any{id, p.Name, nanos(now), nanos(now)}, vals...)...)
		if err != nil {
			return s.conflict(err, fmt.Sprintf("profile %q", p.Name))
		}
		return insertRevision(ctx, tx, id, 1, p, now)
	})
	if err != nil {
		return s.fail(err)
	}
	p.ID, p.Revision, p.CreatedAt, p.UpdatedAt = id, 1, now, now
	return nil
}

// UpdateProfile implements store.Store.
func (s *Store) UpdateProfile(ctx context.Context, p *store.Profile) error {
	if err := checkProfile(p); err != nil {
		return err
	}
	ref := p.ID
	if ref == "" {
		ref = p.Name
	}
	if ref == "" {
		return fmt.Errorf("%w profile: neither ID nor name", store.ErrInvalid)
	}
	now := time.Now().UTC()
	var id, name, owner string
	var rev int
	var created int64
	var private bool
	err := s.inTx(ctx, func(tx db) error {
		q := `SELECT id, name, revision, created_ns, owner_id, private FROM profiles WHERE name = ?` + s.d.ForUpdate
		if p.ID != "" {
			q = `SELECT id, name, revision, created_ns, owner_id, private FROM profiles WHERE id = ?` + s.d.ForUpdate
		}
		err := tx.queryRow(ctx, q, ref).Scan(&id, &name, &rev, &created, &owner, &private)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("profile %q %w", ref, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if p.Revision != 0 && p.Revision != rev {
			return fmt.Errorf("profile %q: revision %d is not the latest (%d): %w", ref, p.Revision, rev, store.ErrConflict)
		}
		if p.Name != "" {
			name = p.Name // a rename
		}
		rev++
		_, err = tx.exec(ctx, `UPDATE profiles SET name = ?, revision = ?, updated_ns = ? WHERE id = ?`, name, rev, nanos(now), id)
		if err != nil {
			return s.conflict(err, fmt.Sprintf("profile %q", name))
		}
		next := *p
		next.Name = name
		return insertRevision(ctx, tx, id, rev, &next, now)
	})
	if err != nil {
		return s.fail(err)
	}
	p.ID, p.Name, p.Revision, p.CreatedAt, p.UpdatedAt = id, name, rev, fromNanos(created), now
	p.OwnerID, p.Private = owner, private
	return nil
}

func checkProfile(p *store.Profile) error {
	if p == nil {
		return fmt.Errorf("%w profile: nil", store.ErrInvalid)
	}
	if len(p.Body) > store.MaxProfileBody {
		return fmt.Errorf("%w profile %q: the body is %d bytes, more than the limit of %d", store.ErrInvalid, p.Name, len(p.Body), store.MaxProfileBody)
	}
	return nil
}

func insertRevision(ctx context.Context, tx db, id string, rev int, p *store.Profile, now time.Time) error {
	body := p.Body
	if body == nil {
		body = []byte{}
	}
	_, err := tx.exec(ctx, `INSERT INTO profile_revisions (profile_id, revision, name, body, created_ns) VALUES (?, ?, ?, ?, ?)`,
		id, rev, p.Name, body, nanos(now))
	if err != nil {
		return err
	}
	return insertLabels(ctx, tx, `profile_labels (profile_id, revision, key, value)`, []any{id, rev}, p.Labels)
}

// insertLabels inserts one row per label into table (columns included),
// each row starting with the values of prefix.
func insertLabels(ctx context.Context, tx db, table string, prefix []any, labels map[string]string) error {
	if len(labels) == 0 {
		return nil
	}
	row := "(" + placeholders(len(prefix)+2) + ")"
	rows := make([]string, 0, len(labels))
	args := make([]any, 0, len(labels)*(len(prefix)+2))
	for k, v := range labels {
		rows = append(rows, row)
		args = append(args, prefix...)
		args = append(args, k, v)
	}
	_, err := tx.exec(ctx, `INSERT INTO `+table+` VALUES `+strings.Join(rows, ", "), args...)
	return err
}

// GetProfile implements store.Store.
func (s *Store) GetProfile(ctx context.Context, ref string) (*store.Profile, error) {
	ps, err := s.profileRevisions(ctx, ref, -1)
	if err != nil {
		return nil, s.fail(err)
	}
	return ps[0], nil
}

// ProfileRevision implements store.Store.
func (s *Store) ProfileRevision(ctx context.Context, ref string, revision int) (*store.Profile, error) {
	if revision <= 0 {
		return nil, fmt.Errorf("%w profile revision %d: revisions start at 1", store.ErrInvalid, revision)
	}
	ps, err := s.profileRevisions(ctx, ref, revision)
	if err != nil {
		return nil, s.fail(err)
	}
	return ps[0], nil
}

// ProfileRevisions implements store.Store.
func (s *Store) ProfileRevisions(ctx context.Context, ref string) ([]*store.Profile, error) {
	ps, err := s.profileRevisions(ctx, ref, 0)
	return ps, s.fail(err)
}

// profileRevisions returns the latest revision (revision < 0), one revision
// (> 0) or all (0) of the profile ref names, by ID or else by name.
func (s *Store) profileRevisions(ctx context.Context, ref string, revision int) ([]*store.Profile, error) {
	q := s.reader()
	id, err := resolveProfile(ctx, q, ref)
	if err != nil {
		return nil, err
	}
	where, args := `p.id = ?`, []any{id}
	switch {
	case revision < 0:
		where += ` AND r.revision = p.revision`
	case revision > 0:
		where += ` AND r.revision = ?`
		args = append(args, revision)
	}
	ps, err := queryProfiles(ctx, q, `SELECT `+profileColumns+`
		FROM profiles p JOIN profile_revisions r ON r.profile_id = p.id
		WHERE `+where+` ORDER BY r.revision`, args...)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		if revision > 0 {
			return nil, fmt.Errorf("profile %q revision %d %w", ref, revision, store.ErrNotFound)
		}
		return nil, fmt.Errorf("profile %q %w", ref, store.ErrNotFound)
	}
	return ps, nil
}

// resolveProfile returns the ID of the profile with ID ref, or else named ref.
func resolveProfile(ctx context.Context, q db, ref string) (string, error) {
	var id string
	err := q.queryRow(ctx, `SELECT id FROM profiles WHERE id = ? OR name = ?
		ORDER BY CASE WHEN id = ? THEN 0 ELSE 1 END LIMIT 1`, ref, ref, ref).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("profile %q %w", ref, store.ErrNotFound)
	}
	return id, err
}

// queryProfiles runs a query selecting profileColumns and adds the labels
// of each revision.
func queryProfiles(ctx context.Context, q db, query string, args ...any) ([]*store.Profile, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ps []*store.Profile
	for rows.Next() {
		var p store.Profile
		var created, updated int64
		if err := rows.Scan(&p.ID, &p.Name, &p.Revision, &created, &updated, &p.Body, &p.OwnerID, &p.Private); err != nil {
			return nil, err
		}
		p.CreatedAt, p.UpdatedAt = fromNanos(created), fromNanos(updated)
		ps = append(ps, &p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if len(ps) == 0 {
		return nil, nil
	}

	type key struct {
		id  string
		rev int
	}
	byKey := make(map[key]*store.Profile, len(ps))
	ids := make(map[string]bool)
	var idArgs []any
	for _, p := range ps {
		byKey[key{p.ID, p.Revision}] = p
		if !ids[p.ID] {
			ids[p.ID] = true
			idArgs = append(idArgs, p.ID)
		}
	}
	lrows, err := q.query(ctx, `SELECT profile_id, revision, key, value FROM profile_labels
		WHERE profile_id IN (`+placeholders(len(idArgs))+`)`, idArgs...)
	if err != nil {
		return nil, err
	}
	defer lrows.Close()
	for lrows.Next() {
		var k key
		var lk, lv string
		if err := lrows.Scan(&k.id, &k.rev, &lk, &lv); err != nil {
			return nil, err
		}
		if p := byKey[k]; p != nil {
			if p.Labels == nil {
				p.Labels = make(map[string]string)
			}
			p.Labels[lk] = lv
		}
	}
	return ps, lrows.Err()
}

// ListProfiles implements store.Store. Labels, visibility and the page's
// start are matched in SQL; the name in Go, where case folding is
// Unicode's on every backend. A page is chosen first from names alone, so
// its revisions and labels are read only for the profiles it returns.
func (s *Store) ListProfiles(ctx context.Context, f store.ProfileFilter) ([]*store.Profile, error) {
	if f.Limit < 0 {
		return nil, fmt.Errorf("%w profile filter: limit %d", store.ErrInvalid, f.Limit)
	}
	var where []string
	var args []any
	for _, k := range sortedKeys(f.Labels) {
		where = append(where, `EXISTS (SELECT 1 FROM profile_labels l
			WHERE l.profile_id = p.id AND l.revision = p.revision AND l.key = ? AND l.value = ?)`)
		args = append(args, k, f.Labels[k])
	}
	if f.Viewer.Restricted() {
		cond, a := visible("p", f.Viewer)
		where = append(where, cond)
		args = append(args, a...)
	}
	if f.After != "" {
		where = append(where, `p.name > ?`)
		args = append(args, f.After)
	}
	query := `SELECT p.id, p.name FROM profiles p`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY p.name`
	if f.Name == "" && f.Limit > 0 {
		query += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	q := s.reader()
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, s.fail(err)
	}
	sub := strings.ToLower(f.Name)
	var ids []any
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			rows.Close()
			return nil, s.fail(err)
		}
		if sub != "" && !strings.Contains(strings.ToLower(name), sub) {
			continue
		}
		ids = append(ids, id)
		if f.Limit > 0 && len(ids) == f.Limit {
			break
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.fail(err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	columns := profileColumns
	if f.NoBody {
		columns = profileColumnsNoBody
	}
	var ps []*store.Profile
	// In chunks, to stay under every backend's limit of bound parameters.
	for chunk := range slices.Chunk(ids, 500) {
		page, err := queryProfiles(ctx, q, `SELECT `+columns+`
			FROM profiles p JOIN profile_revisions r ON r.profile_id = p.id AND r.revision = p.revision
			WHERE p.id IN (`+placeholders(len(chunk))+`) ORDER BY p.name`, chunk...)
		if err != nil {
			return nil, s.fail(err)
		}
		ps = append(ps, page...)
	}
	return ps, nil
}

// DeleteProfile implements store.Store.
func (s *Store) DeleteProfile(ctx context.Context, ref string) error {
	return s.fail(s.inTx(ctx, func(tx db) error {
		id, err := resolveProfile(ctx, tx, ref)
		if err != nil {
			return err
		}
		// profile_revisions and profile_labels go by ON DELETE CASCADE.
		_, err = tx.exec(ctx, `DELETE FROM profiles WHERE id = ?`, id)
		return err
	}))
}

// visible returns the condition, and its arguments, that a row of the
// table aliased as alias is one the restricted viewer v may see: not
// private, or the viewer's own (store.Viewer.CanSee).
func visible(alias string, v *store.Viewer) (string, []any) {
	if v.UserID == "" {
		return `NOT ` + alias + `.private`, nil
	}
	return `(NOT ` + alias + `.private OR ` + alias + `.owner_id = ?)`, []any{v.UserID}
}

// ownerColumns returns the owner columns to insert, with their values:
// none for an object without an owner that is not private, which the
// columns' defaults describe. A store on a schema before migration 0004
// (an older meshperf's database, in the upgrade tests) then still writes
// such rows.
func ownerColumns(owner string, private bool) (string, []any) {
	if owner == "" && !private {
		return "", nil
	}
	return ", owner_id, private", []any{owner, private}
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
