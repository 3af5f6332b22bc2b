// Package server is meshperf's HTTP API: profiles, results, comparisons and
// exports under /api/v1, over a store; runs, schedules and agents through
// the run service (internal/runs) and the agent registry (internal/agents).
// Handlers return errors that one function turns into the JSON error body;
// the server's state lives in the Server struct.
package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/meshperf/meshperf/internal/agents"
	"github.com/meshperf/meshperf/internal/api"
	"github.com/meshperf/meshperf/internal/auth"
	"github.com/meshperf/meshperf/internal/meshmetrics"
	"github.com/meshperf/meshperf/internal/runs"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/store"
	"github.com/meshperf/meshperf/web"
)

// Log attribute keys.
const (
	logKeyMethod = "method"
	logKeyPath   = "path"
	logKeyErr    = "err"
	logKeyAddr   = "addr"
	logKeyRun    = "run"
	logKeyCount  = "count"
)

// Defaults of the durability options (the run service's).
const (
	DefaultSaveEvery       = runs.DefaultSaveEvery
	DefaultInstanceTimeout = runs.DefaultInstanceTimeout
	DefaultSaveRetries     = runs.DefaultSaveRetries
	DefaultSaveBackoff     = runs.DefaultSaveBackoff
)

// DefaultMaxBody bounds request bodies.
const DefaultMaxBody = 2 << 20

// Options configure a Server.
type Options struct {
	Store   store.Store
	Logger  *slog.Logger
	Version string
	// MaxBody bounds request bodies in bytes; DefaultMaxBody when zero.
	MaxBody int64
	// Concurrency is how many runs may load at once; 1 when zero, so
	// tests do not disturb each other.
	Concurrency int
	// AllowTargets, when set, are the host patterns (path.Match syntax,
	// e.g. "*.shop.svc.cluster.local", "127.0.0.1") runs may load; a run
	// naming another host is refused. A load tester exposed to a team is
	// otherwise a traffic cannon.
	AllowTargets []string
	// ShutdownGrace is how long running tests may go on after the server
	// is told to stop; then they are interrupted, what they measured kept.
	ShutdownGrace time.Duration
	// Auth, when set, is team mode: every endpoint but health, the OpenAPI
	// document and login needs a token. Nil is single-user mode.
	Auth *auth.Service
	// Registerer and Gatherer receive and serve (at /metrics) the server's
	// metrics; a registry of its own when nil.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// UI is the built web UI served at every GET path outside the API;
	// the one embedded in the binary (package web) when nil.
	UI fs.FS
	// EchoURL is the echo target started beside the server, if any, shown
	// to the UI (GET /api/v1/info) as a first target.
	EchoURL string
	// AgentToken is the join token agents must present to ServeAgents;
	// empty: the server takes no agents. AgentTLS, when set, secures the
	// agent stream (mutual TLS when it requires client certificates).
	// AgentHeartbeat (default 1s) and AgentSkewTolerance (default 10ms):
	// see internal/agents.
	AgentToken         string
	AgentTLS           *tls.Config
	AgentHeartbeat     time.Duration
	AgentSkewTolerance time.Duration
	// Limits bound every number and size of what the API may run
	// (loadgen.DefaultLimits when nil); only the operator raises them.
	Limits *loadgen.Limits
	// AllowFiles are the directories files named by profiles (cert_file,
	// key_file, grpc_descriptor_set) may be read from; none: such
	// profiles are refused (the content can be given inline). Directories
	// that do not resolve are left out, with an error logged.
	AllowFiles []string
	// AllowPrometheus are the host (or host:port) patterns metrics.prometheus
	// may name; none: any in single-user mode, none in team mode.
	AllowPrometheus []string
	// MaxConnections caps the API's open connections (ListenAndServe);
	// DefaultMaxConnections when zero.
	MaxConnections int
	// Cluster is the live inventory of the Kubernetes cluster served under
	// /api/v1/cluster and recorded in runs (cluster.go); nil: none.
	Cluster ClusterSource
	// MeshMetrics reads the mesh's own traffic metrics (Prometheus),
	// served at /api/v1/cluster/metrics; nil: none.
	MeshMetrics meshmetrics.Source
	// Conformance runs conformance tests against the cluster
	// (POST /api/v1/conformance); nil: the server runs none, and serves
	// the stored results only.
	Conformance ConformanceRunner

	// InstanceID names this server process in the store; its runs are
	// its own (a new random id when empty). InstanceTimeout is how long a
	// heartbeat may be stale before another server takes its runs for
	// dead and interrupts them (DefaultInstanceTimeout when 0).
	InstanceID      string
	InstanceTimeout time.Duration
	// SaveEvery is how often a running test's result so far is saved
	// (DefaultSaveEvery when 0; negative: never, only at the end).
	SaveEvery time.Duration
	// SaveRetries and SaveBackoff bound the retries of a failed final
	// save (and of a run's final state): SaveRetries more tries
	// (DefaultSaveRetries when 0, none when negative), SaveBackoff
	// (DefaultSaveBackoff when 0) between the first two, doubling.
	SaveRetries int
	SaveBackoff time.Duration
}

// Server serves the API.
type Server struct {
	st           store.Store
	log          *slog.Logger
	version      string
	maxBody      int64
	allowTargets []string
	grace        time.Duration
	mux          *http.ServeMux
	runs         *runs.Service
	metrics      *metrics
	auth         *auth.Service
	agents       *agents.Registry
	ui           *ui
	echoURL      string
	maxConns     int
	closeOnce    sync.Once
	limits       loadgen.Limits
	files        *fileAccess
	allowProm    []string
	cluster      ClusterSource
	meshMetrics  meshmetrics.Source
	// stopResume ends the loop resuming capacity searches; resuming waits
	// for it.
	stopResume   context.CancelFunc
	resuming     sync.WaitGroup
	chartRender  chan struct{} // one Helm chart renders at a time (designs.go)
	conformance  ConformanceRunner
	confProgress conformanceProgress
}

// New makes a Server: the composition root of server mode, where what is
// wired to what is written once.
//
//	HTTP routes ─► handlers (this package) ─► runs.Service, store, auth.Service
//	runs.Service (internal/runs): queue, workers, event streams, durable
//	    saves, heartbeat, schedules; it executes each run with runs.Execute
//	    ├─ admission: admit.go (files, limits, allow-lists), again at start
//	    ├─ agents.Registry (internal/agents): distributed runs; its gRPC
//	    │   stream is served by ServeAgents
//	    └─ metrics: run states
//
// Runs a previous process left queued or running are marked interrupted.
// Close stops the workers.
func New(opts Options) *Server {
	s := newHTTP(opts)
	s.agents = agents.New(agents.Options{Logger: s.log, Version: opts.Version, Token: opts.AgentToken, TLS: opts.AgentTLS,
		Heartbeat: opts.AgentHeartbeat, SkewTolerance: opts.AgentSkewTolerance})
	s.runs = runs.New(runs.Options{Store: s.st, Logger: s.log, Version: s.version, Concurrency: opts.Concurrency,
		Admission: admission{s}, Agents: s.agents, StateChanged: s.metrics.state, MeshContext: s.meshContext,
		Instance: opts.InstanceID, InstanceTimeout: opts.InstanceTimeout, SaveEvery: opts.SaveEvery,
		SaveRetries: opts.SaveRetries, SaveBackoff: opts.SaveBackoff, ScheduledJob: s.scheduledCapacity,
		MeshTraffic: meshmetrics.ForRuns(opts.MeshMetrics)})
	if s.st != nil {
		every := opts.InstanceTimeout
		if every <= 0 {
			every = DefaultInstanceTimeout
		}
		ctx, stop := context.WithCancel(context.Background())
		s.stopResume = stop
		s.resuming.Add(1)
		go func() { defer s.resuming.Done(); s.resumeLoop(ctx, every) }()
	}
	return s
}

// newHTTP makes the HTTP layer: its settings with their defaults, the UI,
// the metrics and the routes.
func newHTTP(opts Options) *Server {
	s := &Server{st: opts.Store, log: opts.Logger, version: opts.Version, maxBody: opts.MaxBody,
		allowTargets: opts.AllowTargets, grace: opts.ShutdownGrace, auth: opts.Auth, echoURL: opts.EchoURL,
		maxConns: opts.MaxConnections, cluster: opts.Cluster, meshMetrics: opts.MeshMetrics, chartRender: make(chan struct{}, 1),
		conformance: opts.Conformance}
	if s.maxConns <= 0 {
		s.maxConns = DefaultMaxConnections
	}
	if opts.UI == nil {
		opts.UI = web.Dist()
	}
	s.ui = newUI(opts.UI)
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.limits, s.allowProm = loadgen.DefaultLimits, opts.AllowPrometheus
	if opts.Limits != nil {
		s.limits = *opts.Limits
	}
	var err error
	if s.files, err = newFileAccess(opts.AllowFiles, s.limits.FileSize); err != nil {
		s.log.Error("files named by profiles will be refused", logKeyErr, err)
		s.files = &fileAccess{max: s.limits.FileSize}
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBody
	}
	if s.grace <= 0 {
		s.grace = 30 * time.Second
	}
	reg, gather := opts.Registerer, opts.Gatherer
	if reg == nil {
		r := prometheus.NewRegistry()
		r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		reg, gather = r, r
	}
	s.metrics = newMetrics(reg, gather)
	s.mux = http.NewServeMux()
	for _, rt := range s.routes() {
		_, route, _ := strings.Cut(rt.pattern, " ")
		s.mux.Handle(rt.pattern, s.observe(route, s.guard(rt.pattern, s.serve(rt.h))))
	}
	return s
}

// Close stops taking runs, lets running ones finish within the grace
// period, then interrupts them (keeping what they measured).
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		if s.stopResume != nil {
			s.stopResume() // before the shutdown, whose searches the next server resumes
			s.resuming.Wait()
		}
		s.runs.Shutdown(s.grace)
		s.agents.Close()
	})
}

// route is one endpoint; routes() is the list the OpenAPI test checks.
type route struct {
	pattern string
	h       handlerFunc
}

func (s *Server) routes() []route {
	return append(append(s.clusterRoutes(), s.designRoutes()...), []route{
		{"GET /healthz", s.healthz},
		{"GET /readyz", s.readyz},
		{"GET /metrics", s.serveMetrics},
		{"GET /api/v1/openapi.json", s.openAPI},
		{"GET /api/v1/profiles", s.listProfiles},
		{"POST /api/v1/profiles", s.createProfile},
		{"GET /api/v1/profiles/{ref}", s.getProfile},
		{"PUT /api/v1/profiles/{ref}", s.updateProfile},
		{"DELETE /api/v1/profiles/{ref}", s.deleteProfile},
		{"GET /api/v1/profiles/{ref}/revisions", s.profileRevisions},
		{"GET /api/v1/results", s.listResults},
		{"GET /api/v1/results/{id}", s.getResult},
		{"DELETE /api/v1/results/{id}", s.deleteResult},
		{"GET /api/v1/results/{id}/export", s.exportResult},
		{"GET /api/v1/experiments", s.listExperiments},
		{"GET /api/v1/experiments/{id}", s.getExperiment},
		{"POST /api/v1/compare", s.compare},
		{"POST /api/v1/runs", s.submitRun},
		{"GET /api/v1/runs", s.listRuns},
		{"GET /api/v1/runs/{id}", s.getRun},
		{"POST /api/v1/runs/{id}/cancel", s.cancelRun},
		{"POST /api/v1/capacity", s.submitCapacity},
		{"GET /api/v1/capacity", s.listCapacity},
		{"GET /api/v1/capacity/{id}", s.getCapacity},
		{"POST /api/v1/conformance", s.submitConformance},
		{"GET /api/v1/conformance", s.listConformance},
		{"GET /api/v1/conformance/matrix", s.conformanceMatrix},
		{"GET /api/v1/conformance/{id}", s.getConformance},
		{"GET /api/v1/runs/{id}/events", s.runEvents},
		{"GET /api/v1/agents", s.listAgents},
		{"POST /api/v1/auth/login", s.login},
		{"POST /api/v1/auth/refresh", s.refresh},
		{"POST /api/v1/auth/logout", s.logout},
		{"GET /api/v1/me", s.me},
		{"GET /api/v1/tokens", s.listTokens},
		{"POST /api/v1/tokens", s.createToken},
		{"DELETE /api/v1/tokens/{id}", s.revokeToken},
		{"GET /api/v1/users", s.listUsers},
		{"POST /api/v1/schedules", s.createSchedule},
		{"GET /api/v1/schedules", s.listSchedules},
		{"GET /api/v1/schedules/{id}", s.getSchedule},
		{"PUT /api/v1/schedules/{id}", s.updateSchedule},
		{"DELETE /api/v1/schedules/{id}", s.deleteSchedule},
		{"POST /api/v1/schedules/{id}/run", s.runSchedule},
		{"POST /api/v1/users", s.createUser},
		{"GET /api/v1/info", s.info},
		{"GET /api/v1/results/{id}/verdicts", s.verdicts},
	}...)
}

// ServeHTTP implements http.Handler: unknown paths and methods get the JSON
// error body too.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	if pattern == "" && s.ui != nil && uiPath(r) {
		s.ui.ServeHTTP(w, r) // a page of the web UI; its router decides which
		return
	}
	if pattern == "" {
		// The mux's own 404/405: answer in the API's shape.
		rec := &statusRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		switch rec.status {
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", rec.header.Get("Allow"))
			writeJSON(w, rec.status, api.ErrorBody{Error: &api.Error{Code: CodeMethodNotAllowed, Message: fmt.Sprintf("%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, rec.header.Get("Allow"))}})
		default:
			writeJSON(w, http.StatusNotFound, api.ErrorBody{Error: &api.Error{Code: CodeNotFound, Message: fmt.Sprintf("no endpoint %s", r.URL.Path)}})
		}
		return
	}
	s.mux.ServeHTTP(w, r) // sets the path values
}

type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header         { return r.header }
func (r *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *statusRecorder) WriteHeader(status int)      { r.status = status }

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.version})
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.st.ListResults(ctx, store.ResultFilter{Limit: 1}); err != nil {
		return &APIError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "the store does not answer: " + err.Error(), Err: err}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

// decodeJSON reads a JSON body into v: bounded in size, unknown fields and
// wrong types refused, naming the field.
func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return badRequest("", "malformed JSON at byte %d: %v", se.Offset, se)
		case errors.As(err, &te):
			return badRequest(te.Field, "%s: want %s, got %s", te.Field, te.Type, te.Value)
		case errors.Is(err, io.EOF):
			return badRequest("", "empty body: want a JSON object")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return badRequest("", "truncated JSON")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return badRequest(field, "unknown field %q", field)
		}
		return badRequest("", "invalid JSON: %v", err)
	}
	if dec.More() {
		return badRequest("", "more than one JSON value in the body")
	}
	return nil
}

// ListenAndServe serves on addr until ctx ends, then shuts down gracefully.
// ready, if not nil, receives the address actually listened on. Slow and
// idle clients are bounded by the timeouts and the connection cap of
// listener.go.
func (s *Server) ListenAndServe(ctx context.Context, addr string, ready func(net.Addr)) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	ln = newLimitListener(ln, s.maxConns)
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.log.Info("listening", logKeyAddr, ln.Addr().String())
	if ready != nil {
		ready(ln.Addr()) // last: it may print the URL to open
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		s.Close()
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "grace", s.grace.String())
	s.Close() // runs end first, so their event streams end too
	// Event streams have ended with the runs: a second is enough.
	shutdown, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		_ = srv.Close()
	}
	return nil
}

// Routes lists the method and path of every endpoint, for the OpenAPI test.
func Routes() []string {
	var out []string
	for _, rt := range (&Server{}).routes() { // routes only names methods
		out = append(out, rt.pattern)
	}
	return out
}
