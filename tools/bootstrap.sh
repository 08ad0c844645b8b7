#!/bin/sh
# bootstrap.sh: install what Quantscope needs on Debian 12, build it, and run it or its tests.
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage (from the source tree, as root or as a user who may sudo):
#   tools/bootstrap.sh run    # install, build, and open the app on the bundled demo model
#   tools/bootstrap.sh test   # install, build, and run the whole test suite
#
# Idempotent: packages already installed are not touched, the package lists
# are refreshed only when missing or older than a day, an existing build
# directory is reused. Works on a minimal Debian 12 (debootstrap minbase).
set -eu

mode=${1:-}
case "$mode" in
  run|test) ;;
  *) echo "usage: $0 run|test [ARGS...]" >&2; exit 2 ;;
esac
shift

cd "$(dirname "$0")/.."
top=$(pwd)
build=${QS_BUILD_DIR:-$top/build}

as_root () {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# What building and running needs (desktop-file-utils: the build's
# post-install step refreshes the desktop database; Cairo and Pango: the
# CLI's charts, without GTK; librsvg2-common: GTK skips SVG icons, the
# app's own among them, without its pixbuf loader).
packages="gcc libc6-dev pkg-config meson ninja-build gettext
          libglib2.0-dev libhdf5-dev zlib1g-dev libjson-glib-dev libgdk-pixbuf-2.0-dev
          libcairo2-dev libpango1.0-dev
          libgtk-4-dev libadwaita-1-dev desktop-file-utils
          librsvg2-common"
# Hangul for the Korean interface (the UI ships a Korean translation), and
# the locales package so LANG=ko_KR.UTF-8 can be generated below.
if [ "$mode" = run ]; then
  packages="$packages fonts-nanum locales"
fi
# What the tests add: a headless X server for the window tests, validators
# for the desktop files, and Debian's h5py to read exports back
# independently. (Golden files are committed: PyTorch is not needed.)
test_packages="xvfb xauth dbus-x11 appstream
               python3-h5py python3-numpy"
if [ "$mode" = test ]; then
  packages="$packages $test_packages"
fi

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

# Without the ko_KR.UTF-8 locale, LANG=ko_KR.UTF-8 silently falls back
# to English: generate it once (Debian ships it commented out).
if [ "$mode" = run ] && ! locale -a 2>/dev/null | grep -qi '^ko_KR\.utf-\?8$'; then
  echo "bootstrap: generating the ko_KR.UTF-8 locale" >&2
  if grep -q '^# *ko_KR.UTF-8 UTF-8' /etc/locale.gen 2>/dev/null; then
    as_root sed -i 's/^# *\(ko_KR.UTF-8 UTF-8\)/\1/' /etc/locale.gen
  elif ! grep -q '^ko_KR.UTF-8 UTF-8' /etc/locale.gen 2>/dev/null; then
    echo 'ko_KR.UTF-8 UTF-8' | as_root tee -a /etc/locale.gen >/dev/null
  fi
  as_root locale-gen
fi

if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$top"
fi
ninja -C "$build"

case "$mode" in
  run)
    # The desktop app on the bundled demo model, straight from the build
    # tree: schemas and translations compiled there.
    export GSETTINGS_SCHEMA_DIR="$build/data"
    export QUANTSCOPE_LOCALEDIR="$build/po"
    exec "$build/src/app/quantscope" "$@"
    ;;
  test)
    # Window tests need a display: a private headless one when there is none.
    if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
      exec xvfb-run -a -s "-screen 0 1600x1000x24" meson test -C "$build" --print-errorlogs
    fi
    exec meson test -C "$build" --print-errorlogs
    ;;
esac
