package cli_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/meshperf/meshperf/spec"
)

// vegetaOnPath makes sure a vegeta binary is on PATH: when none is, it is
// built with go install (v12.13.0) into a temporary directory. A vegeta
// that cannot be had fails the test.
func vegetaOnPath(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("vegeta"); err == nil {
		return
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", "github.com/tsenart/vegeta/v12@v12.13.0")
	cmd.Env = append(os.Environ(), "GOBIN="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("vegeta is not on PATH and go install failed: %v\n%s", err, out)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func httpGet(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v %s", url, resp.StatusCode, err, b)
	}
	return b
}

// msText reads the text report's latency forms: "96µs", "2.35ms", "12.3s".
func msText(s string) (float64, bool) {
	for _, u := range []struct {
		suffix string
		ms     float64
	}{{"µs", 1e-3}, {"ms", 1}, {"s", 1e3}} {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			return v * u.ms, err == nil
		}
	}
	return 0, false
}

// TestFiguresAgree: the same real run, for the native engine, fortio,
// vegeta and wrk against meshperf echo, shows the same p50, p90, p99,
// p99.9 and max in the text report, JSON, the SMP exports, the fortio
// export, CSV and the API (its JSON and exports), within the text report's
// rounding (the others exactly); and the percentiles never decrease.
func TestFiguresAgree(t *testing.T) {
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Fatal("wrk is needed: apt-get install wrk")
	}
	vegetaOnPath(t)
	target := startEcho(t, "--delay", "90%:1ms,9%:3ms,1%:8ms") + "/"
	db := filepath.Join(t.TempDir(), "agree.db")
	runs := []struct {
		generator string
		args      []string
	}{
		{"meshperf", []string{"--rps", "200", "-c", "4"}},
		{"fortio", []string{"--rps", "200", "-c", "4"}},
		{"vegeta", []string{"--rps", "200", "-c", "4"}},
		{"wrk", []string{"--rps", "0", "-c", "2"}},
	}
	ids := map[string]string{}
	for _, r := range runs {
		args := append([]string{"run", target, "--generator", r.generator, "-d", "2s", "--db", db, "-o", "json"}, r.args...)
		out, errOut, code := meshperf(t, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", r.generator, code, errOut)
		}
		var res spec.Result
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%s: %v", r.generator, err)
		}
		i := strings.Index(errOut, "saved as result ")
		if i < 0 {
			t.Fatalf("%s: not saved: %s", r.generator, errOut)
		}
		ids[r.generator] = strings.Fields(errOut[i+len("saved as result "):])[0]
		if res.Generator.Version == "" || strings.Contains(res.Generator.Version, " ") {
			t.Errorf("%s: version %q: want a version token", r.generator, res.Generator.Version)
		}
		if res.Generator.HistogramResolutionUs != 1 {
			t.Errorf("%s: histogram resolution %v µs, want 1", r.generator, res.Generator.HistogramResolutionUs)
		}
	}
	srv := startServer(t, testEnv(t), "--db", db, "--log-level", "warn")
	for _, r := range runs {
		id := ids[r.generator]
		t.Run(r.generator, func(t *testing.T) {
			out, errOut, code := meshperf(t, "result", "show", id, "-o", "json", "--db", db)
			if code != 0 {
				t.Fatalf("show -o json: %d %s", code, errOut)
			}
			var res spec.Result
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatal(err)
			}
			main := res.Latency
			if main == nil {
				main = res.ServiceTime
			}
			if main.Count < 100 {
				t.Fatalf("only %d values", main.Count)
			}
			prev := 0.0
			for _, p := range main.Percentiles {
				if p.Ms < prev {
					t.Errorf("p%v = %v below the percentile before (%v)", p.P, p.Ms, prev)
				}
				prev = p.Ms
			}
			want := map[float64]float64{}
			for _, p := range []float64{50, 90, 99, 99.9, 100} {
				v, ok := main.Value(p)
				if !ok || v <= 0 {
					t.Fatalf("p%v missing from the list", p)
				}
				want[p] = v
			}
			if want[100] != main.MaxMs {
				t.Errorf("list max %v, max_ms %v", want[100], main.MaxMs)
			}
			got := map[string]map[float64]float64{}
			put := func(where string, p, v float64) {
				if got[where] == nil {
					got[where] = map[float64]float64{}
				}
				got[where][p] = v
			}
			// Text report.
			text, _, _ := meshperf(t, "result", "show", id, "--db", db)
			for _, line := range strings.Split(text, "\n") {
				f := strings.Fields(line)
				if len(f) < 2 {
					continue
				}
				p, ok := map[string]float64{"p50": 50, "p90": 90, "p99": 99, "p99.9": 99.9, "max": 100}[f[0]]
				if v, okv := msText(f[1]); ok && okv {
					put("text", p, v)
				}
			}
			// Exports, from the CLI and from the API.
			for _, from := range []string{"cli", "api"} {
				export := func(format string) []byte {
					if from == "api" {
						return httpGet(t, srv+"/api/v1/results/"+id+"/export?format="+format)
					}
					out, errOut, code := meshperf(t, "result", "export", id, "--format", format, "--db", db)
					if code != 0 {
						t.Fatalf("export %s: %d %s", format, code, errOut)
					}
					return []byte(out)
				}
				var smp struct {
					L  map[string]float64 `json:"latencies_ms"`
					Ex struct {
						P999 float64 `json:"p99_9_ms"`
					} `json:"meshperf"`
				}
				if err := yaml.Unmarshal(export("smp"), &smp); err != nil {
					t.Fatal(err)
				}
				var strict struct {
					L map[string]float64 `json:"latenciesMs"`
				}
				if err := json.Unmarshal(export("smp-strict"), &strict); err != nil {
					t.Fatal(err)
				}
				for k, p := range map[string]float64{"p50": 50, "p90": 90, "p99": 99, "max": 100} {
					put(from+" smp", p, smp.L[k])
					put(from+" smp-strict", p, strict.L[k])
				}
				put(from+" smp", 99.9, smp.Ex.P999)
				var fr struct {
					DurationHistogram struct {
						Max         float64
						Percentiles []struct{ Percentile, Value float64 }
					}
				}
				if err := json.Unmarshal(export("fortio"), &fr); err != nil {
					t.Fatal(err)
				}
				for _, p := range fr.DurationHistogram.Percentiles {
					put(from+" fortio", p.Percentile, p.Value*1e3)
				}
				put(from+" fortio", 100, fr.DurationHistogram.Max*1e3)
				recs, err := csv.NewReader(strings.NewReader(string(export("csv")))).ReadAll()
				if err != nil || len(recs) != 2 {
					t.Fatalf("csv: %v %v", err, recs)
				}
				for i, col := range recs[0] {
					if p, ok := map[string]float64{"p50_ms": 50, "p90_ms": 90, "p99_ms": 99, "p99_9_ms": 99.9, "max_ms": 100}[col]; ok {
						v, _ := strconv.ParseFloat(recs[1][i], 64)
						put(from+" csv", p, v)
					}
				}
				var j spec.Result
				if err := json.Unmarshal(export("json"), &j); err != nil {
					t.Fatal(err)
				}
				jd := j.Latency
				if jd == nil {
					jd = j.ServiceTime
				}
				for p := range want {
					v, _ := jd.Value(p)
					put(from+" json", p, v)
				}
			}
			var api spec.Result
			if err := json.Unmarshal(httpGet(t, srv+"/api/v1/results/"+id), &api); err != nil {
				t.Fatal(err)
			}
			ad := api.Latency
			if ad == nil {
				ad = api.ServiceTime
			}
			for p := range want {
				v, _ := ad.Value(p)
				put("api result", p, v)
			}
			for where, figs := range got {
				for p, w := range want {
					g, ok := figs[p]
					if !ok {
						// SMP's proto has no p99.9
						if !strings.HasSuffix(where, "smp-strict") || p != 99.9 {
							t.Errorf("%s: no p%v", where, p)
						}
						continue
					}
					tol := 1e-9 * w
					if where == "text" {
						tol = max(0.006*w, 0.0011) // three significant digits
					}
					if math.Abs(g-w) > tol {
						t.Errorf("%s: p%v = %v, the result's list says %v", where, p, g, w)
					}
				}
			}
			t.Logf("%s %s: p50 %.3f p90 %.3f p99 %.3f p99.9 %.3f max %.3f ms (%d values, resolution %v µs) agree in %d places",
				res.Generator.Name, res.Generator.Version, want[50], want[90], want[99], want[99.9], want[100], main.Count, res.Generator.HistogramResolutionUs, len(got))
		})
	}
}
