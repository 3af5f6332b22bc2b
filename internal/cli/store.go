package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/meshperf/meshperf/store"
	"github.com/meshperf/meshperf/store/postgres"
	"github.com/meshperf/meshperf/store/sqlite"
)

// globalOptions are the flags every subcommand shares.
type globalOptions struct {
	db     string
	server string // --server: the meshperf server to use instead of the store
}

// openStore opens the store named by --db: a postgres:// URL, a SQLite file
// path (or sqlite:PATH), or, when empty, the SQLite file under the user's
// data directory.
func (g *globalOptions) openStore(ctx context.Context) (store.Store, error) {
	dsn := g.db
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		s, err := postgres.Open(ctx, dsn)
		if err != nil {
			return nil, fmt.Errorf("--db: %w", err)
		}
		return s, nil
	case dsn == "":
		path, err := sqlite.DefaultPath()
		if err != nil {
			return nil, err
		}
		return sqlite.Open(ctx, path)
	default:
		s, err := sqlite.Open(ctx, strings.TrimPrefix(dsn, "sqlite:"))
		if err != nil {
			return nil, fmt.Errorf("--db: %w", err)
		}
		return s, nil
	}
}
