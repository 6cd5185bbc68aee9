#!/usr/bin/env bash
# Installs the Node.js packages of Lightbox's JavaScript test projects (tests/dicomweb-client:
# the dicomweb-client library) exactly as package-lock.json pins them. Needs node and npm; without
# them it says so and exits 0, and the Go tests that use these projects skip. Safe to re-run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "install-node-deps: node or npm not found: skipping the JavaScript test projects (their Go tests will skip)"
  exit 0
fi
for dir in "$root/tests/dicomweb-client"; do
  echo "install-node-deps: npm ci in ${dir#"$root"/} (node $(node --version), npm $(npm --version))"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
done
