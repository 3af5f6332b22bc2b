package echo

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Upstreams make an echo server part of a small application: before
// answering an echo request it calls each upstream URL (GET, all at once)
// and answers 502 naming the first that failed. A front with two
// upstreams, one of which has its own, is the sample application of
// docs/designs.md: a mesh then carries every hop.
type Upstreams struct {
	// URLs are called for every echo request, in parallel: the fan-out.
	URLs []string
	// Timeout bounds each call (default 10s).
	Timeout time.Duration
}

// MaxUpstreams is the most upstreams one server calls.
const MaxUpstreams = 16

// maxUpstreamBody is how much of an upstream's answer is read.
const maxUpstreamBody = 1 << 20

// propagated are the headers passed on to upstreams, so traces and
// request ids follow a request through the mesh.
var propagated = []string{"X-Request-Id", "Traceparent", "Tracestate", "X-B3-Traceid", "X-B3-Spanid",
	"X-B3-Parentspanid", "X-B3-Sampled", "X-B3-Flags", "B3", "X-Ot-Span-Context"}

// ParseUpstream checks one upstream URL: http or https, with a host.
func ParseUpstream(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("upstream %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("upstream %q: want http://host[:port][/path] or https://...", s)
	}
	return u.String(), nil
}

// ServeWithUpstreams is Serve, with every echo request first calling the
// upstreams.
func ServeWithUpstreams(ctx context.Context, ln net.Listener, opts Options, up Upstreams) error {
	opts = opts.withDefaults()
	if len(up.URLs) > MaxUpstreams {
		return fmt.Errorf("echo: %d upstreams, more than %d", len(up.URLs), MaxUpstreams)
	}
	return serve(ctx, ln, up.Handler(NewHandler(opts)), opts)
}

// Handler wraps h: echo requests call the upstreams first; /healthz and
// /admin/ go straight to h.
func (up Upstreams) Handler(h http.Handler) http.Handler {
	timeout := up.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	client := &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:               nil, // upstreams are the application's own services
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p == "/healthz" || strings.HasPrefix(p, "/admin/") || len(up.URLs) == 0 {
			h.ServeHTTP(w, r)
			return
		}
		errs := make([]error, len(up.URLs))
		var wg sync.WaitGroup
		for i, u := range up.URLs {
			wg.Go(func() { errs[i] = call(r, client, u) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

func call(in *http.Request, client *http.Client, u string) error {
	req, err := http.NewRequestWithContext(in.Context(), http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("upstream %s: %w", u, err)
	}
	for _, k := range propagated {
		if v := in.Header.Get(k); v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("upstream %s: %w", u, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxUpstreamBody))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("upstream %s: status %d", u, resp.StatusCode)
	}
	return nil
}
