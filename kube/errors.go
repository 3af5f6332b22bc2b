package kube

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Sentinel errors, matched with errors.Is by callers that choose an exit
// status. Each is wrapped in a message that says what to do.
var (
	// ErrNoKubeconfig: no kubeconfig was found (and not in a pod).
	ErrNoKubeconfig = errors.New("no usable kubeconfig")
	// ErrUnreachable: the API server did not answer.
	ErrUnreachable = errors.New("kubernetes API server unreachable")
	// ErrUnauthorized: the API server rejected the credentials.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: RBAC denied a request.
	ErrForbidden = errors.New("forbidden")
	// ErrNamespaceMissing: the namespace does not exist and was not to be created.
	ErrNamespaceMissing = errors.New("namespace not found")
	// ErrSecretMissing: the existing token Secret named is not there, or
	// holds no token.
	ErrSecretMissing = errors.New("token secret not found")
)

// explain wraps an error from the API server (or from reaching it) in one
// of the sentinel errors, with what was being done and what to do about it.
func (c *Client) explain(err error, doing string) error {
	var ue *url.Error
	var ne net.Error
	var ca x509.UnknownAuthorityError
	var hn x509.HostnameError
	switch {
	case err == nil:
		return nil
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%w: %s: %s (RBAC: the kubeconfig's user needs get, create, patch, list and delete on namespaces, serviceaccounts, secrets and deployments.apps)", ErrForbidden, doing, apiMessage(err))
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("%w: %s: the API server at %s rejected the kubeconfig's credentials (expired or wrong token or certificate?)", ErrUnauthorized, doing, c.host)
	case errors.As(err, &ca), errors.As(err, &hn):
		return fmt.Errorf("%w: %s: TLS: %v (check certificate-authority-data in the kubeconfig)", ErrUnreachable, doing, err)
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne), errors.As(err, &ue):
		return fmt.Errorf("%w: %s: cannot reach %s: %v", ErrUnreachable, doing, c.host, rootCause(err))
	default:
		return fmt.Errorf("%s: %w", doing, err)
	}
}

// apiMessage is the API server's own message for a status error.
func apiMessage(err error) string {
	var se apierrors.APIStatus
	if errors.As(err, &se) && se.Status().Message != "" {
		return se.Status().Message
	}
	return err.Error()
}

// rootCause strips *url.Error's "Get \"https://...\": " prefix, which
// repeats the host the message already names.
func rootCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
