package postgres

import (
	"context"
	"io/fs"

	"github.com/meshperf/meshperf/store"
	"github.com/meshperf/meshperf/store/storetest"
)

// OpenVersion opens a database migrated up to version only, as an older
// meshperf would have left it.
func OpenVersion(ctx context.Context, ref string, version int) (store.Store, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	migs, err := storetest.MigrationsUpTo(sub, version)
	if err != nil {
		return nil, err
	}
	return open(ctx, ref, migs)
}
