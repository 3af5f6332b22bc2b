package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/meshperf/meshperf/spec"
)

// unknownFlagError turns pflag's "unknown flag: --rsp" into a usage error that
// names the flag meant, when one is close.
func unknownFlagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		name, _, _ = strings.Cut(name, "=")
		var names []string
		add := func(f *pflag.Flag) {
			if !f.Hidden {
				names = append(names, f.Name)
			}
		}
		cmd.Flags().VisitAll(add)
		cmd.InheritedFlags().VisitAll(add)
		if s := spec.Nearest(name, names); s != "" {
			err = fmt.Errorf("%w: did you mean --%s?", err, s)
		} else {
			err = fmt.Errorf("%w (%s --help lists the flags)", err, cmd.CommandPath())
		}
	}
	return &UsageError{Err: err}
}
