package nighthawk

import (
	"os"
	"testing"
	"time"
)

func TestTmpSlow(t *testing.T) {
	b, _ := os.ReadFile("/tmp/slow.json")
	t0 := time.Now()
	_, err := ParseOutput(b)
	t.Log(time.Since(t0), err)
}
