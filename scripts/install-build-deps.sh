#!/usr/bin/env bash
# Installs, on Debian, the C libraries the full codec set is built on (OpenJPEG for JPEG 2000
# and HTJ2K decoding, CharLS for JPEG-LS, OpenJPH for HTJ2K encoding) and a C/C++ compiler, when
# they are missing. Prints the Go build tags to use: nothing when the libraries are there,
# "nocgocodecs" when they are not and cannot be installed (not root, no sudo, no apt-get), in
# which case Lightbox builds without those codecs and says so (`lightbox transcode --list`).
set -uo pipefail
have() { pkg-config --exists libopenjp2 charls openjph 2>/dev/null && command -v gcc >/dev/null && command -v g++ >/dev/null; }
if have; then
  exit 0
fi
pkgs=(gcc g++ pkg-config libopenjp2-7-dev libcharls-dev libopenjph-dev)
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO=sudo; else SUDO=none; fi
fi
if [ "$SUDO" != none ] && command -v apt-get >/dev/null; then
  echo "install-build-deps: installing ${pkgs[*]}" >&2
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}"; } >&2
fi
if have; then
  exit 0
fi
echo "install-build-deps: OpenJPEG, CharLS or OpenJPH development files are missing and could not be installed" >&2
echo "install-build-deps: building without JPEG 2000, HTJ2K and JPEG-LS (install ${pkgs[*]} to have them)" >&2
echo nocgocodecs
