#!/usr/bin/env bash
# Installs, on Debian, what the browser tests use: Chromium, and the Node.js projects
# tests/viewer and web/viewer (our web viewer's test driver and build tools) and tests/ohif (the
# prebuilt OHIF Viewer, playwright-core, pngjs) from their package-lock.json files. Safe to
# re-run: Chromium is installed only when missing, and npm ci only when a project's
# node_modules does not match its lock file. Without Node.js or npm it says so
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

# The web viewer's test and benchmark (integration/viewer_test.go, bench/viewer) drive Chromium
# with tests/viewer's playwright-core and pngjs; web/viewer holds the viewer's build tools (for
# make viewer and the check that internal/viewer/dist matches its sources).
for proj in tests/viewer web/viewer; do
  vstamp=$proj/node_modules/.lightbox-lock.sha256
  vwant=$(sha256sum "$proj/package-lock.json" | cut -d' ' -f1)
  if [ -f "$vstamp" ] && [ "$(cat "$vstamp")" = "$vwant" ]; then
    echo "install-browser-deps: $proj up to date"
    continue
  fi
  echo "install-browser-deps: npm ci in $proj"
  if (cd "$proj" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error); then
    echo "$vwant" >"$vstamp"
  else
    echo "install-browser-deps: npm ci in $proj failed: the tests that need it will skip"
    rm -rf "$proj/node_modules"
  fi
done

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
