package echo

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// discardWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the handler alone.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

func BenchmarkServeEcho(b *testing.B) {
	mix, err := ParseStatus("99%:200,1%:503")
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		opts Options
		url  string
	}{
		{"empty", Options{}, "/"},
		{"1KiB mix", Options{Size: 1024, Status: mix}, "/"},
		{"override", Options{}, "/?size=1024&status=503"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := NewHandler(bc.opts)
			req := httptest.NewRequest(http.MethodGet, bc.url, nil)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				w := &discardWriter{h: http.Header{}}
				for pb.Next() {
					h.ServeHTTP(w, req)
				}
			})
		})
	}
}
