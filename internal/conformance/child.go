package conformance

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/go-logr/logr"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientset "k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crlog "sigs.k8s.io/controller-runtime/pkg/log"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/gateway-api/apis/v1alpha2"
	"sigs.k8s.io/gateway-api/apis/v1alpha3"
	xv1alpha1 "sigs.k8s.io/gateway-api/apisx/v1alpha1"
	gwconformance "sigs.k8s.io/gateway-api/conformance"
	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/gateway-api/conformance/tests"
	"sigs.k8s.io/gateway-api/conformance/utils/config"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
	"sigs.k8s.io/gateway-api/pkg/features"
	"sigs.k8s.io/yaml"

	"github.com/meshperf/meshperf/kube"
)

// childOptions is what the parent hands the child, as a JSON file.
type childOptions struct {
	Kubeconfig           string                `json:"kubeconfig,omitempty"`
	Context              string                `json:"context,omitempty"`
	Profile              string                `json:"profile"`
	Supported            []string              `json:"supported"`
	GatewayClass         string                `json:"gatewayClass,omitempty"`
	NamespaceLabels      map[string]string     `json:"namespaceLabels,omitempty"`
	NamespaceAnnotations map[string]string     `json:"namespaceAnnotations,omitempty"`
	Implementation       confv1.Implementation `json:"implementation"`
	SetupTimeout         time.Duration         `json:"setupTimeout,omitempty"`
	TestTimeout          time.Duration         `json:"testTimeout,omitempty"`
	AllowCRDsMismatch    bool                  `json:"allowCRDsMismatch,omitempty"`
	SkipTests            []string              `json:"skipTests,omitempty"`
	RunTest              string                `json:"runTest,omitempty"`
	ReportPath           string                `json:"reportPath"`
}

// suiteTestName is the one top-level test the child runs; each of the
// suite's tests is a subtest of it.
const suiteTestName = "TestConformance"

// SuiteMain is the child's main: it reads the options the parent wrote
// to optionsPath, runs the suite under testing.Main with verbose
// test2json-framed output on stdout, and exits with the test binary's
// status. It never returns.
//
// testing.Main is the testing package's exported entry for programs that
// run tests without "go test"; it builds the same M that MainStart does
// (with a matcher of its own), so the suite's *testing.T behaves as under
// go test: subtests, t.Parallel, cleanups, -test.timeout.
func SuiteMain(optionsPath string) {
	data, err := os.ReadFile(optionsPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "conformance suite: read options: %v\n", err)
		os.Exit(3)
	}
	var o childOptions
	if err := json.Unmarshal(data, &o); err != nil {
		fmt.Fprintf(os.Stderr, "conformance suite: options: %v\n", err)
		os.Exit(3)
	}
	args := []string{os.Args[0], "-test.v=test2json", "-test.count=1", "-test.run=^" + suiteTestName + "$"}
	if o.TestTimeout > 0 {
		args = append(args, "-test.timeout="+o.TestTimeout.String())
	}
	os.Args = args
	match := func(pat, str string) (bool, error) { return regexp.MatchString(pat, str) }
	testing.Main(match, []testing.InternalTest{{Name: suiteTestName, F: func(t *testing.T) { runSuite(t, o) }}}, nil, nil)
}

// runSuite is the official suite's own sequence (conformance.RunConformanceWithOptions):
// NewConformanceTestSuite, Setup, Run, and the report written at the end,
// with the options meshperf chose instead of the suite's flags.
func runSuite(t *testing.T, o childOptions) {
	crlog.SetLogger(logr.Discard())
	rc, _, err := kube.RESTConfig(kube.Config{Kubeconfig: o.Kubeconfig, Context: o.Context})
	if err != nil {
		t.Fatalf("kubeconfig: %v", err)
	}
	c, err := client.New(rc, client.Options{})
	if err != nil {
		t.Fatalf("kubernetes client: %v", err)
	}
	cs, err := clientset.NewForConfig(rc)
	if err != nil {
		t.Fatalf("kubernetes clientset: %v", err)
	}
	for _, install := range []func(*runtime.Scheme) error{v1alpha3.Install, v1alpha2.Install, xv1alpha1.Install, gatewayv1.Install, apiextensionsv1.AddToScheme} {
		if err := install(c.Scheme()); err != nil {
			t.Fatalf("scheme: %v", err)
		}
	}
	tc := config.DefaultTimeoutConfig()
	if o.SetupTimeout > 0 {
		tc.NamespacesMustBeReady = o.SetupTimeout
		tc.GWCMustBeAccepted = o.SetupTimeout
	}
	supported := make([]features.FeatureName, len(o.Supported))
	for i, f := range o.Supported {
		supported[i] = features.FeatureName(f)
	}
	opts := suite.ConformanceOptions{
		ConfigurableOptions: suite.ConfigurableOptions{
			GatewayClassName:     o.GatewayClass,
			NamespaceLabels:      o.NamespaceLabels,
			NamespaceAnnotations: o.NamespaceAnnotations,
			CleanupBaseResources: true,
			CleanupTestResources: true,
			SupportedFeatures:    supported,
			TimeoutConfig:        tc,
			SkipTests:            o.SkipTests,
			RunTest:              o.RunTest,
			Mode:                 "default",
			AllowCRDsMismatch:    o.AllowCRDsMismatch,
			Implementation:       o.Implementation,
			ConformanceProfiles:  []suite.ConformanceProfileName{suite.ConformanceProfileName(o.Profile)},
		},
		Client:     c,
		Clientset:  cs,
		RestConfig: rc,
		ManifestFS: []fs.FS{&gwconformance.Manifests},
	}
	cSuite, err := suite.NewConformanceTestSuite(opts)
	if err != nil {
		t.Fatalf("error initializing conformance suite: %v", err)
	}
	t.Cleanup(func() {
		report, err := cSuite.Report()
		if err != nil {
			t.Errorf("conformance report: %v", err)
			return
		}
		raw, err := yaml.Marshal(report)
		if err != nil {
			t.Errorf("conformance report: %v", err)
			return
		}
		if err := os.WriteFile(o.ReportPath, raw, 0o600); err != nil {
			t.Errorf("conformance report: %v", err)
		}
	})
	cSuite.Setup(t, tests.ConformanceTests)
	if err := cSuite.Run(t, tests.ConformanceTests); err != nil {
		t.Fatalf("conformance suite: %v", err)
	}
}
