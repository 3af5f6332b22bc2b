package authtest_test

import (
	"testing"

	"github.com/meshperf/meshperf/internal/auth"
	"github.com/meshperf/meshperf/internal/auth/authtest"
)

// The auth part of the suite holds for auth.MemoryStore, the reference
// behaviour the SQL stores must match.
func TestAuthMemoryStore(t *testing.T) {
	authtest.RunAuth(t, func(*testing.T) auth.Store { return auth.NewMemoryStore() })
}
