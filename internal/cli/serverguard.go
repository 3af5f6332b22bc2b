package cli

import (
	"os"
	"path"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meshperf/meshperf/internal/server"
	"github.com/meshperf/meshperf/loadgen"
)

// serverGuardFlags are meshperf server's bounds on what API callers may
// ask of it: --limit, --allow-files, --allow-prometheus (see
// docs/security.md).
type serverGuardFlags struct {
	limits     []string
	allowFiles []string
	allowProm  []string
}

func (f *serverGuardFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&f.limits, "limit", nil, "raise (or lower) a bound on what a run may ask, NAME=VALUE, e.g. connections=100000 or rps=1e6 (repeatable; names: "+strings.Join(loadgen.LimitNames(), ", ")+"; see docs/security.md)")
	cmd.Flags().StringArrayVar(&f.allowFiles, "allow-files", nil, "directory whose regular files profiles may name (cert_file, key_file, grpc_descriptor_set) (repeatable; default: none, such profiles are refused)")
	cmd.Flags().StringArrayVar(&f.allowProm, "allow-prometheus", nil, "host or host:port pattern metrics.prometheus may name, e.g. 'prometheus.monitoring.svc' (repeatable; default: any in single-user mode, none with --auth)")
}

func (f *serverGuardFlags) apply(opts *server.Options) error {
	if len(f.limits) > 0 {
		l := loadgen.DefaultLimits
		for _, kv := range f.limits {
			if err := l.Set(kv); err != nil {
				return usageErrorf("--limit: %v", err)
			}
		}
		opts.Limits = &l
	}
	for _, d := range f.allowFiles {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			return usageErrorf("--allow-files %s: not a directory", d)
		}
	}
	for _, pat := range f.allowProm {
		if _, err := path.Match(pat, "x"); err != nil {
			return usageErrorf("--allow-prometheus %q: %v", pat, err)
		}
	}
	opts.AllowFiles, opts.AllowPrometheus = f.allowFiles, f.allowProm
	return nil
}
