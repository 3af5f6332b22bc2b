package kube

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// kubeconfigFor writes a kubeconfig for server with one context, "test",
// whose namespace is ns (none if empty).
func kubeconfigFor(t *testing.T, server, ns string) string {
	t.Helper()
	nsLine := ""
	if ns != "" {
		nsLine = "\n    namespace: " + ns
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	writeFile(t, path, fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: %s
users:
- name: u
  user:
    token: abc
contexts:
- name: test
  context:
    cluster: c
    user: u%s
current-context: test
`, server, nsLine))
	return path
}

// TestConnect covers finding the kubeconfig and the errors of each way it
// can be wrong, with no API server needed.
func TestConnect(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBECONFIG", "")
	t.Setenv("KUBERNETES_SERVICE_HOST", "")

	_, err := Connect(Config{})
	if !errors.Is(err, ErrNoKubeconfig) || !strings.Contains(err.Error(), "--kubeconfig") {
		t.Errorf("no kubeconfig anywhere: %v", err)
	}
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "missing"))
	if _, err := Connect(Config{}); !errors.Is(err, ErrNoKubeconfig) || !strings.Contains(err.Error(), "$KUBECONFIG (") {
		t.Errorf("KUBECONFIG naming a missing file: %v", err)
	}
	if _, err := Connect(Config{Kubeconfig: "/nonexistent/kubeconfig"}); !errors.Is(err, ErrNoKubeconfig) || !strings.Contains(err.Error(), "/nonexistent/kubeconfig") {
		t.Errorf("--kubeconfig of a missing file: %v", err)
	}
	kc := kubeconfigFor(t, "http://127.0.0.1:1", "team-a")
	if _, err := Connect(Config{Kubeconfig: kc, Context: "prod"}); !errors.Is(err, ErrNoKubeconfig) || !strings.Contains(err.Error(), `context "prod" not in`) {
		t.Errorf("unknown context: %v", err)
	}

	t.Setenv("KUBECONFIG", kc)
	c, err := Connect(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Namespace != "team-a" || c.Context != "test" || c.Host() != "http://127.0.0.1:1" {
		t.Errorf("namespace %q context %q host %q, want the kubeconfig's", c.Namespace, c.Context, c.Host())
	}
	if _, err := c.Ping(t.Context()); !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("closed port: %v", err)
	}
	c, err = Connect(Config{Kubeconfig: kubeconfigFor(t, "http://127.0.0.1:1", "")})
	if err != nil || c.Namespace != "default" {
		t.Errorf("no namespace in the context: %q, %v; want default", c.Namespace, err)
	}
}

// TestExplain checks the API server's refusals become the sentinel errors,
// against a fake API server answering every request with a Status.
func TestExplain(t *testing.T) {
	tests := []struct {
		code   int
		reason string
		want   error
		text   string
	}{
		{http.StatusForbidden, "Forbidden", ErrForbidden, `forbidden: list deployments in ns: User "u" cannot get path "/apis/apps/v1/namespaces/ns/deployments"`},
		{http.StatusUnauthorized, "Unauthorized", ErrUnauthorized, "rejected the kubeconfig's credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.code)
				fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"User \"u\" cannot get path \"%s\"","reason":%q,"code":%d}`,
					r.URL.Path, tt.reason, tt.code)
			}))
			defer srv.Close()
			c, err := Connect(Config{Kubeconfig: kubeconfigFor(t, srv.URL, "")})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Delete(t.Context(), "ns", "x")
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("got %v, want %v with %q", err, tt.want, tt.text)
			}
		})
	}
}
