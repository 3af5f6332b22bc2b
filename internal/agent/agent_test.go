package agent

import (
	"testing"
	"time"

	"github.com/meshperf/meshperf/spec"
)

func TestSharePlan(t *testing.T) {
	prof := `{"duration": "10s", "clients": [{"rps": 1000, "connections": 4, "endpoint_urls": ["http://127.0.0.1:1/"]}]}`
	p, err := SharePlan([]byte(prof), 0.25)
	if err != nil {
		t.Fatal(err)
	}
	if p.Rate.RateAt(0) != 250 || p.Connections != 4 || p.Duration != 10*time.Second {
		t.Errorf("plan rate %v, %d connections, %s", p.Rate, p.Connections, p.Duration)
	}
	for _, bad := range []struct {
		doc   string
		scale float64
	}{
		{prof, 0}, {prof, 1.5}, {`{"clients": []}`, 1}, {`not json`, 1},
	} {
		if _, err := SharePlan([]byte(bad.doc), bad.scale); err == nil {
			t.Errorf("SharePlan(%q, %g): no error", bad.doc, bad.scale)
		}
	}
}

func TestSnapshotCountsResponses(t *testing.T) {
	sn := Snapshot("r", 2, spec.Interval{Second: 3, Seconds: 1, Requests: 12, Errors: 3,
		StatusCodes: map[int]int64{200: 7, 503: 2}, ErrorClasses: map[string]int64{"dropped": 3}})
	if sn.GetResponses() != 9 || sn.GetShare() != 2 || sn.GetSecond() != 3 || sn.GetErrorClasses()["dropped"] != 3 {
		t.Errorf("snapshot %+v", sn)
	}
}

func TestNewChecksConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("no error for an empty config")
	}
	a, err := New(Config{Server: "127.0.0.1:1", Token: "t", Name: "n"})
	if err != nil || a.cfg.Cores < 1 || a.cfg.MinBackoff != DefaultMinBackoff {
		t.Errorf("New: %v, %+v", err, a)
	}
}

func TestJitter(t *testing.T) {
	for range 100 {
		if d := jitter(time.Second); d < 500*time.Millisecond || d > time.Second {
			t.Fatalf("jitter(1s) = %s", d)
		}
	}
}
