// Package sqlite opens a store on an SQLite file, meshperf's embedded
// default, with modernc.org/sqlite (no cgo).
//
// The database is in WAL mode: one writer connection, whose transactions
// begin IMMEDIATE so that writers queue on busy_timeout instead of failing
// midway, and a pool of read-only connections that never wait for it.
// synchronous=NORMAL: a power cut may lose the last results saved, never
// corrupt the file.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/meshperf/meshperf/store"
	"github.com/meshperf/meshperf/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DefaultBusyTimeout is how long a write waits for another process's.
const DefaultBusyTimeout = 5 * time.Second

// Dialect is SQLite's: ? placeholders, and BEGIN IMMEDIATE (on the one
// writer connection) serializes writers and migrations.
var Dialect = sqlstore.Dialect{
	Name: "sqlite",
	MigrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		applied_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
	)`,
	IsConflict: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) &&
			(e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
	},
	IsForeignKey: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	},
}

// Option changes how Open opens the database.
type Option func(*options)

type options struct {
	busyTimeout time.Duration
}

// WithBusyTimeout sets how long an operation waits for a lock held by
// another connection before it fails (DefaultBusyTimeout by default).
func WithBusyTimeout(d time.Duration) Option {
	return func(o *options) { o.busyTimeout = d }
}

// DefaultPath returns $XDG_DATA_HOME/meshperf/meshperf.db, or
// ~/.local/share/meshperf/meshperf.db when XDG_DATA_HOME is unset.
func DefaultPath() (string, error) {
	dir := os.Getenv("XDG_DATA_HOME")
	if dir == "" || !filepath.IsAbs(dir) { // the XDG spec says to ignore a relative one
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("default sqlite database path: %w", err)
		}
		dir = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(dir, "meshperf", "meshperf.db"), nil
}

// Open opens the SQLite database at path, creating it (and its directory,
// mode 0700) if missing, and migrates it.
func Open(ctx context.Context, path string, opts ...Option) (store.Store, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded directory exists
	}
	return open(ctx, path, sub, opts...)
}

// open is Open with the migrations of migs.
func open(ctx context.Context, path string, migs fs.FS, opts ...Option) (store.Store, error) {
	o := options{busyTimeout: DefaultBusyTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if path == "" {
		return nil, fmt.Errorf("%w sqlite database path: empty", store.ErrInvalid)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite database %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("create the directory of sqlite database %s: %w", abs, err)
	}
	if fi, err := os.Stat(abs); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("open sqlite database %s: it is a directory", abs)
	}
	wrap := errWrapper(abs, o.busyTimeout)
	fail := func(err error) error {
		if w := wrap(err); w != err {
			return w
		}
		return fmt.Errorf("open sqlite database %s: %w", abs, err)
	}

	w, err := sql.Open("sqlite", dsn(abs, o, false))
	if err != nil {
		return nil, fail(err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		_ = w.Close()
		return nil, fail(err)
	}
	r, err := sql.Open("sqlite", dsn(abs, o, true))
	if err != nil {
		_ = w.Close()
		return nil, fail(err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)

	s, err := sqlstore.Open(ctx, sqlstore.Config{Dialect: Dialect, DB: w, ReadDB: r, Migrations: migs, WrapErr: wrap})
	if err != nil {
		_ = w.Close()
		_ = r.Close()
		return nil, fail(err)
	}
	return s, nil
}

// dsn returns the data source name of the writer or of a reader.
func dsn(path string, o options, reader bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(o.busyTimeout.Milliseconds(), 10)+")")
	if reader {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Set("_txlock", "immediate")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// errWrapper returns a function that explains SQLite errors about the
// file, naming it, and leaves others alone.
func errWrapper(path string, busy time.Duration) func(error) error {
	return func(err error) error {
		var e *sqlite.Error
		if !errors.As(err, &e) {
			return err
		}
		switch e.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("sqlite database %s is locked by another process or connection (waited %s): %w", path, busy, err)
		case sqlite3.SQLITE_NOTADB:
			return fmt.Errorf("sqlite database %s: the file is not an SQLite database: %w", path, err)
		case sqlite3.SQLITE_CORRUPT:
			return fmt.Errorf("sqlite database %s is corrupt: %w", path, err)
		case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH:
			if why := whyCannotOpen(path); why != nil {
				return fmt.Errorf("cannot open sqlite database %s: %w (%w)", path, why, err)
			}
			return fmt.Errorf("cannot open sqlite database %s: %w", path, err)
		case sqlite3.SQLITE_READONLY:
			return fmt.Errorf("sqlite database %s is read-only: %w", path, err)
		case sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL:
			return fmt.Errorf("sqlite database %s: %w", path, err)
		}
		return err
	}
}

// whyCannotOpen returns the operating system's reason why path cannot be
// opened for writing, or created, which SQLite does not say.
func whyCannotOpen(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err == nil {
		return f.Close()
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	f, err = os.CreateTemp(filepath.Dir(path), ".meshperf-probe-*")
	if err != nil {
		return err
	}
	_ = f.Close()
	return os.Remove(f.Name())
}
