package wrk2

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Markers around the block report.lua prints.
const (
	beginMarker = "MESHPERF-BEGIN"
	endMarker   = "MESHPERF-END"
)

// Parsed is what one run of wrk or wrk2 printed. Latencies are in
// microseconds.
type Parsed struct {
	// FromScript tells whether the figures come from report.lua's block
	// (true) or from wrk's own text (false).
	FromScript bool
	Requests   int64 // completed requests (responses, any status)
	Duration   time.Duration
	Bytes      int64 // received; from the text, to wrk's 3 digits
	// RPS is Requests/Duration from the script, or wrk's Requests/sec.
	RPS    float64
	Errors SocketErrors
	// Latency summary, microseconds.
	MinUS, MaxUS, MeanUS, StdevUS float64
	// Percentiles are sorted by P (0..100).
	Percentiles []Point
	// Spectrum is wrk2's "Detailed Percentile spectrum", with the exact
	// count at or below each value; empty for wrk.
	Spectrum []Point
}

// Point is one percentile of the latency distribution.
type Point struct {
	P     float64 // 0..100
	US    float64
	Count int64 // values at or below US (spectrum only)
}

// SocketErrors are wrk's error counts. Status counts responses with a
// status above 399.
type SocketErrors struct {
	Connect, Read, Write, Timeout, Status int64
}

// ErrNoOutput is returned by Parse for empty output.
var ErrNoOutput = errors.New("no output")

// Parse reads the standard output of wrk or wrk2 (name is used in errors)
// run with report.lua and --latency. The script's block is preferred; when
// it is missing or incomplete, wrk's own text is read instead.
func Parse(out []byte, name string) (*Parsed, error) {
	if len(bytes.TrimSpace(out)) == 0 {
		return nil, fmt.Errorf("%s output: %w", name, ErrNoOutput)
	}
	text, block, blockErr := splitBlock(out)
	var p *Parsed
	if blockErr == nil {
		var err error
		if p, err = parseBlock(block); err != nil {
			blockErr = err
		}
	}
	t, textErr := parseText(text)
	switch {
	case p != nil:
		if t != nil {
			p.Spectrum = t.Spectrum
		} else {
			p.Spectrum = parseSpectrumOnly(text)
		}
		return p, nil
	case textErr == nil:
		return t, nil
	}
	return nil, fmt.Errorf("%s output: %v; and wrk's own summary: %v", name, blockErr, textErr)
}

// splitBlock separates the script's block from the rest.
func splitBlock(out []byte) (text, block []byte, err error) {
	i := bytes.Index(out, []byte(beginMarker+"\n"))
	if i < 0 {
		return out, nil, fmt.Errorf("no %s line (the script's done() did not run)", beginMarker)
	}
	rest := out[i+len(beginMarker)+1:]
	j := bytes.Index(rest, []byte(endMarker))
	if j < 0 {
		return out[:i], nil, fmt.Errorf("%s without %s: the output is truncated", beginMarker, endMarker)
	}
	return append(out[:i:i], rest[j+len(endMarker):]...), rest[:j], nil
}

func parseBlock(b []byte) (*Parsed, error) {
	p := &Parsed{FromScript: true}
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		key := f[0]
		if key == "p" {
			if len(f) != 3 {
				return nil, fmt.Errorf("block line %d: want \"p PERCENTILE MICROS\", got %q", n, sc.Text())
			}
			pp, err1 := strconv.ParseFloat(f[1], 64)
			us, err2 := strconv.ParseFloat(f[2], 64)
			if err := errors.Join(err1, err2); err != nil || !finite(pp, us) || pp < 0 || pp > 100 || us < 0 {
				return nil, fmt.Errorf("block line %d: bad percentile %q", n, sc.Text())
			}
			p.Percentiles = append(p.Percentiles, Point{P: pp, US: us})
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("block line %d: want \"KEY VALUE\", got %q", n, sc.Text())
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil || !finite(v) || v < 0 {
			return nil, fmt.Errorf("block line %d: %s: bad number %q", n, key, f[1])
		}
		i := int64(min(v, math.MaxInt64/2))
		switch key {
		case "requests":
			p.Requests = i
		case "duration_us":
			p.Duration = time.Duration(min(v, float64(math.MaxInt64/2)/1e3)) * time.Microsecond
		case "bytes":
			p.Bytes = i
		case "errors_connect":
			p.Errors.Connect = i
		case "errors_read":
			p.Errors.Read = i
		case "errors_write":
			p.Errors.Write = i
		case "errors_status":
			p.Errors.Status = i
		case "errors_timeout":
			p.Errors.Timeout = i
		case "latency_min_us":
			p.MinUS = v
		case "latency_max_us":
			p.MaxUS = v
		case "latency_mean_us":
			p.MeanUS = v
		case "latency_stdev_us":
			p.StdevUS = v
		default:
			continue // unknown keys: a newer script
		}
		seen[key] = true
	}
	var missing []string
	for _, k := range []string{"requests", "duration_us"} {
		if !seen[k] {
			missing = append(missing, k)
		}
	}
	if len(p.Percentiles) == 0 {
		missing = append(missing, "percentiles (p lines)")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the %s block lacks %s", beginMarker, strings.Join(missing, ", "))
	}
	if p.Duration <= 0 {
		return nil, fmt.Errorf("the %s block has a zero duration", beginMarker)
	}
	p.RPS = float64(p.Requests) / p.Duration.Seconds()
	sortPoints(p.Percentiles)
	return p, nil
}

// parseText reads wrk's own report (with --latency).
func parseText(b []byte) (*Parsed, error) {
	p := &Parsed{}
	var haveReq, haveRPS bool
	sc := bufio.NewScanner(bytes.NewReader(b))
	inSpectrum := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case strings.HasPrefix(line, "Detailed Percentile spectrum"):
			inSpectrum = true
		case strings.HasPrefix(line, "#[") || strings.HasPrefix(line, "----"):
			inSpectrum = false
		case inSpectrum && len(f) == 4:
			if pt, ok := spectrumPoint(f); ok {
				p.Spectrum = append(p.Spectrum, pt)
			}
		case len(f) == 5 && f[0] == "Latency":
			avg, ok1 := parseDur(f[1])
			sd, ok2 := parseDur(f[2])
			mx, ok3 := parseDur(f[3])
			if ok1 && ok2 && ok3 {
				p.MeanUS, p.StdevUS, p.MaxUS = avg, sd, mx
			}
		case len(f) == 2 && strings.HasSuffix(f[0], "%"):
			pp, err := strconv.ParseFloat(strings.TrimSuffix(f[0], "%"), 64)
			us, ok := parseDur(f[1])
			if err == nil && ok && finite(pp) && pp >= 0 && pp <= 100 {
				p.Percentiles = append(p.Percentiles, Point{P: pp, US: us})
			}
		case len(f) >= 5 && f[1] == "requests" && f[2] == "in":
			n, err := strconv.ParseInt(f[0], 10, 64)
			d, ok := parseDur(strings.TrimSuffix(f[3], ","))
			if err != nil || !ok || n < 0 {
				return nil, fmt.Errorf("bad summary line %q", line)
			}
			p.Requests, p.Duration, haveReq = n, time.Duration(d*1e3), true
			if bs, ok := parseBytes(f[4]); ok {
				p.Bytes = bs
			}
		case len(f) == 2 && f[0] == "Requests/sec:":
			v, err := strconv.ParseFloat(f[1], 64)
			if err == nil && finite(v) && v >= 0 {
				p.RPS, haveRPS = v, true
			}
		case strings.HasPrefix(line, "Socket errors:"):
			// Socket errors: connect 0, read 0, write 0, timeout 0
			for i := 2; i+1 < len(f); i += 2 {
				n, err := strconv.ParseInt(strings.TrimSuffix(f[i+1], ","), 10, 64)
				if err != nil || n < 0 {
					continue
				}
				switch f[i] {
				case "connect":
					p.Errors.Connect = n
				case "read":
					p.Errors.Read = n
				case "write":
					p.Errors.Write = n
				case "timeout":
					p.Errors.Timeout = n
				}
			}
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:") && len(f) == 5:
			if n, err := strconv.ParseInt(f[4], 10, 64); err == nil && n >= 0 {
				p.Errors.Status = n
			}
		}
	}
	var missing []string
	if !haveReq {
		missing = append(missing, `the "N requests in T" line`)
	}
	if !haveRPS {
		missing = append(missing, `the "Requests/sec:" line`)
	}
	if len(p.Percentiles) == 0 && len(p.Spectrum) == 0 {
		missing = append(missing, "the latency distribution (run with --latency)")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	sortPoints(p.Percentiles)
	if len(p.Spectrum) > 0 {
		p.MinUS = p.Spectrum[0].US
	} else if len(p.Percentiles) > 0 && p.Percentiles[0].P == 0 {
		p.MinUS = p.Percentiles[0].US
	}
	return p, nil
}

// parseSpectrumOnly returns the detailed spectrum of text, if any.
func parseSpectrumOnly(b []byte) []Point {
	var pts []Point
	in := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "Detailed Percentile spectrum"):
			in = true
		case strings.HasPrefix(line, "#[") || strings.HasPrefix(line, "----"):
			in = false
		case in && len(f) == 4:
			if pt, ok := spectrumPoint(f); ok {
				pts = append(pts, pt)
			}
		}
	}
	return pts
}

// spectrumPoint reads "Value(ms) Percentile(0..1) TotalCount 1/(1-P)".
func spectrumPoint(f []string) (Point, bool) {
	ms, err1 := strconv.ParseFloat(f[0], 64)
	q, err2 := strconv.ParseFloat(f[1], 64)
	n, err3 := strconv.ParseInt(f[2], 10, 64)
	if errors.Join(err1, err2, err3) != nil || !finite(ms, q) || ms < 0 || q < 0 || q > 1 || n < 0 {
		return Point{}, false
	}
	return Point{P: q * 100, US: ms * 1e3, Count: n}, true
}

// parseDur reads wrk's durations ("32.00us", "2.67ms", "3.10s", "1.00m",
// "1.00h") into microseconds.
func parseDur(s string) (float64, bool) {
	for _, u := range []struct {
		suffix string
		us     float64
	}{{"us", 1}, {"ms", 1e3}, {"s", 1e6}, {"m", 60e6}, {"h", 3600e6}} {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil || !finite(v) || v < 0 {
				return 0, false
			}
			return v * u.us, true
		}
	}
	return 0, false
}

// parseBytes reads wrk's binary sizes ("54.36MB", "311.86KB", "120B").
func parseBytes(s string) (int64, bool) {
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"TB", 1 << 40}, {"B", 1}} {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil || !finite(v) || v < 0 || v > 1<<50 {
				return 0, false
			}
			return int64(v * u.mult), true
		}
	}
	return 0, false
}

func sortPoints(ps []Point) {
	slices.SortStableFunc(ps, func(a, b Point) int {
		switch {
		case a.P < b.P:
			return -1
		case a.P > b.P:
			return 1
		}
		return 0
	})
}

func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}
