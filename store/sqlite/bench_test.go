package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
	"github.com/meshperf/meshperf/store/sqlite"
	"github.com/meshperf/meshperf/store/storetest"
)

// The scale benchmarks share one database of benchResults realistic
// results (HDR histograms of 2,000–5,000 values, a 60-second timeline),
// filled once per process and removed at its end. Skipped with -short.
//
//	go test -run '^$' -bench . -count 5 ./store/sqlite/ | tee new.txt && benchstat new.txt

const benchResults = 10_000

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

var bench struct {
	once  sync.Once
	dir   string
	s     store.Store
	bytes float64 // file size per result, after a checkpoint
	fill  time.Duration
	err   error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.s != nil {
		_ = bench.s.Close()
	}
	if bench.dir != "" {
		_ = os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}

func benchStore(b *testing.B) store.Store {
	b.Helper()
	if testing.Short() {
		b.Skip("fills a database with 10,000 results")
	}
	bench.once.Do(func() { bench.err = fillBench() })
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.s
}

// benchResult is the i-th result of the benchmark database: one every 10
// minutes from epoch (about 69 days), labelled like a team's runs.
func benchResult(rng *rand.Rand, i int) *spec.Result {
	meshes := []string{"istio", "linkerd", "cilium", "none"}
	envs := []string{"dev", "staging", "prod"}
	return storetest.SampleResult(rng, storetest.Sample{
		Start:     epoch.Add(time.Duration(i) * 10 * time.Minute),
		Values:    2000 + rng.IntN(3000),
		Seconds:   60,
		OpenLoop:  i%3 != 0,
		Generator: []string{"meshperf", "fortio", "wrk2"}[i%3],
		Targets:   []string{fmt.Sprintf("http://svc-%d.bench.svc:8080/api", i%7)},
		Labels: map[string]string{
			"mesh":   meshes[rng.IntN(len(meshes))],
			"env":    envs[rng.IntN(len(envs))],
			"region": fmt.Sprintf("eu-west-%d", 1+i%3),
			"commit": fmt.Sprintf("%08x", rng.Uint32()),
		},
	})
}

func fillBench() error {
	dir, err := os.MkdirTemp("", "meshperf-bench-")
	if err != nil {
		return err
	}
	bench.dir = dir
	path := filepath.Join(dir, "meshperf.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		return err
	}
	bench.s = s
	rng := rand.New(rand.NewPCG(1, 1))
	start := time.Now()
	for i := range benchResults {
		ref := store.ResultRef{ProfileID: fmt.Sprintf("profile-%d", i%20), ProfileRevision: 1 + i%3}
		if _, err := s.SaveResult(ctx, benchResult(rng, i), ref); err != nil {
			return err
		}
	}
	bench.fill = time.Since(start)

	db, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	bench.bytes = float64(fi.Size()) / benchResults
	fmt.Fprintf(os.Stderr, "filled %d results in %v (%.0f µs each, results made and saved); %.0f bytes per result\n",
		benchResults, bench.fill.Round(time.Millisecond), float64(bench.fill.Microseconds())/benchResults, bench.bytes)
	return nil
}

// A page of 50 with a label filter and a time range (a month in the middle).
func BenchmarkListResultsFiltered(b *testing.B) {
	s := benchStore(b)
	f := store.ResultFilter{
		Labels: map[string]string{"mesh": "istio"},
		Since:  epoch.Add(20 * 24 * time.Hour),
		Until:  epoch.Add(50 * 24 * time.Hour),
		Limit:  50,
	}
	for b.Loop() {
		page, err := s.ListResults(b.Context(), f)
		if err != nil {
			b.Fatal(err)
		}
		if len(page.Results) != 50 {
			b.Fatalf("%d results", len(page.Results))
		}
	}
	b.ReportMetric(bench.bytes, "B/result")
}

// The last page of the same listing, reached with cursors.
func BenchmarkListResultsFilteredLastPage(b *testing.B) {
	s := benchStore(b)
	f := store.ResultFilter{
		Labels: map[string]string{"mesh": "istio", "env": "prod"},
		Since:  epoch.Add(20 * 24 * time.Hour),
		Until:  epoch.Add(50 * 24 * time.Hour),
		Limit:  50,
	}
	for { // to the cursor of the last page
		page, err := s.ListResults(b.Context(), f)
		if err != nil {
			b.Fatal(err)
		}
		if page.Next == "" {
			break
		}
		f.Cursor = page.Next
	}
	for b.Loop() {
		if _, err := s.ListResults(b.Context(), f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetResult(b *testing.B) {
	s := benchStore(b)
	page, err := s.ListResults(b.Context(), store.ResultFilter{Limit: 100})
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		if _, err := s.GetResult(b.Context(), page.Results[i%len(page.Results)].ID); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkSaveResult(b *testing.B) {
	s := benchStore(b)
	rng := rand.New(rand.NewPCG(2, 2))
	results := make([]*spec.Result, 64)
	for i := range results {
		results[i] = benchResult(rng, benchResults+i)
	}
	i := 0
	for b.Loop() {
		r := *results[i%len(results)]
		r.ID = ""
		if _, err := s.SaveResult(b.Context(), &r, store.ResultRef{}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
