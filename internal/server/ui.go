package server

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
)

// The web UI is a single-page app: every GET that is not the API, the
// metrics or the health checks serves its index.html, and the app's router
// shows the page the path names (so /results/abc can be shared as a link).
// Vite names the files under assets/ by a hash of their content: they are
// cached for a year; index.html is revalidated every time.

// uiFile is one file of the built UI, kept in memory with its gzip form.
type uiFile struct {
	body, gz    []byte
	contentType string
	etag        string
}

// ui serves the embedded UI. Files are read and compressed on first use.
type ui struct {
	fsys  fs.FS
	once  sync.Once
	files map[string]*uiFile
	err   error
}

func newUI(fsys fs.FS) *ui { return &ui{fsys: fsys} }

// uiPath tells whether a request is for the UI rather than the API: GET or
// HEAD, and not under /api/, /metrics, /healthz or /readyz.
func uiPath(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	p := r.URL.Path
	if p == "/api" || strings.HasPrefix(p, "/api/") {
		return false
	}
	for _, reserved := range []string{"/metrics", "/healthz", "/readyz"} {
		if p == reserved || strings.HasPrefix(p, reserved+"/") {
			return false
		}
	}
	return true
}

// compressible lists the content types worth gzipping.
func compressible(ct string) bool {
	for _, p := range []string{"text/", "application/javascript", "application/json", "image/svg+xml", "application/manifest+json"} {
		if strings.HasPrefix(ct, p) {
			return true
		}
	}
	return false
}

func (u *ui) load() {
	u.files = map[string]*uiFile{}
	u.err = fs.WalkDir(u.fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		body, err := fs.ReadFile(u.fsys, p)
		if err != nil {
			return err
		}
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = http.DetectContentType(body)
		}
		sum := sha256.Sum256(body)
		f := &uiFile{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		if compressible(ct) && len(body) > 512 {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			_, _ = zw.Write(body)
			_ = zw.Close()
			if buf.Len() < len(body) {
				f.gz = buf.Bytes()
			}
		}
		u.files["/"+p] = f
		return nil
	})
}

// notBuiltPage answers when the binary was built without the UI.
const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>meshperf: UI not built</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto; line-height: 1.5">
<h1>meshperf's web UI was not built into this binary</h1>
<p>The API works: it is under <a href="/api/v1/openapi.json">/api/v1</a>.</p>
<p>To get the UI, build it and then meshperf (needs Node.js 20 and npm):</p>
<pre>make web     # cd web &amp;&amp; npm ci &amp;&amp; npm run build
make build</pre>
</body></html>
`

func (u *ui) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.once.Do(u.load)
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if u.err != nil && !errors.Is(u.err, fs.ErrNotExist) {
		http.Error(w, "the embedded UI cannot be read: "+u.err.Error(), http.StatusInternalServerError)
		return
	}
	index, built := u.files["/index.html"]
	if !built {
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write([]byte(notBuiltPage))
		}
		return
	}
	f, ok := u.files[path.Clean(r.URL.Path)]
	switch {
	case ok && strings.HasPrefix(r.URL.Path, "/assets/"):
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	case ok && r.URL.Path != "/index.html":
		h.Set("Cache-Control", "public, max-age=3600")
	case strings.HasPrefix(r.URL.Path, "/assets/"):
		// A missing script must not come back as a page of HTML.
		http.Error(w, "no such asset (the UI was rebuilt? reload the page)", http.StatusNotFound)
		return
	default:
		// Any other path is a page of the app: its router decides.
		f = index
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "+
			"connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
		h.Set("X-Frame-Options", "DENY")
	}
	h.Set("Content-Type", f.contentType)
	h.Set("ETag", f.etag)
	if f.gz != nil {
		h.Add("Vary", "Accept-Encoding")
	}
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := f.body
	if f.gz != nil && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = f.gz
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// acceptsGzip reads Accept-Encoding for gzip with a non-zero q.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") || strings.TrimSpace(name) == "*" {
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}
