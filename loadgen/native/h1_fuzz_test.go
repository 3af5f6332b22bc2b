package native

import (
	"bufio"
	"strings"
	"testing"
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
