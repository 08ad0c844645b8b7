#!/bin/sh
# run.sh: build a libFuzzer target (the HDF5 reader by default) with clang and run it for a given time.
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage (from anywhere in the source tree):
#   tools/fuzz/run.sh SECONDS [JOBS] [TARGET]
#
# TARGET is reader (default: HDF5 weight files), config (Keras model_config,
# the graph loader), scheme (scheme files) or dataset (idx and HDF5 image
# sets) or keras (Keras 3 .keras archives); each has its own corpus, seeds
# and artifacts folders.
#
# Sets up and builds build-fuzz/ (clang-14, -Dfuzzing=true, ASan + UBSan;
# QS_FUZZ_BUILD and CC override the folder and the compiler), seeds
# build-fuzz/fuzz/seeds/ from the hostile corpus, the bundled weight files
# and the committed regression inputs (tests/fuzz/inputs/), and runs
# qs-fuzz-reader for SECONDS in JOBS child processes (default 1). A crash,
# timeout or out-of-memory only ends its child: the run goes on, and the
# input lands in build-fuzz/fuzz/artifacts/. New coverage accumulates in
# build-fuzz/fuzz/corpus/ across runs; the whole output is kept in
# build-fuzz/fuzz/run-DATE.log. See tests/fuzz/README.md.
set -eu

seconds=${1:-}
jobs=${2:-1}
target=${3:-reader}
case "$seconds" in
  ''|*[!0-9]*) echo "usage: $0 SECONDS [JOBS]" >&2; exit 2 ;;
esac
case "$jobs" in
  ''|*[!0-9]*|0) echo "usage: $0 SECONDS [JOBS] [TARGET]" >&2; exit 2 ;;
esac
case "$target" in
  reader|config|scheme|dataset|keras) ;;
  *) echo "usage: $0 SECONDS [JOBS] [reader|config|scheme|dataset|keras]" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/../.."
top=$(pwd)
build=${QS_FUZZ_BUILD:-$top/build-fuzz}
out=$build/fuzz

# fashion-cnn.h5 (1.6 MB) is the only seed with a whole Keras model; a
# cap below its size would truncate it into a file HDF5 refuses at once.
# The other targets' seeds are under 10 KB.
case "$target" in
  reader) max_len=2097152 ;;
  *) max_len=65536 ;;
esac

if [ ! -f "$build/build.ninja" ]; then
  CC=${CC:-clang-14} meson setup "$build" \
    -Dfuzzing=true -Dgui=disabled -Dbuildtype=debugoptimized \
    -Db_sanitize=address,undefined -Db_lundef=false \
    -Dc_args='-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined -fsanitize=float-cast-overflow'
fi

if [ "$target" = reader ]; then
  # The target and the hostile corpus that make-corpus writes at build time.
  ninja -C "$build" tools/fuzz/qs-fuzz-reader tests/corpus/corpus.stamp
  seeds=$out/seeds corpus=$out/corpus artifacts=$out/artifacts
  mkdir -p "$seeds" "$corpus" "$artifacts"
  for f in "$build"/tests/corpus/files/* data/sample-weights.h5 data/models/fashion-cnn.h5 \
           tests/fuzz/inputs/*.h5; do
    # Regular files only (the corpus has a folder named .h5), and none
    # longer than the fuzzer would keep (interrupt.h5 is 64 MiB).
    [ -f "$f" ] || continue
    [ "$(stat -c %s "$f")" -le "$max_len" ] || continue
    cp "$f" "$seeds/$(basename "$f")"
  done
else
  ninja -C "$build" "tools/fuzz/qs-fuzz-$target"
  seeds=$out/seeds-$target corpus=$out/corpus-$target artifacts=$out/artifacts-$target
  mkdir -p "$corpus" "$artifacts"
  rm -rf "$seeds"
  if [ "$target" = keras ]; then
    # The archives make_keras3_files.py wrote, good and hostile.
    mkdir -p "$seeds"
    cp tests/data/keras3/*.keras "$seeds/"
  else
    rm -rf "$out/generated-seeds"
    /usr/bin/python3 tools/fuzz/make-seeds.py "$top" "$out/generated-seeds"
    cp -r "$out/generated-seeds/$target" "$seeds"
  fi
  # The committed findings seed every later run too.
  for f in tests/fuzz/inputs-"$target"/*; do
    case "$f" in *.txt) continue ;; esac
    [ -f "$f" ] && cp "$f" "$seeds/"
  done
fi

log=$out/run-$target-$(date -u +%Y%m%dT%H%M%SZ).log
echo "fuzzing $target for $seconds s with $jobs job(s); log: $log; artifacts: $artifacts/"

# Leak checking is on (libFuzzer's default): the reader must free what it
# allocates for every input; lsan.supp says why libhdf5's own leaks are
# not reported. An allocation larger than ASan can serve (libhdf5 asking
# for the 2^63 bytes a damaged header claims) returns NULL, as malloc does
# in a release build, so libhdf5's own checks run; one the machine could
# serve but past -rss_limit_mb still counts as out-of-memory. UBSan
# reports abort (-fno-sanitize-recover), so they count as crashes. A job
# that crashes ends alone (-ignore_crashes): libhdf5 is not ours to fix,
# and the run must go on past its crashes.
ASAN_OPTIONS=${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}"symbolize=1:allocator_may_return_null=1" \
LSAN_OPTIONS=${LSAN_OPTIONS:-}${LSAN_OPTIONS:+:}"suppressions=$top/tools/fuzz/lsan.supp:print_suppressions=0" \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-}${UBSAN_OPTIONS:+:}"print_stacktrace=1:halt_on_error=1" \
  "$build/tools/fuzz/qs-fuzz-$target" \
    -max_total_time="$seconds" \
    -fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts/" \
    -print_final_stats=1 \
    "$corpus" "$seeds" 2>&1 | tee "$log"

# A dataset or keras input that crashed its job left that job's input file behind.
if [ "$target" = dataset ]; then
  rm -f "${TMPDIR:-/tmp}"/qs-fuzz-dataset-*.bin
fi
if [ "$target" = keras ]; then
  rm -f "${TMPDIR:-/tmp}"/qs-fuzz-keras-*.keras
fi
