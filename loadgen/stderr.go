package loadgen

import "bytes"

// OutputTail is the end of a tool's output for an error message: its last
// maxLines lines, at most 2,000 bytes, trimmed; "" when there is none. The
// adapters of other load generators keep a failed run's stderr this way.
func OutputTail(b []byte, maxLines int) string {
	const maxBytes = 2000
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return ""
	}
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	s := string(bytes.Join(lines, []byte("\n")))
	if len(s) > maxBytes {
		s = s[len(s)-maxBytes:]
	}
	return s
}
