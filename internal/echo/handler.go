package echo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshperf/meshperf/loadgen/hrtime"
)

// Handler answers echo requests and the admin endpoints. Make one with
// NewHandler; its state (stall, counters) belongs to it alone.
type Handler struct {
	delay         Delay
	status        StatusMix
	size          int
	contentLength []string // Content-Length for size, formatted once
	contentType   []string
	chunk         []byte // body pattern, written as many times as a response needs

	admin  *http.ServeMux
	stall  staller
	limit  *limiter // nil unless Options.Capacity is set
	stats  counters
	timers sync.Pool // *hrtime.Sleeper, reused for delays
}

// chunkSize is the length of the body pattern; bodies are written from it
// in pieces of at most this size.
const chunkSize = 64 << 10

// bodyPattern is one 64-byte line, repeated to fill response bodies.
const bodyPattern = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-\n"

var _ http.Handler = (*Handler)(nil)

// NewHandler returns a handler answering as opts says. Addr, TLS and
// Logger are not used here but by Serve.
func NewHandler(opts Options) *Handler {
	opts = opts.withDefaults()
	h := &Handler{
		delay:         opts.Delay,
		status:        opts.Status,
		size:          opts.Size,
		contentLength: []string{strconv.Itoa(opts.Size)},
		contentType:   []string{"text/plain; charset=utf-8"},
		chunk:         []byte(strings.Repeat(bodyPattern, chunkSize/len(bodyPattern))),
	}
	if opts.Capacity.RPS > 0 {
		h.limit = &limiter{c: opts.Capacity}
	}
	h.admin = h.adminMux()
	return h
}

// Stall makes every response not yet written, including those waiting for
// their delay, wait until now+d. When stalls overlap the later end wins.
func (h *Handler) Stall(d time.Duration) { h.stall.stall(d) }

// ServeHTTP answers /healthz and /admin/... at once and everything else as
// an echo request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.Path; p == "/healthz" || strings.HasPrefix(p, "/admin/") {
		h.admin.ServeHTTP(w, r)
		return
	}
	h.serveEcho(w, r)
}

// behaviour is what one echo request gets: the handler's options, or the
// query's overrides of them.
type behaviour struct {
	delay         Delay
	status        StatusMix
	size          int
	contentLength []string // nil when size was overridden
}

func (h *Handler) serveEcho(w http.ResponseWriter, r *http.Request) {
	h.stats.inFlight.Add(1)
	defer h.stats.inFlight.Add(-1)
	if r.Body != nil && r.Body != http.NoBody {
		_, _ = io.Copy(io.Discard, r.Body) // read fully, count nothing
	}
	b := behaviour{delay: h.delay, status: h.status, size: h.size, contentLength: h.contentLength}
	if r.URL.RawQuery != "" {
		if err := b.override(r.URL.RawQuery); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			h.stats.record(http.StatusBadRequest)
			return
		}
	}
	var extra time.Duration
	if h.limit != nil {
		var reject bool
		if extra, reject = h.limit.admit(time.Now()); reject {
			rejectOverload(w)
			h.stats.record(http.StatusServiceUnavailable)
			return
		}
	}
	code := b.status.Sample(nil)
	ctx := r.Context()
	if d := b.delay.Sample(nil) + extra; d > 0 && !h.sleep(ctx, d) {
		h.stats.canceled.Add(1)
		return
	}
	if err := h.stall.wait(ctx); err != nil {
		h.stats.canceled.Add(1)
		return
	}
	h.respond(w, r, code, b)
}

// sleep waits d, reporting false if ctx ended first. Delays are kept to
// the microsecond (see hrtime): a delay mix is only worth configuring if
// the server honours it.
func (h *Handler) sleep(ctx context.Context, d time.Duration) bool {
	s, _ := h.timers.Get().(*hrtime.Sleeper)
	if s == nil {
		s = hrtime.New()
	}
	ok := s.Sleep(ctx, d)
	h.timers.Put(s)
	return ok
}

func (h *Handler) respond(w http.ResponseWriter, r *http.Request, code int, b behaviour) {
	if code < 200 {
		// An interim response cannot end a request: send it (101 would
		// switch protocols, so not that one) and then a 200.
		if code != http.StatusSwitchingProtocols {
			w.WriteHeader(code)
		}
		code = http.StatusOK
	}
	hdr := w.Header()
	hdr["Content-Type"] = h.contentType
	if code == http.StatusNoContent || code == http.StatusNotModified {
		w.WriteHeader(code) // no body allowed
		h.stats.record(code)
		return
	}
	if b.contentLength == nil {
		b.contentLength = []string{strconv.Itoa(b.size)}
	}
	hdr["Content-Length"] = b.contentLength
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		for n := b.size; n > 0; {
			k := min(n, len(h.chunk))
			if _, err := w.Write(h.chunk[:k]); err != nil {
				break // the client is gone
			}
			n -= k
		}
	}
	h.stats.record(code)
}

// Query parameters that override the handler's options for one request.
const (
	paramDelay  = "delay"
	paramStatus = "status"
	paramSize   = "size"
)

// override applies the overrides in a raw query string; other parameters
// are left alone. A repeated parameter: the last one counts.
func (b *behaviour) override(rawQuery string) error {
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		key, raw, _ := strings.Cut(pair, "=")
		if key != paramDelay && key != paramStatus && key != paramSize {
			continue
		}
		v, err := url.QueryUnescape(raw)
		if err != nil {
			return paramError(key, fmt.Errorf("bad escaping in %q", raw))
		}
		switch key {
		case paramDelay:
			b.delay, err = ParseDelay(v)
		case paramStatus:
			b.status, err = ParseStatus(v)
		case paramSize:
			b.size, err = parseSize(v)
			b.contentLength = nil
		}
		if err != nil {
			return paramError(key, err)
		}
	}
	return nil
}

func paramError(name string, err error) error {
	if se, ok := errors.AsType[*SyntaxError](err); ok {
		return fmt.Errorf("query parameter %q: %s", name, se.Reason())
	}
	return fmt.Errorf("query parameter %q: %w", name, err)
}

func parseSize(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > MaxSize {
		return 0, fmt.Errorf("size %q: want a whole number of bytes from 0 to %d", s, MaxSize)
	}
	return n, nil
}

// counters are the handler's statistics, updated without locks.
type counters struct {
	requests atomic.Uint64 // echo responses written
	canceled atomic.Uint64 // echo requests whose client left during the delay or stall
	inFlight atomic.Int64
	byStatus [600]atomic.Uint64
}

func (c *counters) record(code int) {
	c.requests.Add(1)
	if code >= 0 && code < len(c.byStatus) {
		c.byStatus[code].Add(1)
	}
}
