package kube

import (
	"context"
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
)

// The client speaks to the API server with one rest.Client and a scheme of
// the two API groups it uses. client-go's typed clients would be shorter to
// call, but they link k8s.io/client-go/kubernetes/scheme (every API group)
// and the apply configurations' OpenAPI schema: 35 MB more in the meshperf
// binary, which is mostly a load generator.
var scheme = runtime.NewScheme()

func init() {
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
}

func newRESTClient(cfg *rest.Config) (*rest.RESTClient, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.APIPath = "/"
	cfg.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	cfg.ContentType = runtime.ContentTypeJSON
	return rest.UnversionedRESTClientFor(cfg)
}

// kind is one kind of object the client handles.
type kind struct {
	name   string // as kubectl prints it: serviceaccount, deployment.apps
	prefix string // /api/v1 or /apis/GROUP/VERSION
	plural string
	gvk    schema.GroupVersionKind
}

var (
	namespaces      = kind{"namespace", "/api/v1", "namespaces", corev1.SchemeGroupVersion.WithKind("Namespace")}
	serviceAccounts = kind{"serviceaccount", "/api/v1", "serviceaccounts", corev1.SchemeGroupVersion.WithKind("ServiceAccount")}
	secrets         = kind{"secret", "/api/v1", "secrets", corev1.SchemeGroupVersion.WithKind("Secret")}
	deployments     = kind{"deployment.apps", "/apis/apps/v1", "deployments", appsv1.SchemeGroupVersion.WithKind("Deployment")}
)

// path is the URL path of the resource's collection in ns ("" for
// cluster-scoped), or of the object name in it.
func (r kind) path(ns, name string) string {
	p := r.prefix
	if ns != "" {
		p += "/namespaces/" + ns
	}
	p += "/" + r.plural
	if name != "" {
		p += "/" + name
	}
	return p
}

// object returns a new empty object of r's kind.
func (r kind) object() (Object, error) {
	o, err := scheme.New(r.gvk)
	if err != nil {
		return nil, err
	}
	obj, ok := o.(Object)
	if !ok {
		return nil, fmt.Errorf("%s is not an object", r.gvk)
	}
	return obj, nil
}

func (c *Client) get(ctx context.Context, r kind, ns, name string) (Object, error) {
	into, err := r.object()
	if err != nil {
		return nil, err
	}
	return into, c.rc.Get().AbsPath(r.path(ns, name)).Do(ctx).Into(into)
}

func (c *Client) create(ctx context.Context, r kind, ns string, obj Object) error {
	body, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("encode %s: %w", describe(obj), err)
	}
	return c.rc.Post().AbsPath(r.path(ns, "")).Param("fieldManager", FieldManager).Body(body).Do(ctx).Error()
}

// apply server-side applies body (the object's JSON) with FieldManager,
// forcing ownership of the fields it sets.
func (c *Client) apply(ctx context.Context, r kind, ns, name string, body []byte) (Object, error) {
	into, err := r.object()
	if err != nil {
		return nil, err
	}
	err = c.rc.Patch(types.ApplyPatchType).AbsPath(r.path(ns, name)).
		Param("fieldManager", FieldManager).Param("force", "true").
		Body(body).Do(ctx).Into(into)
	return into, err
}

// list returns the names of r's objects in ns that match the label selector.
func (c *Client) list(ctx context.Context, r kind, ns, selector string) ([]string, error) {
	var l metav1.PartialObjectMetadataList
	body, err := raw(c.rc.Get().AbsPath(r.path(ns, "")).Param("labelSelector", selector).Do(ctx))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(body, &l); err != nil {
		return nil, fmt.Errorf("list %s: %w", r.plural, err)
	}
	names := make([]string, len(l.Items))
	for i, it := range l.Items {
		names[i] = it.Name
	}
	return names, nil
}

// delete deletes an object, its dependents (ReplicaSets, pods) after it.
func (c *Client) delete(ctx context.Context, r kind, ns, name string) error {
	opts, err := json.Marshal(metav1.DeleteOptions{
		TypeMeta:          metav1.TypeMeta{APIVersion: "v1", Kind: "DeleteOptions"},
		PropagationPolicy: new(metav1.DeletePropagationBackground),
	})
	if err != nil {
		return err
	}
	return c.rc.Delete().AbsPath(r.path(ns, name)).Body(opts).Do(ctx).Error()
}

// raw returns a response's body, or its error with the API server's Status
// decoded (Result.Raw alone keeps only the HTTP status).
func raw(res rest.Result) ([]byte, error) {
	if err := res.Error(); err != nil {
		return nil, err
	}
	return res.Raw()
}
