// Package deps pins the modules the store and profile code use while they
// are being written; it is removed once they import them.
package deps

import (
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
	_ "sigs.k8s.io/yaml"
)
