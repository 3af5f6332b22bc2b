// Package hist records latencies in HDR histograms and moves them around
// whole: merged by adding, encoded in the standard compressed HdrHistogram V2
// format (base64), so any HdrHistogram tool can read what meshperf wrote.
//
// Values are recorded in microseconds, from 1 µs to one hour, with three
// significant digits.
package hist

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

const (
	// Lowest is the smallest value told apart, in microseconds.
	Lowest = 1
	// Highest is the largest value recorded exactly, in microseconds (1 h).
	// Larger values are recorded as Highest and counted in Saturated.
	Highest = int64(time.Hour / time.Microsecond)
	// Digits is the number of significant decimal digits kept.
	Digits = 3
	// Unit names the unit of recorded values.
	Unit = "us"
)

// ErrEmpty is returned when decoding an empty encoding.
var ErrEmpty = errors.New("hist: empty encoding")

// Histogram is an HDR histogram of durations. It is not safe for concurrent use.
type Histogram struct {
	h         *hdr.Histogram
	saturated int64
}

// New returns an empty histogram with meshperf's range and precision.
func New() *Histogram {
	return &Histogram{h: hdr.New(Lowest, Highest, Digits)}
}

// Record adds one duration. Durations below 1 µs are recorded as 1 µs;
// durations above one hour as one hour (and counted in Saturated).
func (h *Histogram) Record(d time.Duration) {
	h.RecordMicros(int64(d / time.Microsecond))
}

// RecordMicros adds one value given in microseconds.
func (h *Histogram) RecordMicros(us int64) { h.RecordMicrosN(us, 1) }

// RecordMicrosN adds n copies of a value given in microseconds, at the cost
// of one: how histograms of other tools' buckets are rebuilt.
func (h *Histogram) RecordMicrosN(us, n int64) {
	if n <= 0 {
		return
	}
	if us < Lowest {
		us = Lowest
	}
	if us > Highest {
		us = Highest
		h.saturated += n
	}
	_ = h.h.RecordValues(us, n) // cannot fail: us is within range
}

// Merge adds every value of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil {
		return
	}
	h.h.Merge(o.h)
	h.saturated += o.saturated
}

// Reset empties the histogram, keeping its memory.
func (h *Histogram) Reset() {
	h.h.Reset()
	h.saturated = 0
}

// Clone returns an independent copy.
func (h *Histogram) Clone() *Histogram {
	return &Histogram{h: h.h.Clone(), saturated: h.saturated}
}

// Count is the number of recorded values; 0 for a nil histogram (an
// interval or snapshot that carried none).
func (h *Histogram) Count() int64 {
	if h == nil {
		return 0
	}
	return h.h.TotalCount()
}

// Saturated is the number of values above Highest that were clamped.
func (h *Histogram) Saturated() int64 { return h.saturated }

// Quantile returns the value at quantile q in [0, 1]; zero when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.Count() == 0 {
		return 0
	}
	return micros(h.h.ValueAtQuantile(q * 100))
}

// Min returns the smallest recorded value (zero when empty).
func (h *Histogram) Min() time.Duration {
	if h.Count() == 0 {
		return 0
	}
	return micros(h.h.Min())
}

// Max returns the largest recorded value, to the histogram's precision.
func (h *Histogram) Max() time.Duration {
	if h.Count() == 0 {
		return 0
	}
	return micros(h.h.Max())
}

// Mean returns the mean of recorded values.
func (h *Histogram) Mean() time.Duration {
	return time.Duration(h.h.Mean() * float64(time.Microsecond))
}

// StdDev returns the standard deviation of recorded values.
func (h *Histogram) StdDev() time.Duration {
	return time.Duration(h.h.StdDev() * float64(time.Microsecond))
}

// Bucket is one step of the recorded distribution: Count values lie in
// [From, To].
type Bucket struct {
	From, To time.Duration
	Count    int64
}

// Buckets lists the non-empty buckets in increasing order.
func (h *Histogram) Buckets() []Bucket {
	var out []Bucket
	for _, b := range h.h.Distribution() {
		if b.Count == 0 {
			continue
		}
		out = append(out, Bucket{From: micros(b.From), To: micros(b.To), Count: b.Count})
	}
	return out
}

// Encode returns the histogram in the standard compressed V2 encoding, base64.
func (h *Histogram) Encode() (string, error) {
	b, err := h.h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("hist: encode: %w", err)
	}
	return string(b), nil
}

// MustEncode is Encode for histograms made by this package, whose encoding
// cannot fail; it returns "" if it does.
func (h *Histogram) MustEncode() string {
	s, err := h.Encode()
	if err != nil {
		return ""
	}
	return s
}

// Decode reads a base64 compressed V2 histogram. Histograms written by other
// tools with a different range or precision are re-recorded into meshperf's
// layout, so they merge with ours.
func Decode(s string) (*Histogram, error) {
	if s == "" {
		return nil, ErrEmpty
	}
	d, err := decodeSafe([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("hist: decode: %w", err)
	}
	h := New()
	if d.LowestTrackableValue() == Lowest && d.HighestTrackableValue() == Highest && d.SignificantFigures() == Digits {
		h.h = d
		return h, nil
	}
	for _, b := range d.Distribution() {
		if b.Count > 0 {
			v := b.To
			if v > Highest {
				h.saturated += b.Count
				v = Highest
			}
			if v < Lowest {
				v = Lowest
			}
			_ = h.h.RecordValues(v, b.Count)
		}
	}
	return h, nil
}

// decodeSafe guards against decoder panics on hostile input.
func decodeSafe(b []byte) (h *hdr.Histogram, err error) {
	defer func() {
		if r := recover(); r != nil {
			h, err = nil, fmt.Errorf("malformed histogram: %v", r)
		}
	}()
	h, err = hdr.Decode(b)
	if err == nil && h == nil {
		err = errors.New("malformed histogram")
	}
	return h, err
}

func micros(us int64) time.Duration {
	if us > math.MaxInt64/int64(time.Microsecond) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(us) * time.Microsecond
}

// MaxEncoded bounds the length of an encoding DecodeStrict reads: a
// histogram of meshperf's layout with every one of its counts set encodes
// to well under this.
const MaxEncoded = 512 << 10

// v2Header is the size of the V2 header inside the compressed stream.
const v2Header = 40

// DecodeStrict reads a base64 compressed V2 histogram that must have
// meshperf's own layout (Lowest, Highest, Digits). Unlike Decode it
// re-records nothing: any other layout, an encoding longer than MaxEncoded
// or a header that does not add up is refused before the counts are
// allocated, so a hostile encoding costs at most its own size. It reads
// what agents send.
func DecodeStrict(s string) (*Histogram, error) {
	if s == "" {
		return nil, ErrEmpty
	}
	if len(s) > MaxEncoded {
		return nil, fmt.Errorf("hist: encoding of %d bytes is longer than the limit of %d", len(s), MaxEncoded)
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("hist: decode: %w", err)
	}
	if len(raw) < 8 {
		return nil, errors.New("hist: decode: encoding too short")
	}
	if cookie := int32(binary.BigEndian.Uint32(raw[0:4])) &^ 0xf0; cookie != hdr.V2CompressedEncodingCookieBase {
		return nil, fmt.Errorf("hist: decode: not a compressed V2 histogram (cookie %#x)", cookie)
	}
	n := int32(binary.BigEndian.Uint32(raw[4:8]))
	if n < 0 || int(n) > len(raw)-8 {
		return nil, fmt.Errorf("hist: decode: compressed length %d does not match the %d bytes given", n, len(raw)-8)
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw[8 : 8+n]))
	if err != nil {
		return nil, fmt.Errorf("hist: decode: %w", err)
	}
	var h [v2Header]byte
	_, err = io.ReadFull(zr, h[:])
	_ = zr.Close()
	if err != nil {
		return nil, fmt.Errorf("hist: decode: header: %w", err)
	}
	payload := int32(binary.BigEndian.Uint32(h[4:8]))
	digits := int32(binary.BigEndian.Uint32(h[12:16]))
	lowest := int64(binary.BigEndian.Uint64(h[16:24]))
	highest := int64(binary.BigEndian.Uint64(h[24:32]))
	if lowest != Lowest || highest != Highest || digits != Digits {
		return nil, fmt.Errorf("hist: layout %d..%d at %d digits is not meshperf's (%d..%d at %d digits)",
			lowest, highest, digits, Lowest, Highest, Digits)
	}
	if payload < 0 || payload > maxPayload {
		return nil, fmt.Errorf("hist: decode: payload of %d bytes (at most %d for meshperf's layout)", payload, maxPayload)
	}
	d, err := decodeSafe([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("hist: decode: %w", err)
	}
	return &Histogram{h: d}, nil
}

// maxPayload is the largest counts payload meshperf's layout can have:
// one varint of at most 9 bytes per count of its counts array (HdrHistogram's
// sizing: half-buckets of 2^ceil(log2(2·10^Digits))/2 counts, one more
// bucket than the doublings from that count to Highest).
var maxPayload = func() int32 {
	sub := int64(1)
	for sub < 2*int64(math.Pow10(Digits)) {
		sub <<= 1
	}
	buckets := int64(1)
	for v := sub * Lowest; v <= Highest; v <<= 1 {
		buckets++
	}
	return int32(9 * (buckets + 1) * (sub / 2))
}()

// Step is one point of a cumulative distribution: Count values (in all) are
// at or below Micros.
type Step struct {
	Micros float64
	Count  int64
}

// FromSteps rebuilds a histogram from another tool's cumulative figures
// (bucket ends, percentile ladders, reported percentiles), sorted by value
// with counts never decreasing. The values between two steps are spread
// evenly over (previous, this] at up to spread points, the last of them at
// the step's own value; the first step's values sit at its value (the
// minimum; a first step with no values only sets where the next begin). So
// the histogram passes through every step: its quantile at a
// step's count is the step's value, to the histogram's precision. Steps
// whose value or count goes backwards are skipped.
func FromSteps(steps []Step, spread int) *Histogram {
	h := New()
	spread = max(spread, 1)
	var prevN int64
	var prevV float64
	started := false
	for _, s := range steps {
		if s.Count < prevN || (started && s.Micros < prevV) || math.IsNaN(s.Micros) || s.Micros < 0 {
			continue
		}
		n := s.Count - prevN
		lo := prevV
		if !started {
			lo = s.Micros
		}
		k := min(n, int64(spread))
		if lo == s.Micros {
			k = min(k, 1)
		}
		for j := range k {
			m := n / k
			if j < n%k {
				m++
			}
			v := lo + (s.Micros-lo)*float64(j+1)/float64(k)
			h.RecordMicrosN(roundMicros(v), m)
		}
		prevN, prevV, started = s.Count, s.Micros, true
	}
	return h
}

// roundMicros rounds to whole microseconds; past Highest it stays above
// Highest, so RecordMicrosN counts it as saturated.
func roundMicros(v float64) int64 {
	if v > float64(Highest) {
		return Highest + 1
	}
	return int64(math.Round(v))
}
