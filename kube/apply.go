package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
)

// FieldManager is the name meshperf's server-side applies are recorded under.
const FieldManager = "meshperf"

// Change is what happened to one object, printed as kubectl does
// ("deployment.apps/meshperf-agent created").
type Change struct {
	Resource string // serviceaccount, secret, deployment.apps, namespace
	Name     string
	Action   string // created, configured, unchanged, deleted
}

func (c Change) String() string { return c.Resource + "/" + c.Name + " " + c.Action }

// Apply creates the objects, or updates them to match: server-side apply
// with FieldManager, forcing ownership of the fields meshperf sets, so
// running it again with the same options changes nothing and with other
// options (replicas, image) updates the Deployment in place.
//
// The namespace must exist unless ob.Namespace is set; then it is created
// if missing (and only then labelled as meshperf's, so Delete never removes
// a namespace meshperf did not create).
func (c *Client) Apply(ctx context.Context, ob Objects) ([]Change, error) {
	var changes []Change
	ns := ob.Deployment.Namespace
	if ns == "" {
		return nil, errors.New("apply: the objects have no namespace")
	}
	ch, err := c.ensureNamespace(ctx, ns, ob.Namespace)
	if err != nil {
		return nil, err
	}
	if ch != nil {
		changes = append(changes, *ch)
	}
	if ob.Secret == nil {
		if err := c.checkTokenSecret(ctx, ns, ob.TokenSecret); err != nil {
			return changes, err
		}
	}
	type step struct {
		r   kind
		obj Object
	}
	steps := []step{{serviceAccounts, ob.ServiceAccount}}
	if ob.Secret != nil {
		steps = append(steps, step{secrets, ob.Secret})
	}
	steps = append(steps, step{deployments, ob.Deployment})
	for _, s := range steps {
		ch, err := c.applyOne(ctx, s.r, s.obj)
		if err != nil {
			return changes, err
		}
		changes = append(changes, ch)
	}
	return changes, nil
}

// ensureNamespace checks that ns exists, creating it from want when given.
func (c *Client) ensureNamespace(ctx context.Context, ns string, want *corev1.Namespace) (*Change, error) {
	got, err := c.get(ctx, namespaces, "", ns)
	switch {
	case err == nil:
		if got.(*corev1.Namespace).Status.Phase == corev1.NamespaceTerminating {
			return nil, fmt.Errorf("namespace %s is being deleted: wait until it is gone, or choose another --namespace", ns)
		}
		return nil, nil
	case apierrors.IsForbidden(err):
		// Users allowed to deploy into a namespace may not be allowed to
		// read it: go on, and let the applies say whether it exists.
		return nil, nil
	case !apierrors.IsNotFound(err):
		return nil, c.explain(err, "get namespace "+ns)
	case want == nil:
		return nil, fmt.Errorf("%w: %s does not exist on %s: add --create-namespace, or create it first (kubectl create namespace %s)", ErrNamespaceMissing, ns, c.host, ns)
	}
	if err := c.create(ctx, namespaces, "", want); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, c.explain(err, "create namespace "+ns)
	}
	return &Change{Resource: namespaces.name, Name: ns, Action: "created"}, nil
}

// checkTokenSecret makes sure the existing Secret the pods are to take
// their token from is there: without it they would never start.
func (c *Client) checkTokenSecret(ctx context.Context, ns, name string) error {
	got, err := c.get(ctx, secrets, ns, name)
	switch {
	case err == nil:
		if len(got.(*corev1.Secret).Data[TokenKey]) == 0 {
			return fmt.Errorf("%w: secret %s/%s has no key %q (kubectl create secret generic %s -n %s --from-literal=%s=TOKEN)",
				ErrSecretMissing, ns, name, TokenKey, name, ns, TokenKey)
		}
		return nil
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%w: no secret %s in namespace %s: pass --token to create one, or create it (kubectl create secret generic %s -n %s --from-literal=%s=TOKEN)",
			ErrSecretMissing, name, ns, name, ns, TokenKey)
	case apierrors.IsForbidden(err):
		return nil // not allowed to read secrets: the pods will tell
	default:
		return c.explain(err, "get secret "+ns+"/"+name)
	}
}

// applyOne server-side applies obj and says whether it was created,
// changed or left as it was.
func (c *Client) applyOne(ctx context.Context, r kind, obj Object) (Change, error) {
	ns, name := obj.GetNamespace(), obj.GetName()
	ch := Change{Resource: r.name, Name: name}
	doing := "apply " + r.name + " " + ns + "/" + name
	before := ""
	old, err := c.get(ctx, r, ns, name)
	switch {
	case err == nil:
		before = old.GetResourceVersion()
		if !ownedBy(old.GetLabels(), obj.GetLabels()) {
			return ch, fmt.Errorf("%s: %s/%s exists and was not created by meshperf for %q (label %s); choose another --name or delete it",
				doing, r.name, name, obj.GetLabels()[LabelInstance], LabelInstance)
		}
	case apierrors.IsNotFound(err):
	default:
		return ch, c.explain(err, doing)
	}
	m, err := cleanMap(obj)
	if err != nil {
		return ch, err
	}
	body, err := json.Marshal(m)
	if err != nil {
		return ch, fmt.Errorf("%s: encode: %w", doing, err)
	}
	got, err := c.apply(ctx, r, ns, name, body)
	if err != nil {
		return ch, c.explain(err, doing)
	}
	switch {
	case before == "":
		ch.Action = "created"
	case got.GetResourceVersion() == before:
		ch.Action = "unchanged"
	default:
		ch.Action = "configured"
	}
	return ch, nil
}

// ownedBy says whether an existing object's labels mark it as the same
// meshperf instance as want's.
func ownedBy(have, want map[string]string) bool {
	return have[LabelManagedBy] == ManagedBy && have[LabelInstance] == want[LabelInstance]
}

// Selector selects the objects of the agent Deployment named name.
func Selector(name string) string {
	return labels.Set{LabelManagedBy: ManagedBy, LabelInstance: name}.String()
}

// Delete removes every object meshperf created for the agent Deployment
// name in namespace, found by their labels: the Deployment first (so no
// pod outlives its token), then Secrets and the ServiceAccount, then the
// namespace if meshperf created it for this Deployment. Deleting what is
// already gone is not an error: the result is then empty.
func (c *Client) Delete(ctx context.Context, namespace, name string) ([]Change, error) {
	var changes []Change
	sel := Selector(name)
	for _, r := range []kind{deployments, secrets, serviceAccounts} {
		names, err := c.list(ctx, r, namespace, sel)
		if err != nil {
			return changes, c.explain(err, "list "+r.plural+" in "+namespace)
		}
		for _, n := range names {
			err := c.delete(ctx, r, namespace, n)
			switch {
			case err == nil:
				changes = append(changes, Change{Resource: r.name, Name: n, Action: "deleted"})
			case !apierrors.IsNotFound(err):
				return changes, c.explain(err, "delete "+r.name+" "+namespace+"/"+n)
			}
		}
	}
	got, err := c.get(ctx, namespaces, "", namespace)
	switch {
	case apierrors.IsNotFound(err), apierrors.IsForbidden(err):
		return changes, nil
	case err != nil:
		return changes, c.explain(err, "get namespace "+namespace)
	}
	ns := got.(*corev1.Namespace)
	if ownedBy(ns.Labels, map[string]string{LabelInstance: name}) && ns.Status.Phase != corev1.NamespaceTerminating {
		err := c.delete(ctx, namespaces, "", namespace)
		switch {
		case err == nil:
			changes = append(changes, Change{Resource: namespaces.name, Name: namespace, Action: "deleted"})
		case !apierrors.IsNotFound(err):
			return changes, c.explain(err, "delete namespace "+namespace)
		}
	}
	return changes, nil
}
