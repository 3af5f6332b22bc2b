package report

import (
	"fmt"
	"strings"

	"github.com/meshperf/meshperf/spec"
)

// meshComparability lists how the results' mesh contexts (recorded from
// the cluster at each run's start) differ: the meshes installed and their
// versions, and for each target the mesh, version and injection carrying
// it. Nothing when no result has a context.
func meshComparability(rs []*spec.Result) []string {
	known := 0
	for _, r := range rs {
		if r.Mesh != nil {
			known++
		}
	}
	if known == 0 {
		return nil
	}
	if known < len(rs) {
		vals := make([]string, len(rs))
		for i, r := range rs {
			vals[i] = "none"
			if r.Mesh != nil {
				vals[i] = "recorded"
			}
		}
		return []string{fmt.Sprintf("not comparable: the cluster's mesh context was recorded for only some runs (%s)", strings.Join(vals, " vs "))}
	}
	var out []string
	differs := func(what string, f func(mc *spec.MeshContext) string) {
		vals := make([]string, len(rs))
		same := true
		for i, r := range rs {
			vals[i] = f(r.Mesh)
			same = same && vals[i] == vals[0]
		}
		if !same {
			out = append(out, fmt.Sprintf("not comparable: %s (%s)", what, strings.Join(vals, " vs ")))
		}
	}
	differs("runs were on different meshes", func(mc *spec.MeshContext) string {
		return meshList(mc, false)
	})
	if len(out) == 0 {
		differs("runs were on different mesh versions", func(mc *spec.MeshContext) string {
			return meshList(mc, true)
		})
	}
	differs("the targets' mesh or version differs", func(mc *spec.MeshContext) string {
		return targetsOf(mc, func(t spec.MeshTarget) string {
			return orNone(strings.TrimSpace(t.Mesh + " " + t.MeshVersion))
		})
	})
	differs("the targets' injection differs", func(mc *spec.MeshContext) string {
		return targetsOf(mc, func(t spec.MeshTarget) string {
			return fmt.Sprintf("%s, %d/%d pods meshed", orNone(t.Mode), t.Meshed, t.Pods)
		})
	})
	differs("the targets' mTLS mode differs", func(mc *spec.MeshContext) string {
		return targetsOf(mc, func(t spec.MeshTarget) string { return orNone(mtlsWord(t.MTLS)) })
	})
	differs("the targets' proxy version differs", func(mc *spec.MeshContext) string {
		return targetsOf(mc, func(t spec.MeshTarget) string {
			if t.Proxy == nil {
				return "no proxy"
			}
			return orNone(t.Proxy.Version)
		})
	})
	return out
}

// meshList names the meshes installed, with their versions when asked.
func meshList(mc *spec.MeshContext, versions bool) string {
	var parts []string
	for _, m := range mc.Meshes {
		s := m.Name
		if s == "" {
			s = m.Mesh
		}
		if versions {
			s += " " + orNone(m.Version)
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "no mesh"
	}
	return strings.Join(parts, ", ")
}

// targetsOf describes each target matched to a Service (or, by its own
// address, a pod) with f.
func targetsOf(mc *spec.MeshContext, f func(spec.MeshTarget) string) string {
	var parts []string
	for _, t := range mc.Targets {
		switch {
		case t.Service != "":
			parts = append(parts, t.Service+"."+t.Namespace+": "+f(t))
		case t.Pod != "":
			parts = append(parts, "pod "+t.Pod+"."+t.Namespace+": "+f(t))
		}
	}
	if len(parts) == 0 {
		return "no target Service"
	}
	return strings.Join(parts, "; ")
}

// mtlsWord is the mode without where it is stated: "STRICT".
func mtlsWord(m string) string {
	mode, _, _ := strings.Cut(m, " (")
	return mode
}
