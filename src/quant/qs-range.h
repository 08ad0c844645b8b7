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
  uint64_t zeros;      /* values exactly +0 or -0 */
} QsRangeStats;

/* An empty accumulation (min +inf, max -inf), and the union of two. */
void qs_range_stats_init  (QsRangeStats       *stats);
void qs_range_stats_merge (QsRangeStats       *into,
                           const QsRangeStats *from);

/* The sum of squares of a tensor's finite values as the block pass sums
 * them for one group size: its lanes and tasks, which the layout and the
 * group size fix, decide how the sum rounds; the data alone what it sums. */
typedef struct {
  QsChannelLayout layout;
  size_t          block_size;   /* 0: none */
  double          x2;
} QsRangeMemoSquares;

/* Group sizes whose sums of squares a memo keeps: the block inspector's
 * sweep (five sizes) and the group sizes a learner flips between
 * (NVFP4's 16, MX's 32, a group size or two). */
#define QS_RANGE_MEMO_SQUARES 8

/* A tensor's range statistics as the range pass found them for one
 * layout (per tensor, or per channel along an axis): they depend on the
 * data only, so a caller that analyzes the same data under one scheme
 * after another keeps them here and the range pass is not repeated (it
 * reads the whole tensor: a quarter of an int8 pass from memory). Start
 * zeroed; not for two analyses at once. */
typedef struct {
  QsChannelLayout layout;       /* what they describe; count 0: nothing yet */
  QsRangeStats   *per_channel;  /* [layout.channels], owned */
  QsRangeStats    total;
  /* The data's histogram as the passes count it (qs_fused_hist_slot):
   * below, hist_bins bins over [hist_lo, hist_hi], above. It depends on
   * the data and that domain only (the domain is the data's range
   * unless a scheme sets one), so a change of scheme counts codes alone
   * (qs_range_memo_histogram). Any layout's. */
  uint64_t       *hist;         /* [hist_bins + 2], owned; NULL: none yet */
  int             hist_bins;
  double          hist_lo;
  double          hist_hi;
  /* The block pass's sums of squares (data only, like the histogram), so
   * that a change of block scheme sums its errors alone; the oldest is
   * replaced first. */
  QsRangeMemoSquares squares[QS_RANGE_MEMO_SQUARES];
  unsigned        squares_next;
} QsRangeMemo;

void qs_range_memo_clear (QsRangeMemo *memo);

/* The histogram @memo (nullable) holds for @bins bins over [@lo, @hi],
 * or NULL. */
const uint64_t *qs_range_memo_histogram (const QsRangeMemo *memo,
                                         int                bins,
                                         double             lo,
                                         double             hi);

/* Keeps a histogram in @memo (nullable): @below, @counts[@bins], @above,
 * replacing what it held; without memory, keeps none. */
void qs_range_memo_keep_histogram (QsRangeMemo    *memo,
                                   int             bins,
                                   double          lo,
                                   double          hi,
                                   uint64_t        below,
                                   const uint64_t *counts,
                                   uint64_t        above);

/* The sum of squares @memo (nullable) holds for @layout and @block_size,
 * into @x2; false when it holds none. */
bool qs_range_memo_block_squares      (const QsRangeMemo     *memo,
                                       const QsChannelLayout *layout,
                                       size_t                 block_size,
                                       double                *x2);

/* Keeps a block pass's sum of squares in @memo (nullable). */
void qs_range_memo_keep_block_squares (QsRangeMemo           *memo,
                                       const QsChannelLayout *layout,
                                       size_t                 block_size,
                                       double                 x2);

/* qs_range_stats_compute(), or the statistics @memo (nullable) holds for
 * @layout; computed ones are left in @memo. */
QsStatus qs_range_stats_remembered (const QsChannelLayout *layout,
                                    const float           *data,
                                    int                    n_threads,
                                    QsRangeMemo           *memo,
                                    QsRangeStats          *per_channel,
                                    QsRangeStats          *total);

/* One pass over @data: min, max and counts per channel (@per_channel has
 * layout->channels entries) and, when @total is not NULL, over the tensor.
 * Uses up to @n_threads threads (0 means all cores). */
QsStatus qs_range_stats_compute (const QsChannelLayout *layout,
                                 const float           *data,
                                 int                    n_threads,
                                 QsRangeStats          *per_channel,
                                 QsRangeStats          *total);

/* The range the histograms of @scheme cover: its histogram range when it
 * has one, else [@data_min, @data_max], widened by half a unit each way
 * when empty (as numpy.histogram does). */
void qs_histogram_range (const QsScheme *scheme,
                         double          data_min,
                         double          data_max,
                         double         *lo,
                         double         *hi);

/* The clipping range [lo[c], hi[c]] of every channel, as the scheme's range
 * method chooses it (before the params widen it to contain 0):
 *  - minmax: the finite data range;
 *  - percentile:P: numpy.percentile(x, [100 - P, P]) with linear
 *    interpolation, exact (histogram-guided selection, no copy of the tensor);
 *  - mse: the clip minimizing the quantize-dequantize error, searched over
 *    shrunken ranges alpha * [min, max] (symmetric: alpha * max|x|), the error
 *    measured on a QS_CALIBRATION_BINS-bin histogram at bin centres;
 *  - kl: TensorRT entropy calibration on a QS_CALIBRATION_BINS-bin histogram
 *    of |x| (fewer bins for a channel of under QS_CALIBRATION_BINS / 2
 *    values: the power of two at or above twice its count, at least the
 *    quantization levels): threshold T at the upper edge of the best cut,
 *    range [max(min, -T), min(max, T)];
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

/* A tensor's values, read a block at a time: @read returns block @index
 * (0 <= index < n_blocks) and its length, either in @buffer, which it may
 * fill, or wherever the values already are. */
typedef const float *(*QsValueBlockFunc) (void   *data,
                                          size_t  index,
                                          float  *buffer,
                                          size_t *count);
typedef struct {
  QsValueBlockFunc read;
  void            *data;
  size_t           n_blocks;
  float           *buffer;
} QsValueBlocks;

/* qs_percentile over values read a block at a time (each is read a few
 * times over), @stats being their range statistics: the same result,
 * bit for bit, however the values are split into blocks. */
double qs_percentile_blocks (const QsValueBlocks *blocks,
                             const QsRangeStats  *stats,
                             double               q);

/* Streaming calibration: for a tensor read block by block, the percentile,
 * MSE and KL methods read a histogram of each channel instead of its
 * values. qs_range_histogram_spec says which histogram (false: the method
 * needs none, pass NULL below); qs_range_histogram_accumulate adds a block
 * of values; qs_range_choose_from_histogram picks the range.
 * MSE and KL build the very histogram the in-memory methods build, so
 * their result is identical. Percentile interpolates within a bin of a
 * @percentile_bins-bin histogram over [min, max]: the error is at most one
 * bin width, (max - min) / percentile_bins. */
typedef struct {
  double lo;
  double hi;
  int    bins;
  bool   magnitude;   /* a histogram of |x| */
} QsCalibrationSpec;

bool qs_range_histogram_spec        (const QsScheme     *scheme,
                                     const QsRangeStats *stats,
                                     int                 percentile_bins,
                                     QsCalibrationSpec  *spec);
void qs_range_histogram_accumulate  (const QsCalibrationSpec *spec,
                                     const float             *values,
                                     size_t                   count,
                                     double                  *hist);
void qs_range_choose_from_histogram (const QsScheme          *scheme,
                                     const QsRangeStats      *stats,
                                     const QsCalibrationSpec *spec,
                                     const double            *hist,
                                     float                   *lo,
                                     float                   *hi);

#ifdef __cplusplus
}
#endif
