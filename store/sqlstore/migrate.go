package sqlstore

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// migration is one versioned schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads NNNN_name.sql files from the root of fsys, in order
// of version; two files with one version are an error.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || path.Ext(name) != ".sql" {
			continue
		}
		num, _, _ := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive version, as in 0001_init.sql", name)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s have the same version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// migrate applies the migrations the database lacks, each in its own
// transaction that also records it in schema_migrations. Each transaction
// takes the dialect's migration lock (or SQLite's write lock) and checks
// again that its migration is pending, so two processes may open the same
// database at once. When nothing is pending, migrate only reads.
func (s *Store) migrate(ctx context.Context, fsys fs.FS) error {
	ms, err := loadMigrations(fsys)
	if err != nil {
		return err
	}
	applied, err := s.appliedMigrations(ctx, s.w)
	if err != nil {
		// Most likely a new database without schema_migrations: create
		// it under the lock, then read again.
		err = s.inTx(ctx, func(tx db) error {
			if err := s.migrationLock(ctx, tx); err != nil {
				return err
			}
			_, err := tx.exec(ctx, s.d.MigrationsTable)
			return err
		})
		if err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		if applied, err = s.appliedMigrations(ctx, s.w); err != nil {
			return err
		}
	}
	if n := len(ms); n > 0 && len(applied) > 0 && applied[len(applied)-1] > ms[n-1].version {
		return fmt.Errorf("the database schema is at version %d, newer than this meshperf knows (%d): upgrade meshperf", applied[len(applied)-1], ms[n-1].version)
	}
	for _, m := range ms {
		if slices.Contains(applied, m.version) {
			continue
		}
		err := s.inTx(ctx, func(tx db) error {
			if err := s.migrationLock(ctx, tx); err != nil {
				return err
			}
			var n int
			if err := tx.queryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil // another process applied it meanwhile
			}
			if _, err := tx.exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.exec(ctx, `INSERT INTO schema_migrations (version) VALUES (?)`, m.version)
			return err
		})
		if err != nil {
			return fmt.Errorf("apply migration %s: %w", m.name, err)
		}
	}
	return nil
}

func (s *Store) migrationLock(ctx context.Context, tx db) error {
	if s.d.MigrationLock == "" {
		return nil
	}
	_, err := tx.exec(ctx, s.d.MigrationLock)
	return err
}

// appliedMigrations returns the applied versions in increasing order.
func (s *Store) appliedMigrations(ctx context.Context, q querier) ([]int, error) {
	rows, err := db{q, s.d}.query(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	return vs, rows.Err()
}
