package wrk2

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func pointAt(ps []Point, p float64) (float64, bool) {
	for _, x := range ps {
		if x.P == p {
			return x.US, true
		}
	}
	return 0, false
}

func TestParseFixtures(t *testing.T) {
	tests := []struct {
		file, name    string
		requests      int64
		rps           float64
		duration      time.Duration
		p50, p99      float64 // µs
		spectrum      int
		lastCount     int64
		connectErrors int64
	}{
		{"wrk-latency.txt", "wrk", 356259, 115026.56, 3100 * time.Millisecond, 32, 2670, 0, 0, 0},
		{"wrk2-latency-2000rps.txt", "wrk2", 5989, 1995.88, 3 * time.Second, 786, 1490, 66, 5987, 0},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := Parse(readFixture(t, tt.file), tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if got.FromScript {
				t.Error("FromScript = true for wrk's own text")
			}
			if got.Requests != tt.requests || got.RPS != tt.rps || got.Duration != tt.duration {
				t.Errorf("requests, rps, duration = %d, %v, %v; want %d, %v, %v", got.Requests, got.RPS, got.Duration, tt.requests, tt.rps, tt.duration)
			}
			for _, c := range []struct{ p, want float64 }{{50, tt.p50}, {99, tt.p99}} {
				if v, ok := pointAt(got.Percentiles, c.p); !ok || v != c.want {
					t.Errorf("p%v = %v (present %v), want %v µs", c.p, v, ok, c.want)
				}
			}
			if len(got.Spectrum) != tt.spectrum {
				t.Errorf("spectrum has %d points, want %d", len(got.Spectrum), tt.spectrum)
			} else if n := len(got.Spectrum); n > 0 && got.Spectrum[n-1].Count != tt.lastCount {
				t.Errorf("last spectrum count = %d, want %d", got.Spectrum[n-1].Count, tt.lastCount)
			}
		})
	}
}

const block = `MESHPERF-BEGIN
requests 1000
duration_us 2000000
bytes 123456
errors_connect 1
errors_read 2
errors_write 3
errors_status 4
errors_timeout 5
latency_min_us 100.000
latency_max_us 900.000
latency_mean_us 300.000
latency_stdev_us 50.000
p 0.0000 100.000
p 50.0000 250.000
p 99.0000 800.000
p 100.0000 900.000
MESHPERF-END
`

func TestParseBlock(t *testing.T) {
	// The block follows wrk's own text, which is ignored when it is there.
	out := string(readFixture(t, "wrk-latency.txt")) + block
	got, err := Parse([]byte(out), "wrk")
	if err != nil {
		t.Fatal(err)
	}
	want := SocketErrors{Connect: 1, Read: 2, Write: 3, Status: 4, Timeout: 5}
	if !got.FromScript || got.Requests != 1000 || got.Duration != 2*time.Second || got.RPS != 500 || got.Errors != want || got.Bytes != 123456 {
		t.Errorf("got %+v", got)
	}
	if v, _ := pointAt(got.Percentiles, 50); v != 250 {
		t.Errorf("p50 = %v, want 250", v)
	}
}

func TestParseErrors(t *testing.T) {
	fixture := string(readFixture(t, "wrk-latency.txt"))
	tests := []struct {
		name, out string
		want      []string // substrings of the error
	}{
		{"empty", "", []string{"no output"}},
		{"garbage", "hello\nworld\n", []string{"no MESHPERF-BEGIN", `"N requests in T"`, "Requests/sec", "latency distribution"}},
		{"truncated block", "MESHPERF-BEGIN\nrequests 10\n", []string{"without MESHPERF-END", "truncated"}},
		{"block without percentiles", "MESHPERF-BEGIN\nrequests 10\nduration_us 100\nMESHPERF-END\n", []string{"lacks percentiles"}},
		{"block bad number", "MESHPERF-BEGIN\nrequests ten\nMESHPERF-END\n", []string{"requests: bad number"}},
		{"text cut before the summary", fixture[:strings.Index(fixture, "  356259")], []string{`"N requests in T"`, "Requests/sec"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.out), "wrk")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	if _, err := Parse(nil, "wrk"); !errors.Is(err, ErrNoOutput) {
		t.Errorf("Parse(nil) = %v, want ErrNoOutput", err)
	}
}

func TestDistributionFromBlock(t *testing.T) {
	p, err := Parse([]byte(block), "wrk")
	if err != nil {
		t.Fatal(err)
	}
	d, fid := distribution(p)
	if fid != "bucketed" || d.Count != 1000 {
		t.Fatalf("fidelity %q, count %d; want bucketed, 1000", fid, d.Count)
	}
	if v, _ := d.At(50); v != 0.25 {
		t.Errorf("p50 = %v ms, want 0.25", v)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(readFixture(f, "wrk-latency.txt"))
	f.Add(readFixture(f, "wrk2-latency-2000rps.txt"))
	f.Add([]byte(block))
	f.Add([]byte("MESHPERF-BEGIN\np 50 1e400\nMESHPERF-END\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b, "wrk")
		if err != nil {
			return
		}
		d, _ := distribution(p)
		if d.Count < 0 {
			t.Fatalf("negative count %d", d.Count)
		}
	})
}

func TestVersionToken(t *testing.T) {
	for _, c := range []struct{ out, want string }{
		{"wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer\nUsage: wrk <options> <url>\n", "debian/4.1.0-3+b2"},
		{"wrk 4.0.0 [epoll] Copyright (C) 2012 Will Glozer\n", "4.0.0"},
		{"wrk [epoll] Copyright\n", ""},
		{"", ""},
	} {
		if got := versionToken(c.out); got != c.want {
			t.Errorf("versionToken(%q) = %q, want %q", c.out, got, c.want)
		}
	}
}

// TestMaxNotZero: wrk's Lua percentile(100) prints 0; the max is wrk's own
// latency.max and the list never decreases.
func TestMaxNotZero(t *testing.T) {
	out := "MESHPERF-BEGIN\nrequests 100\nduration_us 1000000\nlatency_min_us 500\nlatency_max_us 5000\nlatency_mean_us 1200\n" +
		"p 0 500\np 50 1000\np 90 2000\np 99 3000\np 99.9 4000\np 100 0.000\nMESHPERF-END\n"
	x, err := Parse([]byte(out), "wrk")
	if err != nil {
		t.Fatal(err)
	}
	d, _ := distribution(x)
	if got, ok := d.Value(100); !ok || got != 5 {
		t.Errorf("max %v (%v), want 5 ms", got, ok)
	}
	prev := 0.0
	for _, p := range d.Summary() {
		if p.Ms < prev {
			t.Errorf("p%v = %v below %v", p.P, p.Ms, prev)
		}
		prev = p.Ms
	}
	for p, want := range map[float64]float64{50: 1, 90: 2, 99: 3, 99.9: 4} {
		if got, _ := d.Value(p); got != want {
			t.Errorf("p%v = %v, want wrk's %v", p, got, want)
		}
	}
}
