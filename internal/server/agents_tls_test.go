package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshperf/meshperf/internal/agent"
	"github.com/meshperf/meshperf/internal/server"
)

// testCA is a certificate authority made for a test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string
}

func newTestCA(t *testing.T, dir, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &testCA{cert: cert, key: key, file: filepath.Join(dir, name+".pem")}
	writePEM(t, ca.file, "CERTIFICATE", der)
	return ca
}

// issue makes a leaf certificate (server: for 127.0.0.1; else a client
// one) and returns its cert and key files.
func (ca *testCA) issue(t *testing.T, dir, name string, server bool) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", kb)
	return certFile, keyFile
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func newTestLogger(w *agentLogBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// waitLog waits (bounded) until the log holds want.
func waitLog(t *testing.T, what string, log *agentLogBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(log.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never said %q:\n%s", what, want, log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAgentsTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, dir, "ca")
	other := newTestCA(t, dir, "other-ca")
	srvCert, srvKey := ca.issue(t, dir, "server", true)
	cliCert, cliKey := ca.issue(t, dir, "agent", false)
	rogueCert, rogueKey := other.issue(t, dir, "rogue", false)

	serverTLS := func(t *testing.T, mutual bool) *tls.Config {
		f := agent.TLSFiles{Cert: srvCert, Key: srvKey}
		if mutual {
			f.CA = ca.file
		}
		c, err := agent.ServerTLS(f)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	clientTLS := func(t *testing.T, f agent.TLSFiles) *tls.Config {
		c, err := agent.ClientTLS(f)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name     string
		mutual   bool
		client   func(t *testing.T) *tls.Config
		accepted bool
		agentLog string // what the refused agent's log says
	}{
		{"tls", false, func(t *testing.T) *tls.Config { return clientTLS(t, agent.TLSFiles{CA: ca.file}) }, true, ""},
		{"mtls", true, func(t *testing.T) *tls.Config {
			return clientTLS(t, agent.TLSFiles{CA: ca.file, Cert: cliCert, Key: cliKey})
		}, true, ""},
		{"wrong CA for the server", false, func(t *testing.T) *tls.Config { return clientTLS(t, agent.TLSFiles{CA: other.file}) }, false,
			"certificate signed by unknown authority"},
		{"plaintext to a TLS server", false, func(*testing.T) *tls.Config { return nil }, false, "cannot reach the server"},
		{"mtls without a client certificate", true, func(t *testing.T) *tls.Config { return clientTLS(t, agent.TLSFiles{CA: ca.file}) }, false,
			"cannot reach the server"},
		{"mtls with a certificate of another CA", true, func(t *testing.T) *tls.Config {
			return clientTLS(t, agent.TLSFiles{CA: ca.file, Cert: rogueCert, Key: rogueKey})
		}, false, "cannot reach the server"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newAgentEnv(t, server.Options{AgentTLS: serverTLS(t, tc.mutual)})
			log := &agentLogBuffer{}
			startAgent(t, agent.Config{Server: env.agentAddr, Name: "tls-agent", TLS: tc.client(t), Logger: newTestLogger(log)})
			if tc.accepted {
				env.waitAgents(t, "the agent over TLS", func(l []server.AgentView) bool { return countState(l, server.AgentIdle) == 1 })
				return
			}
			waitLog(t, "the agent's log", log, tc.agentLog)
			if l := env.agents(t); len(l) != 0 {
				t.Errorf("agents %+v, want none", l)
			}
		})
	}
}
