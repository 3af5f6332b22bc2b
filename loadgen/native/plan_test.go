package native_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshperf/meshperf/hist"
	"github.com/meshperf/meshperf/loadgen"
	"github.com/meshperf/meshperf/loadgen/native"
)

func TestWarmupStaysOutOfTheSummary(t *testing.T) {
	url := startEcho(t, "0", false)
	res := run(t, &loadgen.Plan{
		Targets: []string{url + "/"}, Connections: 4, Rate: loadgen.Constant(200),
		Warmup: 2 * time.Second, Duration: 2 * time.Second, IntervalHistograms: true,
	})
	// The run's histograms are exactly the sum of its measured seconds'.
	sumLat, sumSvc := hist.New(), hist.New()
	for _, iv := range res.Timeline {
		if !iv.Warmup {
			sumLat.Merge(decode(t, iv.Latency))
			sumSvc.Merge(decode(t, iv.ServiceTime))
		}
	}
	runLat, runSvc := decode(t, res.Latency.Histogram), decode(t, res.ServiceTime.Histogram)
	for _, q := range []float64{0.5, 0.99, 1} {
		if sumLat.Quantile(q) != runLat.Quantile(q) || sumSvc.Quantile(q) != runSvc.Quantile(q) {
			t.Errorf("q%v: sum of intervals %v/%v, run %v/%v", q, sumLat.Quantile(q), sumSvc.Quantile(q), runLat.Quantile(q), runSvc.Quantile(q))
		}
	}
	if sumLat.Count() != runLat.Count() {
		t.Errorf("intervals hold %d values, the run %d", sumLat.Count(), runLat.Count())
	}
	var warm, measured int64
	for _, iv := range res.Timeline {
		if iv.Warmup {
			if iv.Second >= 2 {
				t.Errorf("second %d marked warm-up", iv.Second)
			}
			warm += iv.Requests
		} else {
			measured += iv.Requests
		}
	}
	if warm != 400 {
		t.Errorf("warm-up requests in the timeline = %d, want 400", warm)
	}
	if res.Achieved.Requests != measured || measured != 400 {
		t.Errorf("summary requests = %d, timeline after warm-up = %d, want 400 both", res.Achieved.Requests, measured)
	}
	if d := res.Achieved.Duration.D(); d < 1900*time.Millisecond || d > 2200*time.Millisecond {
		t.Errorf("measured duration = %v, want about 2s", d)
	}
}

func TestStepsAndRequestCount(t *testing.T) {
	url := startEcho(t, "0", false)
	res := run(t, &loadgen.Plan{
		Targets: []string{url + "/"}, Connections: 4,
		Rate:     loadgen.Steps{{Rate: 100, Duration: time.Second}, {Rate: 400, Duration: time.Second}},
		Duration: 2 * time.Second,
	})
	if len(res.Timeline) < 2 {
		t.Fatalf("timeline %d seconds", len(res.Timeline))
	}
	for i, want := range []float64{100, 400} {
		iv := res.Timeline[i]
		if iv.RequestedRPS != want || math.Abs(float64(iv.Requests)-want) > want*0.03 {
			t.Errorf("second %d: requested %v, got %d requests; want %v", i, iv.RequestedRPS, iv.Requests, want)
		}
	}
	// A request count ends an open-loop run early.
	res = run(t, &loadgen.Plan{Targets: []string{url + "/"}, Connections: 2, Rate: loadgen.Constant(500), Requests: 250, Duration: time.Minute})
	if res.Achieved.Requests != 250 {
		t.Errorf("requests = %d, want 250", res.Achieved.Requests)
	}
	if d := res.Achieved.Duration.D(); d > 700*time.Millisecond {
		t.Errorf("250 requests at 500/s took %v, want about 0.5s", d)
	}
}

func TestMultipleTargetsInTurn(t *testing.T) {
	var a, b atomic.Int64
	sa := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { a.Add(1) }))
	defer sa.Close()
	sb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { b.Add(1); w.WriteHeader(202) }))
	defer sb.Close()
	res := run(t, &loadgen.Plan{Targets: []string{sa.URL, sb.URL}, Connections: 3, Requests: 300})
	if a.Load() != 150 || b.Load() != 150 {
		t.Errorf("target a got %d, b got %d; want 150 each", a.Load(), b.Load())
	}
	if res.StatusCodes[200] != 150 || res.StatusCodes[202] != 150 {
		t.Errorf("codes %v", res.StatusCodes)
	}
}

func TestRequestIsSentAsPlanned(t *testing.T) {
	type seen struct {
		method, host, ua, ct, cookie, hdr, body string
	}
	got := make(chan seen, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 100)
		n, _ := r.Body.Read(buf)
		select {
		case got <- seen{r.Method, r.Host, r.UserAgent(), r.Header.Get("Content-Type"), r.Header.Get("Cookie"), r.Header.Get("X-Team"), string(buf[:n])}:
		default:
		}
	}))
	// HTTP/1.1 and h2c both, set before the server starts (setting them
	// while it serves was a data race).
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	defer srv.Close()
	for _, version := range []string{loadgen.HTTP1, loadgen.H2C} {
		t.Run(version, func(t *testing.T) {
			run(t, &loadgen.Plan{
				Targets: []string{srv.URL + "/x?y=1"}, Connections: 1, Requests: 1, HTTPVersion: version,
				Headers:     []loadgen.Header{{Name: "Host", Value: "shop.local"}, {Name: "X-Team", Value: "a"}},
				Cookies:     []loadgen.Header{{Name: "s", Value: "1"}, {Name: "t", Value: "2"}},
				Body:        []byte(`{"k":1}`),
				ContentType: "application/json",
			})
			s := <-got
			want := seen{"POST", "shop.local", "meshperf/test", "application/json", "s=1; t=2", "a", `{"k":1}`}
			if s != want {
				t.Errorf("server saw %+v, want %+v", s, want)
			}
		})
	}
}

// writeCert makes a certificate signed by ca (or self-signed) and writes
// it and its key as PEM files.
func writeCert(t *testing.T, dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey, string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost", "svc.test"},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:         isCA, BasicConstraintsValid: true,
	}
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca, caKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	kb, _ := x509.MarshalECPrivateKey(key)
	cf, kf := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	os.WriteFile(cf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(kf, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return cert, key, cf, kf
}

func TestMutualTLSWithCAAndSNI(t *testing.T) {
	dir := t.TempDir()
	ca, caKey, caFile, _ := writeCert(t, dir, "ca", nil, nil, true)
	_, _, srvCert, srvKey := writeCert(t, dir, "server", ca, caKey, false)
	_, _, cliCert, cliKey := writeCert(t, dir, "client", ca, caKey, false)
	pair, err := tls.LoadX509KeyPair(srvCert, srvKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	var sni atomic.Value
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) == 0 {
			w.WriteHeader(401)
		}
	}))
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert,
		GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) { sni.Store(h.ServerName); return nil, nil },
	}
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()

	for _, version := range []string{loadgen.HTTP1, loadgen.HTTP2} {
		t.Run(version, func(t *testing.T) {
			res := run(t, &loadgen.Plan{
				Targets: []string{srv.URL}, Connections: 1, Requests: 5, HTTPVersion: version,
				TLS: loadgen.TLS{CAFile: caFile, CertFile: cliCert, KeyFile: cliKey, ServerName: "svc.test"},
			})
			if res.StatusCodes[200] != 5 {
				t.Errorf("codes %v, want 5 × 200", res.StatusCodes)
			}
			if sni.Load() != "svc.test" {
				t.Errorf("SNI = %v, want svc.test", sni.Load())
			}
			// The same certificate inline (cert_pem, key_pem).
			certPEM, _ := os.ReadFile(cliCert)
			keyPEM, _ := os.ReadFile(cliKey)
			res = run(t, &loadgen.Plan{
				Targets: []string{srv.URL}, Connections: 1, Requests: 5, HTTPVersion: version,
				TLS: loadgen.TLS{CAFile: caFile, CertPEM: certPEM, KeyPEM: keyPEM, ServerName: "svc.test"},
			})
			if res.StatusCodes[200] != 5 {
				t.Errorf("inline: codes %v, want 5 × 200", res.StatusCodes)
			}
		})
	}
	// Without the client certificate the handshake fails, as a TLS error.
	res, err := (&native.Engine{}).Run(context.Background(), &loadgen.Plan{
		Targets: []string{srv.URL}, Connections: 1, Requests: 2, TLS: loadgen.TLS{CAFile: caFile},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) == 0 || res.Errors[0].Class != loadgen.ClassTLS && res.Errors[0].Class != loadgen.ClassReset {
		t.Errorf("errors %+v, want tls", res.Errors)
	}
}

func TestQueueBoundDropsOldest(t *testing.T) {
	// One connection, a target taking 50 ms, 200 requests per second: the
	// queue of 10 overflows and the excess is counted as dropped.
	url := startEcho(t, "50ms", false)
	res, err := (&native.Engine{}).Run(context.Background(), &loadgen.Plan{
		Targets: []string{url + "/"}, Connections: 1, Rate: loadgen.Constant(200), Duration: 2 * time.Second,
		QueueSize: 10, Timeout: time.Second,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := res.Achieved
	if a.Dropped < 300 || a.Responses > 60 {
		t.Errorf("dropped %d, responses %d: want most of 400 dropped, about 40 answered", a.Dropped, a.Responses)
	}
	if a.Requests != 400 {
		t.Errorf("requests attempted = %d, want all 400 intended (answered + dropped)", a.Requests)
	}
	if len(res.Errors) == 0 || res.Errors[0].Class != loadgen.ClassDropped {
		t.Errorf("errors %+v, want dropped first", res.Errors)
	}
	// What was answered waited in the queue: up to 10 requests ahead of it,
	// 50 ms each on the one connection, so latency is service time plus up
	// to 500 ms, and no more: the bound keeps the wait from growing with
	// the run (unbounded, the last requests would wait almost 2 s).
	lat, _ := res.Latency.At(50)
	svc, _ := res.ServiceTime.At(50)
	if lat < svc+30 {
		t.Errorf("latency p50 %vms, service p50 %vms: the queue wait is missing", lat, svc)
	}
	if res.Latency.MaxMs > 700 {
		t.Errorf("latency max %vms: the queue bound did not hold the wait", res.Latency.MaxMs)
	}
}

type histSink struct{ got []string }

func (s *histSink) Progress(p loadgen.Progress) { s.got = append(s.got, p.Interval.Latency) }
func (s *histSink) WantsHistograms() bool       { return true }

func TestSinkGetsHistogramsWhenItAsks(t *testing.T) {
	url := startEcho(t, "0", false)
	runWith := func(sink loadgen.Sink) {
		t.Helper()
		res, err := (&native.Engine{}).Run(context.Background(), &loadgen.Plan{
			Targets: []string{url + "/"}, Connections: 2, Rate: loadgen.Constant(100), Duration: 2 * time.Second,
		}, sink)
		if err != nil {
			t.Fatal(err)
		}
		for _, iv := range res.Timeline {
			if iv.Latency != "" {
				t.Errorf("the result keeps interval histograms it was not asked to")
			}
		}
	}
	hs := &histSink{}
	runWith(hs)
	check(t, hs.got, true)
	var plain []string
	runWith(loadgen.SinkFunc(func(p loadgen.Progress) { plain = append(plain, p.Interval.Latency) }))
	check(t, plain, false)
}

func check(t *testing.T, got []string, want bool) {
	t.Helper()
	if len(got) < 2 {
		t.Fatalf("%d progress reports", len(got))
	}
	for i, h := range got {
		if (h != "") != want {
			t.Errorf("interval %d: histogram present = %v, want %v", i, h != "", want)
		}
	}
}
