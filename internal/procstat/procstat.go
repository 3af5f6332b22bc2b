// Package procstat samples the load generator's own process while a run
// goes on: CPU time, resident memory and goroutines. A result carries these
// figures so that a client that could not keep up is not mistaken for a slow
// service.
package procstat

import (
	"runtime"
	"sync"
	"time"

	"github.com/meshperf/meshperf/spec"
)

// DefaultInterval is how often a Sampler reads the process's figures.
const DefaultInterval = 500 * time.Millisecond

// Saturation thresholds (see Saturated).
const (
	// LateRatioLimit is the share of requests sent late above which the
	// client counts as saturated.
	LateRatioLimit = 0.05
	// CPULimit is the share of the CPUs Go may use (GOMAXPROCS) above
	// which the client counts as saturated.
	CPULimit = 0.9
)

// Stats are what a Sampler measured between Start and Stop.
type Stats struct {
	// Wall is the time from Start to Stop.
	Wall time.Duration
	// CPU is the user+system CPU time the process (and the child processes
	// it waited for in that time, such as an external load generator)
	// spent.
	CPU time.Duration
	// MaxRSSBytes is the largest resident set size sampled.
	MaxRSSBytes int64
	// MaxGoroutines is the largest number of goroutines sampled.
	MaxGoroutines int
	// MaxProcs is GOMAXPROCS at Start.
	MaxProcs int
}

// Sampler reads the process's figures at Start, every interval, and at Stop.
type Sampler struct {
	start    time.Time
	cpu0     time.Duration
	maxProcs int
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once

	rss *rssReader // used by the sampling goroutine, then by Stop

	mu     sync.Mutex
	maxRSS int64
	maxGor int
	stats  Stats
}

// Start starts a Sampler reading every interval (DefaultInterval when
// zero or less). Stop must be called to end it.
func Start(interval time.Duration) *Sampler {
	if interval <= 0 {
		interval = DefaultInterval
	}
	s := &Sampler{start: time.Now(), cpu0: cpuTime(), maxProcs: runtime.GOMAXPROCS(0),
		stop: make(chan struct{}), done: make(chan struct{}), rss: openRSS()}
	s.sample()
	go s.loop(interval)
	return s
}

func (s *Sampler) loop(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.sample()
		}
	}
}

func (s *Sampler) sample() {
	rss := s.rss.read()
	g := runtime.NumGoroutine()
	s.mu.Lock()
	s.maxRSS = max(s.maxRSS, rss)
	s.maxGor = max(s.maxGor, g)
	s.mu.Unlock()
}

// Stop ends sampling and returns what was measured; later calls return the
// same figures.
func (s *Sampler) Stop() Stats {
	s.once.Do(func() {
		close(s.stop)
		<-s.done
		s.sample()
		s.rss.close()
		s.mu.Lock()
		s.stats = Stats{
			Wall:          time.Since(s.start),
			CPU:           max(0, cpuTime()-s.cpu0),
			MaxRSSBytes:   s.maxRSS,
			MaxGoroutines: s.maxGor,
			MaxProcs:      s.maxProcs,
		}
		s.mu.Unlock()
	})
	return s.stats
}

// Process turns st into a result's ProcessStats; lateRatio is the run's
// Achieved.LateRatio.
func (st Stats) Process(lateRatio float64) *spec.ProcessStats {
	p := &spec.ProcessStats{
		CPUSeconds:    st.CPU.Seconds(),
		MaxRSSBytes:   st.MaxRSSBytes,
		MaxGoroutines: st.MaxGoroutines,
		LateRatio:     lateRatio,
	}
	if st.Wall > 0 {
		p.CPUCores = st.CPU.Seconds() / st.Wall.Seconds()
	}
	p.Saturated = Saturated(p, st.MaxProcs)
	return p
}

// Saturated is the rule that marks a client as saturated: more than
// LateRatioLimit of its requests were sent late, or it used at least
// CPULimit of the maxProcs CPUs Go may run on.
func Saturated(p *spec.ProcessStats, maxProcs int) bool {
	if p == nil {
		return false
	}
	if p.LateRatio > LateRatioLimit {
		return true
	}
	return maxProcs > 0 && p.CPUCores >= CPULimit*float64(maxProcs)
}
