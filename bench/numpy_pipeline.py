#!/usr/bin/python3
# numpy_pipeline.py: the numpy equivalent of Quantscope's per-change work, for comparison.
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The same steps qs_analyze runs for the default scheme (int8 asymmetric,
# per-tensor, min/max, round half to even): range, PyTorch-style scale and
# zero point, quantize, dequantize, MSE / max error / SQNR / cosine, clipped
# count, levels used, and the two 256-bin histograms. Written the way a
# careful numpy user would: vectorised, no Python loops.
#
# Usage: /usr/bin/python3 bench/numpy_pipeline.py [COUNT] [REPEATS]
import sys
import time

import numpy as np


def pipeline(x, bins=256, qmin=-128, qmax=127):
    finite = np.isfinite(x)
    xf = x[finite] if not finite.all() else x
    lo = np.float32(min(xf.min(), 0.0))
    hi = np.float32(max(xf.max(), 0.0))
    scale = np.float32((hi - lo) / np.float32(qmax - qmin))
    scale = max(scale, np.float32(2.0 ** -23))
    zero_point = int(np.clip(qmin - np.round(lo / scale), qmin, qmax))
    inv = np.float32(1.0) / scale
    v = xf * inv
    r = np.rint(v)
    clipped = int(np.count_nonzero((r < qmin - zero_point) | (r > qmax - zero_point)))
    q = np.clip(r + zero_point, qmin, qmax).astype(np.int32)
    recon = (q - zero_point).astype(np.float32) * scale
    err = recon.astype(np.float64) - xf
    x64 = xf.astype(np.float64)
    r64 = recon.astype(np.float64)
    err2 = float(np.dot(err, err))
    x2 = float(np.dot(x64, x64))
    mse = err2 / xf.size
    max_err = float(np.abs(err).max())
    sqnr = 10.0 * np.log10(x2 / err2) if err2 > 0 else float("inf")
    cosine = float(np.dot(x64, r64) / np.sqrt(x2 * float(np.dot(r64, r64))))
    levels = int(np.count_nonzero(np.bincount(q - qmin, minlength=qmax - qmin + 1)))
    hist_range = (float(xf.min()), float(xf.max()))
    counts, _ = np.histogram(xf, bins=bins, range=hist_range)
    qcounts, _ = np.histogram(recon, bins=bins, range=hist_range)
    return scale, zero_point, mse, max_err, sqnr, cosine, clipped, levels, counts, qcounts


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 25_000_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    rng = np.random.default_rng(1)
    x = rng.normal(0.0, 0.05, count).astype(np.float32)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = pipeline(x)
        best = min(best, time.perf_counter() - t0)
    print(f"# numpy {np.__version__} scale={result[0]:.9g} zero_point={result[1]} "
          f"sqnr_db={result[4]:.4f} levels_used={result[7]}")
    print(f"numpy elements={count} best_seconds={best:.4f} ns_per_element={best * 1e9 / count:.3f}")


if __name__ == "__main__":
    main()
