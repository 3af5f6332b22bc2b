package loadgen_test

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/meshperf/meshperf/loadgen"
	_ "github.com/meshperf/meshperf/loadgen/all"
	"github.com/meshperf/meshperf/spec"
)

// The generator names a profile may use are the registered modules'
// (loadgen/all), so this test runs with them registered.
func TestPlansFromProfileErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		p    *spec.Profile
		want []string
	}{
		{"nil", nil, []string{"no profile"}},
		{"profile problems come first, as Validate has them", &spec.Profile{Clients: []spec.Client{{LoadGenerator: "wrk2", EndpointURLs: []string{"x"}}}}, []string{
			"duration: required unless meshperf.requests is set",
			`clients[0].endpoint_urls[0]: invalid URL "x": scheme must be http or https`,
		}},
		{"every client's problems at once", &spec.Profile{Duration: "10s", Clients: []spec.Client{
			{LoadGenerator: "gatling", Internal: true, EndpointURLs: []string{"http://a/"}},
			{RPS: 10, EndpointURLs: []string{"http://b/"}, Meshperf: &spec.ClientExtras{RateShape: "ramp:x-100"}},
			{EndpointURLs: []string{"http://c/"}, Headers: map[string]string{"b": "1", "a": "2"}, Meshperf: &spec.ClientExtras{
				CertFile: filepath.Join(dir, "missing.pem"), KeyFile: filepath.Join(dir, "missing.key"),
			}},
			{EndpointURLs: []string{"http://d/"}, Meshperf: &spec.ClientExtras{RateShape: "steps:0/1s"}},
		}}, []string{
			`clients[0].load_generator: "gatling" is not available (known: meshperf, wrk, wrk2, nighthawk, vegeta, fortio)`,
			"clients[0].internal: running the load generator inside the cluster is not available yet",
			`clients[1].meshperf.rate_shape: ramp: invalid rate "x"`,
			"clients[2].meshperf.cert_file: cannot read " + filepath.Join(dir, "missing.pem") + ": no such file or directory",
			"clients[2].meshperf.key_file: cannot read " + filepath.Join(dir, "missing.key") + ": no such file or directory",
			"clients[3].meshperf.rate_shape: step 1: rate must be > 0",
		}},
		{"ramp without a duration", &spec.Profile{Meshperf: &spec.ProfileExtras{Requests: 100}, Clients: []spec.Client{
			{EndpointURLs: []string{"http://a/"}, Meshperf: &spec.ClientExtras{RateShape: "ramp:1-10"}},
		}}, []string{"clients[0].meshperf.rate_shape: ramp needs a duration above 0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plans, err := loadgen.PlansFromProfile(tc.p)
			if err == nil {
				t.Fatalf("no error; plans %+v", plans)
			}
			var got []string
			for _, e := range unjoin(err) {
				got = append(got, e.Error())
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
