package design

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// installOrder is the order kinds are applied in, each after what it may
// refer to (Helm's install order): namespaces, then what pods use, then
// services and workloads, then what routes to them. Kinds not listed (a
// mesh's custom resources) come last, after the definitions of their CRDs.
var installOrder = []string{
	"Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
	"PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap",
	"StorageClass", "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition",
	"ClusterRole", "ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList",
	"Role", "RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod",
	"ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler",
	"StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
	"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
}

func kindRank(kind string) int {
	if i := slices.Index(installOrder, kind); i >= 0 {
		return i
	}
	return len(installOrder)
}

// ApplyOrder returns the resources in the order to apply them: by kind
// (installOrder), keeping the design's order within a kind.
func ApplyOrder(rs []Resource) []Resource {
	out := slices.Clone(rs)
	slices.SortStableFunc(out, func(a, b Resource) int { return kindRank(a.Kind()) - kindRank(b.Kind()) })
	return out
}

// DeleteOrder returns the resources in the order to delete them: the
// reverse of ApplyOrder, so what routes to a workload goes before it and
// the workload before what it uses.
func DeleteOrder(rs []Resource) []Resource {
	out := ApplyOrder(rs)
	slices.Reverse(out)
	return out
}

// WriteManifests writes resources as multi-document YAML in apply order,
// each headed by a comment naming its source: what `kubectl apply -f -`
// takes, and what the CLI's export and the API's manifests show.
func WriteManifests(w io.Writer, rs []Resource) error {
	for i, r := range ApplyOrder(rs) {
		b, err := yaml.Marshal(r.Object)
		if err != nil {
			return fmt.Errorf("%s: %w", r.Ref(), err)
		}
		sep := ""
		if i > 0 {
			sep = "---\n"
		}
		if _, err := fmt.Fprintf(w, "%s# %s\n%s", sep, strings.ReplaceAll(r.Source, "\n", " "), b); err != nil {
			return err
		}
	}
	return nil
}
