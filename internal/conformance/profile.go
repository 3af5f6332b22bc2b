package conformance

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/gateway-api/conformance/tests"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
	"sigs.k8s.io/gateway-api/pkg/consts"
	"sigs.k8s.io/gateway-api/pkg/features"
)

// SuiteVersion is the Gateway API release whose conformance suite is
// compiled into meshperf (sigs.k8s.io/gateway-api/conformance).
const SuiteVersion = consts.BundleVersion

// profiles are the suite's own conformance profiles. The suite keeps its
// map of them unexported; its exported profile values are listed here, and
// a test (TestProfilesAreTheSuites) checks each against the suite's names.
var profiles = []suite.ConformanceProfile{
	suite.MeshHTTPConformanceProfile,
	suite.MeshGRPCConformanceProfile,
	suite.GatewayHTTPConformanceProfile,
	suite.GatewayGRPCConformanceProfile,
	suite.GatewayTLSConformanceProfile,
	suite.GatewayTCPConformanceProfile,
	suite.GatewayUDPConformanceProfile,
}

// Profiles are the names of the suite's conformance profiles.
func Profiles() []string {
	out := make([]string, len(profiles))
	for i, p := range profiles {
		out[i] = string(p.Name)
	}
	return out
}

// Profile is one conformance profile with its features.
type Profile struct {
	Name     string
	Core     []string // always tested
	Extended []string // tested when declared supported
}

// IsMesh tells whether the profile tests a mesh (GAMMA) rather than a
// Gateway.
func (p Profile) IsMesh() bool { return slices.Contains(p.Core, string(features.SupportMesh)) }

// Has tells whether feature belongs to the profile.
func (p Profile) Has(feature string) bool {
	return slices.Contains(p.Core, feature) || slices.Contains(p.Extended, feature)
}

// LookupProfile returns the profile named name, or an error naming the
// profiles there are and the nearest one.
func LookupProfile(name string) (Profile, error) {
	for _, p := range profiles {
		if string(p.Name) == name {
			return Profile{Name: name, Core: sortedNames(p.CoreFeatures.UnsortedList()), Extended: sortedNames(p.ExtendedFeatures.UnsortedList())}, nil
		}
	}
	return Profile{}, fmt.Errorf("unknown conformance profile %q%s (the suite %s has %s)",
		name, didYouMean(name, Profiles()), SuiteVersion, strings.Join(Profiles(), ", "))
}

// Features are the names of every feature the suite knows.
func Features() []string {
	return sortedNames(features.SetsToNamesSet(features.AllFeatures).UnsortedList())
}

// CheckFeatures checks that every name is a feature of the suite and of
// the profile, and returns them without repeats, sorted.
func CheckFeatures(p Profile, names []string) ([]string, error) {
	all := Features()
	var out []string
	for _, n := range names {
		if !slices.Contains(all, n) {
			return nil, fmt.Errorf("unknown feature %q%s (the suite %s has %d features; meshperf conformance features lists them)",
				n, didYouMean(n, all), SuiteVersion, len(all))
		}
		if !p.Has(n) {
			return nil, fmt.Errorf("feature %q is not part of profile %s%s (its extended features: %s)",
				n, p.Name, didYouMean(n, p.Extended), strings.Join(p.Extended, ", "))
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

// PlannedTest is one of the suite's tests in a profile: whether it will
// run with the features given, and if not which feature is missing.
type PlannedTest struct {
	Name        string
	Description string
	Features    []string
	Missing     []string // features it needs that were not declared
	Provisional bool
}

// Plan lists the suite's tests that belong to profile p (every feature
// they need is one of the profile's, the suite's own rule for its report),
// and which of them the supported features let run.
func Plan(p Profile, supported []string) []PlannedTest {
	have := append(slices.Clone(p.Core), supported...)
	var out []PlannedTest
	for _, t := range tests.ConformanceTests {
		pt := PlannedTest{Name: t.ShortName, Description: t.Description, Provisional: t.Provisional}
		in := true
		for _, f := range t.Features {
			if !p.Has(string(f)) {
				in = false
				break
			}
			pt.Features = append(pt.Features, string(f))
			if !slices.Contains(have, string(f)) {
				pt.Missing = append(pt.Missing, string(f))
			}
		}
		if in {
			out = append(out, pt)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func sortedNames(fs []features.FeatureName) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = string(f)
	}
	sort.Strings(out)
	return out
}

// didYouMean returns ` (did you mean "X"?)` for the candidate nearest to
// s, when it is near enough to be a likely typo; else "".
func didYouMean(s string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := editDistance(strings.ToLower(s), strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || bestD > max(2, len(s)/3) {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance of a and b, counted in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
