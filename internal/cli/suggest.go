package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/meshperf/meshperf/internal/client"
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

// withProfileHint is apiError, adding "did you mean NAME?" when the server
// has no profile ref and has one of a name close to it.
func withProfileHint(ctx context.Context, c *client.Client, ref string, err error) error {
	var ae *client.Error
	if ref == "" || !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
		return apiError(c, err)
	}
	views, lerr := c.ListProfiles(ctx, nil)
	if lerr == nil {
		names := make([]string, len(views))
		for i, v := range views {
			names[i] = v.Name
		}
		if s := spec.Nearest(ref, names); s != "" {
			return &UsageError{Err: fmt.Errorf("%s: %s: did you mean %q?", c.BaseURL(), ae.Message, s)}
		}
	}
	return apiError(c, err)
}
