package server_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/meshperf/meshperf/internal/server"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
	"github.com/meshperf/meshperf/store/postgres"
	"github.com/meshperf/meshperf/store/sqlite"
)

// fullDisk is a stand-in for a store on a full disk: while fail is
// positive, each result write fails with ENOSPC (and counts one off), as
// SQLite's would; everything else goes to the real store beneath.
type fullDisk struct {
	store.Store
	fail   atomic.Int64
	failed atomic.Int64
}

func (f *fullDisk) refuse() error {
	if f.fail.Add(-1) >= 0 {
		f.failed.Add(1)
		return fmt.Errorf("write result: %w", syscall.ENOSPC)
	}
	f.fail.Store(0)
	return nil
}

func (f *fullDisk) SaveResult(ctx context.Context, r *spec.Result, ref store.ResultRef) (string, error) {
	if err := f.refuse(); err != nil {
		return "", err
	}
	return f.Store.SaveResult(ctx, r, ref)
}

func (f *fullDisk) ReplaceResult(ctx context.Context, r *spec.Result) error {
	if err := f.refuse(); err != nil {
		return err
	}
	return f.Store.ReplaceResult(ctx, r)
}

func newFullDiskServer(t *testing.T, opts server.Options) (*fullDisk, string) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	fd := &fullDisk{Store: st}
	opts.Store, opts.Version = fd, "test"
	srv := server.New(opts)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close(); st.Close() })
	return fd, hs.URL
}

func getResult(t *testing.T, base, id string) spec.Result {
	t.Helper()
	code, b := do(t, "GET", base+"/api/v1/results/"+id, "", "")
	var r spec.Result
	if code != 200 || json.Unmarshal(b, &r) != nil {
		t.Fatalf("result %s: %d %s", id, code, b)
	}
	return r
}

// The final save fails (a full disk, say): it is retried with backoff; a
// store that recovers gets the result, one that does not leaves the run
// failed with the reason, never running, with its last partial result.
func TestRunFinalSaveRetried(t *testing.T) {
	target := startEcho(t)
	opts := server.Options{SaveEvery: -1, SaveRetries: 3, SaveBackoff: 50 * time.Millisecond}

	t.Run("recovers", func(t *testing.T) {
		fd, base := newFullDiskServer(t, opts)
		fd.fail.Store(2)
		run := submit(t, base, doc(target, 100, "1s"))
		got := waitState(t, base, run.ID, store.RunSucceeded, store.RunFailed)
		if got.State != store.RunSucceeded || got.ResultID == "" {
			t.Fatalf("run %s (%q), result %q: want succeeded once the store took the result", got.State, got.Error, got.ResultID)
		}
		if n := fd.failed.Load(); n != 2 {
			t.Errorf("%d saves failed, want 2 before the one that worked", n)
		}
		if res := getResult(t, base, got.ResultID); res.Achieved.Requests != 100 || res.Interrupted {
			t.Errorf("saved result: %d requests, interrupted %v; want the whole run's 100", res.Achieved.Requests, res.Interrupted)
		}
	})

	t.Run("does not recover", func(t *testing.T) {
		fd, base := newFullDiskServer(t, server.Options{SaveEvery: 300 * time.Millisecond, SaveRetries: 3, SaveBackoff: 50 * time.Millisecond})
		run := submit(t, base, doc(target, 100, "3s"))
		// The partial saves work; then the disk fills.
		var partial store.Run
		for deadline := time.Now().Add(20 * time.Second); partial.ResultID == ""; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("no partial result was saved while the run ran")
			}
			_, b := do(t, "GET", base+"/api/v1/runs/"+run.ID, "", "")
			json.Unmarshal(b, &partial)
		}
		if partial.State != store.RunRunning {
			t.Fatalf("run %s when its partial result appeared", partial.State)
		}
		fd.fail.Store(1 << 30)
		got := waitState(t, base, run.ID, store.RunSucceeded, store.RunFailed)
		fd.fail.Store(0)
		want := "the result could not be saved (4 tries): write result: no space left on device"
		if got.State != store.RunFailed || got.Error != want {
			t.Errorf("run %s: %q, want failed: %q", got.State, got.Error, want)
		}
		if n := fd.failed.Load(); n < 4 {
			t.Errorf("%d saves failed, want at least the final one's 4 tries", n)
		}
		if got.ResultID != partial.ResultID {
			t.Fatalf("run's result %q, want the partial one %q kept", got.ResultID, partial.ResultID)
		}
		res := getResult(t, base, got.ResultID)
		if !res.Interrupted || res.Achieved.Requests <= 0 || res.Achieved.Requests >= 300 {
			t.Errorf("kept partial result: interrupted %v, %d requests; want part of the run", res.Interrupted, res.Achieved.Requests)
		}
	})
}

// openStore opens one more handle on a test's database.
type openStore func(t *testing.T) store.Store

// Two servers on one database: the second leaves the first one's live run
// alone (its heartbeat is fresh), and interrupts a run whose server's
// heartbeat stopped.
func testTwoServers(t *testing.T, open openStore) {
	target := startEcho(t)
	// Long enough for a heartbeat on a loaded machine (under -race),
	// short enough for the test.
	const timeout = 1500 * time.Millisecond
	start := func() (store.Store, string) {
		st := open(t)
		srv := server.New(server.Options{Store: st, Version: "test", InstanceTimeout: timeout})
		hs := httptest.NewServer(srv)
		t.Cleanup(func() { hs.Close(); srv.Close(); st.Close() })
		return st, hs.URL
	}
	stA, a := start()
	run := submit(t, a, doc(target, 50, "7s"))
	waitState(t, a, run.ID, store.RunRunning)

	// A server that died without a word: its run is in the store,
	// running, and its heartbeat stops now.
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ghost := &store.Run{State: store.RunQueued, Name: "ghost", Profile: []byte(`{}`), InstanceID: "ghost-instance"}
	must(stA.Heartbeat(t.Context(), "ghost-instance"))
	must(stA.CreateRun(t.Context(), ghost))
	must(stA.UpdateRun(t.Context(), &store.Run{ID: ghost.ID, State: store.RunRunning}))

	_, b := start()
	// Several of b's heartbeats and sweeps go by.
	time.Sleep(3 * timeout)
	code, body := do(t, "GET", b+"/api/v1/runs/"+run.ID, "", "")
	var seen store.Run
	json.Unmarshal(body, &seen)
	if code != 200 || seen.State != store.RunRunning {
		t.Fatalf("the first server's live run, seen from the second: %d %s (%q); want running", code, seen.State, seen.Error)
	}
	code, body = do(t, "GET", b+"/api/v1/runs/"+ghost.ID, "", "")
	json.Unmarshal(body, &seen)
	if code != 200 || seen.State != store.RunInterrupted || !strings.Contains(seen.Error, "no heartbeat") {
		t.Errorf("the dead server's run: %d %s (%q); want interrupted", code, seen.State, seen.Error)
	}
	done := waitState(t, a, run.ID, store.RunSucceeded, store.RunInterrupted, store.RunFailed)
	if done.State != store.RunSucceeded || done.ResultID == "" {
		t.Errorf("the first server's run ended %s (%q)", done.State, done.Error)
	}
	if done.ResultID == "" {
		return
	}
	if res := getResult(t, b, done.ResultID); res.Achieved.Requests != 350 || res.Interrupted {
		t.Errorf("its result: %d requests, interrupted %v; want the whole 350", res.Achieved.Requests, res.Interrupted)
	}
}

func TestTwoServersOneSQLiteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	testTwoServers(t, func(t *testing.T) store.Store {
		st, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}

func TestTwoServersOnePostgreSQL(t *testing.T) {
	base := os.Getenv("MESHPERF_TEST_POSTGRES")
	if base == "" {
		if testing.Short() {
			t.Skip("MESHPERF_TEST_POSTGRES is not set (go test -short skips this)")
		}
		t.Fatal(`MESHPERF_TEST_POSTGRES is not set: export MESHPERF_TEST_POSTGRES="$(scripts/pg.sh start)"`)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	schema := "test_" + store.NewID()
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); admin.Close() })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	testTwoServers(t, func(t *testing.T) store.Store {
		st, err := postgres.Open(t.Context(), u.String())
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}
