#!/bin/sh
# screenshot.sh: run the real window under a private Xvfb and capture it.
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: tools/screenshot.sh [BUILD_DIR] [OUT.png] [-- APP ARGS...]
# Needs xvfb and imagemagick. The window opens the bundled demo model
# unless a file is given after "--"; LANGUAGE=ko in the environment gives
# the Korean screenshot. Settings start empty (GSETTINGS_BACKEND=memory);
# GSETTINGS_BACKEND=keyfile with XDG_CONFIG_HOME set presets a scheme.
set -eu
build=${1:-build}
out=${2:-data/screenshots/main.png}
[ $# -ge 2 ] && shift 2 || shift $#
[ "${1:-}" = "--" ] && shift

display=:$((90 + $$ % 9))
Xvfb "$display" -screen 0 1200x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true' EXIT
sleep 1

DISPLAY=$display GDK_BACKEND=x11 GSK_RENDERER=cairo GSETTINGS_BACKEND=${GSETTINGS_BACKEND:-memory} \
  GSETTINGS_SCHEMA_DIR="$build/data" QUANTSCOPE_LOCALEDIR="$build/po" \
  "$build/src/app/quantscope" "$@" &
app=$!
# The window, the file's metadata and the first analysis all arrive
# within a second or two; the sweep of badges a little later.
sleep "${QS_SCREENSHOT_DELAY:-6}"
DISPLAY=$display import -window root "$out"
kill $app 2>/dev/null || true
wait $app 2>/dev/null || true
echo "screenshot: $out"
