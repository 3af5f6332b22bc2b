package native

import (
	"bufio"
	"fmt"
	"github.com/meshperf/meshperf/loadgen"
	"strings"
	"testing"
	"time"
)

// FuzzResponse feeds arbitrary bytes to the HTTP/1.1 response reader: it must
// return a status or an error, never panic or loop.
func FuzzResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.0 404 Not Found\r\n\r\nbody",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"garbage",
	} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, resp string, head bool) {
		c := &h1Client{}
		br := bufio.NewReaderSize(strings.NewReader(resp), 64)
		status, _, err := c.readResponse(br, head)
		if err == nil && (status < 100 || status > 999) {
			t.Fatalf("status %d without error for %q", status, resp)
		}
	})
}

// feedAll gives the event loop's parser resp in pieces of step bytes, then
// the end of the connection.
func feedAll(resp string, head bool, step int) (status int, err error) {
	var p respParser
	p.reset(head)
	b := []byte(resp)
	for len(b) > 0 {
		n := min(step, len(b))
		done, err := p.feed(b[:n])
		if err != nil {
			return 0, err
		}
		b = b[n:]
		if done {
			if len(b) > 0 {
				return 0, &loadgen.ProtocolError{Msg: "trailing bytes"}
			}
			return p.status, nil
		}
	}
	if done, err := p.eof(); !done {
		return 0, err
	}
	return p.status, nil
}

func TestRespParser(t *testing.T) {
	tests := []struct {
		name    string
		resp    string
		head    bool
		status  int
		wantErr bool
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, 200, false},
		{"chunked", "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n", false, 201, false},
		{"interim", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", false, 204, false},
		{"head", "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", true, 200, false},
		{"until close", "HTTP/1.0 200 OK\r\n\r\nall of it", false, 200, false},
		{"truncated body", "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort", false, 0, true},
		{"bad status", "HTTP/1.1 2x0 OK\r\n\r\n", false, 0, true},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nq\r\n", false, 0, true},
		{"garbage", "SSH-2.0\r\n\r\n", false, 0, true},
	}
	for _, tc := range tests {
		for _, step := range []int{1, 3, 7, 1 << 20} {
			got, err := feedAll(tc.resp, tc.head, step)
			if (err != nil) != tc.wantErr || got != tc.status {
				t.Errorf("%s (step %d): status %d, err %v; want %d, error %v", tc.name, step, got, err, tc.status, tc.wantErr)
			}
		}
	}
}

// FuzzParsersAgree checks the event loop's incremental parser against the
// blocking one on the same bytes, cut at any point.
func FuzzParsersAgree(f *testing.F) {
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, uint8(3))
	f.Add("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", false, uint8(1))
	f.Add("HTTP/1.0 404 Not Found\r\n\r\nbody", false, uint8(200))
	f.Add("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", true, uint8(5))
	f.Fuzz(func(t *testing.T, resp string, head bool, step uint8) {
		if strings.Contains(resp, "\n\n") || strings.Count(resp, "\r") != strings.Count(resp, "\r\n") {
			return // the blocking parser also takes bare LF line ends; the event loop wants CRLF
		}
		if len(resp) > 8192 {
			return // the blocking reader cuts long lines, by design
		}
		wd := time.AfterFunc(2*time.Second, func() { panic(fmt.Sprintf("hang on %q", resp)) })
		defer wd.Stop()
		c := &h1Client{}
		want, _, werr := c.readResponse(bufio.NewReaderSize(strings.NewReader(resp), 16<<10), head)
		got, gerr := feedAll(resp, head, int(step)+1)
		if werr == nil && gerr == nil && got != want {
			t.Fatalf("status: event loop %d, blocking %d, for %q", got, want, resp)
		}
		if gerr == nil && werr != nil {
			t.Fatalf("event loop accepted what the blocking parser refused (%v): %q", werr, resp)
		}
	})
}
