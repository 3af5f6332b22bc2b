package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/meshperf/meshperf/internal/runs"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

// admit is what every profile passes before it is stored, scheduled or
// run, and again when a run starts: the files it names are read through
// the allowed directories (and inlined in prof), its numbers are within
// the server's limits, its targets and its Prometheus within the
// allow-lists. It returns the plans, one per client. Field names in errors
// are the profile's; callers prefix them.
func (s *Server) admit(ctx context.Context, prof *spec.Profile) ([]*loadgen.Plan, error) {
	if err := prof.Validate(); err != nil {
		return nil, problems(http.StatusUnprocessableEntity, CodeInvalid, err)
	}
	if prof.Meshperf != nil && len(prof.Meshperf.Designs) > 0 {
		// Applying a design needs a cluster client with write access,
		// which a server does not have; running without it would measure
		// something else than the profile says.
		return nil, invalid("meshperf.designs", "meshperf.designs: this server puts no designs on a cluster; run the profile with meshperf run (local mode, with a kubeconfig), or apply the designs first (meshperf design apply) and leave them out")
	}
	if err := s.files.inlineFiles(ctx, prof); err != nil {
		return nil, problems(http.StatusUnprocessableEntity, CodeInvalid, err)
	}
	plans, err := loadgen.PlansWithin(prof, s.limits)
	if err != nil {
		return nil, problems(http.StatusUnprocessableEntity, CodeInvalid, err)
	}
	if err := s.allowedTargets(prof); err != nil {
		return nil, err
	}
	if err := s.allowedPrometheus(prof); err != nil {
		return nil, err
	}
	return plans, nil
}

// admitStored admits a stored profile's body (a copy: files it names are
// inlined there only). Field names are prefixed with prefix.
func (s *Server) admitStored(ctx context.Context, body []byte, prefix string) error {
	prof, _, err := spec.ParseProfile(body)
	if err != nil {
		return problems(http.StatusUnprocessableEntity, CodeInvalid, err)
	}
	if _, err := s.admit(ctx, prof); err != nil {
		var ae *APIError
		if errors.As(err, &ae) && prefix != "" {
			return prefixProblems(prefix, ae)
		}
		return err
	}
	return nil
}

// allowedTargets checks every target against the server's allowed host
// patterns (--allow-target; none: any).
func (s *Server) allowedTargets(p *spec.Profile) error {
	if len(s.allowTargets) == 0 {
		return nil
	}
	for i, c := range p.Clients {
		for j, raw := range c.EndpointURLs {
			u, err := url.Parse(raw)
			if err != nil {
				continue // validation has said so
			}
			if !matchHost(s.allowTargets, u) {
				field := fmt.Sprintf("clients[%d].endpoint_urls[%d]", i, j)
				return &APIError{Status: http.StatusForbidden, Code: CodeForbidden, Field: field,
					Message: fmt.Sprintf("%s: host %q is not among the targets this server may load (%s)", field, u.Hostname(), strings.Join(s.allowTargets, ", "))}
			}
		}
	}
	return nil
}

// allowedPrometheus checks the profile's Prometheus URL against
// --allow-prometheus: with no pattern, any in single-user mode and none in
// team mode, where the server's fetching a URL a user gave would let them
// reach what only the server can.
func (s *Server) allowedPrometheus(p *spec.Profile) error {
	if p.Metrics == nil || p.Metrics.Prometheus == "" {
		return nil
	}
	if len(s.allowProm) == 0 && s.auth == nil {
		return nil
	}
	u, err := url.Parse(p.Metrics.Prometheus)
	if err == nil && matchHost(s.allowProm, u) {
		return nil
	}
	host := p.Metrics.Prometheus
	if err == nil {
		host = u.Host
	}
	msg := fmt.Sprintf("metrics.prometheus: %q is not among the Prometheus servers this server may query", host)
	if len(s.allowProm) == 0 {
		msg += " (in team mode none unless its operator allows some: --allow-prometheus)"
	} else {
		msg += " (" + strings.Join(s.allowProm, ", ") + ")"
	}
	return &APIError{Status: http.StatusForbidden, Code: CodeForbidden, Field: "metrics.prometheus", Message: msg}
}

// matchHost tells whether u's host, or its host:port, matches one of the
// patterns (path.Match syntax).
func matchHost(patterns []string, u *url.URL) bool {
	host := u.Hostname()
	if host == "" {
		return false
	}
	for _, pat := range patterns {
		if m, _ := path.Match(pat, host); m {
			return true
		}
		if m, _ := path.Match(pat, u.Host); m && u.Port() != "" {
			return true
		}
	}
	return false
}

// admitReason is err as one line for a run's error.
func admitReason(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return "refused: " + ae.Message
	}
	return "refused: " + err.Error()
}

// admission is admit as the run service checks it when a run starts or a
// schedule queues one: its errors are a refused run's reason.
type admission struct{ s *Server }

var _ runs.Admission = admission{}

func (a admission) Admit(ctx context.Context, prof *spec.Profile) ([]*loadgen.Plan, error) {
	plans, err := a.s.admit(ctx, prof)
	if err != nil {
		return nil, errors.New(admitReason(err))
	}
	return plans, nil
}

func (a admission) AdmitStored(ctx context.Context, body []byte) error {
	if err := a.s.admitStored(ctx, body, ""); err != nil {
		return errors.New(admitReason(err))
	}
	return nil
}
