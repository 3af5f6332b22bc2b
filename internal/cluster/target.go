package cluster

import (
	"fmt"
	"strings"
)

// Target is the mesh context of one Service: what a run against it went
// through. It is what a result records at its start.
type Target struct {
	Namespace string `json:"namespace"`
	Service   string `json:"service"`
	// Mesh carrying the Service's pods ("" when none), its control
	// plane's version and the data-plane mode: sidecar, ambient or none.
	Mesh        string `json:"mesh,omitempty"`
	MeshVersion string `json:"meshVersion,omitempty"`
	Mode        string `json:"mode"`
	// Injection: the namespace's markers turning a mesh on.
	Injection []string `json:"injection,omitempty"`
	// Pods the Service selects, and how many carry a proxy (or are ambient).
	Pods   int    `json:"pods"`
	Meshed int    `json:"meshed"`
	Proxy  *Proxy `json:"proxy,omitempty"` // the first meshed pod's
	// MTLS is the first meshed pod's mTLS mode.
	MTLS string `json:"mtls,omitempty"`
}

// ParseServiceHost reads a Service's in-cluster name: svc, svc.ns,
// svc.ns.svc or svc.ns.svc.<cluster domain>; a bare svc is in defaultNS.
func ParseServiceHost(host, defaultNS string) (ns, svc string, err error) {
	host = strings.TrimSuffix(host, ".")
	parts := strings.Split(host, ".")
	for _, p := range parts {
		if p == "" || len(p) > 63 {
			return "", "", fmt.Errorf("host %q: not a Service name", host)
		}
	}
	switch {
	case len(parts) == 1:
		return defaultNS, parts[0], nil
	case len(parts) == 2, parts[2] == "svc":
		return parts[1], parts[0], nil
	}
	return "", "", fmt.Errorf("host %q: not a Service name (svc, svc.ns or svc.ns.svc[.domain])", host)
}

// TargetOf returns the mesh context of Service ns/svc in s; false when s
// has no such Service.
func (s Snapshot) TargetOf(ns, svc string) (Target, bool) {
	var sel map[string]string
	found := false
	for _, v := range s.Services {
		if v.Namespace == ns && v.Name == svc {
			sel, found = v.Selector, true
			break
		}
	}
	if !found {
		return Target{}, false
	}
	t := Target{Namespace: ns, Service: svc, Mode: "none"}
	for _, n := range s.Namespaces {
		if n.Name == ns {
			t.Injection = n.Injection
		}
	}
	if len(sel) > 0 {
		for _, p := range s.Pods {
			if p.Namespace != ns || !hasLabels(p.Labels, sel) {
				continue
			}
			t.Pods++
			switch {
			case p.Proxy != nil:
				if t.MTLS == "" {
					t.MTLS = p.MTLS
				}
				t.Meshed++
				if t.Proxy == nil {
					t.Proxy, t.Mesh, t.Mode = p.Proxy, p.Mesh, "sidecar"
				}
			case p.Ambient:
				if t.MTLS == "" {
					t.MTLS = p.MTLS
				}
				t.Meshed++
				if t.Mesh == "" {
					t.Mesh, t.Mode = p.Mesh, "ambient"
				}
			}
		}
	}
	for _, m := range s.Meshes {
		if m.Mesh == t.Mesh {
			t.MeshVersion = m.Version
		}
	}
	return t, true
}
