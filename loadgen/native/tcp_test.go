package native_test

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/echo"
	"github.com/meshperf/meshperf/internal/echo/echotest"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/loadgen/native"
)

// startTCPEcho runs the echo's TCP server on 127.0.0.1 and returns its
// tcp:// URL.
func startTCPEcho(t *testing.T, delay string) string {
	t.Helper()
	return echotest.TCP(t, echo.TCPOptions{Delay: echotest.Delay(t, delay)})
}

func TestTCPOpenLoopAccuracy(t *testing.T) {
	url := startTCPEcho(t, "2ms")
	for _, tc := range []struct {
		name string
		tcp  loadgen.TCP
		body string
	}{
		{"echoed length", loadgen.TCP{}, "0123456789abcdef"},
		{"expect bytes", loadgen.TCP{ExpectBytes: 16}, "0123456789abcdef"},
		{"delimiter", loadgen.TCP{Delimiter: []byte("\r\n")}, "PING 1234567890\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := protoRun(t, &loadgen.Plan{
				Targets: []string{url}, Body: []byte(tc.body), TCP: tc.tcp,
				Connections: 4, Rate: loadgen.Constant(200), Duration: 2 * time.Second,
			})
			wantNoErrors(t, res)
			if got, want := res.Achieved.Responses, int64(400); got < want-2 || got > want {
				t.Errorf("responses = %d, want %d", got, want)
			}
			if len(res.StatusCodes) != 0 {
				t.Errorf("status codes = %v, want none for TCP", res.StatusCodes)
			}
			wantNear(t, "latency", p50(t, res.Latency), 2*time.Millisecond)
			if got, want := res.Achieved.BytesReceived, int64(len(tc.body))*res.Achieved.Responses; got != want {
				t.Errorf("received %d bytes, want %d", got, want)
			}
		})
	}
}

func TestTCPClosedLoop(t *testing.T) {
	url := startTCPEcho(t, "0")
	res := protoRun(t, &loadgen.Plan{
		Targets: []string{url}, Body: []byte("PING\n"), TCP: loadgen.TCP{Delimiter: []byte("\n")},
		Connections: 4, Requests: 2000,
	})
	wantNoErrors(t, res)
	if res.Achieved.Responses != 2000 || res.Achieved.BytesSent != 2000*5 {
		t.Errorf("responses = %d, bytes sent %d; want 2000 and 10000", res.Achieved.Responses, res.Achieved.BytesSent)
	}
}

// A delimiter split across reads, and one that is longer than a read: the
// server answers byte by byte.
func TestTCPDelimiterAcrossReads(t *testing.T) {
	addr := rawTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			if _, err := br.ReadString('?'); err != nil {
				return
			}
			for _, b := range []byte("some answer--END--") {
				if _, err := c.Write([]byte{b}); err != nil {
					return
				}
				time.Sleep(50 * time.Microsecond)
			}
		}
	})
	res := protoRun(t, &loadgen.Plan{
		Targets: []string{"tcp://" + addr}, Body: []byte("question?"), TCP: loadgen.TCP{Delimiter: []byte("--END--")},
		Connections: 1, Requests: 20,
	})
	wantNoErrors(t, res)
	if res.Achieved.Responses != 20 || res.Achieved.BytesReceived != 20*18 {
		t.Errorf("responses = %d, received %d; want 20 and %d", res.Achieved.Responses, res.Achieved.BytesReceived, 20*18)
	}
}

func rawTCP(t *testing.T, handle func(net.Conn)) string {
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
			go func() { defer c.Close(); handle(c) }()
		}
	}()
	return ln.Addr().String()
}

func TestTCPErrors(t *testing.T) {
	reset := rstServer(t)
	short := rawTCP(t, func(c net.Conn) {
		buf := make([]byte, 64)
		_, _ = c.Read(buf)
		_, _ = c.Write([]byte("abc")) // then closes: 3 of the 16 bytes
	})
	silent := rawTCP(t, func(c net.Conn) {
		buf := make([]byte, 64)
		_, _ = c.Read(buf)
		time.Sleep(time.Second)
	})
	down := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}()
	for _, tc := range []struct {
		name, addr, class string
		timeout           time.Duration
	}{
		{"reset", reset, loadgen.ClassReset, 0},
		{"closed early", short, loadgen.ClassReset, 0},
		{"timeout", silent, loadgen.ClassTimeout, 100 * time.Millisecond},
		{"refused", down, loadgen.ClassRefused, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := protoRun(t, &loadgen.Plan{
				Targets: []string{"tcp://" + tc.addr}, Body: []byte("0123456789abcdef"),
				Connections: 1, Requests: 3, Timeout: tc.timeout,
			})
			if c := classes(res); c[tc.class] != 3 || len(c) != 1 {
				t.Errorf("classes = %v, want 3 %s; %+v", c, tc.class, res.Errors)
			}
		})
	}
}

func TestTCPBadInput(t *testing.T) {
	tests := []struct {
		name string
		plan loadgen.Plan
		want string
	}{
		{"empty delimiter", loadgen.Plan{Body: []byte("x"), TCP: loadgen.TCP{Delimiter: []byte{}}}, "tcp.delimiter: must not be empty"},
		{"both", loadgen.Plan{Body: []byte("x"), TCP: loadgen.TCP{ExpectBytes: 3, Delimiter: []byte("\n")}}, "tcp: give a number of bytes to expect or a delimiter, not both"},
		{"negative", loadgen.Plan{Body: []byte("x"), TCP: loadgen.TCP{ExpectBytes: -1}}, "tcp.expect_bytes: must not be negative"},
		{"nothing to send or read", loadgen.Plan{}, "body: a TCP request needs a payload"},
		{"path", loadgen.Plan{Targets: []string{"tcp://127.0.0.1:1/x"}, Body: []byte("x")}, "a TCP target has no path"},
		{"delimiter on HTTP", loadgen.Plan{Targets: []string{"http://127.0.0.1:1/"}, TCP: loadgen.TCP{Delimiter: []byte("\n")}}, "tcp: expected bytes and delimiters are for TCP targets, not http"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.plan
			if p.Targets == nil {
				p.Targets = []string{"tcp://127.0.0.1:1"}
			}
			p.Requests = 1
			_, err := (&native.Engine{}).Run(context.Background(), &p, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
