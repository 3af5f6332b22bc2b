package echo

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"time"
)

const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
	// shutdownGrace is how long requests in flight may finish once the
	// server is told to stop; then their contexts end and connections close.
	shutdownGrace = 3 * time.Second
	// maxConcurrentStreams is per HTTP/2 connection; above the default
	// 250 so a load generator multiplexing over few connections is not
	// held back when responses are delayed.
	maxConcurrentStreams = 1000
)

// ListenAndServe listens on opts.Addr and serves until ctx ends.
func ListenAndServe(ctx context.Context, opts Options) error {
	opts = opts.withDefaults()
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("echo: %w", err)
	}
	return Serve(ctx, ln, opts)
}

// Serve answers on ln until ctx ends, then shuts down gracefully and
// returns nil. It closes ln.
func Serve(ctx context.Context, ln net.Listener, opts Options) error {
	opts = opts.withDefaults()
	return serve(ctx, ln, NewHandler(opts), opts)
}

func serve(ctx context.Context, ln net.Listener, h http.Handler, opts Options) error {
	// Requests get a context that outlives ctx by the shutdown grace.
	base, endRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer endRequests()
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: maxConcurrentStreams},
		Protocols:         new(http.Protocols),
	}
	srv.Protocols.SetHTTP1(true)
	if opts.TLS {
		cert, err := selfSignedCert(time.Now())
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("echo: %w", err)
		}
		srv.Protocols.SetHTTP2(true)
		srv.TLSConfig = &tls.Config{
			Certificates: []tls.Certificate{cert},
			NextProtos:   []string{"h2", "http/1.1"},
			MinVersion:   tls.VersionTLS12,
		}
	} else {
		srv.Protocols.SetUnencryptedHTTP2(true) // h2c with prior knowledge
	}

	errc := make(chan error, 1)
	go func() {
		if opts.TLS {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	opts.Logger.Info("echo: serving", logKeyAddr, ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("echo: serve: %w", err)
	case <-ctx.Done():
	}

	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		opts.Logger.Warn("echo: requests still running after the grace period, closing connections",
			logKeyErr, err)
		endRequests()
		_ = srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("echo: serve: %w", err)
	}
	return nil
}

// selfSignedCert makes a certificate for 127.0.0.1, ::1 and localhost,
// valid from an hour before now for a year.
func selfSignedCert(now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate TLS key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate certificate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"meshperf echo"}, CommonName: "localhost"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("parse certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}
