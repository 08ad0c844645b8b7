/* qs-fused-private.h: the fused-pass kernels: a scalar reference and its SIMD twins.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A kernel turns a run of at most QS_FUSED_CHUNK elements into lane sums
 * (floating-point sums kept per lane, lane = position % QS_FUSED_LANES),
 * counts, and increments of three tallies (code, original-value bin,
 * reconstruction bin). The kernels count as they go, a step behind the
 * arithmetic, so the increments (load and store bound) overlap the vector
 * work instead of following it. The SIMD kernels compute exactly what the
 * scalar reference computes, and tests hold them to it bit for bit: the
 * lane layout is what makes that possible.
 */
#pragma once

#include "qs-quantizer-private.h"

#define QS_FUSED_CHUNK 256
#define QS_FUSED_LANES 8

/* Pairs (code, bin) are counted in one table where it is small enough to
 * stay in cache and the tensor large enough to repay clearing and folding
 * it: a quarter million 32-bit entries (int8 with 256 bins takes 66,563)
 * and sixteen elements per entry. The fused pass and the block pass share
 * these bounds. */
#define QS_JOINT_MAX_ENTRIES ((size_t) 1 << 18)
#define QS_JOINT_MIN_ELEMENTS_PER_ENTRY 16

typedef struct {
  double   err2[QS_FUSED_LANES];
  double   x2[QS_FUSED_LANES];
  double   recon2[QS_FUSED_LANES];
  double   cross[QS_FUSED_LANES];
  float    max_error[QS_FUSED_LANES];
  /* Counts do not depend on order: one total each. */
  uint32_t clipped;
  uint32_t nonfinite;
} QsLaneSums;

/* Tallies the kernels increment, slots as in QsFusedArgs. With a joint
 * table, a code and an original-value bin are one increment of
 * joint[code * joint_stride + bin] (32 bits; the caller folds it into
 * codes and orig before it could wrap) instead of two: the increments,
 * not the arithmetic, bound the kernels' speed. Per tensor, joint_stride
 * is 1: code and bin both grow with the value, so their sum already
 * tells the pairs that occur apart (the caller recovers each pair when
 * it folds, see qs-analysis.c), and the table is a few hundred entries
 * that stay in L1 instead of a quarter megabyte. Non-finite values sit
 * at skip_code_slot + bins + 2, above every finite value's sum. */
typedef struct {
  uint64_t *codes;   /* [skip_code_slot + 1], unless joint */
  uint64_t *orig;    /* [bins + 3], unless joint */
  uint64_t *recon;   /* [bins + 3], only where direct_recon */
  uint32_t *joint;   /* [(skip_code_slot + 1) * joint_stride], only where joint_stride > 0 */
} QsFusedCounts;

typedef struct {
  /* Per-channel coefficients (see qs-quantizer-private.h), as arrays so a
   * row of a channels-last tensor reads them contiguously. */
  const float *inv;
  const float *add;
  const float *lo;
  const float *hi;
  const float *post;
  const float *sub;
  const float *scale;
  int32_t      qmin;
  int32_t      skip_code_slot;   /* where non-finite values are counted */
  int32_t      bins;             /* histogram slots: 0 under, 1..bins, bins + 1 over, bins + 2 skipped */
  float        hist_lo;
  float        hist_hi;
  float        hist_inv_width;
  QsRounding   rounding;
  bool         direct_recon;     /* count reconstruction bins (per-channel); else the caller derives them from codes */
  int32_t      joint_stride;     /* bins + 3 (per channel) or 1 (per tensor) to count (code, bin) pairs in QsFusedCounts.joint, or 0 */
  /* Every finite value lies in [hist_lo, hist_hi], and so does 0.0 if any
   * value is not finite (non-finite values are binned as 0.0 per tensor):
   * then no slot is above hist_hi and the kernels skip that test. */
  bool         values_in_domain;
  /* Per tensor (joint_stride 1) with the data's histogram known
   * (qs_pass_set_data_histogram): finite values count at their code
   * alone, their bin taken as 0 and not computed; non-finite ones where
   * they were. */
  bool         codes_alone;
  QsFormat     format;           /* for the float formats' chunk kernel (qs-analysis.c) */
} QsFusedArgs;

/* Elements x[0..n) of one chunk: element j uses channel c0 + j * stride
 * (stride 0 or 1). */
typedef void (*QsFusedIntKernel) (const QsFusedArgs   *args,
                                  const float         *x,
                                  size_t               n,
                                  size_t               c0,
                                  size_t               stride,
                                  QsLaneSums          *sums,
                                  const QsFusedCounts *counts);

void qs_fused_int_scalar (const QsFusedArgs *args, const float *x, size_t n, size_t c0,
                          size_t stride, QsLaneSums *sums, const QsFusedCounts *counts);
#if defined(__x86_64__)
void qs_fused_int_avx2   (const QsFusedArgs *args, const float *x, size_t n, size_t c0,
                          size_t stride, QsLaneSums *sums, const QsFusedCounts *counts);
#endif

/* The sums of a run of chunks: the double sums of its block, to which
 * each chunk's lane sums are added lane by lane, in lane order (so the
 * order of additions depends on positions only), and order-free totals. */
typedef struct {
  double   err2;
  double   x2;
  double   recon2;
  double   cross;
  float    max_error;
  uint64_t clipped;
  uint64_t nonfinite;
} QsFusedSpanSums;


/* A run of elements x[0..n) in chunks: the first @head elements (at most
 * QS_FUSED_CHUNK) are one chunk, then every QS_FUSED_CHUNK elements, each
 * chunk with lane sums of its own as in QsFusedIntKernel, folded into
 * @sums at its end. Element j uses channel c0 + j * stride. One call per
 * run spares the per-chunk call and set-up, which cost as much as a fifth
 * of the pass. */
typedef void (*QsFusedSpanKernel) (const QsFusedArgs   *args,
                                   const float         *x,
                                   size_t               n,
                                   size_t               c0,
                                   size_t               stride,
                                   size_t               head,
                                   QsFusedSpanSums     *sums,
                                   const QsFusedCounts *counts);

/* The span kernel of a chunk kernel: one chunk at a time. */
void qs_fused_span_of_chunks (QsFusedIntKernel chunk_kernel, const QsFusedArgs *args,
                              const float *x, size_t n, size_t c0, size_t stride, size_t head,
                              QsFusedSpanSums *sums, const QsFusedCounts *counts);
#if defined(__x86_64__)
void qs_fused_span_avx512 (const QsFusedArgs *args, const float *x, size_t n, size_t c0,
                           size_t stride, size_t head, QsFusedSpanSums *sums,
                           const QsFusedCounts *counts);
#endif

/* The best kernel this CPU runs: the AVX-512 span kernel (F and DQ), else
 * NULL and the chunk kernel (AVX2, else the reference) by
 * qs_fused_span_of_chunks. For tests and for comparing speed,
 * QS_FORCE_SCALAR=1 in the environment selects the reference and
 * QS_FORCE_AVX2=1 the AVX2 kernel. */
QsFusedSpanKernel qs_fused_span_kernel (void);
QsFusedIntKernel  qs_fused_int_kernel  (void);

/* Min, max, non-finite count and count of zeros (+0 and -0) of a
 * contiguous run, for the range pass. The range pass counts the zeros
 * because it is bound by reading memory and has arithmetic to spare; the
 * fused pass is bound by arithmetic. */
typedef void (*QsMinMaxKernel) (const float *v,
                                size_t       n,
                                float       *min,
                                float       *max,
                                uint64_t    *nonfinite,
                                uint64_t    *zeros);

void qs_minmax_scalar (const float *v, size_t n, float *min, float *max, uint64_t *nonfinite, uint64_t *zeros);
#if defined(__x86_64__)
void qs_minmax_avx2   (const float *v, size_t n, float *min, float *max, uint64_t *nonfinite, uint64_t *zeros);
void qs_minmax_avx512 (const float *v, size_t n, float *min, float *max, uint64_t *nonfinite, uint64_t *zeros);
#endif
QsMinMaxKernel qs_minmax_kernel (void);

/* The clamped level r of a finite value in channel c, and whether it was
 * clipped, as every kernel computes it. */
static inline float
qs_fused_level (const QsFusedArgs *a,
                size_t             c,
                float              v,
                bool              *clipped)
{
  float t = qs_clampf (v * a->inv[c] + a->add[c], a->lo[c] - 1.0f, a->hi[c] + 1.0f);
  float r = qs_round (t, a->rounding);

  *clipped = r < a->lo[c] || r > a->hi[c];
  r = r < a->lo[c] ? a->lo[c] : r;
  return r > a->hi[c] ? a->hi[c] : r;
}

/* One histogram slot, as every kernel computes it: 0 below hist_lo,
 * bins + 1 above hist_hi, and everything in [hist_lo, hist_hi] in a bin,
 * as numpy.histogram counts it: the top edge, and a value just below it
 * whose arithmetic rounds up past the last bin, belong to the last bin.
 * The slot is shifted by one so truncation is floor at or above lo. */
static inline int32_t
qs_fused_hist_slot (const QsFusedArgs *args,
                    float              x)
{
  if (x > args->hist_hi)
    return args->bins + 1;
  return (int32_t) qs_clampf ((x - args->hist_lo) * args->hist_inv_width + 1.0f, 0.0f, (float) args->bins);
}
