package native

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/loadgen"
)

// closedPort returns a loopback address on which nothing listens: connects
// to it are refused at once.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestRefusedConnectsBackOffAndEndEarly(t *testing.T) {
	for _, eng := range engines {
		for _, loop := range []struct {
			name string
			rps  float64
		}{{"closed loop", 0}, {"open loop 1000 rps", 1000}} {
			t.Run(eng.name+"/"+loop.name, func(t *testing.T) {
				p := &loadgen.Plan{Targets: []string{"http://" + closedPort(t) + "/"}, Connections: 10, Duration: 20 * time.Second}
				if loop.rps > 0 {
					p.Rate = loadgen.Constant(loop.rps)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				began := time.Now()
				res, err := eng.e.Run(ctx, p, nil)
				took := time.Since(began)
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				// Without backoff 10 connections make tens of thousands
				// of attempts in 3 s; with it about ten each.
				refused := int64(0)
				for _, e := range res.Errors {
					if strings.Contains(strings.Join(e.Examples, " "), "refused") {
						refused += e.Count
					}
				}
				if refused < 30 || refused > 300 {
					t.Errorf("refused connects counted = %d, want between 30 and 300 (each attempt counted, backoff bounding them); errors %+v", refused, res.Errors)
				}
				if res.EndedEarly == "" || !strings.Contains(res.EndedEarly, "nothing connected for 3s") || !strings.Contains(res.EndedEarly, "refused") {
					t.Errorf("EndedEarly = %q, want it to say nothing connected for 3s and the refusal", res.EndedEarly)
				}
				if took < 3*time.Second || took > 6*time.Second {
					t.Errorf("the run took %s, want it ended between 3 s and 6 s (20 s asked)", took)
				}
				if res.Interrupted {
					t.Error("an early end is not an interruption")
				}
				if loop.rps > 0 && res.Achieved.Dropped == 0 {
					t.Errorf("open loop: the requests due and not sent should count as dropped, got %+v", res.Achieved)
				}
			})
		}
	}
}

// gRPC's refusals come back as UNAVAILABLE statuses: they back off and
// end the run too.
func TestRefusedGRPCBacksOff(t *testing.T) {
	p := &loadgen.Plan{Protocol: loadgen.ProtocolGRPC, Targets: []string{"grpc://" + closedPort(t)}, Connections: 4, Duration: 20 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	began := time.Now()
	res, err := (&Engine{Version: "test"}).Run(ctx, p, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if took := time.Since(began); took > 6*time.Second || res.EndedEarly == "" {
		t.Errorf("took %s, ended early %q: want the run ended after about 3 s", took, res.EndedEarly)
	}
	if res.Achieved.Errors == 0 || res.Achieved.Errors > 300 {
		t.Errorf("%d failed calls, want each counted and backoff bounding them; errors %+v", res.Achieved.Errors, res.Errors)
	}
}

// A target that comes up after a second of refusals is then loaded
// normally: the backoff resets and the run does not end early.
func TestTargetComingUpEndsTheBackoff(t *testing.T) {
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			addr := closedPort(t)
			srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}
			t.Cleanup(func() { srv.Close() })
			go func() {
				time.Sleep(time.Second)
				ln, err := net.Listen("tcp", addr)
				if err != nil {
					t.Errorf("listen again on %s: %v", addr, err)
					return
				}
				_ = srv.Serve(ln)
			}()
			p := &loadgen.Plan{Targets: []string{"http://" + addr + "/"}, Connections: 4, Duration: 3 * time.Second, Rate: loadgen.Constant(200)}
			res := runOn(t, eng.e, p)
			if res.EndedEarly != "" {
				t.Errorf("EndedEarly = %q, want the run to go on once the target is up", res.EndedEarly)
			}
			if res.Achieved.Responses < 200 {
				t.Errorf("responses = %d, want most of the last two seconds' 400 (backoff capped, reset on connect)", res.Achieved.Responses)
			}
		})
	}
}

func TestBackoffFor(t *testing.T) {
	for _, c := range []struct {
		streak int
		want   time.Duration
	}{{0, 0}, {1, 10 * time.Millisecond}, {2, 20 * time.Millisecond}, {7, 640 * time.Millisecond}, {8, time.Second}, {100, time.Second}} {
		if got := backoffFor(c.streak); got != c.want {
			t.Errorf("backoffFor(%d) = %s, want %s", c.streak, got, c.want)
		}
	}
}
