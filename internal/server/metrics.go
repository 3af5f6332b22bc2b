package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's own Prometheus metrics, registered on the
// Registerer given in Options (never the global one).
type metrics struct {
	requests *prometheus.HistogramVec
	runs     *prometheus.CounterVec
	active   *prometheus.GaugeVec
	handler  http.Handler
}

func newMetrics(reg prometheus.Registerer, gather prometheus.Gatherer) *metrics {
	m := &metrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "meshperf_server_request_duration_seconds",
			Help:    "Time to answer API requests, by method, route and status code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route", "code"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshperf_server_runs_total",
			Help: "Runs that reached each state since the server started.",
		}, []string{"state"}),
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "meshperf_server_runs",
			Help: "Runs now queued or running.",
		}, []string{"state"}),
	}
	reg.MustRegister(m.requests, m.runs, m.active)
	m.active.WithLabelValues("queued")
	m.active.WithLabelValues("running")
	m.handler = promhttp.HandlerFor(gather, promhttp.HandlerOpts{})
	return m
}

// state records a run's move from one state to another ("" for none).
func (m *metrics) state(from, to string) {
	if from == "queued" || from == "running" {
		m.active.WithLabelValues(from).Dec()
	}
	if to == "queued" || to == "running" {
		m.active.WithLabelValues(to).Inc()
	}
	m.runs.WithLabelValues(to).Inc()
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	s.metrics.handler.ServeHTTP(w, r)
	return nil
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController (event streams' deadlines) through
// the wrapper.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush lets event streams through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *Server) observe(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		s.metrics.requests.WithLabelValues(r.Method, route, strconv.Itoa(sw.code)).Observe(time.Since(start).Seconds())
	})
}
