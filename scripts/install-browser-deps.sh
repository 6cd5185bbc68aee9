#!/usr/bin/env bash
# Installs, on Debian, what the OHIF Viewer test (integration/ohif_test.go) uses: Chromium and
# the Node.js project tests/ohif (the prebuilt viewer, playwright-core, pngjs) from its
# package-lock.json. Safe to re-run: Chromium is installed only when missing, and npm ci only
# when tests/ohif/node_modules does not match the lock file. Without Node.js or npm it says so
# and exits 0; the test then skips.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo

if [ -x /usr/bin/chromium ]; then
  echo "install-browser-deps: chromium present"
else
  echo "install-browser-deps: installing chromium"
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium; }; then
    echo "install-browser-deps: installing chromium failed: the OHIF Viewer test will skip"
    exit 0
  fi
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "install-browser-deps: node or npm not found: skipping tests/ohif (the OHIF Viewer test will skip)"
  exit 0
fi

# npm ci wipes and reinstalls node_modules (about 700 MB, a minute or two): skip it when the
# installed tree was made from the same lock file.
lock=tests/ohif/package-lock.json
stamp=tests/ohif/node_modules/.lightbox-lock.sha256
want=$(sha256sum "$lock" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f tests/ohif/node_modules/@ohif/app/dist/index.html ]; then
  echo "install-browser-deps: tests/ohif up to date"
  exit 0
fi
echo "install-browser-deps: npm ci in tests/ohif"
if ! (cd tests/ohif && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error); then
  echo "install-browser-deps: npm ci in tests/ohif failed: the OHIF Viewer test will skip"
  rm -rf tests/ohif/node_modules
  exit 0
fi
echo "$want" >"$stamp"
echo "install-browser-deps: done"
