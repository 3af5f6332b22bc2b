package agents

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

// tlsOf is the TLS figures of n handshakes of which resumed resumed and
// failed failed; the others took 2ms each.
func tlsOf(resumption bool, n, resumed, failed int64) *spec.TLSStats {
	h := hist.New()
	h.RecordMicrosN(2000, n-failed)
	return &spec.TLSStats{SessionResumption: resumption, Handshakes: n, Resumed: resumed, Failed: failed, HandshakeTime: spec.Summarize(h)}
}

// An agent's TLS figures are hostile input like the rest of its final
// result: bounded, consistent with each other and with its share's plan.
func TestValidResultTLS(t *testing.T) {
	share := func(target string, noResumption bool) *share {
		sh := &share{plan: &loadgen.Plan{Protocol: loadgen.ProtocolHTTP, Duration: 10 * time.Second,
			Targets: []string{target}, TLS: loadgen.TLS{NoResumption: noResumption}}}
		sn := goodSnap(0, 100)
		lat, svc, err := validSnapshot(sh, sn)
		if err != nil {
			t.Fatal(err)
		}
		sh.acc.add(sn, lat, svc)
		return sh
	}
	other := hist.New()
	other.RecordMicrosN(2000, 7)
	tests := []struct {
		name         string
		target       string
		noResumption bool
		tls          func() *spec.TLSStats
		want         string // "" passes
	}{
		{"honest", "https://127.0.0.1:1/", false, func() *spec.TLSStats { return tlsOf(true, 10, 6, 2) }, ""},
		{"honest grpcs", "grpcs://127.0.0.1:1/pkg.Svc/M", true, func() *spec.TLSStats { return tlsOf(false, 4, 0, 0) }, ""},
		{"all failed, no times", "https://127.0.0.1:1/", false, func() *spec.TLSStats {
			return &spec.TLSStats{SessionResumption: true, Handshakes: 5, Failed: 5}
		}, ""},
		{"negative handshakes", "https://127.0.0.1:1/", false, func() *spec.TLSStats {
			s := tlsOf(true, 0, 0, 0)
			s.Handshakes = -3
			return s
		}, "tls.handshakes -3 is out of range"},
		{"huge failed", "https://127.0.0.1:1/", false, func() *spec.TLSStats {
			s := tlsOf(true, 10, 0, 0)
			s.Failed = 1 << 50
			return s
		}, "tls.failed 1125899906842624 is out of range"},
		{"resumed and failed past the handshakes", "https://127.0.0.1:1/", false, func() *spec.TLSStats {
			s := tlsOf(true, 10, 6, 2)
			s.Resumed = 9
			return s
		}, "9 resumed and 2 failed of 10 handshakes"},
		{"resumption against the plan", "https://127.0.0.1:1/", true, func() *spec.TLSStats { return tlsOf(true, 10, 0, 0) }, "session_resumption is true, its share's plan says false"},
		{"no resumption claimed on a resuming plan", "https://127.0.0.1:1/", false, func() *spec.TLSStats { return tlsOf(false, 10, 0, 0) }, "session_resumption is false, its share's plan says true"},
		{"plain http target", "http://127.0.0.1:1/", false, func() *spec.TLSStats { return tlsOf(true, 10, 0, 0) }, "no target of its share uses TLS"},
		{"histogram short of the handshakes", "https://127.0.0.1:1/", false, func() *spec.TLSStats {
			s := tlsOf(true, 10, 0, 2)
			s.HandshakeTime = spec.Summarize(other)
			return s
		}, "histogram counts 7 (summary 7), want 8"},
		{"summary count lies", "https://127.0.0.1:1/", false, func() *spec.TLSStats {
			s := tlsOf(true, 10, 0, 0)
			s.HandshakeTime.Count = 11
			return s
		}, "histogram counts 10 (summary 11), want 10"},
		{"no times for good handshakes", "https://127.0.0.1:1/", false, func() *spec.TLSStats {
			s := tlsOf(true, 10, 0, 0)
			s.HandshakeTime = nil
			return s
		}, "10 handshakes that did not fail but no handshake_time"},
		{"garbage histogram", "https://127.0.0.1:1/", false, func() *spec.TLSStats {
			s := tlsOf(true, 10, 0, 0)
			s.HandshakeTime.Histogram = "HISTFAAAA"
			return s
		}, "tls.handshake_time histogram"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sh := share(tc.target, tc.noResumption)
			r := finalOf(sh)
			r.TLS = tc.tls()
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			got, err := validResult(sh, b)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == "":
				want := tc.tls()
				if got.TLS == nil || got.TLS.Handshakes != want.Handshakes || got.TLS.Resumed != want.Resumed || got.TLS.Failed != want.Failed {
					t.Fatalf("kept TLS %+v, want the counts of %+v", got.TLS, want)
				}
				if n := want.Handshakes - want.Failed; n > 0 && got.TLS.HandshakeTime.Count != n {
					t.Errorf("kept %d handshake times, want %d", got.TLS.HandshakeTime.Count, n)
				}
			case err == nil || !strings.Contains(err.Error(), tc.want):
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// The merge of the agents' TLS figures adds counts and histograms; shares
// that disagree on resumption merge to "off", and a note names them.
func TestMergeTLS(t *testing.T) {
	a, b := hist.New(), hist.New()
	a.RecordMicrosN(1500, 8)
	b.RecordMicrosN(40_000, 3) // a slow tail only b saw
	b.RecordMicrosN(1500, 2)
	results := []*spec.Result{
		{TLS: &spec.TLSStats{SessionResumption: true, Handshakes: 9, Resumed: 4, Failed: 1, HandshakeTime: spec.Summarize(a)}, Notes: []string{"x"}},
		{TLS: &spec.TLSStats{SessionResumption: true, Handshakes: 5, Resumed: 1, HandshakeTime: spec.Summarize(b)}},
		{}, // an agent whose share made no handshake
	}
	for _, r := range results {
		if r.TLS != nil {
			r.Notes = append(r.Notes, r.TLS.Note())
		}
	}
	res := &spec.Result{Notes: []string{"x", results[0].TLS.Note(), results[1].TLS.Note()}}
	if err := mergeTLS(res, results, []string{"a1", "a2", "a3"}); err != nil {
		t.Fatal(err)
	}
	got := res.TLS
	if got == nil || got.Handshakes != 14 || got.Resumed != 5 || got.Failed != 1 || !got.SessionResumption {
		t.Fatalf("merged %+v, want 14 handshakes, 5 resumed, 1 failed, resumption on", got)
	}
	want := hist.New()
	want.Merge(a)
	want.Merge(b)
	h, err := hist.DecodeStrict(got.HandshakeTime.Histogram)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(h.Buckets(), want.Buckets()) || got.HandshakeTime.Count != 13 {
		t.Errorf("merged handshake times %v (count %d), want the sum %v", h.Buckets(), got.HandshakeTime.Count, want.Buckets())
	}
	if p99, _ := got.HandshakeTime.At(99); p99 < 39 {
		t.Errorf("merged p99 %.3f ms, want b's 40ms tail in it", p99)
	}
	if len(res.Notes) != 2 || res.Notes[0] != "x" || !strings.HasPrefix(res.Notes[1], "TLS: 14 handshakes") || !strings.Contains(res.Notes[1], "over 2 agent shares") {
		t.Errorf("notes %q, want the agents' own TLS notes replaced by one for the sum", res.Notes)
	}

	results[1].TLS.SessionResumption, results[1].TLS.Resumed = false, 0
	res = &spec.Result{}
	if err := mergeTLS(res, results, []string{"a1", "a2", "a3"}); err != nil {
		t.Fatal(err)
	}
	if res.TLS.SessionResumption || res.TLS.Resumed != 4 {
		t.Errorf("mixed resumption merged to %+v, want off with 4 resumed", res.TLS)
	}
	if n := res.Notes[len(res.Notes)-1]; !strings.Contains(n, "on for a1 and off for a2") {
		t.Errorf("note %q, want it to name who ran how", n)
	}

	res = &spec.Result{Notes: []string{"y"}}
	if err := mergeTLS(res, []*spec.Result{{}, {}}, []string{"a1", "a2"}); err != nil || res.TLS != nil || len(res.Notes) != 1 {
		t.Errorf("no handshakes: TLS %+v, notes %q, err %v; want nil and the notes as they were", res.TLS, res.Notes, err)
	}
}
