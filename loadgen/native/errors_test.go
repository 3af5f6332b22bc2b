package native

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

// engines are the two ways plain HTTP/1.1 is sent; tests of it run on both.
var engines = []struct {
	name string
	e    *Engine
}{
	{"event loop", &Engine{Version: "test"}},
	{"goroutines", &Engine{Version: "test", Goroutines: true}},
}

// runPlan runs a small closed-loop plan on the event loop and returns its result.
func runPlan(t *testing.T, p *loadgen.Plan) *spec.Result {
	t.Helper()
	return runOn(t, &Engine{Version: "test"}, p)
}

// runOn runs a small closed-loop plan on e.
func runOn(t *testing.T, e *Engine, p *loadgen.Plan) *spec.Result {
	t.Helper()
	if p.Connections == 0 {
		p.Connections = 2
	}
	if p.Duration == 0 && p.Requests == 0 {
		p.Requests = 20
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := e.Run(ctx, p, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

// rawServer accepts connections on 127.0.0.1 and hands each to handle.
func rawServer(t *testing.T, handle func(net.Conn)) string {
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
			go handle(c)
		}
	}()
	return ln.Addr().String()
}

// dnsNXDomain is a DNS server on 127.0.0.1 that answers every query with
// "no such name".
func dnsNXDomain(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 12 {
				continue
			}
			resp := append([]byte(nil), buf[:n]...)
			resp[2] = 0x81 | (buf[2] & 0x01) // QR, opcode 0, RD copied
			resp[3] = 0x83                   // RA, RCODE 3 = NXDOMAIN
			resp[6], resp[7], resp[8], resp[9], resp[10], resp[11] = 0, 0, 0, 0, 0, 0
			_, _ = pc.WriteTo(resp, addr)
		}
	}()
	return pc.LocalAddr().String()
}

func TestErrorClasses(t *testing.T) {
	closedPort := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer tls.Close()

	tests := []struct {
		name  string
		plan  func() *loadgen.Plan
		class string
	}{
		{"connection refused", func() *loadgen.Plan {
			return &loadgen.Plan{Targets: []string{"http://" + closedPort() + "/"}}
		}, loadgen.ClassRefused},
		{"dns", func() *loadgen.Plan {
			return &loadgen.Plan{Targets: []string{"http://no-such-host.meshperf.test/"}, Resolver: dnsNXDomain(t)}
		}, loadgen.ClassDNS},
		{"timeout", func() *loadgen.Plan {
			addr := rawServer(t, func(c net.Conn) { time.Sleep(2 * time.Second); c.Close() })
			return &loadgen.Plan{Targets: []string{"http://" + addr + "/"}, Timeout: 100 * time.Millisecond, Requests: 4}
		}, loadgen.ClassTimeout},
		{"reset", func() *loadgen.Plan {
			addr := rawServer(t, func(c net.Conn) {
				bufio.NewReader(c).ReadString('\n')
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			})
			return &loadgen.Plan{Targets: []string{"http://" + addr + "/"}}
		}, loadgen.ClassReset},
		{"dropped mid-response", func() *loadgen.Plan {
			addr := rawServer(t, func(c net.Conn) {
				bufio.NewReader(c).ReadString('\n')
				c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"))
				c.Close()
			})
			return &loadgen.Plan{Targets: []string{"http://" + addr + "/"}}
		}, loadgen.ClassReset},
		{"tls: unknown authority", func() *loadgen.Plan {
			return &loadgen.Plan{Targets: []string{tls.URL}}
		}, loadgen.ClassTLS},
		{"tls: plain server", func() *loadgen.Plan {
			addr := rawServer(t, func(c net.Conn) {
				bufio.NewReader(c).ReadString('\n')
				c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
				c.Close()
			})
			return &loadgen.Plan{Targets: []string{"https://" + addr + "/"}}
		}, loadgen.ClassTLS},
		{"protocol", func() *loadgen.Plan {
			addr := rawServer(t, func(c net.Conn) {
				bufio.NewReader(c).ReadString('\n')
				c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n\r\n"))
				c.Close()
			})
			return &loadgen.Plan{Targets: []string{"http://" + addr + "/"}}
		}, loadgen.ClassProtocol},
		{"protocol: bad chunk", func() *loadgen.Plan {
			addr := rawServer(t, func(c net.Conn) {
				bufio.NewReader(c).ReadString('\n')
				c.Write([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"))
				c.Close()
			})
			return &loadgen.Plan{Targets: []string{"http://" + addr + "/"}}
		}, loadgen.ClassProtocol},
	}
	for _, tc := range tests {
		for _, eng := range engines {
			t.Run(tc.name+"/"+eng.name, func(t *testing.T) {
				testErrorClass(t, runOn(t, eng.e, tc.plan()), tc.class)
			})
		}
	}
}

func testErrorClass(t *testing.T, res *spec.Result, class string) {
	t.Helper()
	if res.Achieved.Responses != 0 {
		t.Errorf("responses = %d, want 0", res.Achieved.Responses)
	}
	if len(res.Errors) == 0 {
		t.Fatalf("no errors recorded; achieved %+v", res.Achieved)
	}
	got := res.Errors[0]
	if got.Class != class {
		t.Errorf("class = %q (%v), want %q", got.Class, got.Examples, class)
	}
	if got.Count != res.Achieved.Requests || got.Count == 0 {
		t.Errorf("count = %d, want every request (%d)", got.Count, res.Achieved.Requests)
	}
	if len(got.Examples) == 0 || len(got.Examples) > 3 {
		t.Errorf("examples = %q, want 1 to 3", got.Examples)
	}
	if res.Achieved.ErrorRate != 1 {
		t.Errorf("error rate = %v, want 1", res.Achieved.ErrorRate)
	}
}

// An invalid host name fails in the resolver without any query leaving
// the machine.
func TestInvalidHostNameIsDNSError(t *testing.T) {
	res := runPlan(t, &loadgen.Plan{Targets: []string{"http://bad!host/"}, Requests: 2})
	if len(res.Errors) != 1 || res.Errors[0].Class != loadgen.ClassDNS {
		t.Fatalf("errors = %+v, want one dns class", res.Errors)
	}
}

func TestKeepAliveRaceIsRetried(t *testing.T) {
	// A server that answers one request per connection but says nothing
	// about closing: the client finds out on its next write or read.
	addr := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if line == "\r\n" {
				break
			}
		}
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
		time.Sleep(5 * time.Millisecond)
		c.Close()
	})
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			res := runOn(t, eng.e, &loadgen.Plan{Targets: []string{"http://" + addr + "/"}, Connections: 1, Requests: 30})
			if res.Achieved.Errors != 0 {
				t.Errorf("errors = %d (%+v), want 0: a closed idle connection must be retried once", res.Achieved.Errors, res.Errors)
			}
			if res.StatusCodes[200] != 30 {
				t.Errorf("200s = %d, want 30", res.StatusCodes[200])
			}
		})
	}
}

func TestHTTP1Framing(t *testing.T) {
	tests := []struct {
		name     string
		response string
		method   string
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "GET"},
		{"chunked with trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n", "GET"},
		{"100 continue first", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", "POST"},
		{"head has no body", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", "HEAD"},
		{"204 no body", "HTTP/1.1 204 No Content\r\n\r\n", "GET"},
		{"http/1.0 close-delimited", "HTTP/1.0 200 OK\r\n\r\nbody until close", "GET"},
		{"connection close", "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbusy", "GET"},
		{"long header line", "HTTP/1.1 200 OK\r\nX-Long: " + strings.Repeat("x", 40000) + "\r\nContent-Length: 2\r\n\r\nok", "GET"},
	}
	for _, tc := range tests {
		for _, eng := range engines {
			t.Run(tc.name+"/"+eng.name, func(t *testing.T) {
				testFraming(t, eng.e, tc.response, tc.method)
			})
		}
	}
}

func testFraming(t *testing.T, e *Engine, response, method string) {
	t.Helper()
	closeAfter := strings.HasPrefix(response, "HTTP/1.0") || strings.Contains(response, "Connection: close")
	addr := rawServer(t, func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		for {
			// Read one request head (and no body: the plans send none).
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				if line == "\r\n" {
					break
				}
			}
			if _, err := c.Write([]byte(response)); err != nil || closeAfter {
				return
			}
		}
	})
	res := runOn(t, e, &loadgen.Plan{Targets: []string{"http://" + addr + "/"}, Method: method, Connections: 1, Requests: 10})
	if res.Achieved.Responses != 10 || len(res.Errors) != 0 {
		t.Fatalf("responses = %d, errors = %+v; want 10 and none", res.Achieved.Responses, res.Errors)
	}
}
