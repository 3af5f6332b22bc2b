package native

import (
	"bytes"
	"fmt"
	"io"
	"strconv"

	"github.com/meshperf/meshperf/loadgen"
)

// maxHead bounds a response head (status line and headers).
const maxHead = 64 << 10

// Parser states.
const (
	psHead = iota
	psBody
	psChunkSize
	psChunkData
	psChunkEnd
	psTrailers
	psUntilClose
	psDone
)

// respParser reads one HTTP/1.1 response from bytes as they arrive, for the
// event loop, which cannot block on a reader. It keeps only the head and
// chunk-size lines; bodies are counted, not stored.
type respParser struct {
	head      bool // the request was HEAD: no body
	state     int
	buf       []byte
	status    int
	keep      bool
	remaining int64
}

func (p *respParser) reset(head bool) {
	p.head = head
	p.state = psHead
	p.buf = p.buf[:0]
	p.status = 0
	p.keep = false
	p.remaining = 0
}

// feed consumes b and reports whether the response is complete. Bytes after
// the end of the response are a protocol error: requests are not pipelined.
func (p *respParser) feed(b []byte) (bool, error) {
	for len(b) > 0 {
		switch p.state {
		case psHead:
			var head, rest []byte
			if len(p.buf) == 0 {
				// The common case: the whole head in one read; parse it
				// where it lies.
				end := headEnd(b, 0)
				if end < 0 {
					p.buf = append(p.buf, b...)
					return false, nil
				}
				head, rest = b[:end], b[end:]
			} else {
				// An empty line ending in b starts after the last line
				// break already buffered, or after one in b.
				start := max(0, bytes.LastIndexByte(p.buf, '\n'))
				p.buf = append(p.buf, b...)
				end := headEnd(p.buf, start)
				if end < 0 {
					if len(p.buf) > maxHead {
						return false, &loadgen.ProtocolError{Msg: "response head larger than 64 KiB"}
					}
					return false, nil
				}
				head, rest = p.buf[:end], append([]byte(nil), p.buf[end:]...)
			}
			if err := p.parseHead(head); err != nil {
				return false, err
			}
			b = rest
			p.buf = p.buf[:0]
		case psBody:
			n := min(int64(len(b)), p.remaining)
			p.remaining -= n
			b = b[n:]
			if p.remaining == 0 {
				p.state = psDone
			}
		case psChunkSize, psChunkEnd, psTrailers:
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				p.buf = append(p.buf, b...)
				if len(p.buf) > 4096 {
					return false, &loadgen.ProtocolError{Msg: "chunk line too long"}
				}
				return false, nil
			}
			p.buf = append(p.buf, b[:i+1]...)
			b = b[i+1:]
			line := bytes.TrimRight(p.buf, "\r\n")
			if err := p.chunkLine(line); err != nil {
				return false, err
			}
			p.buf = p.buf[:0]
		case psChunkData:
			n := min(int64(len(b)), p.remaining)
			p.remaining -= n
			b = b[n:]
			if p.remaining == 0 {
				p.state = psChunkEnd
			}
		case psUntilClose:
			return false, nil
		case psDone:
			return true, &loadgen.ProtocolError{Msg: fmt.Sprintf("%d unexpected bytes after the response", len(b))}
		}
	}
	return p.state == psDone, nil
}

// eof is called when the server closed the connection; it reports whether
// that completed the response.
func (p *respParser) eof() (bool, error) {
	if p.state == psUntilClose || p.state == psDone {
		p.state = psDone
		return true, nil
	}
	return false, io.ErrUnexpectedEOF
}

func (p *respParser) chunkLine(line []byte) error {
	switch p.state {
	case psChunkSize:
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		size, err := strconv.ParseInt(string(trim(line)), 16, 64)
		if err != nil || size < 0 {
			return &loadgen.ProtocolError{Msg: fmt.Sprintf("bad chunk size %q", truncate(line))}
		}
		if size == 0 {
			p.state = psTrailers
		} else {
			p.state, p.remaining = psChunkData, size
		}
	case psChunkEnd:
		if len(line) != 0 {
			return &loadgen.ProtocolError{Msg: "chunk not followed by CRLF"}
		}
		p.state = psChunkSize
	case psTrailers:
		if len(line) == 0 {
			p.state = psDone
		}
	}
	return nil
}

func (p *respParser) parseHead(head []byte) error {
	first, rest := cutLine(head)
	status, err := parseStatusLine(first)
	if err != nil {
		return err
	}
	f := framing{length: -1}
	for len(rest) > 0 {
		var l []byte
		l, rest = cutLine(rest)
		if len(bytes.TrimRight(l, "\r")) == 0 {
			break
		}
		if err := f.header(l); err != nil {
			return err
		}
	}
	keep, length, chunked := f.keep(first[7] == '1'), f.length, f.chunked
	if status >= 100 && status < 200 && status != 101 {
		p.state = psHead // an interim response: the real one follows
		return nil
	}
	p.status, p.keep = status, keep
	switch {
	case p.head || status == 204 || status == 304 || status == 101:
		p.state = psDone
	case chunked:
		p.state = psChunkSize
	case length > 0:
		p.state, p.remaining = psBody, length
	case length == 0:
		p.state = psDone
	default:
		p.state, p.keep = psUntilClose, false
	}
	return nil
}

// headEnd returns the index just past the head that starts b: past its
// first empty line (a line break, any carriage returns, a line break), as
// the blocking client's line reader ends a head; -1 when b holds no empty
// line yet. The search starts at from, at or before a line break.
func headEnd(b []byte, from int) int {
	for i := from; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		k := i + j + 1
		for k < len(b) && b[k] == '\r' {
			k++
		}
		if k < len(b) && b[k] == '\n' {
			return k + 1
		}
		i = i + j + 1
	}
}

// cutLine splits off the first line of b, without its CRLF or LF.
func cutLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return b, nil
	}
	line, rest = b[:i], b[i+1:]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest
}
