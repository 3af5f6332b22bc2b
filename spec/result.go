// Package spec holds the types meshperf reads and writes: test profiles in
// the Service Mesh Performance (SMP) format and results, with their codecs,
// validation and merging. It has no dependency on how a test is run.
package spec

import (
	"time"
)

// ResultSchema names the version of the Result layout.
const ResultSchema = "meshperf.result/v1"

// Result describes one test run and explains itself: what was asked next to
// what happened, with the histograms kept whole.
type Result struct {
	Schema string            `json:"schema"`
	ID     string            `json:"id,omitempty"`
	Name   string            `json:"name,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	// ProfileID and ProfileRevision name the stored profile the run came
	// from, if any.
	ProfileID       string        `json:"profile_id,omitempty"`
	ProfileRevision int           `json:"profile_revision,omitempty"`
	Generator       GeneratorInfo `json:"generator"`
	Requested       Requested     `json:"requested"`
	Achieved        Achieved      `json:"achieved"`
	StartTime       time.Time     `json:"start_time"`
	EndTime         time.Time     `json:"end_time"`

	// Latency is measured from each request's intended send time (corrected
	// for coordinated omission). Nil for closed-loop runs, which have no
	// intended send times.
	Latency *Distribution `json:"latency,omitempty"`
	// ServiceTime is measured from the actual send.
	ServiceTime *Distribution `json:"service_time"`

	StatusCodes map[int]int64 `json:"status_codes,omitempty"`
	Errors      []ErrorClass  `json:"errors,omitempty"`
	Timeline    []Interval    `json:"timeline"`

	// Interrupted is set when the run was stopped before its end (Ctrl-C).
	Interrupted bool `json:"interrupted,omitempty"`
	// EndedEarly says why the generator ended the run before its end
	// (nothing could connect to the target); the CLI exits with status 3.
	EndedEarly string   `json:"ended_early,omitempty"`
	Notes      []string `json:"notes,omitempty"`

	// Agents is the per-agent breakdown of a distributed run; the
	// histograms above are the exact merge of theirs.
	Agents []AgentResult `json:"agents,omitempty"`
	// Degraded is set when part of a distributed run was lost (an agent
	// dropped); Notes say which and when.
	Degraded bool `json:"degraded,omitempty"`

	// Process describes the load generator's own process during the run,
	// so that a saturated client is not mistaken for a slow service.
	Process *ProcessStats `json:"process,omitempty"`
	// Metrics are named queries (Prometheus) evaluated over the measured
	// window of the run.
	Metrics []Metric `json:"metrics,omitempty"`
	// Mesh is the cluster's mesh context at the run's start (mesh.go).
	Mesh *MeshContext `json:"mesh,omitempty"`
	// TLS counts the run's TLS handshakes and how long they took; nil when
	// no connection used TLS (or the generator does not say).
	TLS *TLSStats `json:"tls,omitempty"`

	// SMP keeps the identifiers of the SMP result this one was imported
	// from, so that an SMP export gives every one of them back.
	SMP *SMPRefs `json:"smp,omitempty"`
}

// SMPRefs are the fields of an SMP PerformanceTestResult that name other
// records, and Meshery's mesh wrapper ({mesh: {type: N}}).
type SMPRefs struct {
	ID           string `json:"id,omitempty"`
	TestID       string `json:"test_id,omitempty"`
	MeshConfigID string `json:"mesh_config_id,omitempty"`
	EnvID        string `json:"env_id,omitempty"`
	DetailsURI   string `json:"details_uri,omitempty"`
	// MeshType is SMP's ServiceMesh.Type enum (3 is ISTIO), from Meshery's
	// mesh: {type: N}.
	MeshType int `json:"mesh_type,omitempty"`
}

// AgentResult is one agent's part of a distributed run.
type AgentResult struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	// Client names the profile client (SMP clients[]) the agent ran for.
	Client      string        `json:"client,omitempty"`
	RPS         float64       `json:"rps"`
	Connections int           `json:"connections"`
	Achieved    Achieved      `json:"achieved"`
	Latency     *Distribution `json:"latency,omitempty"`
	ServiceTime *Distribution `json:"service_time,omitempty"`
	// ClockOffset is the agent's estimated clock offset to the server.
	ClockOffset Duration `json:"clock_offset,omitempty"`
	// Process is the agent's own load generator process during its share.
	Process *ProcessStats `json:"process,omitempty"`
	// Dropped is set when the agent was lost mid-run; DroppedAt says when.
	Dropped   bool      `json:"dropped,omitempty"`
	DroppedAt time.Time `json:"dropped_at,omitzero"`
}

// TLSStats are the TLS handshakes of a run, warm-up included. A handshake's
// time runs from the TCP connection being made to the handshake's end; it
// is also part of the latency of the request that opened the connection.
type TLSStats struct {
	// SessionResumption says whether new connections offered a session
	// from an earlier one (TLS session tickets).
	SessionResumption bool `json:"session_resumption"`
	// Handshakes counts every handshake begun (those the run's own end
	// cut short excepted).
	Handshakes int64 `json:"handshakes"`
	// Resumed counts the handshakes that resumed a session.
	Resumed int64 `json:"resumed"`
	// Failed counts handshakes that ended in an error (not in
	// HandshakeTime).
	Failed        int64         `json:"failed"`
	HandshakeTime *Distribution `json:"handshake_time,omitempty"`
}

// ProcessStats are the load generator process's own figures for a run.
type ProcessStats struct {
	// CPUSeconds is user+system CPU time spent during the run; CPUCores is
	// that divided by the run's wall time (1.0 = one core busy).
	CPUSeconds float64 `json:"cpu_seconds"`
	CPUCores   float64 `json:"cpu_cores"`
	// MaxRSSBytes is the peak resident set size seen during the run.
	MaxRSSBytes   int64 `json:"max_rss_bytes"`
	MaxGoroutines int   `json:"max_goroutines"`
	// LateRatio repeats Achieved.LateRatio: a high value means the client
	// could not keep up.
	LateRatio float64 `json:"late_ratio"`
	// Saturated is set when the client looked saturated (late sends or
	// CPU near the machine's capacity).
	Saturated bool `json:"saturated,omitempty"`
}

// Metric is one named query evaluated over a run's measured window.
type Metric struct {
	Name  string `json:"name"`
	Query string `json:"query"`
	Unit  string `json:"unit,omitempty"`
	// Start and End bound the window the query was evaluated over.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Series holds every series the query returned.
	Series []MetricSeries `json:"series,omitempty"`
	// Average is the mean of all samples of all series (summed across
	// series per timestamp first when Sum is set).
	Average float64 `json:"average"`
	// Missing gives the reason when no value could be obtained
	// (Prometheus unreachable, query error, no data).
	Missing string `json:"missing,omitempty"`
}

// MetricSeries is one series of a Metric.
type MetricSeries struct {
	Labels  map[string]string `json:"labels,omitempty"`
	Samples []Sample          `json:"samples"`
}

// Sample is one point of a series.
type Sample struct {
	T time.Time `json:"t"`
	V float64   `json:"v"`
}

// GeneratorInfo names the load generator that produced a result.
type GeneratorInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Fidelity says how the latency distribution was captured: "hdr" for
	// exact HDR histograms, "bucketed" or "percentiles" for imports.
	Fidelity string `json:"fidelity"`
	// HistogramResolutionUs is how finely the generator's own histogram
	// told values apart at the low end, in microseconds: 1 for meshperf's
	// HDR histograms (3 significant digits above), fortio's resolution
	// option, wrk's 1 µs. Zero when unknown (a file that does not say).
	HistogramResolutionUs float64 `json:"histogram_resolution_us,omitempty"`
}

// String names the generator and its version, as "fortio 1.66.5", or just
// "vegeta" when the version is not known.
func (g GeneratorInfo) String() string {
	if g.Name == "" || g.Name == "unknown" {
		g.Name = "an unknown generator"
	}
	if g.Version == "" {
		return g.Name
	}
	return g.Name + " " + g.Version
}

// Requested is what the test asked for.
type Requested struct {
	Targets     []string `json:"targets"`
	Method      string   `json:"method"`
	Protocol    string   `json:"protocol"`
	HTTPVersion string   `json:"http_version,omitempty"`
	Connections int      `json:"connections"`
	// RPS is the base request rate; 0 means closed loop.
	RPS float64 `json:"rps"`
	// Shape describes the rate over time, e.g. "constant 1000/s".
	Shape    string   `json:"shape"`
	OpenLoop bool     `json:"open_loop"`
	Duration Duration `json:"duration,omitempty"`
	Requests int64    `json:"requests,omitempty"`
	Warmup   Duration `json:"warmup,omitempty"`
	Timeout  Duration `json:"timeout,omitempty"`
	// Resolution is the window within which due requests were sent
	// together (open loop, event loop); zero when each went at its own time.
	Resolution Duration `json:"resolution,omitempty"`
}

// Achieved is what happened during the measured part of the run (warm-up
// excluded).
type Achieved struct {
	// Duration runs from the end of warm-up to the last completion.
	Duration Duration `json:"duration"`
	// Requests is every request attempted: responses plus transport errors
	// plus requests dropped because the queue was full.
	Requests  int64   `json:"requests"`
	Responses int64   `json:"responses"`
	RPS       float64 `json:"rps"`
	// Errors counts transport errors, dropped requests and responses with a
	// status outside 200–399.
	Errors    int64   `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
	// Late counts requests sent more than LateThreshold after their
	// intended time (open loop only).
	Late          int64    `json:"late"`
	LateRatio     float64  `json:"late_ratio"`
	LateThreshold Duration `json:"late_threshold,omitempty"`
	// Dropped counts requests never sent because the queue was full.
	Dropped       int64 `json:"dropped"`
	BytesSent     int64 `json:"bytes_sent"`
	BytesReceived int64 `json:"bytes_received"`
}

// Distribution summarises a latency histogram and carries it whole.
type Distribution struct {
	Count       int64        `json:"count"`
	MinMs       float64      `json:"min_ms"`
	MeanMs      float64      `json:"mean_ms"`
	StdDevMs    float64      `json:"stddev_ms"`
	MaxMs       float64      `json:"max_ms"`
	Percentiles []Percentile `json:"percentiles"`
	// Histogram is the HdrHistogram V2 compressed encoding, base64, of
	// values in HistogramUnit.
	Histogram     string `json:"histogram"`
	HistogramUnit string `json:"histogram_unit"`
	// Saturated counts values above the histogram's range, recorded at its top.
	Saturated int64 `json:"saturated,omitempty"`
}

// Percentile is one point of a distribution.
type Percentile struct {
	P  float64 `json:"p"`
	Ms float64 `json:"ms"`
}

// At returns the value at percentile p, if present.
func (d *Distribution) At(p float64) (float64, bool) {
	if d == nil {
		return 0, false
	}
	for _, x := range d.Percentiles {
		if x.P == p {
			return x.Ms, true
		}
	}
	return 0, false
}

// ErrorClass counts transport errors of one kind, with a few examples.
type ErrorClass struct {
	Class    string   `json:"class"`
	Count    int64    `json:"count"`
	Examples []string `json:"examples,omitempty"`
}

// Interval is one second of the timeline.
type Interval struct {
	// Second is the index of the second from the start of the run.
	Second int  `json:"second"`
	Warmup bool `json:"warmup,omitempty"`
	// Seconds is the length of the interval (the last one may be shorter).
	Seconds      float64          `json:"seconds"`
	Requests     int64            `json:"requests"`
	Errors       int64            `json:"errors"`
	RequestedRPS float64          `json:"requested_rps,omitempty"`
	AchievedRPS  float64          `json:"achieved_rps"`
	P50Ms        float64          `json:"p50_ms"`
	P90Ms        float64          `json:"p90_ms"`
	P99Ms        float64          `json:"p99_ms"`
	StatusCodes  map[int]int64    `json:"status_codes,omitempty"`
	ErrorClasses map[string]int64 `json:"error_classes,omitempty"`
	// Latency and ServiceTime are the interval's histograms, encoded as in
	// Distribution.Histogram; they add up to the run's. Present when asked
	// for (run --interval-histograms) and on the live stream.
	Latency     string `json:"latency,omitempty"`
	ServiceTime string `json:"service_time,omitempty"`
}
