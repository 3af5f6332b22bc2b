package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/meshperf/meshperf/internal/experiment"
	"github.com/meshperf/meshperf/kube"
	"github.com/meshperf/meshperf/store"
)

func newExperimentCmd(stdio IO, g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "experiment",
		Short: "Run and report experiments: variants (direct, through a proxy or mesh) over a sweep of rates and connections",
		Long: `An experiment runs the same test against several variants of a system, for
example the service directly (baseline) and through a proxy or mesh, over a
sweep of rates and/or connection counts, each cell repeated, in an
interleaved order. Each cell is stored as a normal result; the report puts
every variant next to the baseline: added latency at p50, p90, p99 and
p99.9, with the spread of the repeats. See docs/experiments.md.`,
	}
	cmd.AddCommand(newExperimentRunCmd(stdio, g), newExperimentReportCmd(stdio, g), newExperimentListCmd(stdio, g))
	return cmd
}

func newExperimentRunCmd(stdio IO, g *globalOptions) *cobra.Command {
	var file, output string
	var fresh bool
	cmd := &cobra.Command{
		Use:   "run -f FILE",
		Short: "Run an experiment file, or resume it where it stopped",
		Long: `Run every cell of an experiment file, storing each as a result. Running the
same file again resumes the newest unfinished experiment of its name with the
cells not yet stored; a finished one starts anew. Ctrl-C stops after
discarding the cell in progress.`,
		Example: `  meshperf experiment run -f examples/experiment-proxy.yaml
  meshperf experiment run -f exp.yaml --new --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runExperiment(cmd.Context(), stdio, g, file, output, fresh)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", "the experiment file (YAML or JSON)")
	f.BoolVar(&fresh, "new", false, "start a new experiment even if an unfinished one of that name exists")
	f.StringVarP(&output, "output", "o", "text", "report format at the end: text, json or csv")
	return cmd
}

func checkReportFormat(output string) error {
	switch output {
	case "text", "json", "csv":
		return nil
	}
	return usageErrorf("--output: unknown format %q (want text, json or csv)", output)
}

func runExperiment(ctx context.Context, stdio IO, g *globalOptions, file, output string, fresh bool) error {
	if file == "" {
		return usageErrorf("experiment run: give the experiment file with -f FILE")
	}
	if err := checkReportFormat(output); err != nil {
		return err
	}
	if g.server != "" {
		return usageErrorf("experiment run: runs locally against the store (--db); --server is not supported yet")
	}
	def, err := experiment.Load(file)
	if err != nil {
		return &UsageError{Err: err}
	}
	st, err := g.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	exp, resumed, err := experiment.Open(ctx, st, def, fresh)
	if errors.Is(err, experiment.ErrChanged) {
		return &UsageError{Err: err}
	}
	if err != nil {
		return err
	}
	if !resumed {
		fmt.Fprintf(stdio.Err, "meshperf: experiment %s (%s): %d cells\n", exp.Name, exp.ID, exp.Cells)
	}
	r := &experiment.Runner{Store: st, Version: Version, Log: stdio.Err}
	takeDown, err := putDesigns(ctx, stdio, st, kube.Config{}, "experiment", def.File.Designs)
	if err != nil {
		return err
	}
	runErr := r.Run(ctx, exp, def)
	if !errors.Is(runErr, experiment.ErrInterrupted) { // a resume applies them again
		runErr = errors.Join(runErr, takeDown(context.WithoutCancel(ctx)))
	}
	if errors.Is(runErr, experiment.ErrInterrupted) {
		fmt.Fprintf(stdio.Err, "meshperf: experiment %s interrupted with %d of %d cells stored; run the same command again to resume\n", exp.Name, exp.Done, exp.Cells)
		return errInterrupted
	}
	if runErr != nil {
		return runErr
	}
	rep, err := experiment.BuildReport(context.WithoutCancel(ctx), st, exp)
	if err != nil {
		return err
	}
	return writeExperimentReport(stdio.Out, rep, output)
}

func writeExperimentReport(w io.Writer, rep *experiment.Report, output string) error {
	var err error
	switch output {
	case "json":
		err = rep.JSON(w)
	case "csv":
		err = rep.CSV(w)
	default:
		err = rep.Text(w)
	}
	if err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

func newExperimentReportCmd(stdio IO, g *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "report ID|NAME",
		Short: "Report an experiment: every variant against the baseline at each sweep point",
		Example: `  meshperf experiment report proxy-overhead
  meshperf experiment report 019a3f --output csv > overhead.csv`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkReportFormat(output); err != nil {
				return err
			}
			ctx := cmd.Context()
			st, err := g.openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			exp, err := st.GetExperiment(ctx, args[0])
			if err != nil {
				return notFound(err, "experiment", args[0])
			}
			rep, err := experiment.BuildReport(ctx, st, exp)
			if err != nil {
				return err
			}
			return writeExperimentReport(stdio.Out, rep, output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "format: text, json or csv")
	return cmd
}

func newExperimentListCmd(stdio IO, g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List experiments, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, err := g.openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			es, err := st.ListExperiments(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdio.Out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tCREATED\tCELLS\tSTATE")
			for _, e := range es {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\n", e.ID, e.Name, e.CreatedAt.Local().Format("2006-01-02 15:04:05"), e.Done, e.Cells, stateOf(e))
			}
			return tw.Flush()
		},
	}
}

// stateOf shows an experiment's state, with why it stopped.
func stateOf(e *store.Experiment) string {
	if e.Error != "" {
		return e.State + ": " + e.Error
	}
	return e.State
}
