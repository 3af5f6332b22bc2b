// Package http3 is meshperf's stand-in for quic-go's http3 package (see
// go.mod): the fields and methods of Server that Traefik v2.8.3 uses, with
// no HTTP/3 behind them.
package http3

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"
)

// ErrUnavailable is what the stand-in's server answers to any use.
var ErrUnavailable = errors.New("HTTP/3 is not available: this Traefik was built with a stand-in for quic-go (test/traefikmesh/quicgo)")

// Server is an HTTP/3 server as Traefik configures one.
type Server struct {
	Addr      string
	Port      int
	Handler   http.Handler
	TLSConfig *tls.Config
}

// SetQuicHeaders would advertise HTTP/3 (Alt-Svc); the stand-in has
// nothing to advertise.
func (s *Server) SetQuicHeaders(http.Header) error { return ErrUnavailable }

// Serve refuses to serve.
func (s *Server) Serve(net.PacketConn) error { return ErrUnavailable }

// Close has nothing to close.
func (s *Server) Close() error { return nil }
