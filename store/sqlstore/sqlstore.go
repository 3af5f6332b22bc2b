// Package sqlstore implements store.Store, and authstore.Store for team mode,
// once, over database/sql. A backend (store/sqlite, store/postgres) opens
// the database, describes its dialect and brings its migrations; the
// queries and the migration runner are here.
//
// Queries are written with ? placeholders and rebound for dialects that
// number them. Times are stored as Unix nanoseconds (BIGINT) on every
// backend, so they compare, paginate and round-trip exactly alike.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/meshperf/meshperf/store"
)

// Dialect is what differs between the SQL databases a Store runs on. Type
// names differ too, but they only appear in each backend's migrations.
type Dialect struct {
	// Name names the backend in errors: "sqlite", "postgres".
	Name string
	// Numbered is set when placeholders are $1, $2... rather than ?.
	Numbered bool
	// ForUpdate is appended to a SELECT of a row the transaction then
	// updates (" FOR UPDATE"); "" where a write transaction already holds
	// the database's only write lock (SQLite's BEGIN IMMEDIATE).
	ForUpdate string
	// MigrationLock runs first in each migration transaction so that two
	// processes opening the database at once migrate it one after the
	// other (PostgreSQL: an advisory lock); "" when BEGIN already does.
	MigrationLock string
	// MigrationsTable creates schema_migrations(version, applied_at) if it
	// does not exist.
	MigrationsTable string
	// IsConflict reports whether err is a unique-constraint violation.
	IsConflict func(error) bool
	// IsForeignKey reports whether err is a foreign-key violation: a row
	// naming one that does not exist (a token's user, a schedule's profile).
	IsForeignKey func(error) bool
}

// Config describes an opened database.
type Config struct {
	Dialect Dialect
	// DB runs writes, and reads when ReadDB is nil.
	DB *sql.DB
	// ReadDB, if set, runs reads: SQLite keeps one writer connection and a
	// pool of readers beside it.
	ReadDB *sql.DB
	// Migrations holds NNNN_name.sql files at its root, applied in order.
	Migrations fs.FS
	// WrapErr, if set, turns driver errors into ones that name the
	// database and say what happened (file locked, server unreachable),
	// keeping the chain. It sees every error a method returns.
	WrapErr func(error) error
}

// Store is a store.Store on a SQL database.
type Store struct {
	d    *Dialect
	w, r *sql.DB
	wrap func(error) error
}

var _ store.Store = (*Store)(nil)

// Open applies pending migrations and returns the Store, which then owns
// the pools and closes them in Close. When Open fails, the caller closes
// them.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	d := cfg.Dialect
	s := &Store{d: &d, w: cfg.DB, r: cfg.ReadDB, wrap: cfg.WrapErr}
	if s.r == nil {
		s.r = s.w
	}
	if s.wrap == nil {
		s.wrap = func(err error) error { return err }
	}
	if err := s.migrate(ctx, cfg.Migrations); err != nil {
		return nil, s.fail(err)
	}
	return s, nil
}

// Close closes the database pools.
func (s *Store) Close() error {
	err := s.w.Close()
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

// fail passes a non-nil error through the backend's WrapErr.
func (s *Store) fail(err error) error {
	if err == nil {
		return nil
	}
	return s.wrap(err)
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// db runs queries written with ? placeholders on q in dialect d.
type db struct {
	q querier
	d *Dialect
}

func (c db) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return c.q.ExecContext(ctx, c.d.rebind(query), args...)
}

func (c db) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.q.QueryContext(ctx, c.d.rebind(query), args...)
}

func (c db) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return c.q.QueryRowContext(ctx, c.d.rebind(query), args...)
}

// reader returns the pool for reads outside a transaction.
func (s *Store) reader() db { return db{s.r, s.d} }

// inTx runs fn in a write transaction, committed if fn returns nil and
// rolled back otherwise, so a failed write leaves nothing behind.
func (s *Store) inTx(ctx context.Context, fn func(tx db) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(db{tx, s.d}); err != nil {
		_ = tx.Rollback() // the error that matters is fn's
		return err
	}
	return tx.Commit()
}

// rebind numbers the ? placeholders of query for dialects that need it,
// leaving quoted strings and identifiers alone.
func (d *Dialect) rebind(query string) string {
	if !d.Numbered || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// placeholders returns n comma-separated ? placeholders.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// conflict maps a unique-constraint violation to store.ErrConflict.
func (s *Store) conflict(err error, what string) error {
	if err != nil && s.d.IsConflict != nil && s.d.IsConflict(err) {
		return fmt.Errorf("%s %w", what, store.ErrConflict)
	}
	return err
}

// missing maps a foreign-key violation to notFound, the error of the
// missing row the new one names.
func (s *Store) missing(err, notFound error) error {
	if err != nil && s.d.IsForeignKey != nil && s.d.IsForeignKey(err) {
		return notFound
	}
	return err
}

func nanos(t time.Time) int64 { return t.UnixNano() }

func fromNanos(ns int64) time.Time { return time.Unix(0, ns).UTC() }
