package storetest_test

import (
	"testing"

	"github.com/meshperf/meshperf/internal/auth"
	"github.com/meshperf/meshperf/store/storetest"
)

// The auth part of the suite holds for auth.MemoryStore, the reference
// behaviour the SQL stores must match.
func TestAuthMemoryStore(t *testing.T) {
	storetest.RunAuth(t, func(*testing.T) auth.Store { return auth.NewMemoryStore() })
}
