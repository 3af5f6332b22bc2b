package conformance

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/gateway-api/conformance/utils/suite"
)

func TestLookupProfile(t *testing.T) {
	for _, tc := range []struct {
		name, wantErr string
	}{
		{"MESH-HTTP", ""},
		{"MESH-GRPC", ""},
		{"GATEWAY-HTTP", ""},
		{"MESH-HTPP", `unknown conformance profile "MESH-HTPP" (did you mean "MESH-HTTP"?)`},
		{"mesh-http", `(did you mean "MESH-HTTP"?)`},
		{"SMI", `unknown conformance profile "SMI" (the suite v1.6.3 has MESH-HTTP, MESH-GRPC, GATEWAY-HTTP`},
		{"", `unknown conformance profile ""`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := LookupProfile(tc.name)
			if tc.wantErr == "" {
				if err != nil || p.Name != tc.name || len(p.Core) == 0 {
					t.Fatalf("got %+v, %v", p, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

// The profiles listed are the suite's: the suite accepts each name, and
// their features are the suite's own sets.
func TestProfilesAreTheSuites(t *testing.T) {
	for _, name := range Profiles() {
		p, err := LookupProfile(name)
		if err != nil {
			t.Fatal(err)
		}
		parsed := suite.ParseConformanceProfilesSlice(name)
		if len(parsed) != 1 || string(parsed[0]) != name {
			t.Errorf("suite parses %q as %v", name, parsed)
		}
		if strings.HasPrefix(name, "MESH-") != p.IsMesh() {
			t.Errorf("%s: IsMesh %v", name, p.IsMesh())
		}
	}
	mesh, _ := LookupProfile("MESH-HTTP")
	if !slices.Equal(mesh.Core, []string{"HTTPRoute", "Mesh"}) {
		t.Errorf("MESH-HTTP core features %v, want [HTTPRoute Mesh] (the suite's)", mesh.Core)
	}
	if !slices.Contains(mesh.Extended, "MeshHTTPRouteRewritePath") || slices.Contains(mesh.Extended, "HTTPRouteQueryParamMatching") {
		t.Errorf("MESH-HTTP extended features %v", mesh.Extended)
	}
}

func TestCheckFeatures(t *testing.T) {
	mesh, _ := LookupProfile("MESH-HTTP")
	for _, tc := range []struct {
		name    string
		in      []string
		want    []string
		wantErr string
	}{
		{"none", nil, nil, ""},
		{"sorted and once", []string{"MeshHTTPRouteRewritePath", "MeshClusterIPMatching", "MeshHTTPRouteRewritePath"}, []string{"MeshClusterIPMatching", "MeshHTTPRouteRewritePath"}, ""},
		{"typo", []string{"MeshHTTPRouteRewritePth"}, nil, `unknown feature "MeshHTTPRouteRewritePth" (did you mean "MeshHTTPRouteRewritePath"?)`},
		{"far off", []string{"Teleportation"}, nil, `unknown feature "Teleportation" (the suite v1.6.3 has`},
		{"another profile's", []string{"GatewayPort8080"}, nil, `feature "GatewayPort8080" is not part of profile MESH-HTTP`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CheckFeatures(mesh, tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	mesh, _ := LookupProfile("MESH-HTTP")
	plan := Plan(mesh, []string{"MeshHTTPRouteRewritePath"})
	byName := map[string]PlannedTest{}
	for _, pt := range plan {
		byName[pt.Name] = pt
		for _, f := range pt.Features {
			if !mesh.Has(f) {
				t.Errorf("%s needs %s, not a MESH-HTTP feature", pt.Name, f)
			}
		}
	}
	if pt, ok := byName["MeshBasic"]; !ok || len(pt.Missing) != 0 {
		t.Errorf("MeshBasic: %+v, %v (a core test, always run)", pt, ok)
	}
	if pt := byName["MeshHTTPRouteRewritePath"]; len(pt.Missing) != 0 {
		t.Errorf("MeshHTTPRouteRewritePath declared supported, yet missing %v", pt.Missing)
	}
	if pt := byName["MeshHTTPRouteRedirectPort"]; !slices.Equal(pt.Missing, []string{"MeshHTTPRouteRedirectPort"}) {
		t.Errorf("MeshHTTPRouteRedirectPort missing %v", pt.Missing)
	}
	if _, ok := byName["HTTPRouteSimpleSameNamespace"]; ok {
		t.Error("a Gateway test is in the MESH-HTTP plan")
	}
}

func TestOptionsCheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		o       Options
		wantErr string
	}{
		{"gateway without class", Options{Profile: "GATEWAY-HTTP", Timeout: 1}, "name its GatewayClass (--gateway-class)"},
		{"no timeout", Options{Profile: "MESH-HTTP"}, "overall timeout"},
		{"unknown test", Options{Profile: "MESH-HTTP", Timeout: 1, RunTest: "MeshBasik"}, `test "MeshBasik" is not in profile MESH-HTTP (did you mean "MeshBasic"?)`},
		{"bad feature", Options{Profile: "MESH-GRPC", Timeout: 1, Features: []string{"x"}}, `unknown feature "x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := tc.o.check()
			if err == nil || !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want ErrInput with %q", err, tc.wantErr)
			}
		})
	}
}
