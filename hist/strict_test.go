package hist

import (
	"encoding/base64"
	"runtime"
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

func encodeLayout(t testing.TB, lowest, highest int64, digits int, values ...int64) string {
	t.Helper()
	h := hdr.New(lowest, highest, digits)
	for _, v := range values {
		if err := h.RecordValue(v); err != nil {
			t.Fatal(err)
		}
	}
	b, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDecodeStrictTakesOurLayout(t *testing.T) {
	h := New()
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	got, err := DecodeStrict(h.MustEncode())
	if err != nil {
		t.Fatal(err)
	}
	if got.Count() != 1000 || got.Quantile(0.5) != h.Quantile(0.5) || got.Max() != h.Max() {
		t.Errorf("decoded count %d p50 %s max %s, want 1000 %s %s", got.Count(), got.Quantile(0.5), got.Max(), h.Quantile(0.5), h.Max())
	}
	// It merges with ours like any other.
	h.Merge(got)
	if h.Count() != 2000 {
		t.Errorf("merged count %d", h.Count())
	}
}

func TestDecodeStrictRefuses(t *testing.T) {
	tests := []struct {
		name, enc, want string
	}{
		{"empty", "", "empty"},
		{"wide layout", encodeLayout(t, 1, 1<<62, 5, 7), "not meshperf's"},
		{"other digits", encodeLayout(t, Lowest, Highest, 2, 7), "not meshperf's"},
		{"other lowest", encodeLayout(t, 1000, Highest, Digits, 7000), "not meshperf's"},
		{"other highest", encodeLayout(t, Lowest, Highest/2, Digits, 7), "not meshperf's"},
		{"too long", strings.Repeat("A", MaxEncoded+4), "longer than the limit"},
		{"not base64", "!!!!", "decode"},
		{"short", base64.StdEncoding.EncodeToString([]byte{1, 2, 3}), "too short"},
		{"bad cookie", base64.StdEncoding.EncodeToString([]byte{0, 0, 0, 0, 0, 0, 0, 0}), "not a compressed V2"},
		{"length past the end", base64.StdEncoding.EncodeToString([]byte{0x1c, 0x84, 0x93, 0x14, 0, 0, 1, 0, 0}), "compressed length"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := DecodeStrict(tc.enc)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("DecodeStrict = %v, %v; want an error containing %q", h, err, tc.want)
			}
		})
	}
}

// The wide layout an attacking agent sent (1..2^62 at 5 digits) costs the
// permissive Decode a counts array of megabytes; DecodeStrict refuses it
// having allocated next to nothing.
func TestDecodeStrictAllocatesLittleForHostileLayouts(t *testing.T) {
	enc := encodeLayout(t, 1, 1<<62, 5, 1, 1<<61)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 20 {
		if _, err := DecodeStrict(enc); err == nil {
			t.Fatal("the wide layout was accepted")
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / 20; per > 64<<10 {
		t.Errorf("refusing a wide histogram allocated %d bytes per call, want under 64 KiB", per)
	}
	// The permissive decoder, for scale.
	runtime.ReadMemStats(&before)
	if _, err := decodeSafe([]byte(enc)); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got < 1<<20 {
		t.Errorf("the permissive decoder allocated only %d bytes: the hostile case is not hostile", got)
	}
}

func FuzzDecodeStrict(f *testing.F) {
	h := New()
	h.Record(3 * time.Millisecond)
	f.Add(h.MustEncode())
	f.Add(New().MustEncode())
	f.Add(encodeLayout(f, 1, 1<<62, 5, 9))
	f.Add("HISTFAAAACB4nJNpmSzMwMDAxQABzFCaEUzOmNZg")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := DecodeStrict(s)
		if err != nil {
			return
		}
		// What is accepted has meshperf's layout and behaves.
		if got.Count() < 0 || got.h.LowestTrackableValue() != Lowest || got.h.HighestTrackableValue() != Highest || got.h.SignificantFigures() != Digits {
			t.Fatalf("accepted a histogram of count %d, layout %d..%d/%d", got.Count(), got.h.LowestTrackableValue(), got.h.HighestTrackableValue(), got.h.SignificantFigures())
		}
		m := New()
		m.Merge(got)
		if m.Count() != got.Count() {
			t.Fatalf("merged count %d, want %d", m.Count(), got.Count())
		}
		if _, err := DecodeStrict(got.MustEncode()); err != nil {
			t.Fatalf("re-encoding is refused: %v", err)
		}
	})
}
