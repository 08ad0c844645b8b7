/* qs-analysis.h: the fused pass: quantize, dequantize, metrics and histograms in one sweep.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdatomic.h>

#include "qs-params.h"
#include "qs-range.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int       bins;
  double    lo;
  double    hi;
  uint64_t *counts;              /* [bins]: original finite values */
  uint64_t *quantized_counts;    /* [bins]: their reconstructions */
  uint64_t  underflow;           /* original values below lo / above hi */
  uint64_t  overflow;
  uint64_t  quantized_underflow; /* reconstructed values below lo / above hi */
  uint64_t  quantized_overflow;
} QsHistogram;

typedef struct {
  uint64_t    count;             /* all elements */
  uint64_t    finite_count;
  uint64_t    nonfinite_count;
  uint64_t    exact_zero_count;  /* values exactly 0.0 or -0.0 (pruned, padding) */
  double      data_min;          /* finite range */
  double      data_max;
  double      mse;
  double      rmse;
  double      max_abs_error;
  double      sqnr_db;           /* +inf when the error is exactly zero */
  double      cosine;            /* NaN when either vector is all zeros */
  uint64_t    clipped_count;     /* values outside the representable range */
  uint64_t    levels_used;       /* distinct codes that occur */
  bool        zero_exact;        /* dequant(quant(0.0)) == 0.0 in every channel */
  double      zero_error;        /* max over channels of |dequant(quant(0.0))| */
  uint64_t    size_fp32_bytes;
  uint64_t    size_quant_bytes;  /* packed codes, a scale per channel, an asymmetric zero point */
  double      compression_ratio; /* size_fp32_bytes / size_quant_bytes */
  double      bits_per_weight;   /* every stored bit (codes, scales, zero points) per element */
  QsHistogram histogram;
  size_t      channels;          /* per-channel finite data ranges, from the range pass */
  float      *channel_min;       /* [channels] */
  float      *channel_max;       /* [channels] */
  struct _QsBlockInfo *blocks;   /* group-wise and block formats only (qs-block.h), else NULL */
} QsAnalysis;

/* Applies @scheme to @data: the range pass, the range method, the params,
 * then the fused pass. On success @params (uninitialised on entry) and
 * @analysis (uninitialised on entry) are filled and must be cleared by the
 * caller. Uses up to @n_threads threads (0 means all cores); the result does
 * not depend on the number of threads. */
QsStatus qs_analyze (const QsScheme        *scheme,
                     const QsChannelLayout *layout,
                     const float           *data,
                     int                    n_threads,
                     QsQuantParams         *params,
                     QsAnalysis            *analysis);

/* The same, stopping early with QS_STATUS_CANCELLED once *@cancel (NULL:
 * never) becomes non-zero: checked between the range pass, the range
 * method and each 64 Ki-element block of the fused pass, so a cancel lands
 * within about a millisecond of work per thread. Results not cancelled are
 * bit-identical to qs_analyze()'s. Group-wise and block formats check only
 * before their pass. */
QsStatus qs_analyze_cancellable (const QsScheme        *scheme,
                                 const QsChannelLayout *layout,
                                 const float           *data,
                                 int                    n_threads,
                                 const atomic_int      *cancel,
                                 QsQuantParams         *params,
                                 QsAnalysis            *analysis);

/* qs_analyze_cancellable() that takes the range statistics from @memo
 * (see QsRangeMemo) where they describe the layout the scheme analyzes
 * @layout with, and otherwise computes them and leaves them in @memo.
 * Results are bit-identical to qs_analyze()'s. */
QsStatus qs_analyze_remembering (const QsScheme        *scheme,
                                 const QsChannelLayout *layout,
                                 const float           *data,
                                 int                    n_threads,
                                 const atomic_int      *cancel,
                                 QsRangeMemo           *memo,
                                 QsQuantParams         *params,
                                 QsAnalysis            *analysis);

void qs_analysis_clear (QsAnalysis *analysis);

/* The histogram domain of finite data in [@min, @max]: itself, or for
 * constant data (@min == @max) widened by half a unit each way as
 * numpy.histogram does; where half a unit is lost in rounding (|value|
 * of 2^53 and more, such as a constant 1e17), by a relative amount
 * instead, so the domain is never empty. */
void qs_histogram_domain (double  min,
                          double  max,
                          double *lo,
                          double *hi);

/* The fused pass on its own, fed block by block, for tensors streamed from
 * disk. Blocks may come in any size but must come in order. Group-wise and
 * block formats (qs_scheme_is_blockwise()) have no streaming pass:
 * qs_pass_new() returns NULL for them. */
typedef struct _QsPass QsPass;

/* @data: the range statistics of everything that will be fed. */
QsPass  *qs_pass_new    (const QsScheme        *scheme,
                         const QsQuantParams   *params,
                         const QsChannelLayout *layout,
                         const QsRangeStats    *data,
                         double                 hist_lo,
                         double                 hist_hi);
/* The data's histogram over the pass's domain (@counts: below, the
 * bins, above; QsRangeMemo.hist), known before the first feed: per
 * tensor the pass then counts codes alone, bins none of the data and
 * reports these counts. Ignored otherwise, or without memory. */
void     qs_pass_set_data_histogram (QsPass         *pass,
                                     const uint64_t *counts);
/* Blocks fed after *@cancel becomes non-zero are skipped and
 * qs_pass_finish() returns QS_STATUS_CANCELLED. */
void     qs_pass_set_cancel (QsPass           *pass,
                             const atomic_int *cancel);
void     qs_pass_feed   (QsPass      *pass,
                         const float *data,
                         size_t       count,
                         int          n_threads);
/* Fills @analysis from everything fed; data_min/data_max/count fields that
 * the range pass knows are left for the caller. */
QsStatus qs_pass_finish (QsPass     *pass,
                         QsAnalysis *analysis);
void     qs_pass_free   (QsPass *pass);

/* Bytes that @count codes of the scheme take packed, with @channels scales
 * and zero points (float32 and int32 each). For group-wise and block
 * formats @channels is the number of reduction runs (the channel count
 * along the output-channel axis, 1 for a bias) and the size counts every
 * block's scale (qs_block_size_bits()). */
uint64_t qs_quantized_size_bytes (const QsScheme *scheme,
                                  uint64_t        count,
                                  size_t          channels);

/* The name of the fused-pass kernel this CPU runs for integer schemes:
 * "avx512", "avx2", or "scalar" (the reference; also chosen by QS_FORCE_SCALAR=1). */
const char *qs_analysis_kernel_name (void);

/* The number of worker threads 0 stands for: the online CPU count. */
int qs_default_thread_count (void);

#ifdef __cplusplus
}
#endif
