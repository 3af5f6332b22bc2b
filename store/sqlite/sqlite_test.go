package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/auth/authtest"
	"github.com/meshperf/meshperf/store"
	"github.com/meshperf/meshperf/store/sqlite"
	"github.com/meshperf/meshperf/store/storetest"
)

func TestStore(t *testing.T) {
	var paths sync.Map // *testing.T → database path, one per test
	open := func(t *testing.T) store.Store {
		p, ok := paths.Load(t)
		if !ok {
			p = filepath.Join(t.TempDir(), "meshperf.db")
			paths.Store(t, p)
		}
		s, err := sqlite.Open(t.Context(), p.(string))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	storetest.Run(t, open)
	t.Run("auth", func(t *testing.T) { authtest.Run(t, open) })
}

// The upgrade of a database created before runs (schema version 1).
func TestUpgrade(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meshperf.db")
	storetest.RunUpgrade(t, func(t *testing.T) store.Store {
		s, err := sqlite.OpenVersion(t.Context(), path, 1)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, func(t *testing.T) store.Store {
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
	var versions string
	err := rawDB(t, path).QueryRowContext(t.Context(), `SELECT group_concat(version, ',') FROM (SELECT version FROM schema_migrations ORDER BY version)`).Scan(&versions)
	if err != nil || versions != "1,2,3,4,5,6,7,8,9,10,11" {
		t.Errorf("schema_migrations after the upgrade: %q, %v; want 1,2,3,4,5,6,7,8,9,10,11", versions, err)
	}
}

// The upgrade of a database with runs, before auth and schedules (schema
// version 2).
func TestUpgradeSchedules(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meshperf.db")
	storetest.RunUpgradeSchedules(t, func(t *testing.T) store.Store {
		s, err := sqlite.OpenVersion(t.Context(), path, 2)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, func(t *testing.T) store.Store {
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, func(t *testing.T, query string) {
		exec(t, rawDB(t, path), query)
	})
}

// The upgrade of API tokens with repeated names (schema version 5).
func TestUpgradeAPITokens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meshperf.db")
	storetest.RunUpgradeAPITokens(t, func(t *testing.T) store.Store {
		s, err := sqlite.OpenVersion(t.Context(), path, 5)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, func(t *testing.T) store.Store {
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, func(t *testing.T, query string) {
		exec(t, rawDB(t, path), query)
	})
}

// migrationCount is the number of migrations in migrations/.
func migrationCount(t *testing.T) int {
	t.Helper()
	ms, err := filepath.Glob("migrations/[0-9]*.sql")
	if err != nil || len(ms) == 0 {
		t.Fatalf("no migrations found: %v", err)
	}
	return len(ms)
}

func open(t *testing.T, path string, opts ...sqlite.Option) store.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// rawDB opens a connection of our own to the file, beside the store's.
func rawDB(t *testing.T, path string) *sql.Conn {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	c, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func exec(t *testing.T, c *sql.Conn, query string) {
	t.Helper()
	if _, err := c.ExecContext(t.Context(), query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// wantClearError fails the test unless err names the file and says what
// is wrong.
func wantClearError(t *testing.T, err error, path string, words ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	t.Logf("error: %s", msg)
	if !strings.Contains(msg, path) {
		t.Errorf("error %q does not name the file %s", msg, path)
	}
	for _, w := range words {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not say %q", msg, w)
		}
	}
}

func TestLocked(t *testing.T) {
	const busy = 100 * time.Millisecond

	t.Run("writer holds the lock", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "meshperf.db")
		s := open(t, path, sqlite.WithBusyTimeout(busy))
		other := rawDB(t, path)
		exec(t, other, "BEGIN IMMEDIATE")
		exec(t, other, "DELETE FROM results")

		start := time.Now()
		_, err := s.SaveResult(t.Context(), storetest.SampleResult(nil, storetest.Sample{Start: time.Now(), Values: 10, Seconds: 1}), store.ResultRef{})
		wantClearError(t, err, path, "locked", "another process")
		if d := time.Since(start); d > 10*busy {
			t.Errorf("gave up after %v, want about the busy timeout %v", d, busy)
		}
		// Readers do not wait for the writer (WAL).
		if _, err := s.ListResults(t.Context(), store.ResultFilter{}); err != nil {
			t.Errorf("ListResults while another connection writes: %v", err)
		}
		exec(t, other, "ROLLBACK")
		if _, err := s.SaveResult(t.Context(), storetest.SampleResult(nil, storetest.Sample{Start: time.Now(), Values: 10, Seconds: 1}), store.ResultRef{}); err != nil {
			t.Errorf("SaveResult once the lock is released: %v", err)
		}
	})

	t.Run("exclusive lock when opening", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "meshperf.db")
		other := rawDB(t, path) // rollback journal, not WAL: even reads wait
		exec(t, other, "BEGIN EXCLUSIVE")
		exec(t, other, "CREATE TABLE hold (x)")
		_, err := sqlite.Open(t.Context(), path, sqlite.WithBusyTimeout(busy))
		wantClearError(t, err, path, "locked")
	})
}

func TestUnusablePath(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database, just text\n", 200)), 0o600); err != nil {
		t.Fatal(err)
	}
	aFile := filepath.Join(dir, "file")
	if err := os.WriteFile(aFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		words      []string
	}{
		{"a directory", dir, []string{"directory"}},
		{"not a database", garbage, []string{"not an SQLite database"}},
		{"below a file", filepath.Join(aFile, "meshperf.db"), []string{"not a directory"}},
	}
	if os.Geteuid() != 0 { // root reads anything
		locked := filepath.Join(dir, "locked")
		if err := os.Mkdir(locked, 0o000); err != nil {
			t.Fatal(err)
		}
		tests = append(tests, struct {
			name, path string
			words      []string
		}{"no permission", filepath.Join(locked, "meshperf.db"), []string{"permission denied"}})

		// A read-only file opens, to be read; writes say why they fail.
		t.Run("read-only", func(t *testing.T) {
			path := filepath.Join(dir, "read-only.db")
			_ = open(t, path).Close()
			if err := os.Chmod(path, 0o400); err != nil {
				t.Fatal(err)
			}
			s := open(t, path)
			if _, err := s.ListResults(t.Context(), store.ResultFilter{}); err != nil {
				t.Errorf("ListResults: %v", err)
			}
			_, err := s.SaveResult(t.Context(), storetest.SampleResult(nil, storetest.Sample{Start: time.Now(), Values: 10, Seconds: 1}), store.ResultRef{})
			wantClearError(t, err, path, "read-only")
		})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sqlite.Open(t.Context(), tt.path)
			wantClearError(t, err, tt.path, tt.words...)
		})
	}
}

func TestOpenCreatesDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "meshperf.db")
	open(t, path)
	fi, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("directory mode %o, want 700", perm)
	}
}

func TestSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meshperf.db")
	for range 2 {
		s := open(t, path)
		_ = s.Close()
	}
	c := rawDB(t, path)
	for query, want := range map[string]string{
		"PRAGMA journal_mode":                    "wal",
		"SELECT count(*) FROM schema_migrations": strconv.Itoa(migrationCount(t)),
		"SELECT count(*) FROM schema_migrations WHERE version = 1 AND applied_at LIKE '20%Z'": "1",
	} {
		var got string
		if err := c.QueryRowContext(t.Context(), query).Scan(&got); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		if got != want {
			t.Errorf("%s = %s, want %s", query, got, want)
		}
	}
}

// Processes opening a new database at once migrate it one at a time.
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meshperf.db")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			s, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Error(err)
				return
			}
			_ = s.Close()
		})
	}
	wg.Wait()
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("HOME", "/home/u")
	for _, tt := range []struct{ xdg, want string }{
		{"/data", "/data/meshperf/meshperf.db"},
		{"", "/home/u/.local/share/meshperf/meshperf.db"},
		{"relative", "/home/u/.local/share/meshperf/meshperf.db"},
	} {
		t.Setenv("XDG_DATA_HOME", tt.xdg)
		got, err := sqlite.DefaultPath()
		if err != nil || got != tt.want {
			t.Errorf("XDG_DATA_HOME=%q: got %q, %v; want %q", tt.xdg, got, err, tt.want)
		}
	}
}

func TestEmptyPath(t *testing.T) {
	if _, err := sqlite.Open(t.Context(), ""); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Open(\"\"): %v, want ErrInvalid", err)
	}
}

func TestNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meshperf.db")
	_ = open(t, path).Close()
	exec(t, rawDB(t, path), "INSERT INTO schema_migrations (version) VALUES (99)")
	_, err := sqlite.Open(t.Context(), path)
	wantClearError(t, err, path, "version 99", "upgrade meshperf")
}
