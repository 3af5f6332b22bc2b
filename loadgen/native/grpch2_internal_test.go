package native

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2/hpack"
)

func TestGRPCTimeoutHeader(t *testing.T) {
	for d, want := range map[time.Duration]string{
		50 * time.Millisecond:                     "50000000n",
		2 * time.Second:                           "2000000u",
		1500*time.Millisecond + 1:                 "1500001u",
		3 * time.Minute:                           "180000m",
		200 * time.Hour:                           "720000S",
		time.Duration(1<<63 - 1):                  "2562048H", // rounding up must not overflow
		99999999 * time.Nanosecond:                "99999999n",
		99999999*time.Nanosecond + 1:              "100000u", // rounded up, never shorter
		2*time.Millisecond + 500*time.Microsecond: "2500000n",
	} {
		if got := grpcTimeout(d); got != want {
			t.Errorf("grpcTimeout(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestGRPCHeaderFields(t *testing.T) {
	var h grpcHdr
	h.field(hpack.HeaderField{Name: "grpc-status", Value: "4294967296"})
	if h.set || !strings.Contains(h.bad, "malformed grpc-status") {
		t.Errorf("a status past 32 bits: %+v", h)
	}
	for _, v := range []string{"", "+1", "-1", "1 ", "0x1"} {
		h = grpcHdr{}
		h.field(hpack.HeaderField{Name: "grpc-status", Value: v})
		if h.set || h.bad == "" {
			t.Errorf("grpc-status %q accepted: %+v", v, h)
		}
	}
	h = grpcHdr{}
	h.field(hpack.HeaderField{Name: "grpc-status", Value: "16"})
	h.field(hpack.HeaderField{Name: "grpc-message", Value: "caf%C3%A9 %zz"}) // not valid: kept as sent
	if !h.set || h.code != 16 || h.msg != "caf%C3%A9 %zz" {
		t.Errorf("%+v", h)
	}
	h.field(hpack.HeaderField{Name: "grpc-message", Value: "caf%C3%A9" + strings.Repeat("x", 600)})
	if !strings.HasPrefix(h.msg, "café") || len(h.msg) != 515 {
		t.Errorf("message %d bytes: %.20q", len(h.msg), h.msg)
	}
	for v, want := range map[string]int8{"application/grpc": 1, "application/grpc+proto": 1, "application/grpc;charset=x": 1,
		"application/grpcx": -1, "text/plain": -1, "application/json": -1} {
		h = grpcHdr{}
		h.field(hpack.HeaderField{Name: "content-type", Value: v})
		if h.ctype != want {
			t.Errorf("content-type %q: %d, want %d", v, h.ctype, want)
		}
	}
}

func TestGRPCUnframe(t *testing.T) {
	if m, err := grpcUnframe(grpcFrame([]byte("abc"))); err != nil || string(m) != "abc" {
		t.Errorf("round trip: %q %v", m, err)
	}
	for _, b := range [][]byte{nil, {0, 0, 0, 0}, {1, 0, 0, 0, 1, 'x'}, {0, 0, 0, 0, 2, 'x'}, {0, 0xff, 0xff, 0xff, 0xff}} {
		if _, err := grpcUnframe(b); err == nil {
			t.Errorf("%v accepted", b)
		}
	}
	var g grpcH2State
	g.keepData(make([]byte, grpcMaxKept))
	if g.bad != "" || len(g.data) != grpcMaxKept {
		t.Fatalf("at the bound: %q, %d", g.bad, len(g.data))
	}
	g.keepData([]byte{1})
	if g.bad == "" || len(g.data) != grpcMaxKept {
		t.Errorf("past the bound: %q, %d", g.bad, len(g.data))
	}
}
