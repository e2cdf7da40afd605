#!/usr/bin/env bash
# make fuzz: run every Fuzz* target in the module for the given time each.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-60s}
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		echo "== fuzz $pkg $f ($t)" >&2
		go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" "$pkg"
	done
done
