package design

import (
	"slices"
	"strings"
	"testing"
)

const app = `# the app
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
---
# a comment only
---
{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
 "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
 "spec": {"serviceAccountName": "web", "containers": [{"name": "c", "image": "i",
   "envFrom": [{"configMapRef": {"name": "web-env"}}],
   "env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "web-secret", "key": "p"}}}]}],
   "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}}}}
---
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: web-env}}
- {apiVersion: v1, kind: ServiceAccount, metadata: {name: web}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: shop}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: web, port: 80}]}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  rules: [{http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
`

func TestParseManifests(t *testing.T) {
	rs, err := ParseManifests("app.yaml", []byte(app))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, r.Ref()+" <- "+r.Source)
	}
	// Documents are counted as Kubernetes' YAML reader splits them: an
	// empty one between two separators is not a document.
	want := []string{"service/web <- app.yaml#1", "deployment.apps/web <- app.yaml#3",
		"configmap/web-env <- app.yaml#4 items[0]", "serviceaccount/web <- app.yaml#4 items[1]",
		"httproute.gateway.networking.k8s.io/shop/web <- app.yaml#5", "ingress.networking.k8s.io/web <- app.yaml#6",
		"namespace/shop <- app.yaml#7"}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseManifestsErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"no name", "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: x-}\n", "x.yaml#1: ConfigMap : metadata.name missing"},
		{"no kind", "apiVersion: v1\nmetadata: {name: a}\n", "x.yaml#1: object a: kind missing"},
		{"scalar", "just a string\n", "x.yaml: document 1: not an object"},
		{"bad yaml", "a: [\n", "x.yaml: document 1"},
		{"bad list item", "apiVersion: v1\nkind: List\nitems: [{kind: Pod}]\n", "x.yaml#1: items[0]: Pod : apiVersion, metadata.name missing"},
		{"bad namespace", "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: Not_OK}\n", `metadata.namespace "Not_OK"`},
		{"too big", strings.Repeat(" ", MaxManifestBytes+1), "more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseManifests("x.yaml", []byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func TestOrderAndGraph(t *testing.T) {
	rs, err := ParseManifests("app.yaml", []byte(app))
	if err != nil {
		t.Fatal(err)
	}
	kinds := func(rs []Resource) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Kind())
		}
		return out
	}
	wantApply := []string{"Namespace", "ServiceAccount", "ConfigMap", "Service", "Deployment", "Ingress", "HTTPRoute"}
	if got := kinds(ApplyOrder(rs)); !slices.Equal(got, wantApply) {
		t.Errorf("apply order %v, want %v", got, wantApply)
	}
	slices.Reverse(wantApply)
	if got := kinds(DeleteOrder(rs)); !slices.Equal(got, wantApply) {
		t.Errorf("delete order %v, want %v", got, wantApply)
	}
	g := BuildGraph(rs, "shop")
	for _, e := range []Edge{
		{"service/web", "deployment.apps/web", "selects its pods"},
		{"deployment.apps/web", "serviceaccount/web", "runs as"},
		{"deployment.apps/web", "configmap/web-env", "reads its environment from"},
		{"httproute.gateway.networking.k8s.io/shop/web", "service/web", "routes to"},
		{"ingress.networking.k8s.io/web", "service/web", "routes to"},
	} {
		if !slices.Contains(g.Edges, e) {
			t.Errorf("no edge %v in %v", e, g.Edges)
		}
	}
	for _, e := range []Edge{
		{"deployment.apps/web", "secret/web-secret", "reads a variable from"},
		{"deployment.apps/web", "persistentvolumeclaim/data", "mounts"},
		{"httproute.gateway.networking.k8s.io/shop/web", "gateway/gw", "attaches to"},
	} {
		if !slices.Contains(g.Dangling, e) {
			t.Errorf("no dangling %v in %v", e, g.Dangling)
		}
	}
}

func TestDesignRoundTripAndValidate(t *testing.T) {
	rs, err := ParseManifests("app.yaml", []byte(app))
	if err != nil {
		t.Fatal(err)
	}
	d := New("shop", "shop")
	if err := d.Add(rs...); err != nil {
		t.Fatal(err)
	}
	if err := d.Add(rs[0]); err == nil || !strings.Contains(err.Error(), "service/web is already in the design") {
		t.Errorf("adding a duplicate: %v", err)
	}
	b, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Resources) != len(rs) || back.Name != "shop" {
		t.Errorf("round trip: %d resources, name %q", len(back.Resources), back.Name)
	}
	for _, tc := range []struct{ name, doc, want string }{
		{"bad name", `{"apiVersion":"meshperf.dev/v1","kind":"Design","name":"Not OK","resources":[]}`, `name "Not OK"`},
		{"wrong kind", `{"apiVersion":"v1","kind":"Pod","name":"a","resources":[]}`, "want meshperf.dev/v1 Design"},
		{"bad resource", `{"apiVersion":"meshperf.dev/v1","kind":"Design","name":"a","resources":[{"object":{"kind":"Pod"}}]}`, "resources[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Unmarshal([]byte(tc.doc)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func FuzzParseManifests(f *testing.F) {
	f.Add([]byte(app))
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := ParseManifests("f", data)
		if err != nil {
			return
		}
		for _, r := range rs {
			if err := checkObject(r.Object); err != nil {
				t.Fatalf("returned an object that does not check: %v", err)
			}
		}
	})
}
