package native_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/meshperf/meshperf/internal/echo"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/loadgen/native"
)

// codeServer is a grpc-go server that answers every call with the next
// code of a fixed cycle and tallies what it answered. Odd calls send their
// headers first (the status then comes in trailers of their own), even
// calls answer with trailers only. It records the metadata and deadline
// of the calls.
type codeServer struct {
	cycle []codes.Code
	n     atomic.Int64
	mu    sync.Mutex
	sent  map[codes.Code]int64
	md    metadata.MD   // of the last call
	dl    time.Duration // the last call's deadline, from its arrival
	noDL  bool          // a call came without a deadline
}

func startCodeServer(t *testing.T, cycle ...codes.Code) (*codeServer, string) {
	t.Helper()
	cs := &codeServer{cycle: cycle, sent: map[codes.Code]int64{}}
	srv := grpc.NewServer(grpc.UnknownServiceHandler(cs.handle))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return cs, ln.Addr().String()
}

func (cs *codeServer) handle(_ any, stream grpc.ServerStream) error {
	var req emptypb.Empty // the echo request's fields are kept as unknown
	if err := stream.RecvMsg(&req); err != nil {
		return err
	}
	n := cs.n.Add(1) - 1
	code := cs.cycle[n%int64(len(cs.cycle))]
	md, _ := metadata.FromIncomingContext(stream.Context())
	dl, ok := stream.Context().Deadline()
	cs.mu.Lock()
	cs.sent[code]++
	cs.md = md
	if ok {
		cs.dl = time.Until(dl)
	} else {
		cs.noDL = true
	}
	cs.mu.Unlock()
	if n%2 == 1 {
		if err := stream.SendHeader(metadata.Pairs("x-first", "yes")); err != nil {
			return err
		}
	}
	if code != codes.OK {
		return status.Errorf(code, "as cycled: call %d (100%% made up)", n)
	}
	return stream.SendMsg(&emptypb.Empty{})
}

func TestGRPCH2StatusCodesCountedExactly(t *testing.T) {
	cs, addr := startCodeServer(t, codes.OK, codes.OK, codes.Unavailable, codes.NotFound, codes.OK, codes.ResourceExhausted, codes.Internal)
	res := protoRun(t, &loadgen.Plan{
		Targets: []string{"grpc://" + addr + "/" + echo.EchoService + "/Echo"}, Body: []byte(`{"message": "x"}`),
		GRPC:        loadgen.GRPC{DescriptorSet: writeDescriptorSet(t)},
		Headers:     []loadgen.Header{{Name: "X-Tenant", Value: "blue"}, {Name: "x-token-bin", Value: "\x00\xffraw"}, {Name: "x-tenant", Value: "green"}},
		Timeout:     7 * time.Second,
		Connections: 3, Streams: 4, Requests: 700,
	})
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if res.Achieved.Responses+res.Achieved.Errors != 700 {
		t.Errorf("responses %d + errors %d, want 700 calls", res.Achieved.Responses, res.Achieved.Errors)
	}
	var total int64
	for code, n := range cs.sent {
		total += n
		if got := res.StatusCodes[int(code)]; got != n {
			t.Errorf("status %d (%s): counted %d, the server answered %d", code, code, got, n)
		}
	}
	if total != 700 || len(res.StatusCodes) != len(cs.sent) {
		t.Errorf("server answered %d calls %v; client counted %v", total, cs.sent, res.StatusCodes)
	}
	c := classes(res)
	for code, class := range map[codes.Code]string{codes.Unavailable: loadgen.ClassUnavailable, codes.NotFound: "not_found",
		codes.ResourceExhausted: "resource_exhausted", codes.Internal: "internal"} {
		if c[class] != cs.sent[code] {
			t.Errorf("class %s = %d, want %d (classes %v)", class, c[class], cs.sent[code], c)
		}
	}
	if res.Achieved.Responses != cs.sent[codes.OK] || res.Achieved.Errors != 700-cs.sent[codes.OK] {
		t.Errorf("responses %d, errors %d; want %d OK", res.Achieved.Responses, res.Achieved.Errors, cs.sent[codes.OK])
	}
	// The message came through, percent-decoded.
	found := false
	for _, e := range res.Errors {
		for _, ex := range e.Examples {
			if strings.Contains(ex, "(100% made up)") {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("no error example carries the server's grpc-message: %+v", res.Errors)
	}
	// Metadata from the headers, binary values as sent; the deadline is
	// the plan's timeout.
	if got := cs.md.Get("x-tenant"); len(got) != 2 || got[0] != "blue" || got[1] != "green" {
		t.Errorf("x-tenant = %q, want [blue green]", got)
	}
	if got := cs.md.Get("x-token-bin"); len(got) != 1 || got[0] != "\x00\xffraw" {
		t.Errorf("x-token-bin = %q, want the raw bytes", got)
	}
	if got := cs.md.Get("user-agent"); len(got) != 1 || !strings.HasPrefix(got[0], "meshperf/test") {
		t.Errorf("user-agent = %q", got)
	}
	if cs.noDL || cs.dl <= 6*time.Second || cs.dl > 7*time.Second {
		t.Errorf("deadline as received = %v (none: %v), want just under 7s", cs.dl, cs.noDL)
	}
}

// The same mix from the echo (drawn at random there): every call counted
// once, each class as often as its code.
func TestGRPCH2EchoCodeMix(t *testing.T) {
	addr := startGRPCEcho(t, "0", "50%:OK,30%:UNAVAILABLE,20%:PERMISSION_DENIED", false)
	res := protoRun(t, &loadgen.Plan{
		Targets: []string{"grpc://" + addr + "/" + echo.EchoService + "/Echo", "grpc://" + addr},
		Body:    []byte(`{}`), Connections: 2, Streams: 2, Requests: 1000,
	})
	sum := int64(0)
	for code, n := range res.StatusCodes {
		sum += n
		if code != 0 && code != 14 && code != 7 {
			t.Errorf("status %d counted %d times; the mix has 0, 14 and 7", code, n)
		}
	}
	if sum != 1000 || res.Achieved.Responses != res.StatusCodes[0] || res.Achieved.Errors != 1000-res.StatusCodes[0] {
		t.Errorf("codes %v, responses %d, errors %d; want 1000 calls", res.StatusCodes, res.Achieved.Responses, res.Achieved.Errors)
	}
	c := classes(res)
	if c[loadgen.ClassUnavailable] != res.StatusCodes[14] || c["permission_denied"] != res.StatusCodes[7] || len(c) != 2 {
		t.Errorf("classes %v, codes %v", c, res.StatusCodes)
	}
	for code, want := range map[int]float64{0: 0.5, 14: 0.3, 7: 0.2} {
		if got := float64(res.StatusCodes[code]) / 1000; got < want-0.07 || got > want+0.07 {
			t.Errorf("share of %d = %.3f, want %.2f ± 0.07", code, got, want)
		}
	}
}

func TestGRPCH2DeadlineExceeded(t *testing.T) {
	addr := startGRPCEcho(t, "400ms", "", false)
	for _, target := range []string{"grpc://" + addr, "grpc://" + addr + "/" + echo.EchoService + "/Echo"} {
		start := time.Now()
		res := protoRun(t, &loadgen.Plan{Targets: []string{target}, Timeout: 60 * time.Millisecond, Connections: 2, Streams: 3, Requests: 12})
		took := time.Since(start)
		if c := classes(res); c[loadgen.ClassDeadlineExceeded] != 12 || len(c) != 1 || res.StatusCodes[4] != 12 {
			t.Errorf("%s: classes %v, codes %v; want 12 deadline_exceeded (4)", target, c, res.StatusCodes)
		}
		// Two rounds of six calls, each cut at 60ms, not at the 400ms delay.
		if took > 700*time.Millisecond {
			t.Errorf("%s: took %v; the calls were not cut at their deadline", target, took)
		}
	}
}

// h2cServer serves handler over h2c (prior knowledge) on 127.0.0.1.
func h2cServer(t *testing.T, handler http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h2c.NewHandler(handler, &http2.Server{}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestGRPCH2AnswersThatAreNotGRPC(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		code    int
		class   string
	}{
		{"trailers-only error from a plain HTTP/2 server", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/grpc")
			w.Header().Set("Grpc-Status", "8")
			w.Header().Set("Grpc-Message", "slow%20down")
			w.WriteHeader(200)
		}, 8, "resource_exhausted"},
		{"HTTP 503", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(503)
		}, 14, loadgen.ClassUnavailable},
		{"HTTP 404", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(404)
		}, 12, "unimplemented"},
		{"HTML, not gRPC", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html>"))
		}, 2, loadgen.ClassProtocol},
		{"no grpc-status", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/grpc")
			_, _ = w.Write([]byte{0, 0, 0, 0, 0})
		}, 13, "internal"},
		{"malformed grpc-status", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/grpc")
			w.Header().Set("Grpc-Status", "OK")
			w.WriteHeader(200)
		}, 13, loadgen.ClassProtocol},
		{"health check with a truncated answer", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", "Grpc-Status")
			w.Header().Set("Content-Type", "application/grpc")
			_, _ = w.Write([]byte{0, 0, 0, 0, 9, 8})
			w.Header().Set("Grpc-Status", "0")
		}, 0, loadgen.ClassProtocol},
		{"health check NOT_SERVING", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", "Grpc-Status")
			w.Header().Set("Content-Type", "application/grpc+proto")
			_, _ = w.Write([]byte{0, 0, 0, 0, 2, 8, 2}) // status: NOT_SERVING
			w.Header().Set("Grpc-Status", "0")
		}, 0, loadgen.ClassNotServing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var bad atomic.Value
			addr := h2cServer(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method != "POST" || r.URL.Path != "/grpc.health.v1.Health/Check" || r.Header.Get("Content-Type") != "application/grpc" ||
					r.Header.Get("Te") != "trailers" || r.Header.Get("Grpc-Timeout") != "2000000u" {
					bad.Store(r.Method + " " + r.URL.Path + " " + r.Header.Get("Content-Type") + " te=" + r.Header.Get("Te") + " timeout=" + r.Header.Get("Grpc-Timeout"))
				}
				tc.handler(w, r)
			})
			res := protoRun(t, &loadgen.Plan{Targets: []string{"grpc://" + addr}, Timeout: 2 * time.Second, Connections: 1, Streams: 2, Requests: 6})
			if v := bad.Load(); v != nil {
				t.Errorf("the request was %v", v)
			}
			if c := classes(res); c[tc.class] != 6 || len(c) != 1 || res.StatusCodes[tc.code] != 6 {
				t.Errorf("classes %v, codes %v; want 6 %s (%d); examples %+v", c, res.StatusCodes, tc.class, tc.code, res.Errors)
			}
		})
	}
}

// The engine's HTTP/2 path and grpc-go's channels count the same calls the
// same way.
func TestGRPCH2MatchesChannels(t *testing.T) {
	addr := startGRPCEcho(t, "0", "UNAVAILABLE", false)
	p := loadgen.Plan{Targets: []string{"grpc://" + addr + "/" + echo.EchoService + "/Echo"}, Connections: 1, Requests: 20}
	for _, e := range []*native.Engine{{Version: "test"}, {Version: "test", GRPCChannels: true}} {
		pp := p
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		res, err := e.Run(ctx, &pp, nil)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if c := classes(res); c[loadgen.ClassUnavailable] != 20 || res.StatusCodes[14] != 20 {
			t.Errorf("channels %v: classes %v, codes %v", e.GRPCChannels, c, res.StatusCodes)
		}
	}
}
