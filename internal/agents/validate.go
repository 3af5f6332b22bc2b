package agents

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/internal/agentpb"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

// An agent holds the join token, not the server's trust in its figures:
// every snapshot and final result is checked here before anything of it is
// merged, and a share whose data fails is refused whole (see
// distRun.refuse).

// Bounds of what one snapshot may say.
const (
	// maxSnapshotCount bounds each count of one second of one share
	// (requests, responses, errors, one status code or error class).
	maxSnapshotCount = 1 << 32
	// maxSnapshotRPS bounds a snapshot's requested rate.
	maxSnapshotRPS = 1e9
	// maxSnapshotCodes bounds the distinct status codes and error classes
	// of one snapshot.
	maxSnapshotCodes = 64
	// maxOpenSeconds bounds the seconds of a share without a duration (a
	// fixed number of requests).
	maxOpenSeconds = 1 << 16
	// maxResultJSON bounds an agent's final result.
	maxResultJSON = 8 << 20
	// maxAgentNotes and maxAgentNote bound the notes an agent's result
	// may carry into the run's.
	maxAgentNotes, maxAgentNote = 16, 1000
	// maxHandshakes bounds each TLS count of an agent's final result
	// (handshakes, resumed, failed).
	maxHandshakes = 1 << 40
	// maxRetained bounds the snapshots a run keeps to merge its timeline
	// again without a refused share (see distRun.result).
	maxRetained = 64 << 20
)

// errRefused wraps why a share's data was refused.
var errRefused = errors.New("refused")

func refusedf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errRefused, fmt.Sprintf(format, a...))
}

// maxSecond is the last second a share may report: its plan's length and
// a few more (the closing partial second, the requests still in flight at
// the end).
func (sh *share) maxSecond() int {
	p := sh.plan
	if p == nil || p.Duration <= 0 {
		return maxOpenSeconds
	}
	return int((p.Warmup+p.Duration+p.Timeout)/time.Second) + 5
}

func (sh *share) protocol() string {
	if sh.plan == nil {
		return loadgen.ProtocolHTTP
	}
	return sh.plan.Protocol
}

// checkCode checks a status code against the share's protocol: HTTP
// statuses 100–599, gRPC codes 0–16, none for TCP.
func checkCode(protocol string, code int) error {
	switch protocol {
	case loadgen.ProtocolGRPC:
		if code < 0 || code >= loadgen.GRPCCodes {
			return fmt.Errorf("status code %d is not a gRPC status code (0-%d)", code, loadgen.GRPCCodes-1)
		}
	case loadgen.ProtocolTCP:
		return fmt.Errorf("status code %d in a TCP test, which has none", code)
	default:
		if code < 100 || code > 599 {
			return fmt.Errorf("status code %d is not an HTTP status (100-599)", code)
		}
	}
	return nil
}

func checkCount(what string, n int64) error {
	if n < 0 || n > maxSnapshotCount {
		return refusedf("%s %d is out of range (0-%d)", what, n, int64(maxSnapshotCount))
	}
	return nil
}

// validSnapshot checks one snapshot of sh and returns its histograms,
// decoded strictly (nil when absent). Caller holds the run's lock.
func validSnapshot(sh *share, sn *agentpb.Snapshot) (lat, svc *hist.Histogram, err error) {
	sec := int(sn.GetSecond())
	if sec < 0 || sec > sh.maxSecond() {
		return nil, nil, refusedf("second %d is outside the share's 0-%d", sec, sh.maxSecond())
	}
	if sh.acc.seen[sec] {
		return nil, nil, refusedf("second %d was reported twice", sec)
	}
	where := fmt.Sprintf("second %d", sec)
	if s := sn.GetSeconds(); math.IsNaN(s) || s < 0 || s > 1.001 {
		return nil, nil, refusedf("%s: length %v s is not within 0-1 s", where, s)
	}
	if r := sn.GetRequestedRps(); math.IsNaN(r) || r < 0 || r > maxSnapshotRPS {
		return nil, nil, refusedf("%s: requested rate %v is out of range", where, r)
	}
	req, resp, errs := sn.GetRequests(), sn.GetResponses(), sn.GetErrors()
	for _, c := range []struct {
		what string
		n    int64
	}{{"requests", req}, {"responses", resp}, {"errors", errs}} {
		if err := checkCount(where+": "+c.what, c.n); err != nil {
			return nil, nil, err
		}
	}
	if resp > req || errs > req {
		return nil, nil, refusedf("%s: %d responses and %d errors of %d requests", where, resp, errs, req)
	}
	if len(sn.GetStatusCodes()) > maxSnapshotCodes || len(sn.GetErrorClasses()) > maxSnapshotCodes {
		return nil, nil, refusedf("%s: %d status codes and %d error classes (at most %d each)", where,
			len(sn.GetStatusCodes()), len(sn.GetErrorClasses()), maxSnapshotCodes)
	}
	var codes, classes int64
	for c, n := range sn.GetStatusCodes() {
		if err := checkCode(sh.protocol(), int(c)); err != nil {
			return nil, nil, refusedf("%s: %v", where, err)
		}
		if err := checkCount(fmt.Sprintf("%s: count of status %d", where, c), n); err != nil {
			return nil, nil, err
		}
		codes += n
	}
	for c, n := range sn.GetErrorClasses() {
		if !loadgen.KnownClass(c) {
			return nil, nil, refusedf("%s: unknown error class %.40q", where, c)
		}
		if err := checkCount(fmt.Sprintf("%s: count of %s", where, c), n); err != nil {
			return nil, nil, err
		}
		classes += n
	}
	if codes > req || classes > req {
		return nil, nil, refusedf("%s: status codes add up to %d and error classes to %d, of %d requests", where, codes, classes, req)
	}
	if lat, err = decodeStrict(sn.GetLatency()); err != nil {
		return nil, nil, refusedf("%s: latency histogram: %v", where, err)
	}
	if svc, err = decodeStrict(sn.GetServiceTime()); err != nil {
		return nil, nil, refusedf("%s: service time histogram: %v", where, err)
	}
	if n := svc.Count(); n > req {
		return nil, nil, refusedf("%s: %d service times of %d requests", where, n, req)
	}
	if n := lat.Count(); n > max(svc.Count(), 0) {
		return nil, nil, refusedf("%s: %d latencies of %d service times", where, n, svc.Count())
	}
	return lat, svc, nil
}

// validTLS checks the TLS figures of sh's final result and returns what
// the run keeps of them: the handshake-time distribution summarized again
// from its histogram, nil when there was no handshake. Snapshots carry no
// TLS, so the checks are of the figures against each other and the plan.
func validTLS(sh *share, t *spec.TLSStats) (*spec.TLSStats, error) {
	if t == nil {
		return nil, nil
	}
	for _, c := range []struct {
		what string
		n    int64
	}{{"handshakes", t.Handshakes}, {"resumed", t.Resumed}, {"failed", t.Failed}} {
		if c.n < 0 || c.n > maxHandshakes {
			return nil, refusedf("its final result's tls.%s %d is out of range (0-%d)", c.what, c.n, int64(maxHandshakes))
		}
	}
	if t.Handshakes == 0 && t.Resumed == 0 && t.Failed == 0 && t.HandshakeTime == nil {
		return nil, nil // nothing to merge
	}
	if sh.plan != nil && !plansTLS(sh.plan) {
		return nil, refusedf("its final result counts %d TLS handshakes but no target of its share uses TLS", t.Handshakes)
	}
	if t.Resumed+t.Failed > t.Handshakes {
		return nil, refusedf("its final result's tls counts %d resumed and %d failed of %d handshakes", t.Resumed, t.Failed, t.Handshakes)
	}
	if sh.plan != nil && t.SessionResumption == sh.plan.TLS.NoResumption {
		return nil, refusedf("its final result's tls.session_resumption is %v, its share's plan says %v", t.SessionResumption, !sh.plan.TLS.NoResumption)
	}
	if !t.SessionResumption && t.Resumed > 0 {
		return nil, refusedf("its final result's tls counts %d resumed handshakes with session resumption off", t.Resumed)
	}
	// Every handshake that did not fail has its time in the histogram.
	done := t.Handshakes - t.Failed
	out := &spec.TLSStats{SessionResumption: t.SessionResumption, Handshakes: t.Handshakes, Resumed: t.Resumed, Failed: t.Failed}
	if t.HandshakeTime == nil {
		if done > 0 {
			return nil, refusedf("its final result's tls has %d handshakes that did not fail but no handshake_time", done)
		}
		return out, nil
	}
	h, err := decodeStrict(t.HandshakeTime.Histogram)
	if err != nil {
		return nil, refusedf("its final tls.handshake_time histogram: %v", err)
	}
	if h.Count() != done || t.HandshakeTime.Count != done {
		return nil, refusedf("its final tls.handshake_time histogram counts %d (summary %d), want %d (handshakes less failed)", h.Count(), t.HandshakeTime.Count, done)
	}
	if done > 0 {
		out.HandshakeTime = spec.Summarize(h)
	}
	return out, nil
}

// plansTLS reports whether any target of p is dialled over TLS (https,
// grpcs).
func plansTLS(p *loadgen.Plan) bool {
	if p.Protocol == loadgen.ProtocolTCP {
		return false
	}
	for _, t := range p.Targets {
		if u, err := url.Parse(t); err == nil && (strings.EqualFold(u.Scheme, "https") || strings.EqualFold(u.Scheme, "grpcs")) {
			return true
		}
	}
	return false
}

// decodeStrict decodes a histogram of meshperf's layout; nil for "".
// A nil *hist.Histogram counts 0.
func decodeStrict(s string) (*hist.Histogram, error) {
	if s == "" {
		return nil, nil
	}
	return hist.DecodeStrict(s)
}

// validResult reads sh's final result and checks it against the sum of
// its snapshots: the server keeps the figures it checked, never ones only
// the agent's word vouches for. Caller holds the run's lock.
func validResult(sh *share, b []byte) (*spec.Result, error) {
	if len(b) > maxResultJSON {
		return nil, refusedf("its final result is %d bytes (at most %d)", len(b), maxResultJSON)
	}
	res := &spec.Result{}
	if err := json.Unmarshal(b, res); err != nil {
		return nil, refusedf("its final result could not be read: %v", err)
	}
	if res.ID != "" {
		return nil, refusedf("its final result carries the id %.40q: ids are the server's to assign", res.ID)
	}
	if res.ServiceTime == nil {
		return nil, refusedf("its final result has no service time")
	}
	a, ra := &sh.acc, res.Achieved
	for _, c := range []struct {
		what      string
		got, want int64
	}{
		{"requests", ra.Requests, a.requests},
		{"errors", ra.Errors, a.errors},
		{"dropped", ra.Dropped, a.dropped},
		{"responses", ra.Responses, a.svc.Count()},
		{"service times", res.ServiceTime.Count, a.svc.Count()},
	} {
		if c.got != c.want {
			return nil, refusedf("its final result counts %d %s, its snapshots %d", c.got, c.what, c.want)
		}
	}
	for _, c := range []struct {
		what string
		n    int64
	}{{"late", ra.Late}, {"bytes sent", ra.BytesSent}, {"bytes received", ra.BytesReceived}} {
		if c.n < 0 {
			return nil, refusedf("its final result counts %d %s", c.n, c.what)
		}
	}
	for _, v := range []float64{ra.RPS, ra.ErrorRate, ra.LateRatio} {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return nil, refusedf("its final result has a rate of %v", v)
		}
	}
	if ra.Duration < 0 || ra.Late > ra.Requests {
		return nil, refusedf("its final result has a duration of %s and %d late of %d requests", time.Duration(ra.Duration), ra.Late, ra.Requests)
	}
	if !maps.Equal(res.StatusCodes, a.codes) && (len(res.StatusCodes) > 0 || len(a.codes) > 0) {
		return nil, refusedf("its final result's status codes %v are not its snapshots' %v", res.StatusCodes, a.codes)
	}
	classes := map[string]int64{}
	for _, e := range res.Errors {
		classes[e.Class] += e.Count
	}
	if !maps.Equal(classes, a.classes) && (len(classes) > 0 || len(a.classes) > 0) {
		return nil, refusedf("its final result's error classes %v are not its snapshots' %v", classes, a.classes)
	}
	for _, d := range []struct {
		what  string
		dist  *spec.Distribution
		total *hist.Histogram
	}{{"latency", res.Latency, a.lat}, {"service time", res.ServiceTime, a.svc}} {
		if d.dist == nil {
			if d.total.Count() > 0 && d.what == "service time" {
				return nil, refusedf("its final result has no %s", d.what)
			}
			continue
		}
		h, err := decodeStrict(d.dist.Histogram)
		if err != nil {
			return nil, refusedf("its final %s histogram: %v", d.what, err)
		}
		if h.Count() != d.total.Count() || d.dist.Count != d.total.Count() {
			return nil, refusedf("its final %s histogram counts %d (summary %d), its snapshots %d", d.what, h.Count(), d.dist.Count, d.total.Count())
		}
		if !slices.Equal(h.Buckets(), d.total.Buckets()) {
			return nil, refusedf("its final %s histogram is not the sum of its snapshots'", d.what)
		}
	}
	tls, err := validTLS(sh, res.TLS)
	if err != nil {
		return nil, err
	}
	res.TLS = tls
	// What the run keeps of it: the distributions the server added up
	// itself, no identity of its own, and its notes bounded.
	if res.Latency != nil {
		res.Latency = spec.Summarize(a.lat)
	}
	res.ServiceTime = spec.Summarize(a.svc)
	res.ID, res.Name, res.Labels, res.ProfileID, res.ProfileRevision = "", "", nil, "", 0
	res.Timeline, res.Agents, res.Metrics, res.Degraded = nil, nil, nil, false
	if len(res.Notes) > maxAgentNotes {
		res.Notes = res.Notes[:maxAgentNotes]
	}
	for i, n := range res.Notes {
		if len(n) > maxAgentNote {
			res.Notes[i] = n[:maxAgentNote] + "…"
		}
	}
	for i := range res.Errors {
		if len(res.Errors[i].Examples) > 3 {
			res.Errors[i].Examples = res.Errors[i].Examples[:3]
		}
		for j, ex := range res.Errors[i].Examples {
			if len(ex) > maxAgentNote {
				res.Errors[i].Examples[j] = ex[:maxAgentNote]
			}
		}
	}
	return res, nil
}
