#!/usr/bin/env bash
# Installs, on Debian, what Lightbox's tests use as real peers and oracles (DCMTK, Orthanc and its
# DICOMweb plugin, pydicom, sqlite3, network namespace tools), then the JavaScript test projects'
# packages and Chromium for the viewer test. Safe to re-run: only what is missing is installed.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
pkgs=(dcmtk python3-pydicom orthanc orthanc-dicomweb iproute2 util-linux sqlite3
  gcc g++ pkg-config libopenjp2-7-dev libopenjp2-tools libcharls-dev libopenjph-dev openjph-tools)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all present (${pkgs[*]})"
else
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
bash "$here/install-node-deps.sh"
bash "$here/install-browser-deps.sh"
