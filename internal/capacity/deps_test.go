package capacity

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoEngineDependency: the search, the judge and the report depend on
// no engine nor run service, so internal/api (and the client) can name
// the report's types without linking every load generator; running steps
// is runstep's.
func TestNoEngineDependency(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"/internal/runs", "/internal/runner", "/loadgen", "/internal/server"} {
			if strings.HasSuffix(dep, banned) || strings.Contains(dep, banned+"/") {
				t.Errorf("internal/capacity depends on %s", dep)
			}
		}
	}
}
