package server

import "time"

// SetTimeouts shortens the HTTP server's timeouts for a test, returning
// what restores them.
func SetTimeouts(header, read, write, idle time.Duration) (restore func()) {
	h, r, w, i := readHeaderTimeout, readTimeout, writeTimeout, idleTimeout
	readHeaderTimeout, readTimeout, writeTimeout, idleTimeout = header, read, write, idle
	return func() { readHeaderTimeout, readTimeout, writeTimeout, idleTimeout = h, r, w, i }
}

// ExportFormats lists the formats GET /api/v1/results/{id}/export serves.
func ExportFormats() []string {
	var out []string
	for f := range exportFormats {
		out = append(out, f)
	}
	return out
}
