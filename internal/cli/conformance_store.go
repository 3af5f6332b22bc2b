//go:build !noconformance

package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshperf/meshperf/internal/conformance"
	"github.com/meshperf/meshperf/internal/conformance/result"
	"github.com/meshperf/meshperf/internal/conformance/smi"
	"github.com/meshperf/meshperf/internal/server"
	"github.com/meshperf/meshperf/kube"
	"github.com/meshperf/meshperf/store"
)

// saveConformance keeps res in the store and gives it its ID.
func saveConformance(ctx context.Context, g *globalOptions, res *conformance.Result) error {
	if err := g.notRemote("storing a conformance result"); err != nil {
		return err
	}
	s, err := g.openStore(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	res.ID = store.NewID()
	c, err := res.Record()
	if err != nil {
		return err
	}
	if err := s.SaveConformance(ctx, c); err != nil {
		res.ID = ""
		return err
	}
	return nil
}

// loadConformance reads a stored result by ID or prefix.
func loadConformance(ctx context.Context, s store.Store, ref string) (*conformance.Result, error) {
	c, err := s.GetConformance(ctx, ref)
	if err != nil {
		return nil, notFound(err, "conformance result", ref)
	}
	return result.FromRecord(c)
}

func newConformanceListCmd(stdio IO, g *globalOptions) *cobra.Command {
	var f store.ConformanceFilter
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Stored conformance results, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return usageErrorf("--output %q: want text or json", output)
			}
			if err := g.notRemote("conformance list"); err != nil {
				return err
			}
			s, err := g.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			cs, err := s.ListConformance(cmd.Context(), f)
			if err != nil {
				return err
			}
			if output == "json" {
				type row struct {
					ID, Kind, Profile, SuiteVersion, Mesh, MeshVersion, Outcome string
					Passed, Failed, Skipped, NotRun                             int
					Started, Finished                                           time.Time
				}
				rows := []row{}
				for _, c := range cs {
					rows = append(rows, row{c.ID, c.Kind, c.Profile, c.SuiteVersion, c.Mesh, c.MeshVersion, c.Outcome, c.Passed, c.Failed, c.Skipped, c.NotRun, c.Started, c.Finished})
				}
				enc := json.NewEncoder(stdio.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			tw := tabwriter.NewWriter(stdio.Out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTARTED\tPROFILE\tSUITE\tMESH\tVERSION\tOUTCOME\tPASS\tFAIL\tSKIP\tNOT RUN")
			for _, c := range cs {
				mesh := c.Mesh
				if mesh == "" {
					mesh = "–"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\n", c.ID, c.Started.Local().Format("2006-01-02 15:04"),
					c.Profile, c.SuiteVersion, mesh, c.MeshVersion, c.Outcome, c.Passed, c.Failed, c.Skipped, c.NotRun)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&f.Mesh, "mesh", "", "only this mesh")
	cmd.Flags().StringVar(&f.Profile, "profile", "", "only this profile")
	cmd.Flags().IntVar(&f.Limit, "limit", 100, "at most this many (up to 1000)")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

func newConformanceShowCmd(stdio IO, g *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "One stored conformance result: text, json, junit or the official report (yaml)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch output {
			case "text", "json", "junit", "yaml":
			default:
				return usageErrorf("--output %q: want text, json, junit or yaml", output)
			}
			if err := g.notRemote("conformance show"); err != nil {
				return err
			}
			s, err := g.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			res, err := loadConformance(cmd.Context(), s, args[0])
			if err != nil {
				return err
			}
			if output == "yaml" {
				if res.Report == "" {
					return fmt.Errorf("conformance result %s has no official report: the suite never wrote one (%s)", res.ID, res.Reason)
				}
				_, err := fmt.Fprint(stdio.Out, res.Report)
				return err
			}
			return writeConformance(stdio.Out, res, output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text, json, junit or yaml (the suite's ConformanceReport)")
	return cmd
}

func newConformanceCompareCmd(stdio IO, g *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "compare A B",
		Short: "What passes in one conformance result and not in the other",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usageErrorf("--output %q: want text or json", output)
			}
			if err := g.notRemote("conformance compare"); err != nil {
				return err
			}
			s, err := g.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			a, err := loadConformance(cmd.Context(), s, args[0])
			if err != nil {
				return err
			}
			b, err := loadConformance(cmd.Context(), s, args[1])
			if err != nil {
				return err
			}
			c := conformance.Compare(a, b)
			if output == "json" {
				enc := json.NewEncoder(stdio.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(c)
			}
			return conformance.WriteComparison(stdio.Out, c)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

// conformanceRunner runs the server's conformance tests against the
// cluster of cfg.
func conformanceRunner(cfg kube.Config) server.ConformanceRunner {
	return conformance.Runner{Kube: cfg}
}

// maxConformanceImport bounds a result file read by conformance import.
const maxConformanceImport = store.MaxConformanceBody

func newConformanceImportCmd(stdio IO, g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE",
		Short: "Store a conformance result written elsewhere (conformance run --json, or show -o json)",
		Long: `meshperf conformance import stores a conformance result that a run
elsewhere wrote as JSON (conformance run --json FILE --no-store, e.g. in CI,
or conformance show -o json), under a new ID. Its profile must be one the
suite has, or SMI (meshperf's SMI test set); its counts and outcome are computed again from its tests.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := readConformanceFile(args[0])
			if err != nil {
				return err
			}
			if err := saveConformance(cmd.Context(), g, res); err != nil {
				return err
			}
			fmt.Fprintf(stdio.Out, "stored conformance result %s (%s)\n", res.ID, res.Summary())
			return nil
		},
	}
}

// readConformanceFile reads and checks a result file: bounded, strict
// JSON, a known profile, known statuses; counts and outcome recomputed.
func readConformanceFile(path string) (*conformance.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	defer f.Close()
	dec := json.NewDecoder(io.LimitReader(f, maxConformanceImport+1))
	dec.DisallowUnknownFields()
	var res conformance.Result
	if err := dec.Decode(&res); err != nil {
		return nil, usageErrorf("%s: not a conformance result: %v", path, err)
	}
	if dec.InputOffset() > maxConformanceImport {
		return nil, usageErrorf("%s: more than %d bytes", path, maxConformanceImport)
	}
	if res.Profile != smi.Profile {
		if _, err := conformance.LookupProfile(res.Profile); err != nil {
			return nil, usageErrorf("%s: %v (or %s, meshperf's SMI test set)", path, err, smi.Profile)
		}
	}
	for _, t := range res.Tests {
		switch t.Status {
		case conformance.Pass, conformance.Fail, conformance.Skip, conformance.NotRun:
		default:
			return nil, usageErrorf("%s: test %q has status %q (want pass, fail, skip or not-run)", path, t.Name, t.Status)
		}
	}
	switch res.Outcome {
	case conformance.OutcomePassed, conformance.OutcomeFailed, conformance.OutcomeNotRun, conformance.OutcomeCancelled:
	default:
		return nil, usageErrorf("%s: outcome %q (want passed, failed, not-run or cancelled)", path, res.Outcome)
	}
	if res.Started.IsZero() {
		return nil, usageErrorf("%s: no start time", path)
	}
	res.Count()
	return &res, nil
}
