package conformance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	authv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

const gatewayGroup = "gateway.networking.k8s.io"

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// installHint says how to install the suite's Gateway API release.
func installHint() string {
	return fmt.Sprintf("install them with: kubectl apply --server-side -f https://github.com/kubernetes-sigs/gateway-api/releases/download/%s/standard-install.yaml (docs/conformance.md)", SuiteVersion)
}

// crdsNeeded are the Gateway API resources (plural) a profile's setup
// and core tests create.
func crdsNeeded(p Profile) []string {
	var out []string
	add := func(r ...string) {
		for _, x := range r {
			if !slices.Contains(out, x) {
				out = append(out, x)
			}
		}
	}
	for _, f := range p.Core {
		switch f {
		case "HTTPRoute":
			add("httproutes")
		case "GRPCRoute":
			add("grpcroutes")
		case "TLSRoute":
			add("tlsroutes")
		case "TCPRoute":
			add("tcproutes")
		case "UDPRoute":
			add("udproutes")
		case "Gateway":
			add("gatewayclasses", "gateways")
		case "ReferenceGrant":
			add("referencegrants")
		}
	}
	sort.Strings(out)
	return out
}

// gatewayAPIInstall is what the cluster has of the Gateway API.
type gatewayAPIInstall struct {
	version, channel string
	resources        []string
}

// checkGatewayAPI reads the cluster's Gateway API CRDs and refuses a
// cluster that lacks those the profile needs, or whose release is not the
// suite's (the suite itself refuses that, later and less clearly).
func checkGatewayAPI(ctx context.Context, dyn dynamic.Interface, p Profile, allowMismatch bool) (gatewayAPIInstall, error) {
	list, err := dyn.Resource(crdGVR).List(ctx, metav1.ListOptions{})
	if err != nil {
		if apierrors.IsForbidden(err) {
			return gatewayAPIInstall{}, fmt.Errorf("%w: list customresourcedefinitions: %s (RBAC: the suite reads the Gateway API CRDs; grant list on customresourcedefinitions.apiextensions.k8s.io)", ErrForbidden, statusMessage(err))
		}
		return gatewayAPIInstall{}, fmt.Errorf("list customresourcedefinitions: %w", err)
	}
	var g gatewayAPIInstall
	versions := map[string]bool{}
	for _, item := range list.Items {
		group, _, _ := unstructuredString(item.Object, "spec", "group")
		if group != gatewayGroup {
			continue
		}
		plural, _, _ := unstructuredString(item.Object, "spec", "names", "plural")
		g.resources = append(g.resources, plural)
		ann := item.GetAnnotations()
		if v := ann[gatewayGroup+"/bundle-version"]; v != "" {
			versions[v] = true
			g.version = v
		}
		if c := ann[gatewayGroup+"/channel"]; c != "" {
			g.channel = c
		}
	}
	sort.Strings(g.resources)
	var missing []string
	for _, r := range crdsNeeded(p) {
		if !slices.Contains(g.resources, r) {
			missing = append(missing, r+"."+gatewayGroup)
		}
	}
	if len(missing) > 0 {
		what := "the Gateway API CRDs are not installed"
		if len(g.resources) > 0 {
			what = "the Gateway API CRDs lack " + strings.Join(missing, ", ")
		}
		return g, fmt.Errorf("%w: profile %s needs %s; %s; %s", ErrNoGatewayAPI, p.Name, strings.Join(missing, ", "), what, installHint())
	}
	if !allowMismatch {
		if len(versions) > 1 {
			return g, fmt.Errorf("%w: the cluster mixes Gateway API releases (%s) and the suite is %s; %s, or pass --allow-crds-mismatch", ErrNoGatewayAPI, strings.Join(sortedKeys(versions), ", "), SuiteVersion, installHint())
		}
		if g.version != SuiteVersion {
			have := g.version
			if have == "" {
				have = "without a bundle-version annotation"
			}
			return g, fmt.Errorf("%w: the cluster's Gateway API CRDs are %s and the suite is %s; %s, or pass --allow-crds-mismatch", ErrNoGatewayAPI, have, SuiteVersion, installHint())
		}
	}
	return g, nil
}

// access is one permission the suite needs.
type access struct {
	verb, group, resource, subresource string
}

func (a access) String() string {
	r := a.resource
	if a.subresource != "" {
		r += "/" + a.subresource
	}
	if a.group == "" {
		return a.verb + " " + r
	}
	return a.verb + " " + r + "." + a.group
}

// checkAccess asks the API server (SelfSubjectAccessReview) whether the
// kubeconfig's user may do what the suite will, and names every refusal.
func checkAccess(ctx context.Context, cs kubernetes.Interface, p Profile) error {
	need := []access{
		{"create", "", "namespaces", ""}, {"delete", "", "namespaces", ""}, {"list", "", "namespaces", ""},
		{"create", "apps", "deployments", ""}, {"create", "", "services", ""}, {"list", "", "pods", ""},
	}
	if p.IsMesh() {
		// The mesh tests send their requests from the echo client's pod.
		need = append(need, access{"create", "", "pods", "exec"})
	}
	for _, r := range crdsNeeded(p) {
		if r == "gatewayclasses" {
			need = append(need, access{"get", gatewayGroup, r, ""})
			continue
		}
		need = append(need, access{"create", gatewayGroup, r, ""})
	}
	var denied []string
	for _, a := range need {
		rev := &authv1.SelfSubjectAccessReview{Spec: authv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authv1.ResourceAttributes{Verb: a.verb, Group: a.group, Resource: a.resource, Subresource: a.subresource},
		}}
		got, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, rev, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("ask the API server whether the user may %s: %w", a, err)
		}
		if !got.Status.Allowed {
			denied = append(denied, a.String())
		}
	}
	if len(denied) > 0 {
		return fmt.Errorf("%w: the kubeconfig's user may not %s (RBAC: the suite creates its own namespaces, gateway-conformance-*, and its workloads and routes in them; grant these verbs, e.g. with a ClusterRole bound to the user)", ErrForbidden, strings.Join(denied, ", "))
	}
	return nil
}

func unstructuredString(obj map[string]any, path ...string) (string, bool, error) {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false, nil
		}
		cur = m[p]
	}
	s, ok := cur.(string)
	return s, ok, nil
}

func statusMessage(err error) string {
	var se apierrors.APIStatus
	if errors.As(err, &se) && se.Status().Message != "" {
		return se.Status().Message
	}
	return err.Error()
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
