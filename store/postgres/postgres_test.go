package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/meshperf/meshperf/internal/auth/authtest"
	"github.com/meshperf/meshperf/store"
	"github.com/meshperf/meshperf/store/postgres"
	"github.com/meshperf/meshperf/store/storetest"
)

const howTo = `MESHPERF_TEST_POSTGRES is not set. Start a private PostgreSQL and point the tests at it:
	export MESHPERF_TEST_POSTGRES="$(scripts/pg.sh start)"
(make test does this; scripts/pg.sh stop stops it). go test -short skips these tests.`

// baseDSN returns the DSN of the test server, failing the test (skipping it
// with -short) when there is none.
func baseDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("MESHPERF_TEST_POSTGRES")
	if dsn == "" {
		if testing.Short() {
			t.Skip(howTo)
		}
		t.Fatal(howTo)
	}
	return dsn
}

var admin struct {
	once sync.Once
	db   *sql.DB
	err  error
}

// schemaDSN returns the DSN of the test server with search_path set to a
// new, empty schema, dropped when the test ends.
func schemaDSN(t *testing.T) string {
	t.Helper()
	base := baseDSN(t)
	admin.once.Do(func() {
		admin.db, admin.err = sql.Open("pgx", base)
		if admin.err == nil {
			admin.err = admin.db.Ping()
		}
	})
	if admin.err != nil {
		t.Fatalf("MESHPERF_TEST_POSTGRES: %v", admin.err)
	}
	schema := fmt.Sprintf("test_%s", store.NewID())
	if _, err := admin.db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	if u, err := url.Parse(base); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return base + " search_path=" + schema
}

func TestStore(t *testing.T) {
	baseDSN(t)
	var dsns sync.Map // *testing.T → DSN, one schema per test
	open := func(t *testing.T) store.Store {
		d, ok := dsns.Load(t)
		if !ok {
			d = schemaDSN(t)
			dsns.Store(t, d)
		}
		s, err := postgres.Open(t.Context(), d.(string))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	storetest.Run(t, open)
	t.Run("auth", func(t *testing.T) { authtest.Run(t, open) })
}

// Processes opening a new database at once migrate it one at a time.
func TestConcurrentOpen(t *testing.T) {
	dsn := schemaDSN(t)
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			s, err := postgres.Open(t.Context(), dsn)
			if err != nil {
				t.Error(err)
				return
			}
			_ = s.Close()
		})
	}
	wg.Wait()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	ms, err := filepath.Glob("migrations/[0-9]*.sql")
	if err != nil || len(ms) == 0 {
		t.Fatalf("no migrations found: %v", err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(ms) {
		t.Errorf("schema_migrations holds %d rows (%v), want %d", n, err, len(ms))
	}
}

// The upgrade of a database created before runs (schema version 1).
func TestUpgrade(t *testing.T) {
	dsn := schemaDSN(t)
	storetest.RunUpgrade(t, func(t *testing.T) store.Store {
		s, err := postgres.OpenVersion(t.Context(), dsn, 1)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, func(t *testing.T) store.Store {
		s, err := postgres.Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var versions string
	err = db.QueryRow(`SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations`).Scan(&versions)
	if err != nil || versions != "1,2,3,4,5,6,7,8,9,10,11" {
		t.Errorf("schema_migrations after the upgrade: %q, %v; want 1,2,3,4,5,6,7,8,9,10,11", versions, err)
	}
}

// The upgrade of a database with runs, before auth and schedules (schema
// version 2).
func TestUpgradeSchedules(t *testing.T) {
	dsn := schemaDSN(t)
	storetest.RunUpgradeSchedules(t, func(t *testing.T) store.Store {
		s, err := postgres.OpenVersion(t.Context(), dsn, 2)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, func(t *testing.T) store.Store {
		s, err := postgres.Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, func(t *testing.T, query string) {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.ExecContext(t.Context(), query); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	})
}

// The upgrade of API tokens with repeated names (schema version 5).
func TestUpgradeAPITokens(t *testing.T) {
	dsn := schemaDSN(t)
	storetest.RunUpgradeAPITokens(t, func(t *testing.T) store.Store {
		s, err := postgres.OpenVersion(t.Context(), dsn, 5)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, func(t *testing.T) store.Store {
		s, err := postgres.Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, func(t *testing.T, query string) {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.ExecContext(t.Context(), query); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	})
}

// closedPort returns a local port nothing listens on.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	return port
}

// silentPort returns the port of a listener that accepts connections and
// never answers.
func silentPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().(*net.TCPAddr).Port
}

func TestUnreachable(t *testing.T) {
	const password = "s3cret-pw"
	refused, silent := closedPort(t), silentPort(t)
	tests := []struct {
		name, dsn, want string
		within          time.Duration
	}{
		{"closed port", fmt.Sprintf("postgres://meshperf:%s@127.0.0.1:%d/meshperf?sslmode=disable", password, refused),
			fmt.Sprintf("cannot reach PostgreSQL at 127.0.0.1:%d: connection refused", refused), 2 * time.Second},
		{"key=value DSN", fmt.Sprintf("host=127.0.0.1 port=%d user=meshperf password=%s sslmode=disable", refused, password),
			fmt.Sprintf("cannot reach PostgreSQL at 127.0.0.1:%d: connection refused", refused), 2 * time.Second},
		{"no answer", fmt.Sprintf("postgres://meshperf:%s@127.0.0.1:%d/meshperf?sslmode=disable&connect_timeout=1", password, silent),
			fmt.Sprintf("cannot reach PostgreSQL at 127.0.0.1:%d: no answer within the connect timeout (1s)", silent), 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := postgres.Open(context.Background(), tt.dsn)
			took := time.Since(start)
			if err == nil {
				t.Fatal("no error")
			}
			t.Logf("error after %v: %v", took.Round(time.Millisecond), err)
			if err.Error() != tt.want {
				t.Errorf("error %q, want %q", err, tt.want)
			}
			if took > tt.within {
				t.Errorf("took %v, want under %v", took, tt.within)
			}
		})
	}
}

func TestBadDSN(t *testing.T) {
	_, err := postgres.Open(t.Context(), "postgres://meshperf:s3cret-pw@127.0.0.1:notaport/meshperf")
	if !errors.Is(err, store.ErrInvalid) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("got %v, want ErrInvalid without the password", err)
	}
}
