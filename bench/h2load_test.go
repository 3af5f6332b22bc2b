package bench

import "testing"

func TestParseH2load(t *testing.T) {
	out := `starting benchmark...
spawning thread #0: 50 total client(s). Timing-based test with 0s of warm-up time and 5s of main duration for measurements.
Warm-up started for thread #0.
Main benchmark duration is started for thread #0.
finished in 5.02s, 13378.40 req/s, 941.15KB/s
requests: 66892 total, 66942 started, 66892 done, 66890 succeeded, 2 failed, 1 errored, 1 timeout
status codes: 66890 2xx, 0 3xx, 2 4xx, 0 5xx
traffic: 4.61MB (4833350) total, 196.17KB (200876) headers (space savings 95.80%), 391.95KB (401352) data
`
	r, err := parseH2load(out)
	if err != nil {
		t.Fatal(err)
	}
	want := toolResult{RPS: 13378.40, Requests: 66892, Errors: 2, Non2xx: 2, Duration: 5.02}
	if r != want {
		t.Errorf("got %+v, want %+v", r, want)
	}
	if _, err := parseH2load("finished in 1s, 0 req/s\n"); err == nil {
		t.Error("a report without its requests line parsed")
	}
}
