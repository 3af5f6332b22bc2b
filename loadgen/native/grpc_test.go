package native_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/meshperf/meshperf/internal/echo"
	"github.com/meshperf/meshperf/internal/echo/echotest"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/loadgen/native"
	"github.com/meshperf/meshperf/spec"
)

// startGRPCEcho runs the echo's gRPC server on 127.0.0.1 and returns its
// address.
func startGRPCEcho(t *testing.T, delay, codes string, tls bool) string {
	t.Helper()
	c, err := echo.ParseCodes(codes)
	if err != nil {
		t.Fatal(err)
	}
	return echotest.GRPC(t, echo.GRPCOptions{Delay: echotest.Delay(t, delay), Codes: c, TLS: tls})
}

// protoRun runs p on the native engine, bounded to a minute, and fails the
// test if the plan cannot run.
func protoRun(t *testing.T, p *loadgen.Plan) *spec.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := (&native.Engine{Version: "test"}).Run(ctx, p, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

// p50 is the median of a distribution.
func p50(t *testing.T, d *spec.Distribution) time.Duration {
	t.Helper()
	if d == nil {
		t.Fatal("no distribution")
	}
	return decode(t, d.Histogram).Quantile(0.5)
}

// wantNear checks that the median latency is the server's delay, give or
// take what this machine's scheduling adds.
func wantNear(t *testing.T, name string, got, delay time.Duration) {
	t.Helper()
	if got < delay || got > delay+schedTolerance {
		t.Errorf("%s p50 = %v, want within [%v, %v]", name, got, delay, delay+schedTolerance)
	}
}

func classes(res *spec.Result) map[string]int64 {
	m := map[string]int64{}
	for _, e := range res.Errors {
		m[e.Class] = e.Count
	}
	return m
}

func wantNoErrors(t *testing.T, res *spec.Result) {
	t.Helper()
	if len(res.Errors) > 0 || res.Achieved.Errors > 0 {
		t.Fatalf("errors: %d %+v", res.Achieved.Errors, res.Errors)
	}
}

func TestGRPCHealthOpenLoop(t *testing.T) {
	addr := startGRPCEcho(t, "2ms", "", false)
	res := protoRun(t, &loadgen.Plan{
		Targets: []string{"grpc://" + addr}, Connections: 4, Rate: loadgen.Constant(200), Duration: 3 * time.Second,
	})
	wantNoErrors(t, res)
	if res.Requested.Protocol != loadgen.ProtocolGRPC {
		t.Errorf("protocol = %q, want grpc", res.Requested.Protocol)
	}
	if got, want := res.Achieved.Responses, int64(600); got < want-2 || got > want {
		t.Errorf("responses = %d, want %d", got, want)
	}
	if res.StatusCodes[0] != res.Achieved.Responses || len(res.StatusCodes) != 1 {
		t.Errorf("status codes = %v, want all %d OK (0)", res.StatusCodes, res.Achieved.Responses)
	}
	wantNear(t, "latency", p50(t, res.Latency), 2*time.Millisecond)
	wantNear(t, "service time", p50(t, res.ServiceTime), 2*time.Millisecond)
	if res.Achieved.BytesSent == 0 || res.Achieved.BytesReceived == 0 {
		t.Errorf("bytes = %d sent, %d received; want both counted", res.Achieved.BytesSent, res.Achieved.BytesReceived)
	}
}

func TestGRPCUnaryReflectionOpenLoop(t *testing.T) {
	addr := startGRPCEcho(t, "3ms", "", false)
	res := protoRun(t, &loadgen.Plan{
		Targets: []string{"grpc://" + addr + "/" + echo.EchoService + "/Echo"}, Body: []byte(`{"message": "hi", "size": 100}`),
		Connections: 2, Streams: 4, Rate: loadgen.Constant(300), Duration: 2 * time.Second,
	})
	wantNoErrors(t, res)
	if got, want := res.Achieved.Responses, int64(600); got < want-2 || got > want {
		t.Errorf("responses = %d, want %d", got, want)
	}
	wantNear(t, "latency", p50(t, res.Latency), 3*time.Millisecond)
	// 100 bytes of payload came back with every answer.
	if res.Achieved.BytesReceived < 100*res.Achieved.Responses {
		t.Errorf("received %d bytes for %d answers of 100+ bytes", res.Achieved.BytesReceived, res.Achieved.Responses)
	}
}

// writeDescriptorSet writes the echo's proto file as protoc would with
// --descriptor_set_out --include_imports.
func writeDescriptorSet(t *testing.T) string {
	t.Helper()
	fd := echo.EchoFileDescriptor()
	if _, err := protodesc.NewFile(fd, nil); err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(&descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{fd}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "echo.protoset")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestGRPCUnaryDescriptorSetClosedLoop(t *testing.T) {
	addr := startGRPCEcho(t, "1ms", "", false)
	res := protoRun(t, &loadgen.Plan{
		Targets: []string{"grpc://" + addr + "/" + echo.EchoService + "/Echo"}, Body: []byte(`{"message": "x"}`),
		GRPC:        loadgen.GRPC{DescriptorSet: writeDescriptorSet(t)},
		Connections: 2, Streams: 4, Requests: 400,
	})
	wantNoErrors(t, res)
	if res.Achieved.Responses != 400 || res.StatusCodes[0] != 400 {
		t.Errorf("responses = %d, codes %v; want 400 OK", res.Achieved.Responses, res.StatusCodes)
	}
	if res.Latency != nil {
		t.Errorf("closed loop has a corrected latency")
	}
	wantNear(t, "service time", p50(t, res.ServiceTime), time.Millisecond)
}

func TestGRPCTLS(t *testing.T) {
	addr := startGRPCEcho(t, "0", "", true)
	res := protoRun(t, &loadgen.Plan{
		Targets: []string{"grpcs://" + addr + "/" + echo.EchoService + "/Echo"}, TLS: loadgen.TLS{SkipVerify: true},
		Connections: 1, Requests: 50,
	})
	wantNoErrors(t, res)
	if res.Achieved.Responses != 50 {
		t.Errorf("responses = %d, want 50", res.Achieved.Responses)
	}
	// Without --insecure the self-signed certificate is refused.
	res = protoRun(t, &loadgen.Plan{Targets: []string{"grpcs://" + addr}, Connections: 1, Requests: 5})
	if c := classes(res); c[loadgen.ClassTLS] != 5 {
		t.Errorf("classes = %v, want 5 tls", c)
	}
}

func TestGRPCErrors(t *testing.T) {
	unavailable := startGRPCEcho(t, "0", "UNAVAILABLE", false)
	slow := startGRPCEcho(t, "300ms", "", false)
	down := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}()
	// A server that takes the connection and resets it as soon as the
	// client speaks (SO_LINGER 0 sends RST, not FIN).
	reset := rstServer(t)

	tests := []struct {
		name    string
		plan    loadgen.Plan
		class   string
		code    int
		hasCode bool
	}{
		{"server answers UNAVAILABLE", loadgen.Plan{Targets: []string{"grpc://" + unavailable + "/" + echo.EchoService + "/Echo"}},
			loadgen.ClassUnavailable, 14, true},
		{"health check answers UNAVAILABLE", loadgen.Plan{Targets: []string{"grpc://" + unavailable}},
			loadgen.ClassUnavailable, 14, true},
		{"deadline exceeded", loadgen.Plan{Targets: []string{"grpc://" + slow}, Timeout: 50 * time.Millisecond},
			loadgen.ClassDeadlineExceeded, 4, true},
		{"server down", loadgen.Plan{Targets: []string{"grpc://" + down}}, loadgen.ClassRefused, 14, true},
		{"reset", loadgen.Plan{Targets: []string{"grpc://" + reset}}, loadgen.ClassReset, 14, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.plan
			p.Connections, p.Requests = 2, 10
			res := protoRun(t, &p)
			if c := classes(res); c[tc.class] != 10 || len(c) != 1 {
				t.Errorf("classes = %v, want 10 %s; examples %+v", c, tc.class, res.Errors)
			}
			if res.Achieved.Errors != 10 || res.Achieved.Responses != 0 {
				t.Errorf("errors = %d, responses = %d; want 10 and 0", res.Achieved.Errors, res.Achieved.Responses)
			}
			if res.StatusCodes[tc.code] != 10 {
				t.Errorf("status codes = %v, want 10 of %d", res.StatusCodes, tc.code)
			}
		})
	}
}

// rstServer accepts connections on 127.0.0.1 and, once the client has sent
// something, resets them.
func rstServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				buf := make([]byte, 1)
				_, _ = c.Read(buf)
				if tc, ok := c.(*net.TCPConn); ok {
					_ = tc.SetLinger(0)
				}
				_ = c.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

func TestGRPCBadInput(t *testing.T) {
	addr := startGRPCEcho(t, "0", "", false)
	junk := filepath.Join(t.TempDir(), "junk.protoset")
	if err := os.WriteFile(junk, []byte("not a descriptor set\xff"), 0o600); err != nil {
		t.Fatal(err)
	}
	echoURL := "grpc://" + addr + "/" + echo.EchoService + "/Echo"
	tests := []struct {
		name string
		plan loadgen.Plan
		want string
	}{
		{"malformed JSON body", loadgen.Plan{Targets: []string{echoURL}, Body: []byte(`{"message": `)},
			"body: not a valid meshperf.echo.v1.EchoRequest in JSON"},
		{"unknown field in body", loadgen.Plan{Targets: []string{echoURL}, Body: []byte(`{"nope": 1}`)},
			"body: not a valid meshperf.echo.v1.EchoRequest in JSON"},
		{"unknown method", loadgen.Plan{Targets: []string{"grpc://" + addr + "/" + echo.EchoService + "/Nope"}},
			"service meshperf.echo.v1.Echo has no method Nope (it has Echo)"},
		{"unknown service", loadgen.Plan{Targets: []string{"grpc://" + addr + "/no.Such/M"}},
			"server reflection on " + addr + ": service no.Such"},
		{"unknown method in descriptor set", loadgen.Plan{Targets: []string{"grpc://" + addr + "/no.Such/M"},
			GRPC: loadgen.GRPC{DescriptorSet: writeDescriptorSet(t)}}, "service no.Such not found in the proto descriptor"},
		{"missing descriptor set", loadgen.Plan{Targets: []string{echoURL}, GRPC: loadgen.GRPC{DescriptorSet: "/nonexistent.protoset"}},
			"grpc.descriptor_set: cannot read /nonexistent.protoset"},
		{"not a descriptor set", loadgen.Plan{Targets: []string{echoURL}, GRPC: loadgen.GRPC{DescriptorSet: junk}},
			"not a FileDescriptorSet"},
		{"bad path", loadgen.Plan{Targets: []string{"grpc://" + addr + "/JustOne"}}, "the path must be /package.Service/Method"},
		{"http scheme for grpc", loadgen.Plan{Protocol: loadgen.ProtocolGRPC, Targets: []string{"http://" + addr}}, "scheme must be grpc or grpcs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.plan
			p.Requests = 1
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			res, err := (&native.Engine{}).Run(ctx, &p, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v (result %v), want it to contain %q", err, res != nil, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("err spans lines: %q", err)
			}
		})
	}
}
