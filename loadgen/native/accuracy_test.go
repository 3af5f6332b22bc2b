package native_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/internal/echo"
	"github.com/meshperf/meshperf/internal/echo/echotest"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/loadgen/native"
	"github.com/meshperf/meshperf/spec"
)

// startEcho runs meshperf's echo target on 127.0.0.1 and returns its URL.
func startEcho(t *testing.T, delay string, tls bool) string {
	t.Helper()
	return strings.TrimSuffix(echotest.HTTP(t, echo.Options{Delay: echotest.Delay(t, delay), TLS: tls}), "/")
}

// engines are the two ways plain HTTP/1.1 is sent; the measurements that
// matter are checked on both.
var engines = []struct {
	name string
	e    *native.Engine
}{
	{"event loop", &native.Engine{Version: "test"}},
	{"goroutines", &native.Engine{Version: "test", Goroutines: true}},
}

func run(t *testing.T, p *loadgen.Plan) *spec.Result {
	t.Helper()
	return runOn(t, &native.Engine{Version: "test"}, p)
}

func runOn(t *testing.T, e *native.Engine, p *loadgen.Plan) *spec.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := e.Run(ctx, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) > 0 {
		t.Fatalf("errors: %+v", res.Errors)
	}
	return res
}

func decode(t *testing.T, s string) *hist.Histogram {
	t.Helper()
	h, err := hist.Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// share is the fraction of recorded values at or above d.
func share(h *hist.Histogram, d time.Duration) float64 {
	var n int64
	for _, b := range h.Buckets() {
		if b.To >= d {
			n += b.Count
		}
	}
	return float64(n) / float64(h.Count())
}

// schedTolerance is what this shared 2-core machine's scheduling may add to
// a measured time: the echo's timer, two goroutine wake-ups, loopback.
const schedTolerance = 2 * time.Millisecond

func TestAccuracyDelayMix(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: 6 s of load")
	}
	url := startEcho(t, "98%:2ms,2%:50ms", false)
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			testAccuracy(t, runOn(t, eng.e, &loadgen.Plan{
				Targets: []string{url + "/"}, Connections: 16, Rate: loadgen.Constant(1000), Duration: 6 * time.Second,
			}))
		})
	}
}

func testAccuracy(t *testing.T, res *spec.Result) {
	svc := decode(t, res.ServiceTime.Histogram)
	lat := decode(t, res.Latency.Histogram)
	within := func(name string, got, lo, hi time.Duration) {
		t.Helper()
		if got < lo || got > hi {
			t.Errorf("%s = %v, want within [%v, %v]", name, got, lo, hi)
		}
	}
	// HDR keeps 3 digits: 0.1% of the value, then the scheduling tolerance.
	within("service p50", svc.Quantile(0.50), 2*time.Millisecond*999/1000, 2*time.Millisecond+schedTolerance)
	within("service p95", svc.Quantile(0.95), 2*time.Millisecond*999/1000, 2*time.Millisecond+schedTolerance)
	within("service p99.5", svc.Quantile(0.995), 50*time.Millisecond*999/1000, 50*time.Millisecond+schedTolerance)
	within("latency p50", lat.Quantile(0.50), 2*time.Millisecond*999/1000, 2*time.Millisecond+schedTolerance)
	within("latency p99.5", lat.Quantile(0.995), 50*time.Millisecond*999/1000, 50*time.Millisecond+schedTolerance)
	// The slow part of the mix is 2% of 6,000 requests: allow 4 standard
	// deviations of a binomial.
	slow := share(svc, 40*time.Millisecond)
	sd := math.Sqrt(0.02 * 0.98 / float64(svc.Count()))
	if math.Abs(slow-0.02) > 4*sd {
		t.Errorf("share of slow responses = %.4f, want 0.02 ± %.4f", slow, 4*sd)
	}
	if res.Achieved.LateRatio > 0.05 { // generous: the machine is shared
		t.Errorf("late ratio = %v: the generator could not keep its schedule at 1000 rps", res.Achieved.LateRatio)
	}
}

// A 1-second stall of the target during a 10-second run at 1,000 rps must
// show in the corrected latency as the arithmetic predicts: the ~1,000
// requests intended during the stall wait between 0 and 1 s, about 10% of
// all, so p99 is near 900 ms and p50 is untouched. The service time, which
// starts when a request is actually sent, shows it only for the few
// requests that were in flight.
func TestCoordinatedOmissionStall(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: 10 s of load")
	}
	url := startEcho(t, "0", false)
	const conns = 16
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			go func() {
				time.Sleep(4 * time.Second)
				resp, err := http.Post(url+"/admin/stall?for=1s", "", nil)
				if err != nil {
					t.Errorf("stall: %v", err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("stall: status %d", resp.StatusCode)
				}
			}()
			testStall(t, conns, runOn(t, eng.e, &loadgen.Plan{
				Targets: []string{url + "/"}, Connections: conns, Rate: loadgen.Constant(1000), Duration: 10 * time.Second,
			}))
		})
	}
}

func testStall(t *testing.T, conns int, res *spec.Result) {
	lat := decode(t, res.Latency.Histogram)
	svc := decode(t, res.ServiceTime.Histogram)
	t.Logf("latency p50 %v p90 %v p99 %v max %v; service p50 %v p99 %v max %v; late %.3f",
		lat.Quantile(.5), lat.Quantile(.9), lat.Quantile(.99), lat.Max(), svc.Quantile(.5), svc.Quantile(.99), svc.Max(), res.Achieved.LateRatio)

	if got := lat.Quantile(0.50); got > 5*time.Millisecond {
		t.Errorf("latency p50 = %v, want it unaffected by the stall (< 5ms)", got)
	}
	if got := lat.Quantile(0.99); got < 850*time.Millisecond || got > 950*time.Millisecond {
		t.Errorf("latency p99 = %v, want about 900ms (850–950ms)", got)
	}
	if got := lat.Max(); got < 950*time.Millisecond || got > 1100*time.Millisecond {
		t.Errorf("latency max = %v, want about 1s", got)
	}
	if got := share(lat, 100*time.Millisecond); got < 0.08 || got > 0.10 {
		t.Errorf("share of requests delayed more than 100ms = %.3f, want about 0.09 (0.08–0.10)", got)
	}
	// Service time: only the requests in flight when the stall began.
	if got := svc.Quantile(0.99); got > 20*time.Millisecond {
		t.Errorf("service p99 = %v, want the stall hidden from it (< 20ms)", got)
	}
	if got := share(svc, 100*time.Millisecond); got > float64(conns+1)/float64(svc.Count()) {
		t.Errorf("share of service times over 100ms = %.4f, want at most the %d requests in flight", got, conns)
	}
	if got := svc.Max(); got < 900*time.Millisecond {
		t.Errorf("service max = %v, want the in-flight requests to have waited ~1s", got)
	}
	if res.Achieved.LateRatio < 0.08 {
		t.Errorf("late ratio = %v, want the ~10%% of requests queued during the stall", res.Achieved.LateRatio)
	}
	if res.Achieved.Requests != 10000 {
		t.Errorf("requests = %d, want all 10000 intended ones sent", res.Achieved.Requests)
	}
}

func TestAchievedRate(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: 10 s of load")
	}
	url := startEcho(t, "0", false)
	for _, rate := range []float64{1000, 10000} {
		t.Run(fmt.Sprintf("%.0f rps", rate), func(t *testing.T) {
			res := run(t, &loadgen.Plan{
				Targets: []string{url + "/"}, Connections: 32, Rate: loadgen.Constant(rate), Duration: 5 * time.Second,
			})
			a := res.Achieved
			if diff := math.Abs(a.RPS-rate) / rate; diff > 0.01 {
				t.Errorf("achieved %.1f rps, want %.0f within 1%% (off by %.2f%%)", a.RPS, rate, diff*100)
			}
			if want := int64(rate * 5); a.Responses != want {
				t.Errorf("responses = %d, want %d", a.Responses, want)
			}
			for _, iv := range res.Timeline {
				if iv.Seconds < 1 {
					continue // the last, partial second
				}
				if math.Abs(iv.AchievedRPS-rate)/rate > 0.05 {
					t.Errorf("second %d: %.0f rps, want %.0f within 5%%", iv.Second, iv.AchievedRPS, rate)
				}
				if iv.RequestedRPS != rate {
					t.Errorf("second %d: requested %.0f, want %.0f", iv.Second, iv.RequestedRPS, rate)
				}
			}
		})
	}
}
