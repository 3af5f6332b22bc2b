package echo

import (
	"context"
	"net"
	"sort"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/dynamicpb"
)

// grpcClient serves the echo's gRPC on 127.0.0.1 and dials it.
func grpcClient(t *testing.T, opts GRPCOptions) (*grpc.ClientConn, *echoDescriptors) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeGRPC(ctx, ln, opts) }()
	cc, err := grpc.NewClient("passthrough:///"+ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cc.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeGRPC: %v", err)
		}
	})
	d, err := newEchoDescriptors()
	if err != nil {
		t.Fatal(err)
	}
	return cc, d
}

// callEcho sends a request written in JSON and returns the answer in JSON.
func callEcho(t *testing.T, cc *grpc.ClientConn, d *echoDescriptors, req string) (string, time.Duration, error) {
	t.Helper()
	in := dynamicpb.NewMessage(d.req)
	if err := protojson.Unmarshal([]byte(req), in); err != nil {
		t.Fatal(err)
	}
	out := dynamicpb.NewMessage(d.resp)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	err := cc.Invoke(ctx, EchoMethod, in, out)
	took := time.Since(start)
	if err != nil {
		return "", took, err
	}
	b, err := protojson.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), took, nil
}

func TestGRPCEcho(t *testing.T) {
	cc, d := grpcClient(t, GRPCOptions{})
	tests := []struct {
		name, req, want string
		code            codes.Code
		minTook         time.Duration
	}{
		{"message back", `{"message": "hi"}`, `{"message":"hi"}`, codes.OK, 0},
		{"payload back", `{"payload": "AAEC"}`, `{"payload":"AAEC"}`, codes.OK, 0},
		{"size", `{"size": 3}`, `{"payload":"AAAA"}`, codes.OK, 0},
		{"code override", `{"code": 14}`, "", codes.Unavailable, 0},
		{"delay override", `{"delay": "30ms"}`, `{}`, codes.OK, 30 * time.Millisecond},
		{"bad delay", `{"delay": "soon"}`, "", codes.InvalidArgument, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, took, err := callEcho(t, cc, d, tc.req)
			if c := status.Code(err); c != tc.code {
				t.Fatalf("code = %v (%v), want %v", c, err, tc.code)
			}
			if tc.code == codes.OK && got != tc.want {
				t.Errorf("answer = %s, want %s", got, tc.want)
			}
			if took < tc.minTook {
				t.Errorf("took %v, want at least %v", took, tc.minTook)
			}
		})
	}
}

func TestGRPCEchoCodesAndDeadline(t *testing.T) {
	codesMix, err := ParseCodes("UNAVAILABLE")
	if err != nil {
		t.Fatal(err)
	}
	cc, _ := grpcClient(t, GRPCOptions{Codes: codesMix})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("health check: %v, want UNAVAILABLE", err)
	}

	delay, _ := ParseDelay("500ms")
	cc, _ = grpcClient(t, GRPCOptions{Delay: delay})
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{Service: EchoService})
	if status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("health check: %v, want DEADLINE_EXCEEDED", err)
	}
}

func TestGRPCReflectionListsServices(t *testing.T) {
	cc, _ := grpcClient(t, GRPCOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	stream, err := rpb.NewServerReflectionClient(cc).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		got = append(got, s.GetName())
	}
	sort.Strings(got)
	want := []string{"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection", EchoService}
	sort.Strings(want)
	if len(got) != len(want) {
		t.Fatalf("services = %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("services = %v, want %v", got, want)
		}
	}
	// The echo's file is served, so a client can build its messages.
	if err := stream.Send(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: EchoService}}); err != nil {
		t.Fatal(err)
	}
	if resp, err = stream.Recv(); err != nil || len(resp.GetFileDescriptorResponse().GetFileDescriptorProto()) == 0 {
		t.Fatalf("file containing %s: %v %v", EchoService, resp, err)
	}
}

func TestParseCodes(t *testing.T) {
	tests := []struct {
		in, want string
		bad      bool
	}{
		{"", "OK", false},
		{"unavailable", "UNAVAILABLE", false},
		{"14", "UNAVAILABLE", false},
		{"DeadlineExceeded", "DEADLINE_EXCEEDED", false},
		{"99%:OK,1%:UNAVAILABLE", "99%:OK,1%:UNAVAILABLE", false},
		{"17", "", true},
		{"NOPE", "", true},
		{"50%:OK,40%:INTERNAL", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			m, err := ParseCodes(tc.in)
			if (err != nil) != tc.bad {
				t.Fatalf("err = %v, want bad=%v", err, tc.bad)
			}
			if !tc.bad && m.String() != tc.want {
				t.Errorf("String() = %q, want %q", m.String(), tc.want)
			}
		})
	}
}
