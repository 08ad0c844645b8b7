/* qs-kernels.h: the engine's kernels: a scalar reference and optimized variants per ISA.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every kernel works on caller-owned buffers and never allocates. The
 * scalar files are the reference: an optimized kernel must give the same
 * bits for the same inputs (tests/engine/test-kernels.c checks this on
 * random shapes and extreme codes). One place, qs-dispatch.c, picks the
 * variants for the CPU at run time.
 *
 * Integer conventions:
 *  - activations are uint8 codes, NHWC;
 *  - weights of 2..8 bits are int8 codes (shifted into [-128, 127] when the
 *    scheme's code range is unsigned), weights of 9..16 bits int16 codes;
 *  - a GEMM row of A is one output pixel's receptive field (im2col order
 *    ky, kx, ci) or one dense input vector; the weight matrix is [n][k].
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quant/qs-scheme.h"

#ifdef __cplusplus
extern "C" {
#endif

/* K of the int8 GEMM is padded to a multiple of this (with zero weights)
 * so every ISA reads whole groups; rows of A must be readable (not
 * necessarily initialised beyond K) up to the padded length. */
#define QS_GEMM_K_ALIGN 8

/* Activation buffers handed to kernels carry this many readable bytes past
 * their end, so vector loads of a last partial group stay in bounds. */
#define QS_KERNEL_SLACK 64

static inline size_t
qs_gemm_padded_k (size_t k)
{
  return (k + QS_GEMM_K_ALIGN - 1) / QS_GEMM_K_ALIGN * QS_GEMM_K_ALIGN;
}

/* How an int32 accumulator becomes a uint8 code (TFLite/gemmlowp rules):
 *
 *   total = acc + bias[c] - weight_zp[c] * rowsum[r]
 *           - ((frac_q16[c] * (rowsum[r] - input_zp_sum) + 2^15) >> 16)
 *   x     = total * 2^left_shift[c]            (saturating)
 *   y     = RoundingDivideByPOT (SaturatingRoundingDoublingHighMul (x, multiplier[c]),
 *                                right_shift[c])
 *   code  = clamp (y + output_zp, act_min, act_max)
 *
 * weight_zp, left_shift and frac_q16 may be NULL (all zero); rowsum is the
 * sum of the row's uint8 codes over K and is only read when weight_zp or
 * frac_q16 is set. The sums wrap modulo 2^32 (the engine keeps K small
 * enough that they never do). */
typedef struct {
  const int32_t *bias;
  const int32_t *weight_zp;
  const int32_t *multiplier;   /* Q0.31 in [2^30, 2^31), or 0 for an output that is always zero */
  const int32_t *right_shift;  /* 0..31 */
  const int32_t *left_shift;   /* 0..30, or NULL */
  const int32_t *frac_q16;     /* fractional weight zero point in Q16, or NULL */
  int32_t        input_zp_sum; /* K * input zero point, used with frac_q16 */
  int32_t        output_zp;
  int32_t        act_min;
  int32_t        act_max;
} QsRequantParams;

/* The 64-bit twin for 9..16-bit weights, whose sums need int64. */
typedef struct {
  const int64_t *bias;
  const int32_t *weight_zp;
  const int32_t *multiplier;
  const int32_t *right_shift;
  const int32_t *left_shift;
  const int32_t *frac_q16;
  int64_t        input_zp_sum;
  int32_t        output_zp;
  int32_t        act_min;
  int32_t        act_max;
} QsRequantParams64;

/* gemmlowp's SaturatingRoundingDoublingHighMul: the high 32 bits of 2*a*b,
 * rounded to nearest with ties toward +infinity (the nudge is 2^30 for a
 * non-negative product, 1 - 2^30 otherwise, and the division truncates
 * toward zero, so -0.5 becomes 0 and +0.5 becomes 1); INT32_MIN * INT32_MIN
 * saturates to INT32_MAX. */
static inline int32_t
qs_srdhm (int32_t a,
          int32_t b)
{
  int64_t ab, nudge;

  if (a == INT32_MIN && b == INT32_MIN)
    return INT32_MAX;
  ab = (int64_t) a * (int64_t) b;
  nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
  return (int32_t) ((ab + nudge) / ((int64_t) 1 << 31));
}

/* gemmlowp's RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties
 * away from zero. */
static inline int32_t
qs_rounding_divide_by_pot (int32_t x,
                           int     exponent)
{
  int32_t mask = (int32_t) (((int64_t) 1 << exponent) - 1);
  int32_t remainder = x & mask;
  int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);

  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLite's QuantizeMultiplier: @real = multiplier * 2^(exponent - 31) with
 * multiplier in [2^30, 2^31). Returned as a right shift (>= 0) and a left
 * shift (>= 0); multipliers below 2^-31 become 0, above 2^30 saturate. */
void qs_quantize_multiplier (double   real,
                             int32_t *multiplier,
                             int32_t *right_shift,
                             int32_t *left_shift);

/* The corrected sum before rescaling (first line of the rules above), and
 * its 64-bit twin: what a float output (the logits) is made of. */
int32_t qs_requantize_total   (int32_t                  acc,
                               int32_t                  rowsum,
                               size_t                   channel,
                               const QsRequantParams   *params);
int64_t qs_requantize_total64 (int64_t                  acc,
                               int32_t                  rowsum,
                               size_t                   channel,
                               const QsRequantParams64 *params);

/* One accumulator through the whole requantization (the scalar reference
 * the vector kernels are tested against). */
uint8_t qs_requantize_one (int32_t                acc,
                           int32_t                rowsum,
                           size_t                 channel,
                           const QsRequantParams *params);

/* ---- int8 GEMM: C[m][n] = sum_k A[m][k] * W[n][k] ------------------------ */

/* Bytes of packed weights for @n output channels and padded @kp. */
typedef size_t (*QsGemmPackedSizeFunc) (size_t n,
                                        size_t kp);
/* Packs W ([n][k] int8, row stride k) into the kernel's layout; k..kp are zero. */
typedef void   (*QsGemmPackFunc)       (size_t        n,
                                        size_t        k,
                                        size_t        kp,
                                        const int8_t *w,
                                        void         *packed);
/* Raw int32 sums of @m rows of A (row stride @lda, readable up to kp) times
 * the packed weights, into C (row stride @ldc). */
typedef void   (*QsGemmFunc)           (size_t         m,
                                        size_t         n,
                                        size_t         kp,
                                        const uint8_t *a,
                                        size_t         lda,
                                        const void    *packed,
                                        int32_t       *c,
                                        size_t         ldc);
/* A GEMM whose sums go out requantized to codes (rows of @ldout). */
typedef void (*QsGemmRequantFunc) (size_t m, size_t n, size_t kp, const uint8_t *a, size_t lda,
                                   const void *packed, const int32_t *rowsum,
                                   const QsRequantParams *params, uint8_t *out, size_t ldout);

/* The requantizing GEMM on rows given as @segs segments of @seg_len codes
 * (a multiple of 4, segs * seg_len <= kp): row r's k = s * seg_len + j
 * is rows[r * segs + s][j]. A convolution's window rows are such
 * segments (kernel_w * in_c contiguous codes of the NHWC input each), so
 * no im2col copy is needed where the window lies inside the image. The
 * weights past segs * seg_len are zero (not read); no row sums (weights
 * without zero points). */
#define QS_GEMM_MAX_SEGMENTS 16
typedef void (*QsGemmRequantIndirectFunc) (size_t m, size_t n, size_t kp, size_t segs, size_t seg_len,
                                           const uint8_t *const *rows, const void *packed,
                                           const QsRequantParams *params, uint8_t *out, size_t ldout);

/* Requantizes @rows x @n accumulators (see QsRequantParams). */
typedef void   (*QsRequantFunc)        (size_t                 rows,
                                        size_t                 n,
                                        const int32_t         *acc,
                                        size_t                 ldacc,
                                        const int32_t         *rowsum,
                                        const QsRequantParams *params,
                                        uint8_t               *out,
                                        size_t                 ldout);

/* The blocked layout of the SIMD u8s8 GEMMs (qs-gemm-pack.c): blocks of
 * @nb channels, @group adjacent k per channel, int16 elements if @widen
 * (@elem_size 2) else int8 (1); padding channels and k are zero. */
size_t qs_gemm_blocked_size (size_t n, size_t kp, size_t nb, size_t elem_size);
void   qs_gemm_pack_blocked (size_t n, size_t k, size_t kp, const int8_t *w,
                             size_t nb, size_t group, bool widen, void *packed);

size_t qs_gemm_u8s8_packed_size_scalar (size_t n, size_t kp);
void   qs_gemm_u8s8_pack_scalar (size_t n, size_t k, size_t kp, const int8_t *w, void *packed);
void   qs_gemm_u8s8_scalar      (size_t m, size_t n, size_t kp, const uint8_t *a, size_t lda,
                                 const void *packed, int32_t *c, size_t ldc);
void   qs_requantize_u8_scalar  (size_t rows, size_t n, const int32_t *acc, size_t ldacc,
                                 const int32_t *rowsum, const QsRequantParams *params,
                                 uint8_t *out, size_t ldout);
/* The reference of the indirect GEMM, on qs_gemm_u8s8_pack_scalar's weights. */
void   qs_gemm_requant_indirect_u8s8_scalar (size_t m, size_t n, size_t kp, size_t segs, size_t seg_len,
                                             const uint8_t *const *rows, const void *packed,
                                             const QsRequantParams *params, uint8_t *out, size_t ldout);

#if defined(__x86_64__) || defined(_M_X64)
size_t qs_gemm_u8s8_packed_size_avx2 (size_t n, size_t kp);
void   qs_gemm_u8s8_pack_avx2 (size_t n, size_t k, size_t kp, const int8_t *w, void *packed);
void   qs_gemm_u8s8_avx2      (size_t m, size_t n, size_t kp, const uint8_t *a, size_t lda,
                               const void *packed, int32_t *c, size_t ldc);
void   qs_requantize_u8_avx2  (size_t rows, size_t n, const int32_t *acc, size_t ldacc,
                               const int32_t *rowsum, const QsRequantParams *params,
                               uint8_t *out, size_t ldout);

/* The GEMM of qs_gemm_u8s8_avx512vnni with its sums requantized in
 * registers (qs_requantize_u8_avx512's codes, bit for bit), for
 * parameters without left shifts or fractional scales. */
void   qs_gemm_requant_u8s8_avx512vnni (size_t m, size_t n, size_t kp, const uint8_t *a, size_t lda,
                                        const void *packed, const int32_t *rowsum,
                                        const QsRequantParams *params, uint8_t *out, size_t ldout);
void   qs_gemm_requant_indirect_u8s8_avx512vnni (size_t m, size_t n, size_t kp, size_t segs,
                                                 size_t seg_len, const uint8_t *const *rows,
                                                 const void *packed, const QsRequantParams *params,
                                                 uint8_t *out, size_t ldout);
void   qs_requantize_u8_avx512 (size_t rows, size_t n, const int32_t *acc, size_t ldacc,
                                const int32_t *rowsum, const QsRequantParams *params,
                                uint8_t *out, size_t ldout);

size_t qs_gemm_u8s8_packed_size_avx512vnni (size_t n, size_t kp);
void   qs_gemm_u8s8_pack_avx512vnni (size_t n, size_t k, size_t kp, const int8_t *w, void *packed);
void   qs_gemm_u8s8_avx512vnni      (size_t m, size_t n, size_t kp, const uint8_t *a, size_t lda,
                                     const void *packed, int32_t *c, size_t ldc);

/* AMX-INT8 (tdpbusd) on qs_gemm_u8s8_pack_avx512vnni's packing: the
 * VNNI kernels' sums and codes, bit for bit. The caller makes sure the
 * CPU has AMX and the process the tile state (qs-dispatch.c). */
void   qs_gemm_u8s8_amx         (size_t m, size_t n, size_t kp, const uint8_t *a, size_t lda,
                                 const void *packed, int32_t *c, size_t ldc);
void   qs_gemm_requant_u8s8_amx (size_t m, size_t n, size_t kp, const uint8_t *a, size_t lda,
                                 const void *packed, const int32_t *rowsum,
                                 const QsRequantParams *params, uint8_t *out, size_t ldout);
#endif

/* ---- 9..16-bit weights: int64 sums --------------------------------------- */

/* Raw int64 sums of @m rows of A (row stride @lda, @k valid) times W
 * ([n][k] int16 codes, unpacked), into C (row stride @ldc). */
typedef void (*QsGemm16Func) (size_t m, size_t n, size_t k, const uint8_t *a, size_t lda,
                              const int16_t *w, int64_t *c, size_t ldc);

void qs_gemm_u8s16_scalar     (size_t m, size_t n, size_t k, const uint8_t *a, size_t lda,
                               const int16_t *w, int64_t *c, size_t ldc);
#if defined(__x86_64__) || defined(_M_X64)
void qs_gemm_u8s16_avx2       (size_t m, size_t n, size_t k, const uint8_t *a, size_t lda,
                               const int16_t *w, int64_t *c, size_t ldc);
#endif
void qs_requantize_u8_i64_scalar (size_t rows, size_t n, const int64_t *acc, size_t ldacc,
                                  const int32_t *rowsum, const QsRequantParams64 *params,
                                  uint8_t *out, size_t ldout);

/* ---- depthwise convolution ---------------------------------------------- */

typedef struct {
  int in_h, in_w, channels;
  int kernel_h, kernel_w;
  int stride_h, stride_w;
  int pad_top, pad_left;
  int out_h, out_w;
  int32_t input_zp;
  const uint8_t *zero_row;  /* channels (+ QS_KERNEL_SLACK) bytes of input_zp */
} QsDepthwiseShape;

/* The scalar depthwise kernels' window walk: the input pixel (its
 * @s->channels codes) under tap (@ky, @kx) of output (@oy, @ox), or NULL
 * where the tap falls in the padding and contributes nothing. */
static inline const uint8_t *
qs_depthwise_tap (const QsDepthwiseShape *s,
                  const uint8_t          *input,
                  int                     oy,
                  int                     ox,
                  int                     ky,
                  int                     kx)
{
  int iy = oy * s->stride_h - s->pad_top + ky;
  int ix = ox * s->stride_w - s->pad_left + kx;

  if (iy < 0 || iy >= s->in_h || ix < 0 || ix >= s->in_w)
    return NULL;
  return input + ((size_t) iy * s->in_w + ix) * s->channels;
}

/* Weights are (code - weight zero point) as int16, [kernel_h * kernel_w][channels];
 * with the input zero point subtracted too, every tap is one exact product. */
typedef size_t (*QsDepthwisePackedSizeFunc) (size_t taps, size_t channels);
typedef void   (*QsDepthwisePackFunc)       (size_t taps, size_t channels,
                                             const int16_t *w, void *packed);
/* The int32 sums of output row @oy of one image, [out_w][channels]. */
typedef void   (*QsDepthwiseFunc)           (const QsDepthwiseShape *shape,
                                             const uint8_t          *input,
                                             const void             *packed,
                                             int                     oy,
                                             int32_t                *acc);

size_t qs_depthwise_u8s8_packed_size_scalar (size_t taps, size_t channels);
void   qs_depthwise_u8s8_pack_scalar (size_t taps, size_t channels, const int16_t *w, void *packed);
void   qs_depthwise_u8s8_scalar      (const QsDepthwiseShape *shape, const uint8_t *input,
                                      const void *packed, int oy, int32_t *acc);
#if defined(__x86_64__) || defined(_M_X64)
size_t qs_depthwise_u8s8_packed_size_avx2 (size_t taps, size_t channels);
void   qs_depthwise_u8s8_pack_avx2 (size_t taps, size_t channels, const int16_t *w, void *packed);
void   qs_depthwise_u8s8_avx2      (const QsDepthwiseShape *shape, const uint8_t *input,
                                    const void *packed, int oy, int32_t *acc);
size_t qs_depthwise_u8s8_packed_size_avx512vnni (size_t taps, size_t channels);
void   qs_depthwise_u8s8_pack_avx512vnni (size_t taps, size_t channels, const int16_t *w,
                                          void *packed);
void   qs_depthwise_u8s8_avx512vnni      (const QsDepthwiseShape *shape, const uint8_t *input,
                                          const void *packed, int oy, int32_t *acc);
/* The same sums without VBMI's byte interleave, which
 * qs_depthwise_u8s8_avx512vnni takes where the CPU lacks VBMI. */
void   qs_depthwise_u8s8_avx512vnni_no_vbmi (const QsDepthwiseShape *shape, const uint8_t *input,
                                             const void *packed, int oy, int32_t *acc);
#endif

/* The sums of output rows [@oy0, @oy1) of one image requantized to codes
 * (as qs_requantize_u8_* does rows without row sums) in the same pass, into
 * @out, that image's [out_h][out_w][channels] codes. */
typedef void   (*QsDepthwiseRequantFunc)    (const QsDepthwiseShape *shape,
                                             const uint8_t          *input,
                                             const void             *packed,
                                             const QsRequantParams  *params,
                                             int                     oy0,
                                             int                     oy1,
                                             uint8_t                *out);
void qs_depthwise_requant_u8s8_scalar (const QsDepthwiseShape *shape, const uint8_t *input,
                                       const void *packed, const QsRequantParams *params,
                                       int oy0, int oy1, uint8_t *out);
#if defined(__x86_64__) || defined(_M_X64)
void qs_depthwise_requant_u8s8_avx2 (const QsDepthwiseShape *shape, const uint8_t *input,
                                     const void *packed, const QsRequantParams *params,
                                     int oy0, int oy1, uint8_t *out);
void qs_depthwise_requant_u8s8_avx512vnni (const QsDepthwiseShape *shape, const uint8_t *input,
                                           const void *packed, const QsRequantParams *params,
                                           int oy0, int oy1, uint8_t *out);
void qs_depthwise_requant_u8s8_avx512vnni_no_vbmi (const QsDepthwiseShape *shape,
                                                   const uint8_t *input, const void *packed,
                                                   const QsRequantParams *params,
                                                   int oy0, int oy1, uint8_t *out);
#endif

/* 9..16-bit depthwise weights: (code - zero point) as int32, int64 sums. */
void qs_depthwise_u8s16_scalar (const QsDepthwiseShape *shape, const uint8_t *input,
                                const int32_t *w, int oy, int64_t *acc);

/* ---- group-wise integer weights ------------------------------------------ */

/* Weights with one scale and zero point per @group_size consecutive taps of
 * each output channel's k (the last group may be short):
 * real = scales[b] * (codes - zero_points[b]) with b = c * groups_per_channel
 * + g. @codes are [n][k] int8 (unsigned code ranges shifted by -128 with
 * their zero points), or, where @codes16 is set instead, [n][k] int16
 * (block elements too wide for int8: MXFP6 E3M2's values times 16, up to
 * 448); @code_sums [n][groups] are each group's sum (codes - zero point),
 * from qs_groupwise_code_sums.
 *
 * Exactness: every int32 sum a kernel forms over one group (of a * code,
 * a * zero point, z_a * (code - zero point), with a and z_a <= 255) is at
 * most 255 * group_size * m in magnitude, m the largest |code|, |zero
 * point| or |code - zero point|; qs_groupwise_sums_fit says whether that
 * is below 2^31. int8 codes (m <= 255) allow groups of 33,025 taps (the
 * engine stops at 16384); MXFP6 E3M2's blocks of 32 with m = 448 reach
 * 255 * 448 * 32 = 3,655,680, far from 2^31 (and below 2^24, so even the
 * float32 conversion of a sum is exact). The vector kernels store
 * (code - zero point) as int16, so it must fit. */
typedef struct {
  size_t         n, k;
  size_t         group_size;
  size_t         groups_per_channel;
  const int8_t  *codes;
  const int32_t *zero_points;
  const int32_t *code_sums;
  const float   *scales;
  const int16_t *codes16;
  /* Some (code - zero point) of the whole layer is outside int8
   * (qs_groupwise_offsets_wide): known before any of it is packed, since
   * a layer may be packed a range of channels at a time. */
  bool           wide_offsets;
  /* NULL, or 16 values, 0 among them, that every (code - zero point) of
   * the whole layer is one of (qs_groupwise_offsets_in_nibbles): a
   * packing may then store 4-bit indices into them (4-bit symmetric
   * integers, MXFP4 and NVFP4's elements), half the bytes of int8. */
  const int8_t  *nibble_values;
  /* NULL, or 64 values, 0 among them, that every (code - zero point) of
   * the whole layer's int16 codes is one of
   * (qs_groupwise_offsets_in_wide_values): MXFP6 E3M2's elements times
   * 16, in the order of their 6-bit codes. A packing may then store 1-byte
   * indices into them, half the bytes of int16. */
  const int16_t *wide_values;
} QsGroupwiseWeights;

bool qs_groupwise_offsets_wide (const QsGroupwiseWeights *w);
/* Whether every (code - zero point) of @w is one of @w->nibble_values. */
bool qs_groupwise_offsets_in_nibbles (const QsGroupwiseWeights *w);
/* Whether every (code - zero point) of @w is one of @w->wide_values. */
bool qs_groupwise_offsets_in_wide_values (const QsGroupwiseWeights *w);

/* Whether groups of @group_size taps whose codes, zero points and their
 * differences are at most @m in magnitude keep every int32 sum exact. */
static inline bool
qs_groupwise_sums_fit (size_t group_size,
                       size_t m)
{
  return m <= 32768 && group_size <= INT32_MAX / (255 * (m > 0 ? m : 1));
}

/* Code @t of output channel @c, from whichever array the weights have. */
static inline int32_t
qs_groupwise_code (const QsGroupwiseWeights *w,
                   size_t                    c,
                   size_t                    t)
{
  return w->codes16 != NULL ? w->codes16[c * w->k + t] : w->codes[c * w->k + t];
}

/* The activations' quantizer: real = scale * (code - zero_code - zero_frac). */
typedef struct {
  float   scale;
  int32_t zero_code;
  float   zero_frac;
} QsGroupwiseInput;

void qs_groupwise_code_sums (const QsGroupwiseWeights *w, int32_t *code_sums);

/* Taps in group @g of each channel: group_size, or fewer for the last. */
static inline size_t
qs_groupwise_group_length (const QsGroupwiseWeights *w,
                           size_t                    g)
{
  size_t t0 = g * w->group_size;

  return t0 + w->group_size < w->k ? w->group_size : w->k - t0;
}

/* Real outputs c[i][j] = bias[j] + sum over groups of
 * (in->scale * scales[b]) * (group's int32 sum of (a - zero_code) (code - zero point)
 * - zero_frac * code_sums[b]), accumulated in float32 in group order. */
void qs_gemm_groupwise_u8_scalar (size_t m, const uint8_t *a, size_t lda,
                                  const QsGroupwiseWeights *w, const QsGroupwiseInput *in,
                                  const float *bias, float *c, size_t ldc);

/* Depthwise weights in groups along each channel's kernel_h * kernel_w
 * taps (a depthwise layer's reduction axis, so every channel's groups
 * cover the same tap ranges): real = scales[g][c] * w[t][c] for tap t in
 * group g = t / group_size, with w the int16 (code - zero point),
 * [taps][channels], and code_sums[g][c] each group's sum of w. The
 * int32 sums are exact where qs_groupwise_sums_fit (group_size, max |w|):
 * groups of at most 16384 taps of |w| <= 255, MXFP6 E3M2's (|w| <= 448,
 * a 3x3 window in one block of 32). */
typedef struct {
  size_t         channels, taps;
  size_t         group_size, groups;
  const int16_t *w;
  const int32_t *code_sums;
  const float   *scales;
} QsDepthwiseGroupWeights;

void qs_depthwise_group_code_sums (size_t channels, size_t taps, size_t group_size,
                                   const int16_t *w, int32_t *code_sums);

/* Real outputs of row @oy, out[ox][c] = bias[c] + sum over groups of
 * (in->scale * scales[g][c]) * (group's int32 sum of (a - zero_code) w
 * - zero_frac * code_sums[g][c]), accumulated in float32 in group order
 * as qs_gemm_groupwise_u8_scalar does; a padded tap stands for the code
 * zero_code. @acc is scratch for @w->channels sums. */
void qs_depthwise_groupwise_u8_scalar (const QsDepthwiseShape *shape, const uint8_t *input,
                                       const QsDepthwiseGroupWeights *w,
                                       const QsGroupwiseInput *in, const float *bias,
                                       int oy, int32_t *acc, float *out);

/* The packing of the GEMMs that take two taps of a channel per int32 lane
 * (AVX2's vpmaddwd, AVX-512's vpdpwssd for int16 codes): per block of @nb
 * output channels and per group, the group's @nb code sums (int32) and
 * scales (float), then its taps in k-pairs of (code - zero point) as
 * int16, [pairs][nb][2]; channels past n and a group's odd last tap's
 * partner are zero. */
size_t qs_groupwise_pairs_group_bytes (const QsGroupwiseWeights *w, size_t g, size_t nb);
size_t qs_groupwise_pairs_block_bytes (const QsGroupwiseWeights *w, size_t nb);
void   qs_groupwise_pack_pairs        (const QsGroupwiseWeights *w, size_t c0, size_t nb,
                                       void *packed);
float  qs_groupwise_pairs_weight      (const QsGroupwiseWeights *w, size_t nb, const void *packed,
                                       size_t c, size_t t);

/* The optimized group-wise kernels: the same outputs as the scalar ones,
 * bit for bit. The GEMM reads its weights from its own packing of @w
 * (codes, zero points, code sums and scales: all of it), made whole or a
 * range of channels at a time (so a layer's codes need never be held at
 * once): the pack function writes @w, the layer's channels c0 ..
 * c0 + w->n - 1 (c0 a multiple of groupwise_pack_channels, and w->n too
 * unless they are the layer's last; w->wide_offsets the whole layer's),
 * into their place in the layer's packing @packed. The packed weight
 * function reads back the reconstruction (float) (code - zero point) *
 * scale of channel @c, tap @t of a whole layer's packing. */
typedef size_t (*QsGroupwisePackedSizeFunc) (const QsGroupwiseWeights *w);
typedef void   (*QsGroupwisePackFunc)       (const QsGroupwiseWeights *w, size_t c0,
                                             void *packed);
typedef float  (*QsGroupwisePackedWeightFunc) (const QsGroupwiseWeights *w, const void *packed,
                                               size_t c, size_t t);
typedef void   (*QsGroupwiseGemmFunc)       (size_t m, const uint8_t *a, size_t lda,
                                             const QsGroupwiseWeights *w, const void *packed,
                                             const QsGroupwiseInput *in, const float *bias,
                                             float *c, size_t ldc);
typedef void   (*QsDepthwiseGroupwiseFunc)  (const QsDepthwiseShape *shape, const uint8_t *input,
                                             const QsDepthwiseGroupWeights *w,
                                             const QsGroupwiseInput *in, const float *bias,
                                             int oy, int32_t *acc, float *out);
#if defined(__x86_64__) || defined(_M_X64)
size_t qs_gemm_groupwise_packed_size_avx2 (const QsGroupwiseWeights *w);
void   qs_gemm_groupwise_pack_avx2        (const QsGroupwiseWeights *w, size_t c0, void *packed);
float  qs_gemm_groupwise_packed_weight_avx2 (const QsGroupwiseWeights *w, const void *packed,
                                             size_t c, size_t t);
void   qs_gemm_groupwise_u8_avx2          (size_t m, const uint8_t *a, size_t lda,
                                           const QsGroupwiseWeights *w, const void *packed,
                                           const QsGroupwiseInput *in, const float *bias,
                                           float *c, size_t ldc);
void   qs_depthwise_groupwise_u8_avx2     (const QsDepthwiseShape *shape, const uint8_t *input,
                                           const QsDepthwiseGroupWeights *w,
                                           const QsGroupwiseInput *in, const float *bias,
                                           int oy, int32_t *acc, float *out);
size_t qs_gemm_groupwise_packed_size_avx512vnni (const QsGroupwiseWeights *w);
void   qs_gemm_groupwise_pack_avx512vnni        (const QsGroupwiseWeights *w, size_t c0,
                                                 void *packed);
float  qs_gemm_groupwise_packed_weight_avx512vnni (const QsGroupwiseWeights *w,
                                                   const void *packed, size_t c, size_t t);
void   qs_gemm_groupwise_u8_avx512vnni          (size_t m, const uint8_t *a, size_t lda,
                                                 const QsGroupwiseWeights *w, const void *packed,
                                                 const QsGroupwiseInput *in, const float *bias,
                                                 float *c, size_t ldc);
void   qs_depthwise_groupwise_u8_avx512vnni     (const QsDepthwiseShape *shape, const uint8_t *input,
                                                 const QsDepthwiseGroupWeights *w,
                                                 const QsGroupwiseInput *in, const float *bias,
                                                 int oy, int32_t *acc, float *out);
/* The int16 weights (codes16) of the AVX-512 VNNI group-wise GEMM, which
 * its entry points above hand to these (vpdpwssd on activation pairs):
 * int16 pairs (qs_groupwise_pack_pairs), or, where @w has wide_values,
 * 1-byte indices into them (@indexed: the packing's own head holds the
 * values for the readers). */
size_t qs_gemm_groupwise_u8s16_packed_size_avx512vnni (const QsGroupwiseWeights *w);
void   qs_gemm_groupwise_u8s16_pack_avx512vnni        (const QsGroupwiseWeights *w, size_t c0,
                                                       void *packed);
float  qs_gemm_groupwise_u8s16_packed_weight_avx512vnni (const QsGroupwiseWeights *w, bool indexed,
                                                         const void *packed, size_t c, size_t t);
void   qs_gemm_groupwise_u8s16_avx512vnni             (size_t m, const uint8_t *a, size_t lda,
                                                       const QsGroupwiseWeights *w, bool indexed,
                                                       const void *packed,
                                                       const QsGroupwiseInput *in, const float *bias,
                                                       float *c, size_t ldc);
#endif

/* ---- real outputs to codes ------------------------------------------------ */

/* A layer computed in real numbers (float formats, group-wise sums) to its
 * output codes: x = clamp (r, lo, hi) (the activation: ReLU's 0, ReLU6's
 * 6), code = clamp (rintf (x / scale + zero_point), code_min, code_max)
 * in float32, ties to even. */
typedef struct {
  float   lo, hi;
  float   scale, zero_point;
  int32_t code_min, code_max;
} QsRealQuant;

typedef void (*QsQuantizeRealFunc) (const QsRealQuant *p, const float *r, size_t count, uint8_t *out);
void qs_quantize_real_u8_scalar (const QsRealQuant *p, const float *r, size_t count, uint8_t *out);
#if defined(__x86_64__) || defined(_M_X64)
void qs_quantize_real_u8_avx2   (const QsRealQuant *p, const float *r, size_t count, uint8_t *out);
void qs_quantize_real_u8_avx512 (const QsRealQuant *p, const float *r, size_t count, uint8_t *out);
#endif

/* @count codes of a value back to real numbers: x = ((float) code -
 * zero_point) * scale, two rounded float32 steps in that order. */
typedef void (*QsDequantizeFunc) (float scale, float zero_point, const uint8_t *codes, size_t count, float *x);
void qs_dequantize_u8_scalar (float scale, float zero_point, const uint8_t *codes, size_t count, float *x);
#if defined(__x86_64__) || defined(_M_X64)
void qs_dequantize_u8_avx512 (float scale, float zero_point, const uint8_t *codes, size_t count, float *x);
#endif

/* ---- im2col and pooling on codes ---------------------------------------- */

typedef struct {
  int in_h, in_w, in_c;
  int kernel_h, kernel_w;
  int stride_h, stride_w;
  int pad_top, pad_left;
  int out_h, out_w;
} QsConvShape;

/* Rows [first, first + count) of the im2col matrix of a batch (row r is
 * image r / (out_h * out_w)); padded taps get @pad, columns k..kp zero.
 * Small copies are rounded up to whole words, so @rows needs
 * QS_KERNEL_SLACK bytes past its last row and @batch as many past its end. */
void qs_im2col_u8  (const QsConvShape *shape, const uint8_t *batch, size_t first, size_t count,
                    uint8_t pad, size_t kp, uint8_t *rows);
void qs_im2col_f32 (const QsConvShape *shape, const float *batch, size_t first, size_t count,
                    float *rows);
/* The same for dilated windows (taps @dilation_h / @dilation_w pixels
 * apart) over channels [@c0, @c0 + @cg) of each pixel: a grouped
 * convolution's group, k = kernel_h * kernel_w * cg. The f32 rows are k
 * floats apart, the u8 rows kp bytes (zero past k). */
void qs_im2col_general_u8  (const QsConvShape *shape, int dilation_h, int dilation_w, int c0, int cg,
                            const uint8_t *batch, size_t first, size_t count, uint8_t pad,
                            size_t kp, uint8_t *rows);
void qs_im2col_general_f32 (const QsConvShape *shape, int dilation_h, int dilation_w, int c0, int cg,
                            const float *batch, size_t first, size_t count, float *rows);
/* The same rows as segments for the indirect GEMM: for each of @count
 * output pixels from @first, kernel_h pointers (rows[r * kernel_h + ky])
 * to its window rows of kernel_w * in_c codes, into @batch where the
 * window row lies inside the image, else to a copy with its padding in
 * @patches (rows above or below the image share one). Returns the bytes of
 * @patches used: at most (count * kernel_h + 1) * kernel_w * in_c, plus
 * QS_KERNEL_SLACK past them that small copies may write. */
size_t qs_im2col_indirect_u8 (const QsConvShape *shape, const uint8_t *batch, size_t first, size_t count,
                              uint8_t pad, uint8_t *patches, const uint8_t **rows);
/* Sums of each row's first @k codes. */
void qs_row_sums_u8 (size_t rows, size_t k, const uint8_t *a, size_t lda, int32_t *sums);

/* ---- direct convolution of one-channel images ------------------------------ */

/* A first layer on grey images (in_c == 1, kernel_w <= 4): the int32 sums
 * of output row @oy of one image, [out_w][n], equal to those of
 * qs_im2col_u8 (with @pad) followed by the int8 GEMM. Weights are [n][k]
 * int8 as for the GEMM. Only for shapes the kernel's _supported says yes to. */
#define QS_CONV_C1_MAX_KERNEL_H 8
#define QS_CONV_C1_MAX_LINE     1024

typedef bool   (*QsConvC1SupportedFunc)  (const QsConvShape *shape);
typedef size_t (*QsConvC1PackedSizeFunc) (size_t n, int kernel_h);
typedef void   (*QsConvC1PackFunc)       (size_t n, int kernel_h, int kernel_w, const int8_t *w,
                                          void *packed);
typedef void   (*QsConvC1Func)           (const QsConvShape *shape, const uint8_t *image,
                                          uint8_t pad, const void *packed, size_t n, int oy,
                                          int32_t *acc);

#if defined(__x86_64__) || defined(_M_X64)
bool   qs_conv_c1_u8s8_supported_avx512vnni   (const QsConvShape *shape);
size_t qs_conv_c1_u8s8_packed_size_avx512vnni (size_t n, int kernel_h);
void   qs_conv_c1_u8s8_pack_avx512vnni        (size_t n, int kernel_h, int kernel_w,
                                               const int8_t *w, void *packed);
void   qs_conv_c1_u8s8_avx512vnni             (const QsConvShape *shape, const uint8_t *image,
                                               uint8_t pad, const void *packed, size_t n, int oy,
                                               int32_t *acc);
#endif

typedef enum {
  QS_POOL_MAX,
  QS_POOL_AVERAGE,
} QsPoolKind;

/* Pooling of one image; padded taps are skipped (Keras: max ignores them,
 * average divides by the taps inside). Average codes round half away from zero. */
void qs_pool_u8  (QsPoolKind kind, const QsConvShape *shape, const uint8_t *in, uint8_t *out);
void qs_pool_f32 (QsPoolKind kind, const QsConvShape *shape, const float *in, float *out);

/* Max pooling of one image with a ZeroPadding2D folded in: taps outside
 * the image hold 0.0 (the code @zero, or 0.0f) instead of being skipped,
 * the same values as pooling the padded copy. */
void qs_max_pool_zero_padded_u8  (const QsConvShape *shape, uint8_t zero, const uint8_t *in,
                                  uint8_t *out);
void qs_max_pool_zero_padded_f32 (const QsConvShape *shape, const float *in, float *out);

/* ---- fp32 ----------------------------------------------------------------- */

/* C[m][n] = bias[n] + sum_k A[m][k] * W[k][n], then clamp to [lo, hi]. */
typedef size_t (*QsGemmF32PackedSizeFunc) (size_t n, size_t k);
typedef void   (*QsGemmF32PackFunc)       (size_t n, size_t k, const float *w, float *packed);
typedef void   (*QsGemmF32Func)           (size_t m, size_t n, size_t k, const float *a, size_t lda,
                                           const float *packed, const float *bias, float lo, float hi,
                                           float *c, size_t ldc);

size_t qs_gemm_f32_packed_size_scalar (size_t n, size_t k);
void   qs_gemm_f32_pack_scalar (size_t n, size_t k, const float *w, float *packed);
void   qs_gemm_f32_scalar      (size_t m, size_t n, size_t k, const float *a, size_t lda,
                                const float *packed, const float *bias, float lo, float hi,
                                float *c, size_t ldc);
/* Rows [row0, row0 + rows) of the [k][n] kernel @packed was packed from,
 * into @w (row stride @ldw): bit for bit what was packed. */
typedef void   (*QsGemmF32UnpackFunc)     (size_t n, size_t k, const float *packed, size_t row0,
                                           size_t rows, float *w, size_t ldw);
/* The packings as panels of @panel output channels over n rounded up to
 * @align, [n/panel][k][panel], the last panel narrower. */
void   qs_gemm_f32_unpack_panels (size_t n, size_t k, const float *packed, size_t panel, size_t align,
                                  size_t row0, size_t rows, float *w, size_t ldw);
void   qs_gemm_f32_unpack_scalar (size_t n, size_t k, const float *packed, size_t row0, size_t rows,
                                  float *w, size_t ldw);
void   qs_gemm_f32_unpack_avx2   (size_t n, size_t k, const float *packed, size_t row0, size_t rows,
                                  float *w, size_t ldw);
void   qs_gemm_f32_unpack_avx512 (size_t n, size_t k, const float *packed, size_t row0, size_t rows,
                                  float *w, size_t ldw);
/* Packs rows [row0, row0 + rows) of a [k][n] kernel, given in @w (row
 * stride @ldw), into @packed: block after block, the bits gemm_f32_pack
 * gives for the whole kernel. */
typedef void   (*QsGemmF32PackRowsFunc)   (size_t n, size_t k, const float *w, size_t ldw, size_t row0,
                                           size_t rows, float *packed);
void   qs_gemm_f32_pack_panels_rows (size_t n, size_t k, const float *w, size_t ldw, size_t panel,
                                     size_t align, size_t row0, size_t rows, float *packed);
void   qs_gemm_f32_pack_rows_scalar (size_t n, size_t k, const float *w, size_t ldw, size_t row0,
                                     size_t rows, float *packed);
void   qs_gemm_f32_pack_rows_avx2   (size_t n, size_t k, const float *w, size_t ldw, size_t row0,
                                     size_t rows, float *packed);
void   qs_gemm_f32_pack_rows_avx512 (size_t n, size_t k, const float *w, size_t ldw, size_t row0,
                                     size_t rows, float *packed);
/* NF4's 16 levels and the 15 thresholds between them: a scaled element
 * v has the level of index count (v > thresholds[i]), as the quantizer
 * encodes it (qs_nf4_table_init asks it for each threshold). */
typedef struct {
  float levels[16];
  float thresholds[15];
} QsNf4Table;

/* A float format's rounding of a GEMM kernel's weights, per output
 * channel c: w' = decode (encode (w * inv_scale[c])) * scale[c], in
 * float32 (qs_quantize_channel, then qs_dequantize_code); @format
 * QS_FORMAT_INT leaves the weights as they are.
 * A block format on the float path (MXFP8's FP8 elements, NF4) has its
 * factors per block of @block_rows consecutive rows of k (the blocks
 * along each channel's reduction axis, docs/block-formats.md), stored
 * block-major: the factors of kernel row q are scale + (q / block_rows)
 * * block_stride, [n] as above; @format is the element's (QS_FORMAT_NF4:
 * the level of @nf4 times the block's absmax). Integer groups (format
 * QS_FORMAT_INT with a @zero_point per block, laid out as @scale) round
 * as the quantizer's groups do: (clamp (round (w * inv_scale)) - zero
 * point) * scale, codes in [code_min, code_max], integer zero points. */
typedef struct {
  QsFormat          format;
  const float      *scale;      /* [n] */
  const float      *inv_scale;  /* [n] */
  size_t            block_rows; /* 0: the same factors for every row */
  size_t            block_stride;
  const QsNf4Table *nf4;
  const float      *zero_point; /* integer groups; NULL otherwise */
  float             code_min, code_max;
  QsRounding        int_rounding;
} QsFloatRounding;

/* Whether @rounding changes the weights (QS_FORMAT_INT without zero
 * points leaves them as they are). */
static inline bool
qs_float_rounding_rounds (const QsFloatRounding *rounding)
{
  return rounding->format != QS_FORMAT_INT || rounding->zero_point != NULL;
}

/* @nf4 from the quantizer's own NF4 encoding (qs_block_quantize). */
void   qs_nf4_table_init (QsNf4Table *nf4);
/* A block format's factors (QsFloatRounding) for channels [c0, c0 +
 * nc) of n, from qs_block_quantize's @scales (and integer groups'
 * @zero_points, else NULL) of those channels (channel-major,
 * @blocks_per_run each): the block's scale and the factor the quantizer
 * multiplies by, 1 / scale (0 for an NF4 block of zeros, whose scale is
 * 0). @scale, @inv_scale and @zero_point are [blocks_per_run][n]. */
void   qs_float_rounding_block_factors (const float *scales, const int32_t *zero_points, size_t c0,
                                        size_t nc, size_t n, size_t blocks_per_run, float *scale,
                                        float *inv_scale, float *zero_point);
/* Row @row of the [k][n] kernel, channels [0, count), rounded by
 * @rounding with the quantizer's calls (the reference). */
void   qs_float_round_row (const QsFloatRounding *rounding, size_t row, const float *src, size_t count,
                           float *dst);
/* Columns [c0, c0 + nb) of the [k][n] kernel @packed was packed from,
 * rounded by @rounding, into @out packed as gemm_f32_pack packs an
 * (nb, k) kernel: what gemm_f32 reads for those outputs (with bias + c0,
 * c + c0). c0 is a multiple of 32 and nb too, or c0 + nb = n. */
typedef void   (*QsGemmF32RoundColumnsFunc) (size_t n, size_t k, const float *packed,
                                             const QsFloatRounding *rounding, size_t c0, size_t nb,
                                             float *out);
/* Rounds @count weights of channels [c, c + count), contiguous in @src. */
typedef void   (*QsFloatRoundRunFunc) (const QsFloatRounding *rounding, const float *src, size_t c,
                                       size_t count, float *dst);
/* The packings as panels of @panel channels (0: one panel as wide as
 * the kernel) over n rounded up to @align, each row of a panel by @run. */
void   qs_gemm_f32_round_panels (size_t n, size_t k, const float *packed, size_t panel, size_t align,
                                 const QsFloatRounding *rounding, QsFloatRoundRunFunc run, size_t c0,
                                 size_t nb, float *out);
void   qs_gemm_f32_round_columns_scalar (size_t n, size_t k, const float *packed,
                                         const QsFloatRounding *rounding, size_t c0, size_t nb,
                                         float *out);
void   qs_gemm_f32_round_columns_avx2   (size_t n, size_t k, const float *packed,
                                         const QsFloatRounding *rounding, size_t c0, size_t nb,
                                         float *out);
void   qs_gemm_f32_round_columns_avx512 (size_t n, size_t k, const float *packed,
                                         const QsFloatRounding *rounding, size_t c0, size_t nb,
                                         float *out);
/* The rounding inlined and vectorized (qs-gemm-f32-round-inline.h). */
void   qs_float_round_run_avx2   (const QsFloatRounding *rounding, const float *src, size_t c, size_t count,
                                  float *dst);
void   qs_float_round_run_avx512 (const QsFloatRounding *rounding, const float *src, size_t c, size_t count,
                                  float *dst);
#if defined(__x86_64__) || defined(_M_X64)
size_t qs_gemm_f32_packed_size_avx2 (size_t n, size_t k);
void   qs_gemm_f32_pack_avx2 (size_t n, size_t k, const float *w, float *packed);
void   qs_gemm_f32_avx2      (size_t m, size_t n, size_t k, const float *a, size_t lda,
                              const float *packed, const float *bias, float lo, float hi,
                              float *c, size_t ldc);

size_t qs_gemm_f32_packed_size_avx512 (size_t n, size_t k);
void   qs_gemm_f32_pack_avx512 (size_t n, size_t k, const float *w, float *packed);
void   qs_gemm_f32_avx512      (size_t m, size_t n, size_t k, const float *a, size_t lda,
                                const float *packed, const float *bias, float lo, float hi,
                                float *c, size_t ldc);
#endif

/* gemm_f32 on the same packing without the products of A's zero entries
 * (0.0 and -0.0): the same bits wherever every weight is finite (a
 * model's are, checked when it is read) and
 * qs_gemm_f32_skips_zeros_exactly (@n, @bias) holds. Faster where about a
 * third of A or more is zero (a float layer after a ReLU6 on 8-bit codes). */
bool   qs_gemm_f32_skips_zeros_exactly (size_t n, const float *bias);
void   qs_gemm_f32_skip_zeros_scalar (size_t m, size_t n, size_t k, const float *a, size_t lda,
                                      const float *packed, const float *bias, float lo, float hi,
                                      float *c, size_t ldc);
#if defined(__x86_64__) || defined(_M_X64)
void   qs_gemm_f32_skip_zeros_avx512 (size_t m, size_t n, size_t k, const float *a, size_t lda,
                                      const float *packed, const float *bias, float lo, float hi,
                                      float *c, size_t ldc);
#endif

/* One image; weights [kernel_h * kernel_w][channels]; padded taps are 0.0. */
void qs_depthwise_f32_scalar (const QsConvShape *shape, const float *in, const float *w,
                              const float *bias, float lo, float hi, float *out);
typedef void (*QsDepthwiseF32Func) (const QsConvShape *shape, const float *in, const float *w,
                                    const float *bias, float lo, float hi, float *out);
#if defined(__x86_64__) || defined(_M_X64)
void qs_depthwise_f32_avx2 (const QsConvShape *shape, const float *in, const float *w,
                            const float *bias, float lo, float hi, float *out);
void qs_depthwise_f32_avx512 (const QsConvShape *shape, const float *in, const float *w,
                              const float *bias, float lo, float hi, float *out);
#endif

/* ---- dispatch --------------------------------------------------------------- */

typedef enum {
  QS_ISA_SCALAR = 0,
  QS_ISA_AVX2,
  QS_ISA_AVX512VNNI,
  /* AVX-512 VNNI's table with AMX-INT8's plain GEMMs. */
  QS_ISA_AMX_INT8,
} QsIsa;

typedef struct {
  QsIsa                      isa;
  const char                *name;
  QsGemmPackedSizeFunc       gemm_packed_size;
  QsGemmPackFunc             gemm_pack;
  QsGemmFunc                 gemm;
  QsRequantFunc              requant;
  QsDepthwisePackedSizeFunc  depthwise_packed_size;
  QsDepthwisePackFunc        depthwise_pack;
  QsDepthwiseFunc            depthwise;
  QsGemmF32PackedSizeFunc    gemm_f32_packed_size;
  QsGemmF32PackFunc          gemm_f32_pack;
  QsGemmF32Func              gemm_f32;
  QsDepthwiseF32Func         depthwise_f32;
  QsGemm16Func               gemm16;
  /* Optional (NULL: one-channel convolutions take im2col + GEMM). */
  QsConvC1SupportedFunc      conv_c1_supported;
  QsConvC1PackedSizeFunc     conv_c1_packed_size;
  QsConvC1PackFunc           conv_c1_pack;
  QsConvC1Func               conv_c1;
  /* Optional (NULL: GEMM, then the requantization pass); only for
   * parameters without left_shift and frac_q16. */
  QsGemmRequantFunc          gemm_requant;
  /* The inverse of gemm_f32_pack (a model keeps its GEMM kernels packed only). */
  QsGemmF32UnpackFunc        gemm_f32_unpack;
  /* Channels per panel of gemm_f32_pack's packing, or 0 (one panel): a
   * range of channels starting at a multiple of it, a multiple long or
   * ending at n, is itself the packing of those channels, at packed +
   * c0 * k, so it can be read back without the rest. */
  size_t                     gemm_f32_panel;
  /* gemm_f32_pack a block of rows at a time (a model's kernels are packed
   * as they are read). */
  QsGemmF32PackRowsFunc      gemm_f32_pack_rows;
  /* Optional (NULL: im2col, then gemm_requant); same conditions. */
  QsGemmRequantIndirectFunc  gemm_requant_indirect;
  /* Optional (NULL: the scalar group-wise references). */
  QsGroupwisePackedSizeFunc  groupwise_packed_size;
  QsGroupwisePackFunc        groupwise_pack;
  QsGroupwisePackedWeightFunc groupwise_packed_weight;
  size_t                     groupwise_pack_channels;  /* the packing's channel block */
  QsGroupwiseGemmFunc        groupwise_gemm;
  QsDepthwiseGroupwiseFunc   depthwise_groupwise;
  QsQuantizeRealFunc         quantize_real;
  QsDequantizeFunc           dequantize;
  /* On depthwise_pack's weights. */
  QsDepthwiseRequantFunc     depthwise_requant;
  /* Columns of gemm_f32_pack's kernel rounded to a float format (a
   * float-format layer's weights, made as it runs). */
  QsGemmF32RoundColumnsFunc  gemm_f32_round_columns;
  /* Optional (NULL: gemm_f32); on gemm_f32_pack's packing. */
  QsGemmF32Func              gemm_f32_skip_zeros;
} QsKernels;

/* The best ISA this CPU runs: AMX-INT8 (where Linux grants the tile
 * state), else AVX-512 VNNI, else AVX2, else scalar.
 * QS_FORCE_SCALAR=1 forces the reference; QS_FORCE_ISA=scalar|avx2|avx512vnni|amx-int8
 * picks one (never one the CPU lacks; avx512vnni leaves AMX out). */
QsIsa            qs_kernels_detect_isa (void);
/* Makes qs_kernels_detect_isa return @isa (if supported) from now on, or
 * lifts that with -1: how tests compare ISAs without touching the
 * environment of a threaded process. */
void             qs_kernels_force_isa (int isa);
bool             qs_kernels_isa_supported (QsIsa isa);
/* The kernel table for @isa (transfer none, static). */
const QsKernels *qs_kernels_get (QsIsa isa);

#ifdef __cplusplus
}
#endif
