// Package api is the contract of meshperf's HTTP API (/api/v1): every
// request and response body and the error body, as JSON. internal/server
// answers with these types and internal/client sends and reads them;
// openapi.json is checked against them field by field (internal/api/schema),
// and the UI's TypeScript types are generated from openapi.json.
//
// Bodies that are domain types (a result, a stored run, a comparison, an
// experiment report, a user) are those types, named in the structs here
// and in internal/api/routes; they are not copied.
package api

import (
	"encoding/json"
	"time"

	"github.com/meshperf/meshperf/internal/auth"
	"github.com/meshperf/meshperf/internal/capacity"
	"github.com/meshperf/meshperf/internal/conformance/result"
	"github.com/meshperf/meshperf/internal/experiment"
	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

// RunRequest submits a run: a stored profile by name or id, or a profile
// document.
type RunRequest struct {
	Profile         string            `json:"profile,omitempty"`
	ProfileDocument json.RawMessage   `json:"profile_document,omitempty"`
	Labels          map[string]string `json:"labels,omitempty"`
	// Private (team mode) shows the run and its result to their owner and
	// admins only. A run of a private stored profile is private whatever
	// it says.
	Private bool `json:"private,omitempty"`
}

// Event is one message of a run's live stream.
type Event struct {
	// Type is "state" (the run changed state), "progress" (a second
	// of the run ended), "step" (a step of a capacity search ended) or
	// "test" (a test of a conformance run ended).
	Type     string         `json:"type"`
	Run      *store.Run     `json:"run,omitempty"`
	Progress *ProgressEvent `json:"progress,omitempty"`
	// Step is a capacity search's step as it was judged (type "step").
	Step *capacity.Step `json:"step,omitempty"`
	// Test is a conformance test as it ended (type "test").
	Test *result.TestResult `json:"test,omitempty"`
}

// ProgressEvent is a second of a running test and the run so far.
type ProgressEvent struct {
	Elapsed      float64 `json:"elapsed_s"`
	Second       int     `json:"second"`
	Warmup       bool    `json:"warmup,omitempty"`
	RequestedRPS float64 `json:"requested_rps,omitempty"`
	AchievedRPS  float64 `json:"achieved_rps"`
	Requests     int64   `json:"requests"`
	Errors       int64   `json:"errors"`
	P50Ms        float64 `json:"p50_ms"`
	P90Ms        float64 `json:"p90_ms"`
	P99Ms        float64 `json:"p99_ms"`
	// So far: the measured part of the run up to this second.
	TotalRequests int64   `json:"total_requests"`
	TotalErrors   int64   `json:"total_errors"`
	TotalRPS      float64 `json:"total_rps"`
	TotalP50Ms    float64 `json:"total_p50_ms"`
	TotalP90Ms    float64 `json:"total_p90_ms"`
	TotalP99Ms    float64 `json:"total_p99_ms"`
}

// ProfileView is a stored profile as the API shows it.
type ProfileView struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Revision  int               `json:"revision"`
	Labels    map[string]string `json:"labels,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
	OwnerID   string            `json:"owner_id,omitempty"`
	Private   bool              `json:"private,omitempty"`
	Profile   *spec.Profile     `json:"profile,omitempty"`
	Warnings  []string          `json:"warnings,omitempty"`
}

// ProfileList is the body of GET /api/v1/profiles: a page of profiles by
// name (without their documents); NextCursor, when set, asks for the next.
type ProfileList struct {
	Profiles   []*ProfileView `json:"profiles"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

// ProfileRevisions is the body of GET /api/v1/profiles/{ref}/revisions,
// oldest first.
type ProfileRevisions struct {
	Revisions []*ProfileView `json:"revisions"`
}

// CompareRequest names the results to compare; the first is the baseline.
type CompareRequest struct {
	IDs []string `json:"ids"`
}

// ScheduleRequest creates or changes a schedule.
type ScheduleRequest struct {
	Profile  string `json:"profile,omitempty"` // name or id; only when creating
	Spec     string `json:"spec"`
	Timezone string `json:"timezone,omitempty"`
	Enabled  *bool  `json:"enabled,omitempty"` // default true
	// Private (team mode; only when creating) shows the schedule and its
	// runs to its owner and admins only. A schedule of a private profile
	// is private whatever it says.
	Private *bool `json:"private,omitempty"`
	// Capacity (only when creating) makes the schedule queue capacity
	// searches of its profile with these options instead of runs; its
	// profile, profile_document, labels and private are the schedule's
	// and must be left out.
	Capacity *CapacityRequest `json:"capacity,omitempty"`
}

// ScheduleView is a schedule with its spec in words.
type ScheduleView struct {
	*store.Schedule
	Description string `json:"description"`
	// Capacity are the options of the capacity searches the schedule
	// queues; absent for a schedule of runs.
	Capacity *CapacityRequest `json:"capacity,omitempty"`
}

// ScheduleList is the body of GET /api/v1/schedules.
type ScheduleList struct {
	Schedules []ScheduleView `json:"schedules"`
}

// ExperimentList is the body of GET /api/v1/experiments.
type ExperimentList struct {
	Experiments []*store.Experiment `json:"experiments"`
}

// AgentView is one agent as GET /api/v1/agents lists it.
type AgentView struct {
	Name          string            `json:"name"`
	Labels        map[string]string `json:"labels"`
	Version       string            `json:"version"`
	Capacity      AgentCapacity     `json:"capacity"`
	State         string            `json:"state"`
	LastHeartbeat time.Time         `json:"last_heartbeat"`
	ConnectedAt   time.Time         `json:"connected_at"`
	Address       string            `json:"address"`
}

// AgentCapacity is what an agent says it can do.
type AgentCapacity struct {
	Cores  int     `json:"cores"`
	MaxRPS float64 `json:"max_rps,omitempty"`
}

// AgentList is the body of GET /api/v1/agents.
type AgentList struct {
	Agents []AgentView `json:"agents"`
}

// Info tells a client (the web UI) what this server is: its version, its
// mode, the echo target it started (if any) and the load generators it can
// run.
type Info struct {
	Version string `json:"version"`
	// Mode is "single-user" or "team" (started with --auth).
	Mode string `json:"mode"`
	// EchoURL is the built-in echo target started with the server
	// (meshperf server --echo), for a first test; empty otherwise.
	EchoURL    string          `json:"echo_url,omitempty"`
	Generators []GeneratorInfo `json:"generators"`
}

// GeneratorInfo is one load generator and whether it can run here.
type GeneratorInfo struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Available   bool   `json:"available"`
	Why         string `json:"why,omitempty"`
}

// VerdictsResponse is a result checked against service-level objectives.
type VerdictsResponse struct {
	// Source says where the objectives came from: "query", "run" (the
	// profile the run was given) or "profile" (the stored profile revision
	// the result came from); "" when there were none.
	Source   string         `json:"source"`
	Verdicts []spec.Verdict `json:"verdicts"`
}

// LoginRequest logs a user in.
type LoginRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// TokenResponse carries new tokens.
type TokenResponse struct {
	AccessToken  string  `json:"access_token"`
	RefreshToken string  `json:"refresh_token"`
	TokenType    string  `json:"token_type"`
	ExpiresIn    float64 `json:"expires_in"`
}

// RefreshRequest exchanges or revokes a refresh token.
type RefreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// Me is the body of GET /api/v1/me: the caller and how it authenticated
// ("jwt" or "api-token").
type Me struct {
	User *auth.User `json:"user"`
	Via  string     `json:"via"`
}

// TokenRequest names a new API token.
type TokenRequest struct {
	Name string `json:"name"`
}

// TokenCreated is the body of POST /api/v1/tokens: the token, shown once,
// and what is stored of it.
type TokenCreated struct {
	Token string         `json:"token"`
	Info  *auth.APIToken `json:"info"`
	Note  string         `json:"note"`
}

// TokenList is the body of GET /api/v1/tokens.
type TokenList struct {
	Tokens []*auth.APIToken `json:"tokens"`
}

// UserRequest creates a user.
type UserRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	Admin    bool   `json:"admin"`
}

// UserList is the body of GET /api/v1/users.
type UserList struct {
	Users []*auth.User `json:"users"`
}

// CapacityRequest queues a capacity search (POST /api/v1/capacity): a
// stored profile by name or id, or a profile document, and the search's
// options; an option left out takes the CLI's default (docs/capacity.md).
type CapacityRequest struct {
	Profile         string            `json:"profile,omitempty"`
	ProfileDocument json.RawMessage   `json:"profile_document,omitempty"`
	Labels          map[string]string `json:"labels,omitempty"`
	Private         bool              `json:"private,omitempty"`
	// Objective are the objectives every step must meet, as
	// `meshperf capacity --objective` takes them (default: the profile's
	// meshperf.slo); Metric the objectives on its Prometheus metrics.
	Objective string `json:"objective,omitempty"`
	Metric    string `json:"metric,omitempty"`
	// MinRPS (default 100) and MaxRPS (default 50000) bound the rates.
	MinRPS *float64 `json:"min_rps,omitempty"`
	MaxRPS *float64 `json:"max_rps,omitempty"`
	// StepDuration (default 30s), Warmup (2s) and Pause (1s) time each step.
	StepDuration *spec.Duration `json:"step_duration,omitempty"`
	Warmup       *spec.Duration `json:"warmup,omitempty"`
	Pause        *spec.Duration `json:"pause,omitempty"`
	// Tolerance is relative, 0.05 for 5% (the default).
	Tolerance *float64 `json:"tolerance,omitempty"`
	// Confirm (default 2) and MaxSteps (default 30) as the CLI's flags.
	Confirm  *int `json:"confirm,omitempty"`
	MaxSteps *int `json:"max_steps,omitempty"`
}

// CapacityView is a capacity search (GET /api/v1/capacity/{id}), read
// from the store: the search, its current run (a resumed search has a new
// one) and its report; while it runs, or when it was cut short, the
// report holds the steps so far.
type CapacityView struct {
	Search *store.CapacitySearch `json:"search"`
	Run    *store.Run            `json:"run"`
	Report *capacity.Report      `json:"report,omitempty"`
}

// CapacityList is the body of GET /api/v1/capacity: a page of searches,
// newest first, without their steps and reports; NextCursor, when set,
// asks for the next.
type CapacityList struct {
	Searches   []store.CapacitySearch `json:"searches"`
	NextCursor string                 `json:"next_cursor,omitempty"`
}

// ConformanceRequest queues a conformance run (POST /api/v1/conformance)
// against the server's cluster, with the options of `meshperf conformance
// run` (docs/conformance.md).
type ConformanceRequest struct {
	Profile string `json:"profile"`
	// SupportedFeatures are the profile's extended features the
	// implementation claims; its core features are always tested.
	SupportedFeatures []string `json:"supported_features,omitempty"`
	// Mesh and MeshVersion name what is tested (default: what the
	// cluster's discovery finds).
	Mesh         string `json:"mesh,omitempty"`
	MeshVersion  string `json:"mesh_version,omitempty"`
	GatewayClass string `json:"gateway_class,omitempty"`
	// NamespaceLabels go on the suite's namespaces (e.g.
	// istio-injection=enabled).
	NamespaceLabels map[string]string `json:"namespace_labels,omitempty"`
	RunTest         string            `json:"run_test,omitempty"`
	SkipTests       []string          `json:"skip_tests,omitempty"`
	// SetupTimeout (default the suite's) and Timeout (default 1h, at most
	// 6h) as the CLI's --setup-timeout and --timeout.
	SetupTimeout *spec.Duration    `json:"setup_timeout,omitempty"`
	Timeout      *spec.Duration    `json:"timeout,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
}

// ConformanceSummary is a stored conformance result without its tests.
type ConformanceSummary struct {
	ID           string        `json:"id"`
	Kind         string        `json:"kind"`
	Profile      string        `json:"profile"`
	SuiteVersion string        `json:"suite_version"`
	Mesh         string        `json:"mesh,omitempty"`
	MeshVersion  string        `json:"mesh_version,omitempty"`
	Outcome      string        `json:"outcome"`
	Counts       result.Counts `json:"counts"`
	Started      time.Time     `json:"started"`
	Finished     time.Time     `json:"finished"`
}

// ConformanceList is a page of GET /api/v1/conformance, newest first.
type ConformanceList struct {
	Results []ConformanceSummary `json:"results"`
	// Next is the cursor of the next page (?cursor=), "" at the end.
	Next string `json:"next,omitempty"`
}

// ConformanceView is GET /api/v1/conformance/{id}: the stored result
// once the run ended, its run while this server knows it (queued,
// running, how it ended), and while it runs the tests ended so far.
type ConformanceView struct {
	Run    *store.Run     `json:"run,omitempty"`
	Result *result.Result `json:"result,omitempty"`
	// Tests are the tests ended so far while the run goes on.
	Tests []result.TestResult `json:"tests,omitempty"`
	// Performance are the latest performance results (up to 10, newest
	// first) whose mesh context found the same mesh at the same version.
	Performance []store.ResultSummary `json:"performance,omitempty"`
	// Overhead is what the same mesh version added in the newest
	// experiment that measured it against a baseline; absent when none did.
	Overhead *MeshOverhead `json:"overhead,omitempty"`
}

// MeshOverhead is what a mesh version added in an experiment: one of its
// variants, whose result's mesh context found that mesh at that version,
// against the experiment's baseline at the same sweep point, as the
// experiment's report (GET /api/v1/experiments/{id}) has it.
type MeshOverhead struct {
	ExperimentID   string `json:"experiment_id"`
	ExperimentName string `json:"experiment_name"`
	Variant        string `json:"variant"`
	Baseline       string `json:"baseline"`
	// RPS is the sweep point's requested total rate (0: closed loop) and
	// Connections its connections.
	RPS         float64 `json:"rps"`
	Connections int     `json:"connections"`
	// Latency is the distribution compared: "latency" (open loop,
	// corrected for coordinated omission) or "service_time".
	Latency string `json:"latency"`
	// P99 is the variant's p99 against the baseline's (medians over the
	// repeats).
	P99 experiment.Overhead `json:"p99"`
}

// ConformanceMatrix is GET /api/v1/conformance/matrix: the latest stored
// results of a profile (columns, oldest first) and each test's status in
// each ("" where the result has no such test).
type ConformanceMatrix struct {
	Profile string               `json:"profile"`
	Columns []ConformanceSummary `json:"columns"`
	Tests   []ConformanceRow     `json:"tests"`
}

// ConformanceRow is one test of a matrix: its status per column.
type ConformanceRow struct {
	Name     string          `json:"name"`
	Statuses []result.Status `json:"statuses"`
}
