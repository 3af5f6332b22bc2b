package spec

import (
	"fmt"
	"math"
	"regexp"
	"time"
)

// MaxProfileDesigns is the most designs a profile may name.
const MaxProfileDesigns = 16

// MaxDesignTimeout bounds a design's readiness wait.
const MaxDesignTimeout = time.Hour

// DesignRef names a stored design (meshperf design import) to put on the
// Kubernetes cluster before a profile's run, or an experiment's first cell,
// and to take off after the run or the last cell (docs/designs.md).
type DesignRef struct {
	Name      string `json:"name"`
	Revision  int    `json:"revision,omitempty"`  // the latest when 0
	Namespace string `json:"namespace,omitempty"` // as design apply -n
	Inject    string `json:"inject,omitempty"`    // as design apply --inject
	// Timeout is the readiness wait (default 5m; "0s" does not wait).
	Timeout string `json:"timeout,omitempty"`
	// Keep leaves the design on the cluster afterwards.
	Keep bool `json:"keep,omitempty"`
}

// Names a design reference may hold: a design's name is a DNS subdomain,
// a namespace a DNS label, a mesh's name a word.
var (
	designNameRe = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)
	dnsLabelRe   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	meshNameRe   = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
)

// designs checks the designs a profile names, under path.
func (v *validator) designs(path string, refs []DesignRef) {
	if len(refs) > MaxProfileDesigns {
		v.bad(path, "%d designs, at most %d", len(refs), MaxProfileDesigns)
		return
	}
	seen := map[string]bool{}
	for i, d := range refs {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case d.Name == "":
			v.bad(p+".name", "required: a stored design (meshperf design list)")
		case !designNameRe.MatchString(d.Name):
			v.bad(p+".name", "%q is not a design's name (lower case letters, digits, '-' and '.')", d.Name)
		case seen[d.Name]:
			v.bad(p+".name", "design %s is named twice", d.Name)
		}
		seen[d.Name] = true
		if d.Revision < 0 {
			v.bad(p+".revision", "must be >= 0 (0 is the latest), got %d", d.Revision)
		}
		if d.Namespace != "" && !dnsLabelRe.MatchString(d.Namespace) {
			v.bad(p+".namespace", "%q is not a namespace's name", d.Namespace)
		}
		if d.Inject != "" && !meshNameRe.MatchString(d.Inject) {
			v.bad(p+".inject", "%q is not a mesh's name (istio, linkerd, ...)", d.Inject)
		}
		if d.Timeout != "" {
			if t, ok := v.duration(p+".timeout", d.Timeout); ok && (t < 0 || t > MaxDesignTimeout) {
				v.bad(p+".timeout", "must be from 0s to %s, got %s", MaxDesignTimeout, t)
			}
		}
	}
}

func (d *profileDecoder) designRefs(path string, v any) []DesignRef {
	list, ok := v.([]any)
	if !ok {
		d.fail(path, "want a list of designs ({name: NAME}), got %s", describe(v))
		return nil
	}
	if len(list) > MaxProfileDesigns {
		d.fail(path, "%d designs, at most %d", len(list), MaxProfileDesigns)
		return nil
	}
	out := make([]DesignRef, 0, len(list))
	for i, e := range list {
		var r DesignRef
		d.object(fmt.Sprintf("%s[%d]", path, i), e, []field{
			{"name", func(path string, v any) { r.Name = d.str(path, v) }},
			{"revision", func(path string, v any) { r.Revision = int(d.integer(path, v, math.MinInt32, math.MaxInt32)) }},
			{"namespace", func(path string, v any) { r.Namespace = d.str(path, v) }},
			{"inject", func(path string, v any) { r.Inject = d.str(path, v) }},
			{"timeout", func(path string, v any) { r.Timeout = d.duration(path, v) }},
			{"keep", func(path string, v any) { r.Keep = d.boolean(path, v) }},
		})
		out = append(out, r)
	}
	return out
}
