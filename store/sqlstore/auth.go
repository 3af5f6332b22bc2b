package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/meshperf/meshperf/store/authstore"
)

// The auth package's records, for team mode: users, refresh_tokens and
// api_tokens, the tokens deleted with their user by ON DELETE CASCADE.
// Errors wrap auth's sentinels (authstore.ErrNotFound, authstore.ErrConflict) with
// the messages of authstore.MemoryStore, so that authstore.Service behaves alike on
// both stores.

var _ authstore.Store = (*Store)(nil)

// authConflict maps a unique-constraint violation to authstore.ErrConflict.
func (s *Store) authConflict(err error, what string) error {
	if err != nil && s.d.IsConflict != nil && s.d.IsConflict(err) {
		return fmt.Errorf("%s: %w", what, authstore.ErrConflict)
	}
	return err
}

// CreateUser implements authstore.UserStore.
func (s *Store) CreateUser(ctx context.Context, u *authstore.User) error {
	if u == nil {
		return errors.New("create user: nil")
	}
	hash := u.PasswordHash
	if hash == nil {
		hash = []byte{}
	}
	return s.fail(s.inTx(ctx, func(tx db) error {
		_, err := tx.exec(ctx, `INSERT INTO users (id, name, admin, password_hash, created_ns) VALUES (?, ?, ?, ?, ?)`,
			u.ID, u.Name, u.Admin, hash, nanos(u.CreatedAt))
		return s.authConflict(err, fmt.Sprintf("user %q", u.Name))
	}))
}

const userColumns = `id, name, admin, password_hash, created_ns`

// UserByID implements authstore.UserStore.
func (s *Store) UserByID(ctx context.Context, id string) (*authstore.User, error) {
	us, err := s.queryUsers(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id)
	if err != nil {
		return nil, s.fail(err)
	}
	if len(us) == 0 {
		return nil, fmt.Errorf("user id %q: %w", id, authstore.ErrNotFound)
	}
	return us[0], nil
}

// UserByName implements authstore.UserStore.
func (s *Store) UserByName(ctx context.Context, name string) (*authstore.User, error) {
	us, err := s.queryUsers(ctx, `SELECT `+userColumns+` FROM users WHERE name = ?`, name)
	if err != nil {
		return nil, s.fail(err)
	}
	if len(us) == 0 {
		return nil, fmt.Errorf("user %q: %w", name, authstore.ErrNotFound)
	}
	return us[0], nil
}

// ListUsers implements authstore.UserStore: by name, in byte order.
func (s *Store) ListUsers(ctx context.Context) ([]*authstore.User, error) {
	us, err := s.queryUsers(ctx, `SELECT `+userColumns+` FROM users ORDER BY name`)
	if err != nil {
		return nil, s.fail(err)
	}
	if us == nil {
		us = []*authstore.User{}
	}
	return us, nil
}

func (s *Store) queryUsers(ctx context.Context, query string, args ...any) ([]*authstore.User, error) {
	rows, err := s.reader().query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var us []*authstore.User
	for rows.Next() {
		var u authstore.User
		var created int64
		if err := rows.Scan(&u.ID, &u.Name, &u.Admin, &u.PasswordHash, &created); err != nil {
			return nil, err
		}
		u.CreatedAt = fromNanos(created)
		us = append(us, &u)
	}
	return us, rows.Err()
}

// DeleteUser implements authstore.UserStore. The user's refresh and API tokens
// go by ON DELETE CASCADE.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	return s.fail(s.inTx(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `DELETE FROM users WHERE id = ?`, id)
		if err != nil {
			return err
		}
		return mustAffect(res, fmt.Errorf("user id %q: %w", id, authstore.ErrNotFound))
	}))
}

// mustAffect returns notFound if res affected no row.
func mustAffect(res sql.Result, notFound error) error {
	n, err := res.RowsAffected()
	switch {
	case err != nil:
		return err
	case n == 0:
		return notFound
	}
	return nil
}

// SaveRefreshToken implements authstore.RefreshTokenStore. A token of a user
// who does not exist (deleted meanwhile) is not saved: authstore.ErrNotFound.
func (s *Store) SaveRefreshToken(ctx context.Context, t *authstore.RefreshToken) error {
	if t == nil {
		return errors.New("save refresh token: nil")
	}
	return s.fail(s.inTx(ctx, func(tx db) error {
		_, err := tx.exec(ctx, `INSERT INTO refresh_tokens
			(hash, family_id, parent_hash, user_id, created_ns, expires_ns, used_ns, revoked_ns)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			t.Hash, t.FamilyID, t.ParentHash, t.UserID, nanos(t.CreatedAt), nanos(t.ExpiresAt),
			nullNanos(t.UsedAt), nullNanos(t.RevokedAt))
		err = s.authConflict(err, "refresh token")
		return s.missing(err, fmt.Errorf("refresh token: user id %q: %w", t.UserID, authstore.ErrNotFound))
	}))
}

// ConsumeRefreshToken implements authstore.RefreshTokenStore. Of concurrent
// calls, the one whose UPDATE ... WHERE used_ns IS NULL changes the row
// wins (PostgreSQL re-checks the condition after waiting for the row lock;
// SQLite runs write transactions one at a time); the others find it used.
// A family is revoked when any of its tokens is, so a token saved after
// the revocation (by a refresh racing a logout) is revoked too, as of the
// family's first revocation.
func (s *Store) ConsumeRefreshToken(ctx context.Context, hash string, at time.Time) (*authstore.RefreshToken, error) {
	var was *authstore.RefreshToken
	err := s.inTx(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE refresh_tokens SET used_ns = ? WHERE hash = ? AND used_ns IS NULL`, nanos(at), hash)
		if err != nil {
			return err
		}
		won, err := res.RowsAffected()
		if err != nil {
			return err
		}
		var t authstore.RefreshToken
		var created, expires int64
		var used, revoked, familyRevoked sql.NullInt64
		err = tx.queryRow(ctx, `SELECT hash, family_id, parent_hash, user_id, created_ns, expires_ns, used_ns, revoked_ns,
			(SELECT min(f.revoked_ns) FROM refresh_tokens f WHERE f.family_id = t.family_id)
			FROM refresh_tokens t WHERE hash = ?`, hash).Scan(
			&t.Hash, &t.FamilyID, &t.ParentHash, &t.UserID, &created, &expires, &used, &revoked, &familyRevoked)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("refresh token: %w", authstore.ErrNotFound)
		}
		if err != nil {
			return err
		}
		t.CreatedAt, t.ExpiresAt = fromNanos(created), fromNanos(expires)
		if used.Valid && won == 0 { // the winner returns the token as it was: unused
			t.UsedAt = fromNanos(used.Int64)
		}
		switch {
		case revoked.Valid:
			t.RevokedAt = fromNanos(revoked.Int64)
		case familyRevoked.Valid:
			t.RevokedAt = fromNanos(familyRevoked.Int64)
			if _, err := tx.exec(ctx, `UPDATE refresh_tokens SET revoked_ns = ? WHERE hash = ?`, familyRevoked.Int64, hash); err != nil {
				return err
			}
		}
		was = &t
		return nil
	})
	if err != nil {
		return nil, s.fail(err)
	}
	return was, nil
}

// RevokeRefreshFamily implements authstore.RefreshTokenStore. Tokens revoked
// already keep their time. Unlike authstore.MemoryStore, a family without
// tokens leaves no trace: one saved in it later is not revoked (auth never
// starts a family without its token).
func (s *Store) RevokeRefreshFamily(ctx context.Context, familyID string, at time.Time) error {
	return s.fail(s.inTx(ctx, func(tx db) error {
		_, err := tx.exec(ctx, `UPDATE refresh_tokens SET revoked_ns = ? WHERE family_id = ? AND revoked_ns IS NULL`,
			nanos(at), familyID)
		return err
	}))
}

const apiTokenColumns = `id, owner_id, name, parent_id, hash, created_ns, last_used_ns, revoked_ns`

// SaveAPIToken implements authstore.APITokenStore. A token of an owner who does
// not exist (deleted meanwhile) is not saved: authstore.ErrNotFound. A token
// with a parent first takes the parent's row lock (a no-op UPDATE), then
// reads whether it is revoked: a RevokeAPIToken of the parent either
// committed before (the save fails) or waits for this transaction, and
// then finds the new token among the parent's (see RevokeAPIToken).
func (s *Store) SaveAPIToken(ctx context.Context, t *authstore.APIToken) error {
	if t == nil {
		return errors.New("save API token: nil")
	}
	return s.fail(s.inTx(ctx, func(tx db) error {
		var n int
		err := tx.queryRow(ctx, `SELECT count(*) FROM api_tokens WHERE owner_id = ? AND name = ? AND revoked_ns IS NULL`,
			t.OwnerID, t.Name).Scan(&n)
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("API token name %q: %w", t.Name, authstore.ErrConflict)
		}
		if t.ParentID != "" {
			if _, err := tx.exec(ctx, `UPDATE api_tokens SET revoked_ns = revoked_ns WHERE id = ?`, t.ParentID); err != nil {
				return err
			}
			var revoked sql.NullInt64
			err := tx.queryRow(ctx, `SELECT revoked_ns FROM api_tokens WHERE id = ?`, t.ParentID).Scan(&revoked)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("API token: parent %q: %w", t.ParentID, authstore.ErrNotFound)
			case err != nil:
				return err
			case revoked.Valid:
				return fmt.Errorf("API token: parent %q: %w", t.ParentID, authstore.ErrTokenRevoked)
			}
		}
		_, err = tx.exec(ctx, `INSERT INTO api_tokens (`+apiTokenColumns+`) VALUES (`+placeholders(8)+`)`,
			t.ID, t.OwnerID, t.Name, t.ParentID, t.Hash, nanos(t.CreatedAt), nullNanos(t.LastUsedAt), nullNanos(t.RevokedAt))
		err = s.authConflict(err, fmt.Sprintf("API token id %q, its hash or its name %q", t.ID, t.Name))
		return s.missing(err, fmt.Errorf("API token: owner id %q: %w", t.OwnerID, authstore.ErrNotFound))
	}))
}

// APITokenByID implements authstore.APITokenStore.
func (s *Store) APITokenByID(ctx context.Context, id string) (*authstore.APIToken, error) {
	ts, err := s.queryAPITokens(ctx, `SELECT `+apiTokenColumns+` FROM api_tokens WHERE id = ?`, id)
	if err != nil {
		return nil, s.fail(err)
	}
	if len(ts) == 0 {
		return nil, fmt.Errorf("API token %q: %w", id, authstore.ErrNotFound)
	}
	return ts[0], nil
}

// APITokenByHash implements authstore.APITokenStore.
func (s *Store) APITokenByHash(ctx context.Context, hash string) (*authstore.APIToken, error) {
	ts, err := s.queryAPITokens(ctx, `SELECT `+apiTokenColumns+` FROM api_tokens WHERE hash = ?`, hash)
	if err != nil {
		return nil, s.fail(err)
	}
	if len(ts) == 0 {
		return nil, fmt.Errorf("API token: %w", authstore.ErrNotFound)
	}
	return ts[0], nil
}

// ListAPITokens implements authstore.APITokenStore: oldest first, then by ID.
func (s *Store) ListAPITokens(ctx context.Context, ownerID string) ([]*authstore.APIToken, error) {
	ts, err := s.queryAPITokens(ctx, `SELECT `+apiTokenColumns+` FROM api_tokens WHERE owner_id = ?
		ORDER BY created_ns, id`, ownerID)
	return ts, s.fail(err)
}

func (s *Store) queryAPITokens(ctx context.Context, query string, args ...any) ([]*authstore.APIToken, error) {
	rows, err := s.reader().query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ts []*authstore.APIToken
	for rows.Next() {
		var t authstore.APIToken
		var created int64
		var used, revoked sql.NullInt64
		if err := rows.Scan(&t.ID, &t.OwnerID, &t.Name, &t.ParentID, &t.Hash, &created, &used, &revoked); err != nil {
			return nil, err
		}
		t.CreatedAt = fromNanos(created)
		if used.Valid {
			t.LastUsedAt = fromNanos(used.Int64)
		}
		if revoked.Valid {
			t.RevokedAt = fromNanos(revoked.Int64)
		}
		ts = append(ts, &t)
	}
	return ts, rows.Err()
}

// RevokeAPIToken implements authstore.APITokenStore: a revoked token keeps the
// time it was first revoked. The token's own row is updated first (taking
// its lock, waiting for a SaveAPIToken of a child that holds it), then,
// in a second statement that sees what committed meanwhile, every token
// descending from it.
func (s *Store) RevokeAPIToken(ctx context.Context, id string, at time.Time) error {
	return s.fail(s.inTx(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE api_tokens SET revoked_ns = coalesce(revoked_ns, ?) WHERE id = ?`, nanos(at), id)
		if err != nil {
			return err
		}
		if err := mustAffect(res, fmt.Errorf("API token %q: %w", id, authstore.ErrNotFound)); err != nil {
			return err
		}
		_, err = tx.exec(ctx, `WITH RECURSIVE minted (id) AS (
				SELECT id FROM api_tokens WHERE parent_id = ?
				UNION SELECT c.id FROM api_tokens c JOIN minted m ON c.parent_id = m.id)
			UPDATE api_tokens SET revoked_ns = coalesce(revoked_ns, ?) WHERE id IN (SELECT id FROM minted)`, id, nanos(at))
		return err
	}))
}

// TouchAPIToken implements authstore.APITokenStore.
func (s *Store) TouchAPIToken(ctx context.Context, id string, at time.Time) error {
	return s.fail(s.inTx(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE api_tokens SET last_used_ns = ? WHERE id = ?`, nanos(at), id)
		if err != nil {
			return err
		}
		return mustAffect(res, fmt.Errorf("API token %q: %w", id, authstore.ErrNotFound))
	}))
}
