// Package lifecycle puts a design on a cluster and takes it off again:
// validate (server-side dry run), diff (against the live objects), apply
// (server-side apply, then a readiness wait) and delete (reverse order,
// then a wait for removal). It speaks to the API server through one
// rest.Client with JSON bodies and its own small discovery of the kinds a
// design uses, like kube/ (client-go's typed clients would double the
// binary).
package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/meshperf/meshperf/internal/design"
	"github.com/meshperf/meshperf/kube"
)

// FieldManager is the name meshperf's applies are recorded under.
const FieldManager = kube.FieldManager

// LabelDesign marks every object applied from a design with its name.
const LabelDesign = "meshperf.dev/design"

// ErrNotServed: the cluster does not serve a design's apiVersion/kind.
var ErrNotServed = errors.New("not served by the cluster")

// Client applies designs to one cluster.
type Client struct {
	rc   *rest.RESTClient
	host string
	// Namespace is the kubeconfig context's namespace.
	Namespace string

	mu  sync.Mutex
	gvs map[string]map[string]metav1.APIResource // by group/version, then kind
}

// Connect returns a client for the cluster cfg designates.
func Connect(cfg kube.Config) (*Client, error) {
	rc, _, err := kube.RESTConfig(cfg)
	if err != nil {
		return nil, err
	}
	rc = rest.CopyConfig(rc)
	rc.QPS, rc.Burst = 100, 100
	// The scheme only decodes the API server's Status errors (with the
	// fields they name); objects travel as JSON maps.
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	rc.APIPath = "/"
	rc.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	rc.ContentType = runtime.ContentTypeJSON
	client, err := rest.UnversionedRESTClientFor(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client for %s: %w", rc.Host, err)
	}
	kc, err := kube.Connect(cfg)
	if err != nil {
		return nil, err
	}
	return &Client{rc: client, host: rc.Host, Namespace: kc.Namespace, gvs: map[string]map[string]metav1.APIResource{}}, nil
}

// Host is the API server's URL.
func (c *Client) Host() string { return c.host }

// mapping is where the API serves one resource.
type mapping struct {
	prefix     string // /api/v1 or /apis/GROUP/VERSION
	plural     string
	namespaced bool
}

func (m mapping) path(ns, name string) string {
	p := m.prefix
	if m.namespaced && ns != "" {
		p += "/namespaces/" + ns
	}
	p += "/" + m.plural
	if name != "" {
		p += "/" + name
	}
	return p
}

// resolve finds where the cluster serves r's kind. A kind not found is
// ErrNotServed; discovery is asked again for it (a CRD applied meanwhile).
func (c *Client) resolve(ctx context.Context, r design.Resource) (mapping, error) {
	av, kind := r.APIVersion(), r.Kind()
	prefix := "/apis/" + av
	if !strings.Contains(av, "/") {
		prefix = "/api/" + av
	}
	c.mu.Lock()
	kinds, ok := c.gvs[av]
	c.mu.Unlock()
	if ok {
		if res, ok := kinds[kind]; ok {
			return mapping{prefix, res.Name, res.Namespaced}, nil
		}
	}
	body, err := raw(c.rc.Get().AbsPath(prefix).Do(ctx))
	if apierrors.IsNotFound(err) {
		return mapping{}, fmt.Errorf("%s: apiVersion %s %w (is its CRD installed?)", r.Ref(), av, ErrNotServed)
	}
	if err != nil {
		return mapping{}, c.explain(err, "discover "+av)
	}
	var l metav1.APIResourceList
	if err := json.Unmarshal(body, &l); err != nil {
		return mapping{}, fmt.Errorf("discover %s: %w", av, err)
	}
	kinds = map[string]metav1.APIResource{}
	for _, res := range l.APIResources {
		if !strings.Contains(res.Name, "/") { // not a subresource
			kinds[res.Kind] = res
		}
	}
	c.mu.Lock()
	c.gvs[av] = kinds
	c.mu.Unlock()
	res, ok := kinds[kind]
	if !ok {
		return mapping{}, fmt.Errorf("%s: kind %s %w in %s", r.Ref(), kind, ErrNotServed, av)
	}
	return mapping{prefix, res.Name, res.Namespaced}, nil
}

// get returns the live object, or nil when there is none.
func (c *Client) get(ctx context.Context, m mapping, ns, name string) (map[string]any, error) {
	body, err := raw(c.rc.Get().AbsPath(m.path(ns, name)).Do(ctx))
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var obj map[string]any
	return obj, json.Unmarshal(body, &obj)
}

// apply server-side applies obj; dryRun asks the server to check and
// return the result without storing it.
func (c *Client) apply(ctx context.Context, m mapping, ns, name string, obj map[string]any, dryRun bool) (map[string]any, error) {
	body, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	req := c.rc.Patch(types.ApplyPatchType).AbsPath(m.path(ns, name)).
		Param("fieldManager", FieldManager).Param("force", "true").Body(body)
	if dryRun {
		req = req.Param("dryRun", "All")
	}
	out, err := raw(req.Do(ctx))
	if err != nil {
		return nil, err
	}
	var got map[string]any
	return got, json.Unmarshal(out, &got)
}

func (c *Client) delete(ctx context.Context, m mapping, ns, name string) error {
	opts, err := json.Marshal(metav1.DeleteOptions{
		TypeMeta:          metav1.TypeMeta{APIVersion: "v1", Kind: "DeleteOptions"},
		PropagationPolicy: new(metav1.DeletePropagationBackground),
	})
	if err != nil {
		return err
	}
	return c.rc.Delete().AbsPath(m.path(ns, name)).Body(opts).Do(ctx).Error()
}

// list returns the items of a collection matching a label selector.
func (c *Client) list(ctx context.Context, path, selector string) ([]map[string]any, error) {
	body, err := raw(c.rc.Get().AbsPath(path).Param("labelSelector", selector).Do(ctx))
	if err != nil {
		return nil, err
	}
	var l struct {
		Items []map[string]any `json:"items"`
	}
	return l.Items, json.Unmarshal(body, &l)
}

// explain turns an API error into one naming what was being done, with
// the server's own message (which names the resource and field).
func (c *Client) explain(err error, doing string) error {
	var se apierrors.APIStatus
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%w: %s: %s", kube.ErrForbidden, doing, message(err))
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("%w: %s: the API server at %s rejected the kubeconfig's credentials", kube.ErrUnauthorized, doing, c.host)
	case errors.As(err, &se):
		return fmt.Errorf("%s: %s", doing, message(err))
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", doing, err)
	default:
		return fmt.Errorf("%w: %s: %s: %v", kube.ErrUnreachable, doing, c.host, err)
	}
}

// message is the API server's message for a status error, with the causes
// it lists (each a field and what is wrong with it).
func message(err error) string {
	var se apierrors.APIStatus
	if !errors.As(err, &se) {
		return err.Error()
	}
	st := se.Status()
	msg := st.Message
	if msg == "" {
		msg = err.Error()
	}
	return msg
}

// raw returns a response's body, or its error with the API server's
// Status decoded (Result.Raw alone keeps only the HTTP status).
func raw(res rest.Result) ([]byte, error) {
	if err := res.Error(); err != nil {
		return nil, err
	}
	return res.Raw()
}
