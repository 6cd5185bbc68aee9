#!/usr/bin/env bash
# Runs every Go fuzz target in the module for the given time each (default 60s).
# Crashers are written by Go to testdata/fuzz/<Target>/ of their package: commit them.
set -euo pipefail
t=${1:-60s}
cd "$(dirname "$0")/.."
status=0
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  targets=$(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u || true)
  for f in $targets; do
    echo "== fuzz $pkg $f ($t)"
    if ! go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" "$pkg"; then
      status=1
    fi
  done
done
exit $status
