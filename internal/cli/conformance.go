//go:build !noconformance

package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshperf/meshperf/internal/conformance"
	"github.com/meshperf/meshperf/internal/conformance/smi"
	"github.com/meshperf/meshperf/kube"
)

type conformanceRunFlags struct {
	cfg          kube.Config
	profile      string
	features     []string
	mesh         string
	meshVersion  string
	gatewayClass string
	nsPrefix     string
	nsLabels     []string
	report       string
	junit        string
	jsonOut      string
	output       string
	timeout      time.Duration
	setupTimeout time.Duration
	allowCRDs    bool
	runTest      string
	skipTests    []string
	verbose      bool
	noStore      bool
	org, url     string
	contact      []string
	// SMI profile only.
	smiRequests    int
	smiConsistency time.Duration
	smiHostDomain  string
}

func newConformanceCmd(stdio IO, g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "conformance",
		Short: "Does the mesh do what the specification says? The Gateway API's official conformance suite, run, kept and compared",
		Long: fmt.Sprintf(`meshperf conformance runs the Gateway API's official conformance suite
(sigs.k8s.io/gateway-api/conformance %s, compiled into meshperf) against the
cluster of your kubeconfig, for one conformance profile: MESH-HTTP and
MESH-GRPC test a service mesh (GAMMA), GATEWAY-HTTP and the other GATEWAY-*
profiles a Gateway implementation; SMI runs meshperf's own SMI test set
(TrafficSplit, TrafficTarget, HTTPRouteGroup). It writes the suite's own
ConformanceReport YAML, and keeps a result with every test's outcome,
duration and failure message, to list, show and compare. docs/conformance.md.`, conformance.SuiteVersion),
	}
	cmd.AddCommand(newConformanceRunCmd(stdio, g), newConformanceSuiteCmd(),
		newConformanceProfilesCmd(stdio), newConformanceFeaturesCmd(stdio),
		newConformanceListCmd(stdio, g), newConformanceShowCmd(stdio, g), newConformanceCompareCmd(stdio, g),
		newConformanceImportCmd(stdio, g), newConformanceSMICRDsCmd(stdio))
	return cmd
}

func newConformanceRunCmd(stdio IO, g *globalOptions) *cobra.Command {
	var f conformanceRunFlags
	cmd := &cobra.Command{
		Use:   "run --profile MESH-HTTP|MESH-GRPC|GATEWAY-HTTP|...|SMI",
		Short: "Run a conformance profile against the cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runConformance(cmd.Context(), stdio, g, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.cfg.Kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG, else ~/.kube/config, else the pod's service account)")
	fl.StringVar(&f.cfg.Context, "context", "", "kubeconfig context (default its current-context)")
	fl.StringVar(&f.profile, "profile", "", "conformance profile: "+strings.Join(conformance.Profiles(), ", ")+", or "+smi.Profile+" (meshperf's SMI test set) (required)")
	fl.StringSliceVar(&f.features, "supported-features", nil, "extended features the implementation supports (meshperf conformance features --profile P lists them); the profile's core features are always tested")
	fl.StringVar(&f.mesh, "mesh", "", "the mesh under test (default: the one mesh the cluster runs, if one)")
	fl.StringVar(&f.meshVersion, "mesh-version", "", "its version (default: the version discovery reads)")
	fl.StringVar(&f.gatewayClass, "gateway-class", "", "the GatewayClass under test (GATEWAY-* profiles)")
	fl.StringVar(&f.nsPrefix, "namespace-prefix", "gateway-conformance", "prefix of the namespaces the run creates; the official suite fixes its own (gateway-conformance-*), so only that value is accepted for its profiles")
	fl.StringSliceVar(&f.nsLabels, "namespace-label", nil, "label KEY=VALUE put on the suite's namespaces, e.g. istio-injection=enabled (repeatable)")
	fl.StringVar(&f.report, "report", "", "write the suite's official ConformanceReport YAML to FILE")
	fl.StringVar(&f.junit, "junit", "", "write JUnit XML to FILE")
	fl.StringVar(&f.jsonOut, "json", "", "write the result as JSON to FILE")
	fl.StringVarP(&f.output, "output", "o", "text", "stdout: text, json or junit")
	fl.DurationVar(&f.timeout, "timeout", time.Hour, "limit on the whole run; at its end the run stops and its namespaces are deleted")
	fl.DurationVar(&f.setupTimeout, "setup-timeout", 0, "limit on waiting for the suite's pods to be ready and its GatewayClass accepted (default the suite's: 300s and 180s)")
	fl.BoolVar(&f.allowCRDs, "allow-crds-mismatch", false, "run although the cluster's Gateway API CRDs are not the suite's release")
	fl.StringVar(&f.runTest, "run-test", "", "run only this test of the profile")
	fl.StringSliceVar(&f.skipTests, "skip-tests", nil, "tests not to run")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "copy the suite's own output to stderr")
	fl.BoolVar(&f.noStore, "no-store", false, "do not keep the result in the store")
	fl.StringVar(&f.org, "organization", "", "the implementation's organization, for the official report")
	fl.StringVar(&f.url, "url", "", "the implementation's URL, for the official report")
	fl.StringSliceVar(&f.contact, "contact", nil, "the implementation's contacts, for the official report")
	fl.IntVar(&f.smiRequests, "smi-requests", 0, "SMI: requests of the traffic split weight test (default 200, 20..10000)")
	fl.DurationVar(&f.smiConsistency, "smi-consistency", 0, "SMI: how long the mesh has to apply a resource before a check fails (default 30s)")
	fl.StringVar(&f.smiHostDomain, "smi-host-domain", "", "SMI: the clients address Service S as S.<namespace>.DOMAIN (Traefik Mesh: traefik.mesh); default the Service's own name")
	return cmd
}

func (f conformanceRunFlags) options() (conformance.Options, error) {
	var errs []error
	if f.profile == "" {
		errs = append(errs, usageErrorf("--profile is required: one of %s", strings.Join(conformance.Profiles(), ", ")))
	}
	switch f.output {
	case "text", "json", "junit":
	default:
		errs = append(errs, usageErrorf("--output %q: want text, json or junit", f.output))
	}
	if f.timeout <= 0 || f.timeout > 24*time.Hour {
		errs = append(errs, usageErrorf("--timeout %s: want more than 0 and at most 24h", f.timeout))
	}
	if f.setupTimeout < 0 || f.setupTimeout > f.timeout {
		errs = append(errs, usageErrorf("--setup-timeout %s: want at least 0 and at most --timeout", f.setupTimeout))
	}
	if f.nsPrefix != "gateway-conformance" && f.profile != smi.Profile {
		errs = append(errs, usageErrorf("--namespace-prefix %q: the Gateway API suite %s creates fixed namespaces (gateway-conformance-infra, -app-backend, -web-backend, -mesh, -mesh-consumer) that its tests name in code; only gateway-conformance is accepted", f.nsPrefix, conformance.SuiteVersion))
	}
	labels := map[string]string{}
	for _, kv := range f.nsLabels {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || k == conformance.RunLabel {
			errs = append(errs, usageErrorf("--namespace-label %q: want KEY=VALUE", kv))
			continue
		}
		labels[k] = v
	}
	if err := errors.Join(errs...); err != nil {
		return conformance.Options{}, err
	}
	return conformance.Options{
		Kube: f.cfg, Profile: f.profile, Features: f.features,
		GatewayClass: f.gatewayClass, Mesh: f.mesh, MeshVersion: f.meshVersion,
		Organization: f.org, URL: f.url, Contact: f.contact,
		NamespaceLabels: labels, SetupTimeout: f.setupTimeout, Timeout: f.timeout,
		AllowCRDsMismatch: f.allowCRDs, RunTest: f.runTest, SkipTests: f.skipTests,
	}, nil
}

func runConformance(ctx context.Context, stdio IO, g *globalOptions, f conformanceRunFlags) error {
	o, err := f.options()
	if err != nil {
		return err
	}
	o.Progress = func(t conformance.TestResult) {
		fmt.Fprintf(stdio.Err, "%-5s %s (%s)\n", strings.ToUpper(string(t.Status)), t.Name, t.Duration.Round(time.Millisecond))
	}
	if f.verbose {
		o.Output = stdio.Err
	}
	var res *conformance.Result
	var runErr error
	if f.profile == smi.Profile {
		res, runErr = runSMI(ctx, f, o)
	} else {
		res, runErr = conformance.Run(ctx, o)
	}
	if res == nil {
		if errors.Is(runErr, conformance.ErrInput) || errors.Is(runErr, smi.ErrInput) {
			return &UsageError{Err: runErr}
		}
		return runErr
	}
	if !f.noStore {
		// A cancelled run's result is kept too.
		if err := saveConformance(context.WithoutCancel(ctx), g, res); err != nil {
			fmt.Fprintf(stdio.Err, "meshperf: warning: result not stored: %v\n", err)
		}
	}
	if err := writeConformanceFiles(res, f); err != nil {
		return err
	}
	if err := writeConformance(stdio.Out, res, f.output); err != nil {
		return err
	}
	if runErr != nil {
		return runErr
	}
	return conformanceOutcome(res)
}

// runSMI runs meshperf's SMI test set (internal/conformance/smi) with
// the flags that apply to it.
func runSMI(ctx context.Context, f conformanceRunFlags, o conformance.Options) (*conformance.Result, error) {
	var bad []string
	for name, set := range map[string]bool{"--supported-features": len(f.features) > 0, "--gateway-class": f.gatewayClass != "",
		"--report": f.report != "", "--allow-crds-mismatch": f.allowCRDs, "--namespace-prefix": f.nsPrefix != "gateway-conformance"} {
		if set {
			bad = append(bad, name)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return nil, usageErrorf("%s: not for profile SMI (meshperf's SMI test set has no features, Gateway, official report or CRD release to match, and names its own namespace %s*)", strings.Join(bad, ", "), smi.NamespacePrefix)
	}
	return smi.Run(ctx, smi.Options{
		Kube: o.Kube, Mesh: o.Mesh, MeshVersion: o.MeshVersion, NamespaceLabels: o.NamespaceLabels,
		SetupTimeout: o.SetupTimeout, Timeout: o.Timeout, Requests: f.smiRequests, Consistency: f.smiConsistency,
		HostDomain: f.smiHostDomain, Selection: smi.Selection{RunTest: o.RunTest, SkipTests: o.SkipTests}, Progress: o.Progress,
	})
}

// newConformanceSMICRDsCmd prints the SMI CRDs meshperf carries.
func newConformanceSMICRDsCmd(stdio IO) *cobra.Command {
	return &cobra.Command{
		Use:   "smi-crds",
		Short: "Print the SMI CRDs (TrafficSplit, TrafficTarget, HTTPRouteGroup at every published version), for kubectl apply -f -",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := io.WriteString(stdio.Out, smi.CRDs())
			return err
		},
	}
}

// conformanceOutcome is the run's exit: nil when it passed.
func conformanceOutcome(res *conformance.Result) error {
	switch res.Outcome {
	case conformance.OutcomePassed:
		return nil
	case conformance.OutcomeCancelled:
		if strings.HasPrefix(res.Reason, "timed out") {
			return fmt.Errorf("conformance %s", res.Reason)
		}
		return errInterrupted
	default:
		return &ConformanceError{Outcome: res.Outcome, Counts: res.Counts, Reason: res.Reason}
	}
}

func writeConformanceFiles(res *conformance.Result, f conformanceRunFlags) error {
	if f.report != "" {
		if res.Report == "" {
			return fmt.Errorf("--report %s: the suite wrote no ConformanceReport (%s)", f.report, res.Reason)
		}
		if err := os.WriteFile(f.report, []byte(res.Report), 0o644); err != nil {
			return err
		}
	}
	for _, out := range []struct{ path, format string }{{f.junit, "junit"}, {f.jsonOut, "json"}} {
		if out.path == "" {
			continue
		}
		file, err := os.Create(out.path)
		if err != nil {
			return err
		}
		err = writeConformance(file, res, out.format)
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func writeConformance(w io.Writer, res *conformance.Result, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	case "junit":
		return conformance.WriteJUnit(w, res)
	default:
		return conformance.WriteText(w, res)
	}
}

// newConformanceSuiteCmd is the suite's child process (hidden): run
// starts meshperf again with it, and it runs the suite under testing.
func newConformanceSuiteCmd() *cobra.Command {
	var options string
	cmd := &cobra.Command{
		Use:    "suite --options FILE",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if options == "" {
				return usageErrorf("--options is required")
			}
			conformance.SuiteMain(options)
			return nil
		},
	}
	cmd.Flags().StringVar(&options, "options", "", "options file written by conformance run")
	return cmd
}

func newConformanceProfilesCmd(stdio IO) *cobra.Command {
	return &cobra.Command{
		Use:   "profiles",
		Short: "The suite's conformance profiles with their core and extended features",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			for _, name := range conformance.Profiles() {
				p, _ := conformance.LookupProfile(name)
				fmt.Fprintf(stdio.Out, "%s\n  core: %s\n  extended: %s\n", p.Name, strings.Join(p.Core, ", "), strings.Join(p.Extended, ", "))
			}
			return nil
		},
	}
}

func newConformanceFeaturesCmd(stdio IO) *cobra.Command {
	var profile string
	cmd := &cobra.Command{
		Use:   "features [--profile P]",
		Short: "The suite's feature names (of one profile: its extended features, for --supported-features)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			names := conformance.Features()
			if profile != "" {
				p, err := conformance.LookupProfile(profile)
				if err != nil {
					return &UsageError{Err: err}
				}
				names = p.Extended
			}
			for _, n := range names {
				fmt.Fprintln(stdio.Out, n)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&profile, "profile", "", "only this profile's extended features")
	return cmd
}
