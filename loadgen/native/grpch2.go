package native

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"

	"github.com/meshperf/meshperf/loadgen"
)

// gRPC unary calls over the engine's own HTTP/2 client (h2*.go): each call
// is one stream carrying a header block encoded once per target (POST, the
// method's path, content-type application/grpc, te: trailers, grpc-timeout
// from the plan's timeout, the metadata) and the request message, encoded
// once and framed with gRPC's 5-byte prefix (uncompressed). The answer's
// status is read from its trailers, or from its headers when the server
// answers with trailers only. grpc-go still resolves the methods (server
// reflection) before the run; it carries no call.

// grpcMaxKept bounds the answer kept of a call whose answer is read (the
// health check's); a larger one is a protocol error.
const grpcMaxKept = 64 << 10

// newGRPCH2Pool prepares the plan's gRPC calls on an HTTP/2 pool: one
// origin, the targets' methods resolved and their requests encoded.
func newGRPCH2Pool(ctx context.Context, p *loadgen.Plan, version string) (*h2Pool, error) {
	g, err := resolveGRPC(ctx, p, version)
	if err != nil {
		return nil, err
	}
	o := h2Origin{addr: g.addr}
	scheme := "http"
	if g.useTLS {
		scheme = "https"
		if o.tls, err = tlsConfig(p.TLS, g.host, []string{"h2"}); err != nil {
			return nil, err
		}
	}
	authority := g.authority
	if authority == "" {
		authority = g.addr
	}
	pool := &h2Pool{
		origins:        []h2Origin{o},
		dialer:         newDialer(p),
		connectTimeout: p.ConnectTimeout,
		timeout:        p.Timeout,
		grpc:           true,
		credits:        p.Rate == nil,
		all:            map[*h2Conn]struct{}{},
	}
	for _, t := range g.targets {
		pool.targets = append(pool.targets, h2Target{
			block:  grpcRequestBlock(scheme, authority, t.method, version, p.Timeout, g.md),
			body:   grpcFrame(t.req),
			health: t.health,
		})
	}
	pool.slots = make([][]h2Slot, p.Connections)
	for i := range pool.slots {
		pool.slots[i] = make([]h2Slot, 1)
	}
	return pool, nil
}

// grpcFrame is a message with gRPC's prefix: not compressed, its length.
func grpcFrame(msg []byte) []byte {
	b := make([]byte, 5+len(msg))
	binary.BigEndian.PutUint32(b[1:5], uint32(len(msg)))
	copy(b[5:], msg)
	return b
}

// grpcRequestBlock encodes a call's header block, without the dynamic
// table (see h2RequestBlock). Binary metadata (-bin) is sent in base64,
// as gRPC does.
func grpcRequestBlock(scheme, authority, method, version string, timeout time.Duration, md map[string][]string) []byte {
	var buf strings.Builder
	enc := hpack.NewEncoder(&buf)
	enc.SetMaxDynamicTableSizeLimit(0)
	_ = enc.WriteField(hpack.HeaderField{Name: "x", Value: "x"}) // the table size update, thrown away
	buf.Reset()
	field := func(name, value string) { _ = enc.WriteField(hpack.HeaderField{Name: name, Value: value}) }
	field(":method", "POST")
	field(":scheme", scheme)
	field(":path", method)
	field(":authority", authority)
	field("content-type", "application/grpc")
	field("user-agent", "meshperf/"+version)
	field("te", "trailers")
	if timeout > 0 {
		field("grpc-timeout", grpcTimeout(timeout))
	}
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range md[k] {
			if strings.HasSuffix(k, "-bin") {
				v = base64.RawStdEncoding.EncodeToString([]byte(v))
			}
			field(k, v)
		}
	}
	return []byte(buf.String())
}

// grpcTimeout writes a timeout as gRPC's grpc-timeout header does: at most
// eight digits and a unit, rounded up to the finest unit that fits.
func grpcTimeout(d time.Duration) string {
	units := []struct {
		d    time.Duration
		name string
	}{{time.Nanosecond, "n"}, {time.Microsecond, "u"}, {time.Millisecond, "m"}, {time.Second, "S"}, {time.Minute, "M"}, {time.Hour, "H"}}
	for _, u := range units {
		n := d / u.d
		if d%u.d != 0 {
			n++ // rounded up, never shorter
		}
		if n <= 99999999 {
			return strconv.FormatInt(int64(n), 10) + u.name
		}
	}
	return "99999999H"
}

// grpcHdr is what a header block (headers or trailers) says of a call.
type grpcHdr struct {
	set   bool // grpc-status came
	code  uint32
	msg   string
	ctype int8 // content-type: 0 absent, 1 application/grpc[+...|;...], -1 another
	bad   string
}

// field reads one field of a block.
func (h *grpcHdr) field(f hpack.HeaderField) {
	switch f.Name {
	case "grpc-status":
		v := f.Value
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || len(v) == 0 || v[0] == '+' {
			h.bad = fmt.Sprintf("malformed grpc-status %q", truncate([]byte(v)))
			return
		}
		h.set, h.code = true, uint32(n)
	case "grpc-message":
		h.msg = grpcDecodeMessage(f.Value)
	case "content-type":
		v := f.Value
		if strings.HasPrefix(v, "application/grpc") && (len(v) == 16 || v[16] == '+' || v[16] == ';') {
			h.ctype = 1
		} else {
			h.ctype = -1
		}
	}
}

// grpcDecodeMessage undoes grpc-message's percent-encoding (kept as sent
// if it is not valid) and bounds the text kept.
func grpcDecodeMessage(v string) string {
	if strings.IndexByte(v, '%') >= 0 {
		if d, err := url.PathUnescape(v); err == nil {
			v = d
		}
	}
	if len(v) > 512 {
		v = v[:512] + "..."
	}
	return v
}

// grpcH2State is a call's outcome as the reader found it.
type grpcH2State struct {
	on    bool // the stream carries gRPC calls
	keep  bool // the answer is kept (a health check)
	ctype int8
	set   bool
	code  uint32
	msg   string
	bad   string
	data  []byte
}

func (g *grpcH2State) reset() {
	g.ctype, g.set, g.code, g.msg, g.bad = 0, false, 0, "", ""
	g.data = g.data[:0]
}

// take adds what a block said; headers tells the response headers (or a
// trailers-only answer) from trailers.
func (g *grpcH2State) take(h *grpcHdr, headers bool) {
	if headers {
		g.ctype = h.ctype
	}
	if h.bad != "" && g.bad == "" {
		g.bad = h.bad
	}
	if h.set {
		g.set, g.code, g.msg = true, h.code, h.msg
	}
}

func (g *grpcH2State) keepData(b []byte) {
	if len(g.data)+len(b) > grpcMaxKept {
		if g.bad == "" {
			g.bad = fmt.Sprintf("an answer of more than %d bytes", grpcMaxKept)
		}
		return
	}
	g.data = append(g.data, b...)
}

// grpcH2Doer is one worker making calls over the HTTP/2 pool.
type grpcH2Doer struct{ h *h2Doer }

func newGRPCH2Doer(pool *h2Pool, ci int) *grpcH2Doer {
	d := newH2Doer(pool, ci)
	d.s.grpc.on = true
	return &grpcH2Doer{h: d}
}

func (d *grpcH2Doer) closeAll() { d.h.closeAll() }

// do makes one call to target ti and returns its status code; a code other
// than OK comes with an error whose class is the code's name, or the
// transport's class when the call failed below gRPC.
func (d *grpcH2Doer) do(ctx context.Context, ti int) (int, error) {
	t := &d.h.pool.targets[ti]
	s := d.h.s
	s.grpc.keep = t.health
	start := time.Now()
	status, err := d.h.do(ctx, ti)
	code, err := grpcOutcome(ctx, t, &s.grpc, status, err, d.h.pool.timeout)
	return deadlineReset(ctx, code, err, d.h.pool.timeout, time.Since(start))
}

// deadlineReset applies grpc-go's own rule: a stream the server reset
// with CANCEL once the call's deadline had passed was cancelled by that
// deadline (grpc-go 1.83's server resets instead of sending
// DEADLINE_EXCEEDED when its timer fires first), so it is
// DEADLINE_EXCEEDED, not CANCELLED.
func deadlineReset(ctx context.Context, code int, err error, timeout, took time.Duration) (int, error) {
	var re *h2ResetError
	if code == int(codes.Canceled) && ctx.Err() == nil && timeout > 0 && took >= timeout &&
		errors.As(err, &re) && re.code == http2.ErrCodeCancel {
		return int(codes.DeadlineExceeded), &grpcError{code: codes.DeadlineExceeded,
			msg: "the server reset the stream when the timeout (" + timeout.String() + ") passed"}
	}
	return code, err
}

func grpcOutcome(ctx context.Context, t *h2Target, g *grpcH2State, status int, err error, timeout time.Duration) (int, error) {
	if err != nil {
		var re *h2ResetError
		switch {
		case ctx.Err() != nil:
			return int(codes.Canceled), ctx.Err() // our own cancellation
		case errors.Is(err, errH2Timeout):
			return int(codes.DeadlineExceeded), &grpcError{code: codes.DeadlineExceeded, msg: "no answer within the timeout (" + timeout.String() + ")"}
		case errors.As(err, &re):
			return int(grpcResetCode(re.code)), err
		}
		var pe *loadgen.ProtocolError
		if errors.As(err, &pe) && err != errH2ConnFinished {
			return int(codes.Internal), err
		}
		return int(codes.Unavailable), err
	}
	if g.bad != "" {
		return int(codes.Internal), &loadgen.ProtocolError{Msg: "grpc: " + g.bad}
	}
	if g.set {
		if code := codes.Code(g.code); code != codes.OK {
			return int(code), &grpcError{code: code, msg: g.msg}
		}
	}
	switch {
	case status != 200:
		code := grpcHTTPCode(status)
		return int(code), &grpcError{code: code, msg: fmt.Sprintf("the answer's HTTP status is %d, not 200", status)}
	case !g.set && g.ctype != 1:
		return int(codes.Unknown), &loadgen.ProtocolError{Msg: "grpc: the answer is not gRPC (no grpc-status, content-type not application/grpc)"}
	case !g.set:
		return int(codes.Internal), &grpcError{code: codes.Internal, msg: "the server ended the stream without a grpc-status"}
	}
	if t.health {
		msg, err := grpcUnframe(g.data)
		if err != nil {
			return int(codes.OK), &loadgen.ProtocolError{Msg: "health check answer: " + err.Error()}
		}
		var resp healthpb.HealthCheckResponse
		if err := proto.Unmarshal(msg, &resp); err != nil {
			return int(codes.OK), &loadgen.ProtocolError{Msg: "health check answer: " + err.Error()}
		}
		if resp.Status != healthpb.HealthCheckResponse_SERVING {
			return int(codes.OK), &notServingError{status: resp.Status.String()}
		}
	}
	return int(codes.OK), nil
}

// grpcUnframe is the one message of a unary answer.
func grpcUnframe(b []byte) ([]byte, error) {
	if len(b) < 5 {
		return nil, fmt.Errorf("%d bytes, shorter than gRPC's 5-byte prefix", len(b))
	}
	if b[0] != 0 {
		return nil, fmt.Errorf("compressed (flag %d) although no compression was offered", b[0])
	}
	if n := binary.BigEndian.Uint32(b[1:5]); uint64(n) != uint64(len(b)-5) {
		return nil, fmt.Errorf("the prefix says %d bytes, %d came", n, len(b)-5)
	}
	return b[5:], nil
}

// grpcResetCode is the status of a call whose stream the server reset, as
// gRPC maps HTTP/2 error codes.
func grpcResetCode(c http2.ErrCode) codes.Code {
	switch c {
	case http2.ErrCodeRefusedStream:
		return codes.Unavailable
	case http2.ErrCodeCancel:
		return codes.Canceled
	case http2.ErrCodeFlowControl, http2.ErrCodeEnhanceYourCalm:
		return codes.ResourceExhausted
	case http2.ErrCodeInadequateSecurity:
		return codes.PermissionDenied
	}
	return codes.Internal
}

// grpcHTTPCode is the status of an answer whose HTTP status is not 200, as
// gRPC maps them.
func grpcHTTPCode(status int) codes.Code {
	switch status {
	case 400:
		return codes.Internal
	case 401:
		return codes.Unauthenticated
	case 403:
		return codes.PermissionDenied
	case 404:
		return codes.Unimplemented
	case 429, 502, 503, 504:
		return codes.Unavailable
	}
	return codes.Unknown
}
