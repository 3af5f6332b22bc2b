package spec

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const designsProfile = `name: shop
duration: 10s
clients:
- rps: 10
  endpoint_urls: [http://front.shop.svc:8080/]
meshperf:
  designs:
  - {name: mesh-istio, keep: true}
  - {name: shop, revision: 2, namespace: shop, inject: istio, timeout: 2m}
`

func TestProfileDesigns(t *testing.T) {
	p, _, err := ParseProfile([]byte(designsProfile))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	want := []DesignRef{{Name: "mesh-istio", Keep: true}, {Name: "shop", Revision: 2, Namespace: "shop", Inject: "istio", Timeout: "2m"}}
	if p.Meshperf == nil || !reflect.DeepEqual(p.Meshperf.Designs, want) {
		t.Fatalf("designs %+v, want %+v", p.Meshperf, want)
	}
	// Written and read again, YAML and JSON, they are the same.
	for _, write := range []func() ([]byte, error){p.YAML, p.JSON} {
		b, err := write()
		if err != nil {
			t.Fatal(err)
		}
		q, _, err := ParseProfile(b)
		if err != nil {
			t.Fatalf("read back %s: %v", b, err)
		}
		if !reflect.DeepEqual(q.Meshperf.Designs, want) {
			t.Errorf("read back %+v from %s", q.Meshperf.Designs, b)
		}
	}
}

func TestProfileDesignsInvalid(t *testing.T) {
	for _, tc := range []struct {
		name, designs, field string
	}{
		{"no name", `[{revision: 1}]`, "meshperf.designs[0].name"},
		{"not a name", `[{name: "Shop!"}]`, "meshperf.designs[0].name"},
		{"twice", `[{name: a}, {name: a}]`, "meshperf.designs[1].name"},
		{"negative revision", `[{name: a, revision: -1}]`, "meshperf.designs[0].revision"},
		{"bad namespace", `[{name: a, namespace: "a_b"}]`, "meshperf.designs[0].namespace"},
		{"bad mesh", `[{name: a, inject: "is tio"}]`, "meshperf.designs[0].inject"},
		{"timeout too long", `[{name: a, timeout: 2h}]`, "meshperf.designs[0].timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(designsProfile, designsProfile[strings.Index(designsProfile, "  designs:"):], "  designs: "+tc.designs+"\n", 1)
			p, _, err := ParseProfile([]byte(doc))
			if err == nil {
				err = p.Validate()
			}
			var fe *FieldError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("err %v, want one naming %s", err, tc.field)
			}
		})
	}
	many := "["
	for i := range MaxProfileDesigns + 1 {
		many += `{name: d` + string(rune('a'+i)) + `},`
	}
	doc := strings.Replace(designsProfile, designsProfile[strings.Index(designsProfile, "  designs:"):], "  designs: "+many+"]\n", 1)
	if _, _, err := ParseProfile([]byte(doc)); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("%d designs: %v, want refused", MaxProfileDesigns+1, err)
	}
	_, warnings, err := ParseProfile([]byte(strings.Replace(designsProfile, "  - {name: mesh-istio, keep: true}\n", "  - {name: x, mode: fast}\n", 1)))
	if err != nil || len(warnings) != 1 || !strings.Contains(warnings[0], "meshperf.designs[0].mode") {
		t.Errorf("an unknown field of a design: warnings %q, err %v; want one naming meshperf.designs[0].mode", warnings, err)
	}
}
