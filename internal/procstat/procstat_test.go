package procstat

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshperf/meshperf/spec"
)

func TestParseStatm(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     int64
	}{
		{"pages", "5839 1234 700 512 0 2100 0\n", 1234 * 4096},
		{"two fields", "10 7", 7 * 4096},
		{"one field", "5839", 0},
		{"garbage", "5839 lots 700\n", 0},
		{"empty value", "5839  700\n", 0},
		{"empty", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseStatm([]byte(tc.in), 4096); got != tc.want {
				t.Errorf("parseStatm = %d, want %d", got, tc.want)
			}
		})
	}
}

// Sampling makes no garbage: a long run's heap does not grow from it.
func TestSampleAllocatesNothing(t *testing.T) {
	s := Start(time.Hour)
	defer s.Stop()
	if n := testing.AllocsPerRun(100, s.sample); n != 0 {
		t.Errorf("sample allocates %v times", n)
	}
	if s.rss.read() <= 0 {
		t.Error("no resident size read from /proc/self/statm")
	}
}

func TestSaturated(t *testing.T) {
	for _, tc := range []struct {
		name     string
		p        *spec.ProcessStats
		maxProcs int
		want     bool
	}{
		{"idle", &spec.ProcessStats{CPUCores: 0.2, LateRatio: 0.001}, 2, false},
		{"late sends", &spec.ProcessStats{CPUCores: 0.2, LateRatio: 0.06}, 2, true},
		{"late at the limit", &spec.ProcessStats{LateRatio: LateRatioLimit}, 2, false},
		{"cpu bound", &spec.ProcessStats{CPUCores: 1.85}, 2, true},
		{"one busy core of two", &spec.ProcessStats{CPUCores: 1.0}, 2, false},
		{"nil", nil, 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Saturated(tc.p, tc.maxProcs); got != tc.want {
				t.Errorf("Saturated = %v, want %v", got, tc.want)
			}
		})
	}
}

// procCPU reads utime+stime of this process from /proc/self/stat, a source
// independent of the getrusage the Sampler uses.
func procCPU(t *testing.T) time.Duration {
	t.Helper()
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	// Fields after the name: state is f[0]; utime and stime are fields 14
	// and 15 of the line, f[11] and f[12] here, in clock ticks (100/s).
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}

func TestSamplerMeasuresTheProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("procstat measures Linux processes only")
	}
	s := Start(20 * time.Millisecond)

	// Burn 300 ms of CPU as /proc/self/stat counts it, bounded.
	before := procCPU(t)
	deadline := time.Now().Add(20 * time.Second)
	x := 0
	for procCPU(t)-before < 300*time.Millisecond && time.Now().Before(deadline) {
		for i := range 1_000_000 {
			x += i
		}
	}
	_ = x
	// Hold 64 MiB of touched memory and 200 parked goroutines while
	// sampled.
	mem := make([]byte, 64<<20)
	for i := 0; i < len(mem); i += 4096 {
		mem[i] = 1
	}
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 200 {
		wg.Add(1)
		go func() { defer wg.Done(); <-release }()
	}
	time.Sleep(100 * time.Millisecond)
	st := s.Stop()
	close(release)
	wg.Wait()
	runtime.KeepAlive(mem)

	if st.CPU < 250*time.Millisecond {
		t.Errorf("CPU = %s, want at least 250ms (300ms were burnt)", st.CPU)
	}
	if st.MaxRSSBytes < 64<<20 {
		t.Errorf("MaxRSSBytes = %d, want at least 64 MiB (held while sampled)", st.MaxRSSBytes)
	}
	if st.MaxGoroutines < 200 {
		t.Errorf("MaxGoroutines = %d, want at least 200", st.MaxGoroutines)
	}
	p := st.Process(0)
	if p.CPUSeconds != st.CPU.Seconds() || p.CPUCores <= 0 {
		t.Errorf("Process = %+v from %+v", p, st)
	}
	if again := s.Stop(); again != st {
		t.Errorf("a second Stop = %+v, want the same %+v", again, st)
	}
}
