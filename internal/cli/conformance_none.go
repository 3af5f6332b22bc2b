//go:build noconformance

package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/meshperf/meshperf/internal/server"
	"github.com/meshperf/meshperf/kube"
)

// conformanceRunner is none: the server answers that it runs no
// conformance tests, and serves the stored results.
func conformanceRunner(kube.Config) server.ConformanceRunner { return nil }

// newConformanceCmd says the suite is not in this binary.
func newConformanceCmd(_ IO, _ *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "conformance",
		Short: "Conformance tests (not in this binary: built with -tags noconformance)",
		// Whatever follows (run --profile ..., list) gets the same answer.
		DisableFlagParsing: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("this meshperf was built with -tags noconformance: the Gateway API conformance suite is not in it; use a standard build")
		},
	}
}
