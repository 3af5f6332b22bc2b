// Package postgres opens a store on PostgreSQL, with pgx through
// database/sql. Several meshperf processes may share one database: they
// migrate it one at a time, under an advisory lock.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/meshperf/meshperf/store"
	"github.com/meshperf/meshperf/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DefaultConnectTimeout bounds a connection attempt when the DSN sets no
// connect_timeout, so that a server that is down fails fast.
const DefaultConnectTimeout = 5 * time.Second

// migrationLockKey is the advisory lock migrations hold: "meshperf" in ASCII.
const migrationLockKey = 0x6d65736870657266

// Dialect is PostgreSQL's: $N placeholders, row locks, and an advisory lock
// around migrations.
var Dialect = sqlstore.Dialect{
	Name:          "postgres",
	Numbered:      true,
	ForUpdate:     " FOR UPDATE",
	MigrationLock: `SELECT pg_advisory_xact_lock(` + strconv.FormatInt(migrationLockKey, 10) + `)`,
	MigrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER     NOT NULL PRIMARY KEY,
		applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
	)`,
	IsConflict: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == "23505" // unique_violation
	},
	IsForeignKey: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == "23503" // foreign_key_violation
	},
}

// Open connects to the PostgreSQL database dsn names (a URL or key=value
// pairs, as libpq takes) and migrates it. Errors never show the password.
func Open(ctx context.Context, dsn string) (store.Store, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded directory exists
	}
	return open(ctx, dsn, sub)
}

// open is Open with the migrations of migs.
func open(ctx context.Context, dsn string, migs fs.FS) (store.Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx redacts the password from the DSN it quotes.
		return nil, fmt.Errorf("%w PostgreSQL DSN: %w", store.ErrInvalid, err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	wrap := errWrapper(cfg)
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, wrap(err)
	}
	s, err := sqlstore.Open(ctx, sqlstore.Config{Dialect: Dialect, DB: db, Migrations: migs, WrapErr: wrap})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open PostgreSQL database %s at %s: %w", cfg.Database, address(cfg), err)
	}
	return s, nil
}

// address is host:port, or the socket path, of the server cfg names.
func address(cfg *pgx.ConnConfig) string {
	if strings.HasPrefix(cfg.Host, "/") {
		return cfg.Host + "/.s.PGSQL." + strconv.Itoa(int(cfg.Port))
	}
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}

// explained is an error with a short message of ours, keeping the chain.
type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }

// errWrapper returns a function that replaces pgx's connection errors with
// a short message naming the server (never the password) and what went
// wrong, and leaves other errors alone.
func errWrapper(cfg *pgx.ConnConfig) func(error) error {
	addr := address(cfg)
	return func(err error) error {
		var pe *pgconn.PgError
		var dns *net.DNSError
		var ne net.Error
		why := ""
		switch {
		case errors.As(err, &pe):
			switch {
			case strings.HasPrefix(pe.Code, "28"): // invalid authorization
				return &explained{fmt.Sprintf("PostgreSQL at %s refused user %q: %s", addr, cfg.User, pe.Message), err}
			case pe.Code == "3D000": // invalid_catalog_name
				return &explained{fmt.Sprintf("PostgreSQL at %s has no database %q", addr, cfg.Database), err}
			}
			return err
		case errors.Is(err, syscall.ECONNREFUSED):
			why = "connection refused"
		case errors.As(err, &dns):
			why = "unknown host " + dns.Name
		case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
			why = "no route to host"
		case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
			why = fmt.Sprintf("no answer within the connect timeout (%s)", cfg.ConnectTimeout)
		default:
			return err // pgx names the user and database, never the password
		}
		return &explained{fmt.Sprintf("cannot reach PostgreSQL at %s: %s", addr, why), err}
	}
}
