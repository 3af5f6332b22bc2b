package prom

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/spec"
)

func TestMeasuredWindow(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	res := &spec.Result{StartTime: start, EndTime: start.Add(12 * time.Second), Requested: spec.Requested{Warmup: spec.Duration(2 * time.Second)}}
	w := MeasuredWindow(res, 3*time.Second)
	if !w.Start.Equal(start.Add(2*time.Second)) || !w.End.Equal(start.Add(9*time.Second)) {
		t.Errorf("window %s–%s, want warm-up and cool-down off", w.Start, w.End)
	}
}

func TestStep(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  *spec.MetricsConfig
		d    time.Duration
		want time.Duration
	}{
		{"default", nil, time.Minute, time.Second},
		{"given", &spec.MetricsConfig{Step: "250ms"}, time.Hour, 250 * time.Millisecond},
		{"long window", &spec.MetricsConfig{}, 10 * time.Hour, 4 * time.Second},
		{"malformed falls back", &spec.MetricsConfig{Step: "soon"}, time.Minute, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Step(tc.cfg, tc.d); got != tc.want {
				t.Errorf("Step = %s, want %s", got, tc.want)
			}
		})
	}
	if got := Cooldown(&spec.MetricsConfig{Cooldown: "2s"}); got != 2*time.Second {
		t.Errorf("Cooldown = %s", got)
	}
}

func TestCollectMissing(t *testing.T) {
	// A port nothing listens on: Prometheus is down.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + l.Addr().String()
	l.Close()
	cfg := &spec.MetricsConfig{Prometheus: addr, Queries: []spec.MetricQuery{{Name: "a", Query: "up", Unit: "x"}, {Name: "b", Query: "up"}}}
	now := time.Now().Add(-5 * time.Second)
	ms := Collect(context.Background(), cfg, Window{Start: now, End: now.Add(2 * time.Second)})
	if len(ms) != 2 {
		t.Fatalf("%d metrics", len(ms))
	}
	for _, m := range ms {
		if !strings.Contains(m.Missing, "unreachable") || !strings.Contains(m.Missing, "connection refused") || m.Query != "up" {
			t.Errorf("metric %+v, want missing: unreachable", m)
		}
	}
	if ms[0].Unit != "x" || ms[0].Start.After(now.Add(time.Millisecond)) || ms[0].Start.Before(now) {
		t.Errorf("metric %+v does not keep its unit and window", ms[0])
	}
	// An empty window is not queried at all.
	ms = Collect(context.Background(), cfg, Window{Start: now, End: now})
	if !strings.Contains(ms[0].Missing, "window is empty") {
		t.Errorf("empty window: %q", ms[0].Missing)
	}
	if Collect(context.Background(), nil, Window{}) != nil {
		t.Error("no config gave metrics")
	}
}

// A URL given as metrics.prometheus is fetched by the server: whatever the
// remote answers, no byte of what it wrote comes back in the result.
func TestCollectDoesNotReadBack(t *testing.T) {
	const secret = "s3cr3t-token-0123456789"
	defer func(old int64) { maxBody = old }(maxBody)
	maxBody = 4 << 20
	mux := http.NewServeMux()
	mux.HandleFunc("/plain/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "internal admin page: "+secret, http.StatusInternalServerError)
	})
	mux.HandleFunc("/json/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"status":"error","errorType":"bad_data","error":"%s"}`, secret)
	})
	mux.HandleFunc("/ok/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<html>"+secret+"</html>")
	})
	mux.HandleFunc("/redirect/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/plain/api/v1/query_range", http.StatusFound)
	})
	mux.HandleFunc("/huge/", func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat(secret, 4096))
		for i := 0; i < int(maxBody)/len(chunk)+2; i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	now := time.Now().Add(-5 * time.Second)
	for _, tc := range []struct{ path, want string }{
		{"/plain", "HTTP 500 (server_error)"},
		{"/json", "HTTP 400 (bad_data)"},
		{"/ok", "bad_response"},
		{"/redirect", "HTTP 302"},
		{"/huge", "larger than"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			cfg := &spec.MetricsConfig{Prometheus: srv.URL + tc.path, Queries: []spec.MetricQuery{{Name: "a", Query: "up"}}}
			ms := Collect(context.Background(), cfg, Window{Start: now, End: now.Add(2 * time.Second)})
			b, _ := json.Marshal(ms)
			if strings.Contains(string(b), "s3cr3t") {
				t.Fatalf("the remote's body came back: %s", b)
			}
			if !strings.Contains(ms[0].Missing, tc.want) {
				t.Errorf("missing %q, want it to say %q", ms[0].Missing, tc.want)
			}
		})
	}
}
