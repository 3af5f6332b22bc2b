package loadgen

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
)

// Error classes, as reported in results.
const (
	ClassRefused     = "connection_refused"
	ClassDNS         = "dns"
	ClassTimeout     = "timeout"
	ClassReset       = "reset"
	ClassTLS         = "tls"
	ClassProtocol    = "protocol"
	ClassUnreachable = "unreachable"
	ClassDropped     = "dropped"
	ClassOther       = "other"
	// gRPC statuses other than OK; the rest are named after their code,
	// in lower case (internal, unimplemented, resource_exhausted...).
	ClassUnavailable      = "unavailable"
	ClassDeadlineExceeded = "deadline_exceeded"
)

// ClassedError is an error that names its own class, as a gRPC status
// does. Classify takes the first one in the chain at its word.
type ClassedError interface {
	error
	ErrorClass() string
}

// ProtocolError is a response that breaks the protocol (a malformed status
// line, a bad chunk size, a missing ALPN agreement...).
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string { return "protocol error: " + e.Msg }

// Classify names the class of a transport error.
func Classify(err error) string {
	var (
		dnsErr  *net.DNSError
		pe      *ProtocolError
		rhe     tls.RecordHeaderError
		alert   tls.AlertError
		cve     *tls.CertificateVerificationError
		uae     x509.UnknownAuthorityError
		he      x509.HostnameError
		cie     x509.CertificateInvalidError
		netErr  net.Error
		ech     *tls.ECHRejectionError
		errno   syscall.Errno
		hasErrn = errors.As(err, &errno)
	)
	if ce, ok := errors.AsType[ClassedError](err); ok {
		if c := ce.ErrorClass(); c != "" {
			return c
		}
	}
	switch {
	case err == nil:
		return ""
	case errors.As(err, &dnsErr):
		return ClassDNS
	case hasErrn && errno == syscall.ECONNREFUSED:
		return ClassRefused
	case hasErrn && (errno == syscall.EHOSTUNREACH || errno == syscall.ENETUNREACH || errno == syscall.EADDRNOTAVAIL):
		return ClassUnreachable
	case errors.As(err, &pe):
		return ClassProtocol
	case errors.As(err, &rhe), errors.As(err, &alert), errors.As(err, &cve), errors.As(err, &uae),
		errors.As(err, &he), errors.As(err, &cie), errors.As(err, &ech):
		return ClassTLS
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return ClassTimeout
	case errors.As(err, &netErr) && netErr.Timeout():
		return ClassTimeout
	case hasErrn && (errno == syscall.ECONNRESET || errno == syscall.EPIPE || errno == syscall.ECONNABORTED):
		return ClassReset
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return ClassReset
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "tls:"), strings.Contains(msg, "x509:"):
		return ClassTLS
	case strings.Contains(msg, "http2:"), strings.Contains(msg, "malformed HTTP"),
		strings.Contains(msg, "unexpected ALPN"), strings.Contains(msg, "PROTOCOL_ERROR"):
		return ClassProtocol
	case strings.Contains(msg, "connection reset"), strings.Contains(msg, "server closed"),
		strings.Contains(msg, "broken pipe"), strings.Contains(msg, "EOF"):
		return ClassReset
	case strings.Contains(msg, "timeout"):
		return ClassTimeout
	}
	return ClassOther
}

// ClassNotServing is a gRPC health check that answered, but not SERVING.
const ClassNotServing = "not_serving"

// KnownClass reports whether class is one the engine can report: the
// classes above, or a gRPC status code's name in lower case
// (resource_exhausted). What agents send is checked against it.
func KnownClass(class string) bool {
	switch class {
	case ClassRefused, ClassDNS, ClassTimeout, ClassReset, ClassTLS, ClassProtocol, ClassUnreachable,
		ClassDropped, ClassOther, ClassUnavailable, ClassDeadlineExceeded, ClassNotServing:
		return true
	}
	for c := 1; c < GRPCCodes; c++ {
		if class == strings.ToLower(GRPCCodeName(c)) {
			return true
		}
	}
	return false
}
