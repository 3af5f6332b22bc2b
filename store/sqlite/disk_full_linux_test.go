package sqlite_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/meshperf/meshperf/store"
	"github.com/meshperf/meshperf/store/sqlite"
	"github.com/meshperf/meshperf/store/storetest"
)

// A full disk: saving fails with a clear error, nothing half-written is
// left, and every result saved before is still there after a reopen. The
// disk is a 1 MiB tmpfs mounted for the test (this needs root, which CI
// and the developers' machines have).
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("TestDiskFull mounts a small tmpfs and needs root; run the tests as root (as CI does)")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mount a 1 MiB tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	path := filepath.Join(dir, "meshperf.db")

	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	var saved []string
	var saveErr error
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 2000 && saveErr == nil; i++ {
		r := storetest.SampleResult(nil, storetest.Sample{Start: start.Add(time.Duration(i) * time.Minute), Values: 3000, Seconds: 60, IntervalHistograms: true})
		var id string
		id, saveErr = s.SaveResult(t.Context(), r, store.ResultRef{})
		if saveErr == nil {
			saved = append(saved, id)
		}
	}
	if saveErr == nil {
		t.Fatal("2,000 results fit in 1 MiB: the disk never filled")
	}
	if len(saved) == 0 {
		t.Fatalf("not one result fitted: %v", saveErr)
	}
	if msg := saveErr.Error(); !strings.Contains(msg, "full") && !errors.Is(saveErr, unix.ENOSPC) {
		t.Errorf("error %q does not say the disk is full", msg)
	}
	t.Logf("%d results saved before: %v", len(saved), saveErr)
	s.Close()

	s, err = sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("reopen after the disk filled: %v", err)
	}
	defer s.Close()
	page, err := s.ListResults(t.Context(), store.ResultFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Results) != len(saved) {
		t.Errorf("%d results listed after reopening, want the %d saved (and no partial one)", len(page.Results), len(saved))
	}
	for _, id := range saved {
		if _, err := s.GetResult(t.Context(), id); err != nil {
			t.Errorf("result %s lost: %v", id, err)
		}
	}
}
