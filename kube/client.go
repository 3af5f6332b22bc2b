package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/version"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Config says which cluster to talk to.
type Config struct {
	// Kubeconfig is the kubeconfig file; empty means $KUBECONFIG (a list
	// of files, merged as kubectl does), then ~/.kube/config, then the
	// in-cluster configuration when running in a pod.
	Kubeconfig string
	// Context is the kubeconfig context to use; empty means its current one.
	Context string
	// Timeout bounds each request to the API server (default 30s).
	Timeout time.Duration
}

// Client talks to one cluster's API server.
type Client struct {
	rc   rest.Interface
	host string
	// Context is the kubeconfig context in use ("" in a pod).
	Context string
	// Namespace is the context's namespace ("default" when it names none;
	// the pod's own in a pod).
	Namespace string
}

// Connect reads the kubeconfig and returns a client for its cluster. It does
// not contact the API server; the first request does.
func Connect(cfg Config) (*Client, error) {
	rc, kctx, ns, err := restConfig(cfg)
	if err != nil {
		return nil, err
	}
	rc.Timeout = cfg.Timeout
	if rc.Timeout == 0 {
		rc.Timeout = 30 * time.Second
	}
	rc.UserAgent = "meshperf"
	// A deploy makes a dozen requests; client-go's default limit (5 a
	// second after a burst of 10) would make a second run take seconds.
	rc.QPS, rc.Burst = 100, 100
	rest, err := newRESTClient(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client for %s: %w", rc.Host, err)
	}
	return &Client{rc: rest, host: rc.Host, Context: kctx, Namespace: ns}, nil
}

// RESTConfig returns the client-go configuration cfg designates, for
// packages that use client-go's own clients (internal/cluster), and the
// kubeconfig context in use ("" in a pod).
func RESTConfig(cfg Config) (*rest.Config, string, error) {
	rc, kctx, _, err := restConfig(cfg)
	if err != nil {
		return nil, "", err
	}
	rc.Timeout = cfg.Timeout
	if rc.Timeout == 0 {
		rc.Timeout = 30 * time.Second
	}
	rc.UserAgent = "meshperf"
	return rc, kctx, nil
}

// Host is the API server's URL.
func (c *Client) Host() string { return c.host }

// restConfig returns the REST configuration, context and namespace cfg
// designates.
func restConfig(cfg Config) (*rest.Config, string, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	where := "$KUBECONFIG or ~/.kube/config"
	if cfg.Kubeconfig != "" {
		if _, err := os.Stat(cfg.Kubeconfig); err != nil {
			return nil, "", "", fmt.Errorf("%w: --kubeconfig %s: %v", ErrNoKubeconfig, cfg.Kubeconfig, err)
		}
		rules.ExplicitPath = cfg.Kubeconfig
		where = cfg.Kubeconfig
	} else if os.Getenv("KUBECONFIG") != "" {
		where = "$KUBECONFIG (" + os.Getenv("KUBECONFIG") + ")"
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: cfg.Context}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	raw, err := cc.RawConfig()
	if err != nil {
		return nil, "", "", fmt.Errorf("read kubeconfig %s: %w", where, err)
	}
	if len(raw.Contexts) == 0 && cfg.Kubeconfig == "" && cfg.Context == "" {
		// Nothing on disk: in a pod, use its service account.
		if os.Getenv("KUBERNETES_SERVICE_HOST") != "" {
			rc, err := rest.InClusterConfig()
			if err != nil {
				return nil, "", "", fmt.Errorf("in-cluster configuration: %w", err)
			}
			ns, _, _ := cc.Namespace() // the pod's, from its service account
			return rc, "", ns, nil
		}
		return nil, "", "", fmt.Errorf("%w: none in %s; pass --kubeconfig FILE or set KUBECONFIG", ErrNoKubeconfig, where)
	}
	kctx := cfg.Context
	if kctx == "" {
		kctx = raw.CurrentContext
	}
	if kctx == "" {
		return nil, "", "", fmt.Errorf("%w: %s has no current-context; pass --context (one of %s)", ErrNoKubeconfig, where, contextNames(raw.Contexts))
	}
	if _, ok := raw.Contexts[kctx]; !ok {
		return nil, "", "", fmt.Errorf("%w: context %q not in %s (it has %s)", ErrNoKubeconfig, kctx, where, contextNames(raw.Contexts))
	}
	rc, err := cc.ClientConfig()
	if err != nil {
		return nil, "", "", fmt.Errorf("kubeconfig %s, context %q: %w", where, kctx, err)
	}
	ns, _, err := cc.Namespace()
	if err != nil || ns == "" {
		ns = "default"
	}
	return rc, kctx, ns, nil
}

func contextNames[V any](m map[string]V) string {
	if len(m) == 0 {
		return "no contexts"
	}
	return strings.Join(slices.Sorted(maps.Keys(m)), ", ")
}

// Ping asks the API server for its version: the quickest way to tell an
// unreachable server or bad credentials apart from later failures.
func (c *Client) Ping(ctx context.Context) (string, error) {
	body, err := raw(c.rc.Get().AbsPath("/version").Do(ctx))
	if err != nil {
		return "", c.explain(err, "ask the API server its version")
	}
	var v version.Info
	if err := json.Unmarshal(body, &v); err != nil {
		return "", fmt.Errorf("%s/version: %w", c.host, err)
	}
	return v.GitVersion, nil
}
