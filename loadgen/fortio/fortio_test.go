package fortio

import (
	"context"
	"errors"
	"math"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/echo"
	"github.com/meshperf/meshperf/internal/echo/echotest"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/loadgen/native"
	"github.com/meshperf/meshperf/spec"
)

// startEcho serves meshperf's echo target on 127.0.0.1 with a fixed delay.
func startEcho(t *testing.T, delay string) string {
	t.Helper()
	return echotest.HTTP(t, echo.Options{Delay: echotest.Delay(t, delay)})
}

func p50(t *testing.T, r *spec.Result) float64 {
	t.Helper()
	v, ok := r.ServiceTime.At(50)
	if !ok {
		t.Fatalf("no service-time p50 in %+v", r.ServiceTime)
	}
	return v
}

// p50Tolerance: fortio's default histogram (1 ms resolution) has 1 ms wide
// buckets between 1 and 10 ms, and interpolates percentiles linearly inside
// a bucket; ParseFortio's rebuilt histogram spreads each bucket evenly. So a
// p50 around the 2 ms delay can be off by up to one bucket, 1 ms. A quarter
// ms more allows for the two runs not seeing the same machine.
const p50Tolerance = 1.25

// compare runs the plan on fortio and on the native engine and checks their
// p50 agree.
func compare(t *testing.T, mk func() *loadgen.Plan) (f, n *spec.Result) {
	t.Helper()
	f, err := (&Generator{}).Run(context.Background(), mk(), nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err = (&native.Engine{}).Run(context.Background(), mk(), nil)
	if err != nil {
		t.Fatal(err)
	}
	fp, np := p50(t, f), p50(t, n)
	t.Logf("p50 fortio %.3f ms, native %.3f ms; requests %d vs %d", fp, np, f.Achieved.Requests, n.Achieved.Requests)
	if math.Abs(fp-np) > p50Tolerance {
		t.Errorf("p50 fortio %.3f ms vs native %.3f ms: more than %.2f ms apart", fp, np, p50Tolerance)
	}
	if fp < 2 {
		t.Errorf("fortio p50 %.3f ms is below the target's 2 ms delay", fp)
	}
	if f.Achieved.Errors != 0 || f.StatusCodes[200] != f.Achieved.Requests {
		t.Errorf("fortio errors %d, codes %v of %d", f.Achieved.Errors, f.StatusCodes, f.Achieved.Requests)
	}
	if f.Generator.Name != "fortio" || f.Generator.Fidelity != "bucketed" || f.Generator.Version == "" {
		t.Errorf("generator = %+v", f.Generator)
	}
	return f, n
}

func TestClosedLoopAgreesWithNative(t *testing.T) {
	url := startEcho(t, "2ms")
	f, _ := compare(t, func() *loadgen.Plan {
		return &loadgen.Plan{Name: "closed", Targets: []string{url}, Connections: 4, Duration: 2 * time.Second}
	})
	// 4 connections at ~2 ms each: well over 1000 requests in 2 s.
	if f.Achieved.Requests < 1000 || f.Requested.Shape != "closed loop" || f.Requested.Connections != 4 || f.Name != "closed" {
		t.Errorf("requests %d, requested %+v", f.Achieved.Requests, f.Requested)
	}
}

func TestOpenLoopAgreesWithNative(t *testing.T) {
	url := startEcho(t, "2ms")
	f, n := compare(t, func() *loadgen.Plan {
		return &loadgen.Plan{Name: "open", Targets: []string{url}, Connections: 4, Duration: 2 * time.Second, Rate: loadgen.Constant(200)}
	})
	for _, r := range []*spec.Result{f, n} {
		if got := r.Achieved.Requests; got < 360 || got > 440 {
			t.Errorf("%s: %d requests, want about 400 (200 rps for 2 s)", r.Generator.Name, got)
		}
	}
	if q := f.Requested; !q.OpenLoop || q.RPS != 200 || q.Shape != "constant 200/s" {
		t.Errorf("requested = %+v", q)
	}
}

func TestRequestCount(t *testing.T) {
	url := startEcho(t, "")
	for _, v := range []string{loadgen.HTTP1, loadgen.H2C} {
		p := &loadgen.Plan{Targets: []string{url}, HTTPVersion: v, Connections: 3, Requests: 50,
			Method: "POST", Body: []byte("hello"), Headers: []loadgen.Header{{Name: "X-Test", Value: "1"}}}
		r, err := (&Generator{}).Run(context.Background(), p, nil)
		if err != nil {
			t.Fatal(v, err)
		}
		if r.Achieved.Requests != 50 || r.Achieved.Errors != 0 || r.Requested.Requests != 50 || r.Requested.Method != "POST" {
			t.Errorf("%s: requests %d errors %d codes %v requested %+v", v, r.Achieved.Requests, r.Achieved.Errors, r.StatusCodes, r.Requested)
		}
	}
}

func TestInfo(t *testing.T) {
	if i := (&Generator{}).Info(); i.Name != "fortio" || i.Version != "1.66.5" {
		t.Errorf("info = %+v, want fortio 1.66.5 (go.mod)", i)
	}
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^\s*fortio\.org/fortio v` + regexp.QuoteMeta(requiredVersion) + `(\s|$)`).Match(mod) {
		t.Errorf("requiredVersion %s is not the fortio version go.mod requires", requiredVersion)
	}
}

func TestCheckRejects(t *testing.T) {
	ramp, err := loadgen.ParseShape("ramp:100-200", 0, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]*loadgen.Plan{
		"rate_shape": {Targets: []string{"http://127.0.0.1:1/"}, Duration: time.Second, Rate: ramp},
		"warmup":     {Targets: []string{"http://127.0.0.1:1/"}, Duration: time.Second, Warmup: time.Second},
	} {
		_, err := (&Generator{}).Run(context.Background(), p, nil)
		var ue *loadgen.UnsupportedError
		if !errors.As(err, &ue) || ue.Field != name || !errors.Is(err, loadgen.ErrUnsupported) {
			t.Errorf("%s: err = %v, want an UnsupportedError on %s", name, err, name)
		}
	}
}

func TestCancel(t *testing.T) {
	url := startEcho(t, "2ms")
	for _, rate := range []loadgen.Shape{nil, loadgen.Constant(100)} {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		start := time.Now()
		r, err := (&Generator{}).Run(ctx, &loadgen.Plan{Targets: []string{url}, Connections: 4, Duration: time.Minute, Rate: rate}, nil)
		cancel()
		took := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		if took > 1500*time.Millisecond {
			t.Errorf("rate %v: cancelled run took %s", rate, took)
		}
		if !r.Interrupted || r.Achieved.Requests == 0 {
			t.Errorf("rate %v: interrupted %v, requests %d", rate, r.Interrupted, r.Achieved.Requests)
		}
	}
}
