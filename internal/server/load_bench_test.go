package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/internal/server"
	"github.com/meshperf/meshperf/store"
	"github.com/meshperf/meshperf/store/sqlite"
	"github.com/meshperf/meshperf/store/storetest"
)

// BenchmarkAPIUnderLoad: 10,000 stored results, 50 concurrent API clients
// listing (with a filter) and reading results while a test runs on the
// server. Target: p99 under 100 ms, no errors. Run with
// go test -run '^$' -bench APIUnderLoad ./internal/server/ (make bench).
func BenchmarkAPIUnderLoad(b *testing.B) {
	const (
		stored  = 10000
		clients = 50
		perOne  = 40 // requests per client per iteration
	)
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "m.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	rng := rand.New(rand.NewPCG(7, 7))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ids []string
	for i := 0; i < stored; i++ {
		r := storetest.SampleResult(rng, storetest.Sample{Start: start.Add(time.Duration(i) * time.Minute), Values: 2000, Seconds: 60, OpenLoop: true,
			Labels: map[string]string{"team": fmt.Sprintf("t%d", i%10)}})
		id, err := st.SaveResult(context.Background(), r, store.ResultRef{})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	srv := server.New(server.Options{Store: st, Version: "bench"})
	hs := httptest.NewServer(srv)
	defer func() { hs.Close(); srv.Close() }()

	// A test runs meanwhile: 500 rps against an echo target, for longer
	// than the measurement.
	target := startEchoB(b)
	doc := `{"profile_document": {"name": "background", "duration": "10m", "clients": [{"connections": 8, "rps": 500, "endpoint_urls": ["` + target + `/"]}]}}`
	resp, err := http.Post(hs.URL+"/api/v1/runs", "application/json", strings.NewReader(doc))
	if err != nil || resp.StatusCode != 202 {
		b.Fatalf("background run: %v %v", err, resp)
	}
	var run store.Run
	json.NewDecoder(resp.Body).Decode(&run)
	resp.Body.Close()
	time.Sleep(time.Second)

	lat := hist.New()
	var mu sync.Mutex
	var errs atomic.Int64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		var wg sync.WaitGroup
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				local := hist.New()
				r := rand.New(rand.NewPCG(uint64(c), uint64(it)))
				for k := 0; k < perOne; k++ {
					url := hs.URL + "/api/v1/results/" + ids[r.IntN(len(ids))]
					if k%2 == 0 {
						url = fmt.Sprintf("%s/api/v1/results?limit=50&label=team=t%d", hs.URL, r.IntN(10))
					}
					t0 := time.Now()
					resp, err := client.Get(url)
					if err != nil {
						errs.Add(1)
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					local.Record(time.Since(t0))
					if resp.StatusCode != 200 {
						errs.Add(1)
					}
				}
				mu.Lock()
				lat.Merge(local)
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(lat.Quantile(0.5)), "p50-ms")
	b.ReportMetric(ms(lat.Quantile(0.99)), "p99-ms")
	b.ReportMetric(float64(errs.Load()), "errors")
	b.ReportMetric(float64(lat.Count())/b.Elapsed().Seconds(), "req/s")
	http.Post(hs.URL+"/api/v1/runs/"+run.ID+"/cancel", "", nil)
}
