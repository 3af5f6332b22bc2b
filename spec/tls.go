package spec

import (
	"fmt"

	"github.com/meshperf/meshperf/hist"
)

// MergeTLS adds up the TLS figures of generators that ran together (the
// agents of one run): handshakes, resumed and failed counts are summed
// and the handshake-time histograms added, so every percentile of the
// merged HandshakeTime is what one generator would have measured for all
// the handshakes. A nil entry made no handshake; the merge is nil when
// none did.
//
// SessionResumption is true only when every generator that made
// handshakes offered resumption: a merged "on" must hold for every
// connection. mixed reports that they disagreed, so the caller can say
// which ran how.
func MergeTLS(ts []*TLSStats) (merged *TLSStats, mixed bool, err error) {
	var h *hist.Histogram
	on, off := false, false
	for i, t := range ts {
		if t == nil {
			continue
		}
		if merged == nil {
			merged = &TLSStats{}
		}
		merged.Handshakes += t.Handshakes
		merged.Resumed += t.Resumed
		merged.Failed += t.Failed
		if t.SessionResumption {
			on = true
		} else {
			off = true
		}
		if t.HandshakeTime == nil || t.HandshakeTime.Histogram == "" {
			continue
		}
		x, err := hist.Decode(t.HandshakeTime.Histogram)
		if err != nil {
			return nil, false, fmt.Errorf("merge tls: result %d handshake time: %w", i, err)
		}
		if h == nil {
			h = x
		} else {
			h.Merge(x)
		}
	}
	if merged == nil {
		return nil, false, nil
	}
	merged.SessionResumption = on && !off
	if h != nil && h.Count() > 0 {
		merged.HandshakeTime = Summarize(h)
	}
	return merged, on && off, nil
}

// TLSNotePrefix begins every note Note writes, so a merge can replace the
// notes of the results it adds with one for the sum.
const TLSNotePrefix = "TLS: "

// Note says in words what s says in figures, for a report's notes.
func (s *TLSStats) Note() string {
	resumption := "on"
	if !s.SessionResumption {
		resumption = "off"
	}
	msg := fmt.Sprintf(TLSNotePrefix+"%d handshakes (warm-up included), %d resumed a session (resumption %s), %d failed", s.Handshakes, s.Resumed, resumption, s.Failed)
	if d := s.HandshakeTime; d != nil {
		p50, _ := d.At(50)
		msg += fmt.Sprintf("; handshake time p50 %.3g ms, max %.3g ms (each connection's first request includes it)", p50, d.MaxMs)
	}
	return msg
}
