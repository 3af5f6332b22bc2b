package native

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/spec"
)

// tlsConfig builds the client TLS configuration of a plan for a host.
func tlsConfig(t loadgen.TLS, host string, alpn []string) (*tls.Config, error) {
	cfg := &tls.Config{
		ServerName:         host,
		InsecureSkipVerify: t.SkipVerify, //nolint:gosec // the user asked for it (--insecure)
		NextProtos:         alpn,
		MinVersion:         tls.VersionTLS12,
	}
	if !t.NoResumption {
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(64)
	}
	if t.ServerName != "" {
		cfg.ServerName = t.ServerName
	}
	if t.CAFile != "" || len(t.CAPEM) > 0 {
		pool := x509.NewCertPool()
		if t.CAFile != "" {
			pem, err := os.ReadFile(t.CAFile)
			if err != nil {
				return nil, fmt.Errorf("tls: CA file: %w", err)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("tls: CA file %s: no PEM certificate found", t.CAFile)
			}
		}
		if len(t.CAPEM) > 0 && !pool.AppendCertsFromPEM(t.CAPEM) {
			return nil, errors.New("tls: ssl_certificate: no PEM certificate found")
		}
		cfg.RootCAs = pool
	}
	if t.HasClientCert() {
		certPEM, keyPEM := t.CertPEM, t.KeyPEM
		var err error
		if t.CertFile != "" {
			if certPEM, err = os.ReadFile(t.CertFile); err != nil {
				return nil, fmt.Errorf("tls: client certificate: %w", err)
			}
		}
		if t.KeyFile != "" {
			if keyPEM, err = os.ReadFile(t.KeyFile); err != nil {
				return nil, fmt.Errorf("tls: client certificate: %w", err)
			}
		}
		if len(certPEM) == 0 || len(keyPEM) == 0 {
			return nil, errors.New("tls: a client certificate needs both a cert file and a key file")
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("tls: client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// tlsStats gathers a run's TLS handshakes from every connection (event
// loops, goroutine clients); handshakes are rare, so a mutex will do.
type tlsStats struct {
	resumption bool
	mu         sync.Mutex
	n, resumed int64
	failed     int64
	hist       *hist.Histogram
}

func newTLSStats(p *loadgen.Plan) *tlsStats {
	return &tlsStats{resumption: !p.TLS.NoResumption, hist: hist.New()}
}

// add notes one handshake that took d and ended in err.
func (s *tlsStats) add(d time.Duration, resumed bool, err error) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	switch {
	case err != nil:
		s.failed++
		return
	case resumed:
		s.resumed++
	}
	s.hist.Record(d)
}

// result is the stats for a Result, or nil when there was no handshake.
func (s *tlsStats) result() *spec.TLSStats {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == 0 {
		return nil
	}
	out := &spec.TLSStats{SessionResumption: s.resumption, Handshakes: s.n, Resumed: s.resumed, Failed: s.failed}
	if s.hist.Count() > 0 {
		out.HandshakeTime = spec.Summarize(s.hist)
	}
	return out
}
