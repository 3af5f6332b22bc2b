package native

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/meshperf/meshperf/loadgen"
)

// tlsConfig builds the client TLS configuration of a plan for a host.
func tlsConfig(t loadgen.TLS, host string, alpn []string) (*tls.Config, error) {
	cfg := &tls.Config{
		ServerName:         host,
		InsecureSkipVerify: t.SkipVerify, //nolint:gosec // the user asked for it (--insecure)
		NextProtos:         alpn,
		MinVersion:         tls.VersionTLS12,
		ClientSessionCache: tls.NewLRUClientSessionCache(64),
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
