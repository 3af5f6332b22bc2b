package conformance

import "errors"

// Sentinel errors, matched with errors.Is by callers choosing an exit
// status; each is wrapped in a message saying what to do.
var (
	// ErrInput: a wrong profile, feature or option (nothing was started).
	ErrInput = errors.New("invalid conformance options")
	// ErrNoGatewayAPI: the cluster lacks the Gateway API CRDs the profile
	// needs, or has another release of them than the suite's.
	ErrNoGatewayAPI = errors.New("gateway API CRDs missing")
	// ErrForbidden: RBAC forbids something the suite must do.
	ErrForbidden = errors.New("forbidden")
	// ErrSuite: the suite's process could not be started or ended
	// without a result.
	ErrSuite = errors.New("conformance suite failed")
)
