// Package cli implements the meshperf command line: one file per
// subcommand, each with a run function taking a context, and exit codes
// decided in one place (errors.go).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=...".
var Version = "0.1.0-dev"

// IO is where a command reads and writes.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
}

// Main runs the meshperf command line with args and returns the exit status.
func Main(ctx context.Context, args []string, in io.Reader, out, errw io.Writer) int {
	stdio := IO{In: in, Out: out, Err: errw}
	root := newRoot(stdio)
	root.SetArgs(args)
	root.SetIn(in)
	root.SetOut(out)
	root.SetErr(errw)
	err := root.ExecuteContext(ctx)
	if err != nil && strings.HasPrefix(err.Error(), "unknown command") {
		err = &UsageError{Err: err}
	}
	if err != nil && !errors.Is(err, errInterrupted) {
		// One line per problem: joined errors list every wrong flag.
		for _, line := range strings.Split(err.Error(), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				fmt.Fprintf(errw, "meshperf: %s\n", line)
			}
		}
	}
	return exitCode(err)
}

func newRoot(stdio IO) *cobra.Command {
	root := &cobra.Command{
		Use:           "meshperf",
		Short:         "Measure what your service and your service mesh cost",
		Long:          "meshperf is a load generator whose numbers can be trusted: fixed-rate runs corrected for coordinated omission, HDR histograms kept whole.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.SetFlagErrorFunc(unknownFlagError)
	g := &globalOptions{}
	root.PersistentFlags().StringVar(&g.db, "db", os.Getenv("MESHPERF_DB"), "store: a SQLite file or postgres://... URL (default: meshperf.db under the user's data directory; env MESHPERF_DB)")
	root.PersistentFlags().StringVar(&g.server, "server", os.Getenv("MESHPERF_SERVER"), "use the meshperf server at this URL instead of a store (default: the one meshperf login saved; env MESHPERF_SERVER)")
	root.AddCommand(newRunCmd(stdio, g))
	root.AddCommand(newProfileCmd(stdio, g))
	root.AddCommand(newResultCmd(stdio, g))
	root.AddCommand(newExperimentCmd(stdio, g))
	root.AddCommand(newCapacityCmd(stdio, g))
	root.AddCommand(newServerCmd(stdio, g))
	root.AddCommand(newAgentCmd(stdio, g))
	root.AddCommand(newClusterCmd(stdio))
	root.AddCommand(newConformanceCmd(stdio, g))
	root.AddCommand(newDesignCmd(stdio, g), newMeshCmd(stdio, g))
	root.AddCommand(newUserCmd(stdio, g))
	root.AddCommand(newGeneratorsCmd(stdio))
	root.AddCommand(newLoginCmd(stdio, g), newLogoutCmd(stdio, g))
	root.AddCommand(newEchoCmd(stdio))
	root.AddCommand(newImageCmd(stdio))
	root.AddCommand(newVersionCmd(stdio))
	// Commands that use neither a store nor a server: their help leaves
	// the global --db and --server out (agent does too, agent.go).
	for _, c := range root.Commands() {
		switch c.Name() {
		case "echo", "generators", "version":
			c.SetUsageTemplate(withoutGlobalFlags(c.UsageTemplate()))
		}
	}
	return root
}

func newVersionCmd(stdio IO) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print meshperf's version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintln(stdio.Out, "meshperf", Version)
			return nil
		},
	}
}
