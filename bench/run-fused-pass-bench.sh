#!/bin/sh
# run-fused-pass-bench.sh: the per-change work, Quantscope against numpy, in one run.
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: bench/run-fused-pass-bench.sh BENCH-FUSED-PASS NUMPY_PIPELINE.PY [COUNT] [REPEATS]
# Prints both tools' ns/element and the ratios. numpy runs under Debian's
# /usr/bin/python3 (python3-numpy); OPENBLAS_* tuning variables are unset
# for the numpy run only, so it uses its normal kernels.
set -eu
bench=$1
pipeline=$2
count=${3:-25000000}
repeats=${4:-5}

qs=$("$bench" "$count" "$repeats")
np=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 "$pipeline" "$count" 3)
echo "$qs"
echo "$np"

ns () { echo "$1" | sed -n "s/.*$2.*ns_per_element=\([0-9.]*\).*/\1/p" | head -n 1; }
q1=$(ns "$qs" "threads=1")
q2=$(ns "$qs" "threads=2")
n1=$(ns "$np" "numpy elements")
awk -v q1="$q1" -v q2="$q2" -v n1="$n1" 'BEGIN {
  printf "ratio numpy/quantscope, 1 thread:  %.1fx\n", n1 / q1
  printf "ratio numpy/quantscope, 2 threads: %.1fx\n", n1 / q2
  printf "quantscope scaling 1 -> 2 threads: %.2fx\n", q1 / q2
}'
