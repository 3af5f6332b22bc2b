#!/usr/bin/env bash
# Run every native Go fuzz target of the module for FUZZTIME each: a
# duration (30s) or an execution count (20000x). CI uses a count: with a
# duration, Go 1.26's fuzz coordinator can fail a target with a spurious
# "context deadline exceeded" at the deadline (golang/go#75804, fixed in 1.27).
set -euo pipefail
t=${1:-30s}
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/func //' | sort -u); do
		echo "== $pkg $f"
		go test "$pkg" -run "^$" -fuzz "^$f\$" -fuzztime "$t" -fuzzminimizetime 5s
	done
done
