package loadgen

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/spec"
)

// testCAPEM makes a self-signed CA certificate, PEM-encoded.
func testCAPEM(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "meshperf test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestPlansFromProfile(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	for _, f := range []string{certFile, keyFile} {
		if err := os.WriteFile(f, []byte("placeholder"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ca := testCAPEM(t)
	p := &spec.Profile{
		Name:     "shop mix",
		Duration: "20s",
		Clients: []spec.Client{{
			LoadGenerator:  "meshperf",
			Protocol:       spec.ProtocolHTTP,
			Connections:    32,
			RPS:            1000,
			Headers:        map[string]string{"x-b": "2", "X-A": "1", "accept": "*/*"},
			Cookies:        map[string]string{"session": "s1", "lang": "en"},
			Body:           `{"q": 1}`,
			ContentType:    "application/json",
			EndpointURLs:   []string{"https://a.shop:8443/x", "https://a.shop:8443/y"},
			SSLCertificate: ca,
			Meshperf: &spec.ClientExtras{
				RateShape:       "ramp:100-1000",
				HTTPVersion:     "2",
				Method:          "put",
				Streams:         8,
				Timeout:         "2s",
				ConnectTimeout:  "500ms",
				Insecure:        true,
				CertFile:        certFile,
				KeyFile:         keyFile,
				SNI:             "a.local",
				TLSNoResumption: true,
				Resolution:      "200us",
			},
		}, {
			EndpointURLs: []string{"http://b/"},
		}},
		Meshperf: &spec.ProfileExtras{Warmup: "10s", Requests: 5000, SLO: []string{"p99<=1s"}},
	}
	plans, err := PlansFromProfile(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []*Plan{{
		Name:        "shop mix",
		Targets:     []string{"https://a.shop:8443/x", "https://a.shop:8443/y"},
		Protocol:    ProtocolHTTP,
		HTTPVersion: HTTP2,
		Method:      "PUT",
		Headers:     []Header{{"X-A", "1"}, {"accept", "*/*"}, {"x-b", "2"}},
		Cookies:     []Header{{"lang", "en"}, {"session", "s1"}},
		Body:        []byte(`{"q": 1}`),
		ContentType: "application/json",
		TLS: TLS{
			SkipVerify: true,
			CAPEM:      []byte(ca),
			CertFile:   certFile,
			KeyFile:    keyFile,
			ServerName: "a.local", NoResumption: true,
		},
		ConnectTimeout: 500 * time.Millisecond,
		Timeout:        2 * time.Second,
		Connections:    32,
		Streams:        8,
		// The ramp runs over the whole run, warm-up included.
		Rate:          Ramp{From: 100, To: 1000, Over: 30 * time.Second},
		Duration:      20 * time.Second,
		Requests:      5000,
		Warmup:        10 * time.Second,
		QueueSize:     100_000,
		Resolution:    200 * time.Microsecond,
		LateThreshold: DefaultLateThreshold,
	}, {
		// Defaults everywhere: closed loop, 10 connections.
		Name:           "shop mix",
		Targets:        []string{"http://b/"},
		Protocol:       ProtocolHTTP,
		HTTPVersion:    HTTP1,
		Method:         "GET",
		ConnectTimeout: DefaultConnectTimeout,
		Timeout:        DefaultTimeout,
		Connections:    DefaultConnections,
		Streams:        1,
		Duration:       20 * time.Second,
		Requests:       5000,
		Warmup:         10 * time.Second,
		QueueSize:      100_000,
		LateThreshold:  DefaultLateThreshold,
	}}
	if len(plans) != len(want) {
		t.Fatalf("%d plans, want %d", len(plans), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(plans[i], want[i]) {
			t.Errorf("plan %d:\ngot  %+v\nwant %+v", i, plans[i], want[i])
		}
	}
	// The plans do not share the profile's slices.
	plans[0].Targets[0] = "changed"
	if p.Clients[0].EndpointURLs[0] == "changed" {
		t.Error("a plan's targets alias the profile's endpoint_urls")
	}
}

func TestPlansFromProfileRateAndResolution(t *testing.T) {
	tests := []struct {
		name           string
		rps            int64
		shape, res     string
		wantRate       Shape
		wantResolution time.Duration
	}{
		{"closed loop", 0, "", "", nil, 0},
		{"constant", 500, "", "auto", Constant(500), 0},
		{"constant named", 500, "constant", "exact", Constant(500), ExactSchedule},
		{"zero resolution is exact", 500, "", "0", Constant(500), ExactSchedule},
		{"ramp with its own time", 0, "ramp:10-100/5s", "1ms", Ramp{From: 10, To: 100, Over: 5 * time.Second}, time.Millisecond},
		{"steps", 0, "steps:100/10s,200/5s", "", Steps{{100, 10 * time.Second}, {200, 5 * time.Second}}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &spec.Profile{Duration: "30s", Clients: []spec.Client{{
				RPS:          tc.rps,
				EndpointURLs: []string{"http://127.0.0.1:8080/"},
				Meshperf:     &spec.ClientExtras{RateShape: tc.shape, Resolution: tc.res},
			}}}
			plans, err := PlansFromProfile(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := plans[0].Rate; !reflect.DeepEqual(got, tc.wantRate) {
				t.Errorf("rate = %v, want %v", got, tc.wantRate)
			}
			if got := plans[0].Resolution; got != tc.wantResolution {
				t.Errorf("resolution = %v, want %v", got, tc.wantResolution)
			}
		})
	}
}

func TestPlansFromProfileExample(t *testing.T) {
	p, _, err := spec.ParseProfile([]byte(spec.ProfileExample()))
	if err != nil {
		t.Fatal(err)
	}
	plans, err := PlansFromProfile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(plans) != 1 || plans[0].Targets[0] != "http://127.0.0.1:8080/" || plans[0].Rate != Constant(1000) {
		t.Errorf("plans = %+v", plans)
	}
}

func TestProfilePathNamesPlanFields(t *testing.T) {
	plan := &Plan{Headers: []Header{{"a", "1"}, {"b", "2"}}}
	tests := map[string]string{
		"targets":             "clients[1].endpoint_urls",
		"targets[2]":          "clients[1].endpoint_urls[2]",
		"headers[1]":          "clients[1].headers.b",
		"protocol":            "clients[1].protocol",
		"connections":         "clients[1].connections",
		"http_version":        "clients[1].meshperf.http_version",
		"streams":             "clients[1].meshperf.streams",
		"timeout":             "clients[1].meshperf.timeout",
		"connect_timeout":     "clients[1].meshperf.connect_timeout",
		"method":              "clients[1].meshperf.method",
		"tls":                 "clients[1].meshperf.cert_file",
		"tls.cert_file":       "clients[1].meshperf.cert_file",
		"tls.key_file":        "clients[1].meshperf.key_file",
		"rate":                "clients[1].rps",
		"duration":            "duration",
		"requests":            "meshperf.requests",
		"warmup":              "meshperf.warmup",
		"grpc.descriptor_set": "clients[1].meshperf.grpc_descriptor_set",
		"tcp.expect_bytes":    "clients[1].meshperf.tcp_expect_bytes",
		"tcp.delimiter":       "clients[1].meshperf.tcp_delimiter",
	}
	for field, want := range tests {
		if got := profilePath("clients[1]", field, plan, &spec.ClientExtras{}); got != want {
			t.Errorf("%s → %s, want %s", field, got, want)
		}
	}
}

// gRPC and TCP settings come from the client's meshperf block; the YAML
// string's own escapes give the delimiter's bytes.
func TestPlansFromProfileGRPCAndTCP(t *testing.T) {
	dir := t.TempDir()
	fds := filepath.Join(dir, "echo.pb")
	if err := os.WriteFile(fds, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	src := `name: proto
duration: 5s
clients:
  - protocol: grpc
    rps: 100
    endpoint_urls: ["grpc://127.0.0.1:9000/meshperf.echo.v1.Echo/Echo"]
    body: '{"message":"hi"}'
    meshperf:
      grpc_descriptor_set: ` + fds + `
  - protocol: tcp
    rps: 50
    endpoint_urls: ["tcp://127.0.0.1:9001"]
    body: "PING\r\n"
    meshperf:
      tcp_delimiter: "\r\n"
  - protocol: tcp
    endpoint_urls: ["tcp://127.0.0.1:9002"]
    body: "x"
    meshperf:
      tcp_expect_bytes: 64
`
	prof, _, err := spec.ParseProfile([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	plans, err := PlansFromProfile(prof)
	if err != nil {
		t.Fatal(err)
	}
	if p := plans[0]; p.Protocol != ProtocolGRPC || p.GRPC.DescriptorSet != fds || string(p.Body) != `{"message":"hi"}` {
		t.Errorf("grpc plan: protocol %q descriptor %q body %q", p.Protocol, p.GRPC.DescriptorSet, p.Body)
	}
	if p := plans[1]; p.Protocol != ProtocolTCP || string(p.TCP.Delimiter) != "\r\n" || string(p.Body) != "PING\r\n" {
		t.Errorf("tcp plan: protocol %q delimiter %q body %q", p.Protocol, p.TCP.Delimiter, p.Body)
	}
	if p := plans[2]; p.TCP.ExpectBytes != 64 || p.OpenLoop() {
		t.Errorf("tcp plan 2: expect %d open %v", p.TCP.ExpectBytes, p.OpenLoop())
	}

	// Both ends of a TCP response: a profile error.
	both := strings.Replace(src, "tcp_expect_bytes: 64", "tcp_expect_bytes: 64\n      tcp_delimiter: x", 1)
	prof, _, err = spec.ParseProfile([]byte(both))
	if err != nil {
		t.Fatal(err)
	}
	if err := prof.Validate(); err == nil || !strings.Contains(err.Error(), "clients[2].meshperf.tcp_delimiter") {
		t.Errorf("error %v does not name clients[2].meshperf.tcp_delimiter", err)
	}
	// A descriptor set that is not there: a plan error, named in the profile.
	missing := strings.Replace(src, fds, filepath.Join(dir, "missing.pb"), 1)
	prof, _, err = spec.ParseProfile([]byte(missing))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := PlansFromProfile(prof); err == nil || !strings.Contains(err.Error(), "clients[0].meshperf.grpc_descriptor_set: cannot read") {
		t.Errorf("error %v does not name clients[0].meshperf.grpc_descriptor_set", err)
	}
}
