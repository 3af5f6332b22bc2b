package smi

import (
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The SMI API groups tested, and the versions the SMI specification
// published for each, oldest first (github.com/servicemeshinterface/smi-spec,
// apis/*/v1alpha*).
const (
	GroupSplit  = "split.smi-spec.io"
	GroupAccess = "access.smi-spec.io"
	GroupSpecs  = "specs.smi-spec.io"
)

// Known are the versions this test set writes resources for, per group.
var Known = map[string][]string{
	GroupSplit:  {"v1alpha1", "v1alpha2", "v1alpha3", "v1alpha4"},
	GroupAccess: {"v1alpha1", "v1alpha2", "v1alpha3"},
	GroupSpecs:  {"v1alpha1", "v1alpha2", "v1alpha3", "v1alpha4"},
}

// Groups are the groups in the order they are reported.
var Groups = []string{GroupSplit, GroupAccess, GroupSpecs}

// APIs is what the cluster serves of SMI: per group, the newest version
// this test set knows (absent: not served, or served only at versions it
// does not know, which Unknown names).
type APIs struct {
	Version map[string]string
	// Unknown are the versions served of a group that none of Known are,
	// for groups with no known version served.
	Unknown map[string][]string
}

// Has tells whether group is served at a known version.
func (a APIs) Has(group string) bool { return a.Version[group] != "" }

// AtLeast tells whether group is served at version v or newer.
func (a APIs) AtLeast(group, v string) bool {
	have := a.Version[group]
	if have == "" {
		return false
	}
	return slices.Index(Known[group], have) >= slices.Index(Known[group], v)
}

// GVR names the API version of group as a string ("split.smi-spec.io/v1alpha4").
func (a APIs) GV(group string) string { return group + "/" + a.Version[group] }

// SuiteVersion is the result's suite version: the set's version and the
// SMI versions tested.
func (a APIs) SuiteVersion() string {
	parts := []string{SetVersion}
	for _, g := range Groups {
		if a.Has(g) {
			parts = append(parts, a.GV(g))
		}
	}
	return strings.Join(parts, " ")
}

// FromGroups reads the SMI groups out of the API server's discovery
// (ServerGroups).
func FromGroups(list *metav1.APIGroupList) APIs {
	a := APIs{Version: map[string]string{}, Unknown: map[string][]string{}}
	if list == nil {
		return a
	}
	for _, g := range list.Groups {
		known, ok := Known[g.Name]
		if !ok {
			continue
		}
		best := -1
		var unknown []string
		for _, v := range g.Versions {
			i := slices.Index(known, v.Version)
			if i < 0 {
				unknown = append(unknown, v.Version)
			}
			best = max(best, i)
		}
		if best >= 0 {
			a.Version[g.Name] = known[best]
		} else {
			slices.Sort(unknown)
			a.Unknown[g.Name] = unknown
		}
	}
	return a
}

// Check returns ErrNoSMI, saying how to install the CRDs, when no group
// is served at a known version.
func (a APIs) Check() error {
	if len(a.Version) > 0 {
		return nil
	}
	var unknown []string
	for _, g := range Groups {
		if vs := a.Unknown[g]; len(vs) > 0 {
			unknown = append(unknown, fmt.Sprintf("%s serves %s, not one of %s", g, strings.Join(vs, ", "), strings.Join(Known[g], ", ")))
		}
	}
	what := "the cluster has no SMI CRDs (" + strings.Join(Groups, ", ") + ")"
	if len(unknown) > 0 {
		what = "the cluster serves no SMI version this test set knows: " + strings.Join(unknown, "; ")
	}
	return fmt.Errorf("%w: %s; %s", ErrNoSMI, what, InstallHint)
}

// InstallHint says how to get SMI CRDs into a cluster.
const InstallHint = "install an SMI implementation (Open Service Mesh, Linkerd's SMI extension, Traefik Mesh: each installs the CRDs it serves), " +
	"or only the CRDs meshperf carries, to see what it would send: meshperf conformance smi-crds | kubectl apply -f - (docs/conformance.md, SMI)"

// unknownNote says which groups were left out for their versions.
func (a APIs) unknownNote(group string) string {
	if vs := a.Unknown[group]; len(vs) > 0 {
		return fmt.Sprintf("%s is served only at %s, which this test set does not know (it knows %s)", group, strings.Join(vs, ", "), strings.Join(Known[group], ", "))
	}
	return "the cluster does not serve " + group
}
