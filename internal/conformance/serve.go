package conformance

import (
	"context"
	"os/exec"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/meshperf/meshperf/internal/api"
	"github.com/meshperf/meshperf/internal/conformance/smi"
	"github.com/meshperf/meshperf/kube"
)

// Runner runs the server's conformance tests (POST /api/v1/conformance)
// against the cluster of Kube: meshperf server wires it when a cluster is
// configured.
type Runner struct {
	Kube kube.Config
	// Command makes the suite's child process (default: this executable).
	Command func(ctx context.Context, optionsPath string) *exec.Cmd
	// DiscoveryWait bounds reading the cluster's meshes (default 15s).
	DiscoveryWait time.Duration
}

// Check names each field of req that no run could take.
func (r Runner) Check(req *api.ConformanceRequest) []api.Detail {
	var out []api.Detail
	bad := func(field string, err error) { out = append(out, api.Detail{Field: field, Message: err.Error()}) }
	if req.Profile == smi.Profile {
		// meshperf's own SMI test set (internal/conformance/smi).
		if len(req.SupportedFeatures) > 0 {
			out = append(out, api.Detail{Field: "supported_features", Message: "profile SMI tests the SMI versions the cluster serves: it takes no features"})
		}
		if err := r.smiOptions(req, 0, time.Hour, nil).Check(); err != nil {
			bad("profile", err)
		}
		return out
	}
	p, err := LookupProfile(req.Profile)
	if err != nil {
		bad("profile", err)
		return out
	}
	fs, err := CheckFeatures(p, req.SupportedFeatures)
	if err != nil {
		bad("supported_features", err)
	}
	if !p.IsMesh() && req.GatewayClass == "" {
		out = append(out, api.Detail{Field: "gateway_class", Message: "profile " + p.Name + " tests a Gateway: name its GatewayClass"})
	}
	if req.RunTest != "" {
		var names []string
		found := false
		for _, t := range Plan(p, fs) {
			names = append(names, t.Name)
			found = found || t.Name == req.RunTest
		}
		if !found {
			out = append(out, api.Detail{Field: "run_test", Message: "test " + req.RunTest + " is not in profile " + p.Name + didYouMean(req.RunTest, names)})
		}
	}
	for k, v := range req.NamespaceLabels {
		for _, msg := range append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...) {
			out = append(out, api.Detail{Field: "namespace_labels", Message: k + "=" + v + ": " + msg})
		}
	}
	if len(req.SkipTests) > 200 {
		out = append(out, api.Detail{Field: "skip_tests", Message: "at most 200 names"})
	}
	return out
}

// Run runs req (checked) with the run's timeouts; progress gets each test
// of the profile as it ends. As Run (the package's): an error before the
// suite started returns no result; once it started, the result is
// returned however the run ended, its namespaces deleted.
func (r Runner) Run(ctx context.Context, req *api.ConformanceRequest, setup, timeout time.Duration, progress func(TestResult)) (*Result, error) {
	if req.Profile == smi.Profile {
		return smi.Run(ctx, r.smiOptions(req, setup, timeout, progress))
	}
	return Run(ctx, Options{
		Kube: r.Kube, Profile: req.Profile, Features: req.SupportedFeatures, GatewayClass: req.GatewayClass,
		Mesh: req.Mesh, MeshVersion: req.MeshVersion, NamespaceLabels: req.NamespaceLabels,
		SetupTimeout: setup, Timeout: timeout, SkipTests: req.SkipTests, RunTest: req.RunTest,
		DiscoveryWait: r.DiscoveryWait, Command: r.Command, Progress: progress,
	})
}

func (r Runner) smiOptions(req *api.ConformanceRequest, setup, timeout time.Duration, progress func(TestResult)) smi.Options {
	return smi.Options{
		Kube: r.Kube, Mesh: req.Mesh, MeshVersion: req.MeshVersion, NamespaceLabels: req.NamespaceLabels,
		SetupTimeout: setup, Timeout: timeout, DiscoveryWait: r.DiscoveryWait,
		Selection: smi.Selection{RunTest: req.RunTest, SkipTests: req.SkipTests}, Progress: progress,
	}
}
