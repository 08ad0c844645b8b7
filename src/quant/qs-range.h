/* qs-range.h: the range pass and the range (calibration) methods.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "qs-scheme.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bins of the histograms the MSE and KL methods search over. */
#define QS_CALIBRATION_BINS 2048

typedef struct {
  float    min;        /* over finite values; +inf when there are none */
  float    max;        /* -inf when there are none */
  uint64_t finite;
  uint64_t nonfinite;  /* NaN and +-Inf, excluded from everything else */
} QsRangeStats;

/* One pass over @data: min, max and counts per channel (@per_channel has
 * layout->channels entries) and, when @total is not NULL, over the tensor.
 * Uses up to @n_threads threads (0 means all cores). */
QsStatus qs_range_stats_compute (const QsChannelLayout *layout,
                                 const float           *data,
                                 int                    n_threads,
                                 QsRangeStats          *per_channel,
                                 QsRangeStats          *total);

/* The clipping range [lo[c], hi[c]] of every channel, as the scheme's range
 * method chooses it (before the params widen it to contain 0):
 *  - minmax: the finite data range;
 *  - percentile:P: numpy.percentile(x, [100 - P, P]) with linear
 *    interpolation, exact (histogram-guided selection, no copy of the tensor);
 *  - mse: the clip minimizing the quantize-dequantize error, searched over
 *    shrunken ranges alpha * [min, max] (symmetric: alpha * max|x|), the error
 *    measured on a QS_CALIBRATION_BINS-bin histogram at bin centres;
 *  - kl: TensorRT entropy calibration on a QS_CALIBRATION_BINS-bin histogram
 *    of |x|: threshold T at the upper edge of the best cut, range
 *    [max(min, -T), min(max, T)];
 *  - manual: the given range for every channel.
 * Per-channel methods other than minmax and manual copy one channel at a time
 * (count / channels elements), never the whole tensor. */
QsStatus qs_range_choose (const QsScheme        *scheme,
                          const QsChannelLayout *layout,
                          const float           *data,
                          const QsRangeStats    *per_channel,
                          float                 *lo,
                          float                 *hi);

/* numpy.percentile(values, q, method="linear") over the finite values of a
 * contiguous array, q in [0, 100]. Exact; @values is not modified. Returns
 * NaN when there is no finite value. */
double qs_percentile (const float *values,
                      size_t       count,
                      double       q);

#ifdef __cplusplus
}
#endif
