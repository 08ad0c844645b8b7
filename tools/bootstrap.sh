#!/bin/sh
# bootstrap.sh: install what Quantscope needs on Debian 12, build it, and run it or its tests.
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage (from the source tree, as root or as a user who may sudo):
#   tools/bootstrap.sh run    # install, build, and run the main job on the bundled sample
#   tools/bootstrap.sh test   # install, build, and run the whole test suite
#
# Idempotent: packages already installed are not touched, the package lists
# are refreshed only when missing or older than a day, an existing build
# directory is reused. Works on a minimal Debian 12 (debootstrap minbase).
set -eu

mode=${1:-}
case "$mode" in
  run|test) ;;
  *) echo "usage: $0 run|test" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
top=$(pwd)
build=${QS_BUILD_DIR:-$top/build}

as_root () {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# What building and running needs; the test suite adds nothing beyond
# these (its golden files are committed, its fixtures made by C code).
packages="gcc libc6-dev pkg-config meson ninja-build gettext
          libglib2.0-dev libhdf5-dev libjson-glib-dev"

missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done

if [ -n "$missing" ]; then
  lists=$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mtime -1 2>/dev/null | head -n 1)
  if [ -z "$lists" ]; then
    echo "bootstrap: refreshing the package lists" >&2
    as_root apt-get update -q
  fi
  echo "bootstrap: installing$missing" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi

if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$top"
fi
ninja -C "$build"

case "$mode" in
  run)
    exec "$build/src/cli/quantscope-cli" stats "$top/data/sample-weights.h5" \
      --tensor /model_weights/conv2d_1/conv2d_1/kernel:0 --granularity channel
    ;;
  test)
    exec meson test -C "$build" --print-errorlogs
    ;;
esac
