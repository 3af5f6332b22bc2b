// Package wrk2 runs plans on wrk (closed loop) and wrk2 (fixed rate,
// corrected for coordinated omission) behind loadgen.Generator.
//
// Each run passes an embedded Lua script (report.lua) whose done() prints a
// machine-readable block between MESHPERF-BEGIN and MESHPERF-END: the
// summary counts and about 140 percentiles of the latency distribution.
// When the block is missing, wrk's own --latency text is read instead.
//
// wrk keeps no histogram a caller can read, so the result's histogram is
// rebuilt from the percentiles: between two neighbouring percentiles the
// values in that step are all recorded at the upper one. Read at the
// printed percentiles it gives back wrk's values; between them it rounds
// up to the next printed one.
package wrk2

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meshperf/meshperf/loadgen"
)

//go:embed report.lua
var reportLua []byte

// Names of the generators this package runs.
const (
	NameWrk  = "wrk"
	NameWrk2 = "wrk2"
)

// DefaultMargin is how long past the plan's duration a run may take before
// it is stopped, when Generator.Timeout is zero.
const DefaultMargin = 30 * time.Second

// Generator runs wrk or wrk2.
type Generator struct {
	// Name is "wrk" (closed loop) or "wrk2" (fixed rate, -R).
	Name string
	// Path is the binary; default Name looked up on PATH.
	Path string
	// Timeout is how long past the plan's duration the process may run
	// before it is interrupted; DefaultMargin when zero.
	Timeout time.Duration

	once    sync.Once
	version string
}

var (
	_ loadgen.Generator = (*Generator)(nil)
	_ loadgen.Describer = (*Generator)(nil)
)

func (g *Generator) name() string {
	if g.Name == "" {
		return NameWrk
	}
	return g.Name
}

func (g *Generator) isWrk2() bool { return g.name() == NameWrk2 }

// Info implements loadgen.Generator. The version is the first line of
// `wrk -v`, or "unknown" when the binary cannot be run.
func (g *Generator) Info() loadgen.Info {
	g.once.Do(func() {
		g.version = "unknown"
		path, err := g.binary()
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		out, _ := exec.CommandContext(ctx, path, "-v").CombinedOutput() // wrk -v exits 1
		if v := versionToken(string(out)); v != "" {
			g.version = v
		}
	})
	return loadgen.Info{Name: g.name(), Version: g.version}
}

// versionToken reads the version from `wrk -v`'s first line, "wrk 4.2.0
// [epoll] Copyright (C) 2012 Will Glozer" (or Debian's "wrk
// debian/4.1.0-3+b2 [epoll] ..."): the word after the name, not the banner.
func versionToken(out string) string {
	line, _, _ := strings.Cut(out, "\n")
	f := strings.Fields(line)
	if len(f) >= 2 && strings.HasPrefix(f[0], "wrk") && strings.ContainsAny(f[1], "0123456789") {
		return f[1]
	}
	return ""
}

// Capabilities implements loadgen.Describer.
func (g *Generator) Capabilities() loadgen.Capabilities {
	c := loadgen.Capabilities{
		Protocols:    []string{loadgen.ProtocolHTTP},
		HTTPVersions: []string{loadgen.HTTP1},
		ClosedLoop:   true,
		Headers:      true, // -H
		Body:         true, // wrk.body, set by report.lua
		// Cookies: only as a Cookie header, which the plan must say.
		SkipVerify: true, // wrk never verifies certificates
		Fidelity:   loadgen.FidelityBucketed,
	}
	if g.isWrk2() {
		c.ClosedLoop = false // -R is required
		c.OpenLoop = true
		c.Shapes = []string{"constant"}
		c.CorrectsCoordinatedOmission = true
	}
	return c
}

// ErrNotFound is returned when the binary cannot be found.
var ErrNotFound = errors.New("not found on PATH")

func (g *Generator) binary() (string, error) {
	if g.Path != "" {
		if _, err := os.Stat(g.Path); err != nil {
			return "", fmt.Errorf("%s: %w", g.name(), err)
		}
		return g.Path, nil
	}
	names := []string{g.name()}
	if g.isWrk2() {
		names = []string{"wrk2"}
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	if g.isWrk2() {
		return "", fmt.Errorf("wrk2 %w: build it from github.com/giltene/wrk2 (or set Path)", ErrNotFound)
	}
	return "", fmt.Errorf("wrk %w: install it with apt-get install wrk (or set Path)", ErrNotFound)
}

// ErrNotWrk2 is returned when the binary given for wrk2 has no fixed rate.
var ErrNotWrk2 = errors.New("not wrk2")

// checkRate makes sure the binary at path takes -R/--rate: wrk and wrk2 both
// call themselves "wrk 4.x", so the usage text is what tells them apart. A
// plain wrk given as wrk2 would otherwise fail with a bare usage message, or
// worse, run a closed-loop test in place of a fixed-rate one.
func checkRate(ctx context.Context, path, version string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, path).CombinedOutput() // usage, exit 1
	if strings.Contains(string(out), "--rate") {
		return nil
	}
	return fmt.Errorf("wrk2: %s (%s) is %w: its usage lists no -R/--rate, so it cannot run at a fixed rate; build wrk2 from github.com/giltene/wrk2, or run the profile closed loop with the wrk generator", path, version, ErrNotWrk2)
}

// ceilSeconds rounds d up to whole seconds, at least one.
func ceilSeconds(d time.Duration) int64 {
	return max(1, int64((d+time.Second-1)/time.Second))
}

// args maps a normalized plan to the command line; script is the path of
// report.lua.
func (g *Generator) args(p *loadgen.Plan, script string) ([]string, error) {
	if len(p.Targets) != 1 {
		return nil, fmt.Errorf("%s: exactly one target is needed, got %d", g.name(), len(p.Targets))
	}
	if p.Duration <= 0 {
		return nil, fmt.Errorf("%s: a duration is needed (it cannot stop after a request count)", g.name())
	}
	threads := p.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	threads = max(1, min(threads, p.Connections))
	a := []string{
		"-t", strconv.Itoa(threads),
		"-c", strconv.Itoa(p.Connections),
		"-d", strconv.FormatInt(ceilSeconds(p.Duration), 10) + "s",
		"--timeout", strconv.FormatInt(ceilSeconds(p.Timeout), 10) + "s",
		"--latency",
	}
	if g.isWrk2() {
		if p.Rate == nil {
			return nil, fmt.Errorf("wrk2: a fixed rate is needed (rps > 0)")
		}
		a = append(a, "-R", strconv.FormatInt(max(1, int64(math.Round(p.Rate.RateAt(0)))), 10))
	}
	if script != "" {
		a = append(a, "-s", script)
	}
	for _, h := range p.Headers {
		a = append(a, "-H", h.Name+": "+h.Value)
	}
	if p.ContentType != "" {
		a = append(a, "-H", "Content-Type: "+p.ContentType)
	}
	return append(a, p.Targets[0]), nil
}
