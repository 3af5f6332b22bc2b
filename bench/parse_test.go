package bench

import (
	"math"
	"testing"
)

const wrkSample = `Running 5s test @ http://127.0.0.1:8080/
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   412.08us  210.55us   9.02ms   88.10%
    Req/Sec    52.01k     3.10k   58.95k    71.00%
  Latency Distribution
     50%  390.00us
     75%  480.00us
     90%  600.00us
     99%    1.10ms
  518136 requests in 5.01s, 75.60MB read
  Socket errors: connect 0, read 3, write 1, timeout 2
  Non-2xx or 3xx responses: 7
Requests/sec: 103467.96
Transfer/sec:     15.09MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkSample)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 518136 || r.RPS != 103467.96 || r.Errors != 6 || r.Non2xx != 7 || math.Abs(r.Duration-5.01) > 1e-9 {
		t.Fatalf("got %+v", r)
	}
	r, err = parseWrk("  12 requests in 1.00m, 1KB read\nRequests/sec: 0.20\n")
	if err != nil || r.Duration != 60 || r.Errors != 0 {
		t.Fatalf("got %+v, %v", r, err)
	}
	if _, err := parseWrk("unable to connect to 127.0.0.1:1 Connection refused\n"); err == nil {
		t.Fatal("want an error for output without a report")
	}
}

func TestParseFortio(t *testing.T) {
	js := `{"RunType":"HTTP","ActualQPS":19996.9,"ActualDuration":5000772763,
	"DurationHistogram":{"Count":100000,"Min":1e-05},"RetCodes":{"200":99990,"503":4,"-1":6}}`
	r, err := parseFortio([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 100000 || r.RPS != 19996.9 || r.Errors != 6 || r.Non2xx != 4 || math.Abs(r.Duration-5.000772763) > 1e-9 {
		t.Fatalf("got %+v", r)
	}
	if _, err := parseFortio([]byte(`{}`)); err == nil {
		t.Fatal("want an error for an empty result")
	}
	if _, err := parseFortio([]byte(`not json`)); err == nil {
		t.Fatal("want an error for bad json")
	}
}

func TestParseMeshperf(t *testing.T) {
	out := `note: warming up
{"schema":"meshperf.result/v1","achieved":{"duration":"10s","requests":1000,"responses":990,"rps":99.0,"errors":13,"dropped":3},
 "status_codes":{"200":985,"500":5},"timeline":[],
 "latency":{"count":990,"percentiles":[{"p":50,"ms":0.61},{"p":99,"ms":2.5}]},
 "service_time":{"count":990,"percentiles":[{"p":99,"ms":1.9},{"p":50,"ms":0.12}]}}
`
	r, err := parseMeshperf([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 990 || r.RPS != 99 || r.Non2xx != 5 || r.Errors != 8 || r.Duration != 10 {
		t.Fatalf("got %+v", r)
	}
	if r.LatencyP50Ms != 0.61 || r.ServiceP50Ms != 0.12 {
		t.Fatalf("p50s: got %+v", r)
	}
	// A closed-loop result has no corrected latency.
	r, err = parseMeshperf([]byte(`{"achieved":{"responses":5},"service_time":{"percentiles":[{"p":50,"ms":0.2}]}}`))
	if err != nil || r.LatencyP50Ms != 0 || r.ServiceP50Ms != 0.2 {
		t.Fatalf("closed loop: got %+v, %v", r, err)
	}
	if _, err := parseMeshperf([]byte(`{"schema":"x"}`)); err == nil {
		t.Fatal("want an error without achieved")
	}
	if _, err := parseMeshperf([]byte("Error: unknown command \"run\"\n")); err == nil {
		t.Fatal("want an error without json")
	}
}

func TestJSONDuration(t *testing.T) {
	for in, want := range map[string]float64{`"1m30s"`: 90, `2.5`: 2.5, `3000000000`: 3, `null`: 0, `"x"`: 0} {
		if got := jsonDurationSeconds([]byte(in)); got != want {
			t.Errorf("%s: got %v want %v", in, got, want)
		}
	}
}

func TestMedian(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Fatal(m)
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Fatal(m)
	}
	if !math.IsNaN(median(nil)) {
		t.Fatal("want NaN")
	}
}

func TestProcParsers(t *testing.T) {
	stat := "5125 (nginx: worker) S 5123 5123 5123 0 -1 4194624 300 0 0 0 177 1013 0 0 20 0 1 0 100 0 0"
	if c, err := procStatCPU(stat); err != nil || c != 1190 {
		t.Fatalf("cpu %d %v", c, err)
	}
	if p, err := procStatPPID(stat); err != nil || p != 5123 {
		t.Fatalf("ppid %d %v", p, err)
	}
	if c, err := procStatTotal(stat); err != nil || c != 1190 {
		t.Fatalf("total %d %v", c, err)
	}
	if c, err := procStatTotal("7 (go (build)) S 1 7 7 0 -1 0 0 0 0 0 10 5 300 40 20"); err != nil || c != 355 {
		t.Fatalf("total %d %v", c, err)
	}
	a := map[int]int64{1: 100, 2: 50, 3: 10}
	b := map[int]int64{1: 130, 2: 50, 4: 7, 5: 1000}
	if d := cpuDelta(a, b, func(pid int) bool { return pid == 5 }); d != 37 {
		t.Fatalf("delta %d", d)
	}
	if v, ok := vmRSSKiB("Name:\tx\nVmHWM:\t  9 kB\nVmRSS:\t  27712 kB\n"); !ok || v != 27712 {
		t.Fatal(v, ok)
	}
}
