/* qs-requantize-avx2.h: one vector of 8 accumulators to codes, shared by the requantization pass and the depthwise kernel that stores codes.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The rules of qs-requantize-scalar.c, bit for bit. For a multiplier
 * M in [0, 2^31), gemmlowp's SaturatingRoundingDoublingHighMul (x, M) is
 * floor ((x * M + 2^30) / 2^31) (round half up; saturation needs
 * x = M = INT32_MIN, impossible here): one signed 32x32->64 multiply
 * (vpmuldq, even and odd lanes), an add, and a 64-bit shift whose low 32
 * bits are the same logical or arithmetic. RoundingDivideByPOT follows
 * with per-channel variable shifts. For callers compiled with AVX2, and
 * parameters without left shifts or fractional zero points.
 */
#ifndef QS_REQUANTIZE_AVX2_H
#define QS_REQUANTIZE_AVX2_H

#include "qs-kernels.h"

#include <immintrin.h>

/* The per-channel parameters of 8 channels from @c on. */
typedef struct {
  __m256i bias, mult, shift, wzp;
  __m256i mask, half;   /* 2^shift - 1 and half of it: RoundingDivideByPOT's remainder test */
} QsRequantLanes8;

static inline QsRequantLanes8
qs_requant_lanes_avx2 (const QsRequantParams *p,
                       size_t                 c)
{
  const __m256i one = _mm256_set1_epi32 (1);
  QsRequantLanes8 l;

  l.bias = _mm256_loadu_si256 ((const __m256i *) (p->bias + c));
  l.mult = _mm256_loadu_si256 ((const __m256i *) (p->multiplier + c));
  l.shift = _mm256_loadu_si256 ((const __m256i *) (p->right_shift + c));
  l.wzp = p->weight_zp != NULL ? _mm256_loadu_si256 ((const __m256i *) (p->weight_zp + c))
                               : _mm256_setzero_si256 ();
  l.mask = _mm256_sub_epi32 (_mm256_sllv_epi32 (one, l.shift), one);
  l.half = _mm256_srai_epi32 (l.mask, 1);
  return l;
}

static inline __m256i
qs_srdhm_avx2 (__m256i x,
               __m256i m)
{
  const __m256i round = _mm256_set1_epi64x ((int64_t) 1 << 30);
  __m256i pe = _mm256_mul_epi32 (x, m);
  __m256i po = _mm256_mul_epi32 (_mm256_srli_epi64 (x, 32), _mm256_srli_epi64 (m, 32));

  pe = _mm256_srli_epi64 (_mm256_add_epi64 (pe, round), 31);
  po = _mm256_srli_epi64 (_mm256_add_epi64 (po, round), 31);
  return _mm256_blend_epi32 (pe, _mm256_slli_epi64 (po, 32), 0xAA);
}

/* Accumulators @acc of one row (its row sum @rowsum, read only with weight
 * zero points) to codes as int32 in [act_min, act_max]. */
static inline __m256i
qs_requant_vector_avx2 (const QsRequantLanes8 *l,
                        const QsRequantParams *p,
                        __m256i                acc,
                        int32_t                rowsum)
{
  const __m256i zero = _mm256_setzero_si256 ();
  __m256i x = _mm256_add_epi32 (acc, l->bias), y, neg, threshold, up;

  if (p->weight_zp != NULL)
    x = _mm256_sub_epi32 (x, _mm256_mullo_epi32 (l->wzp, _mm256_set1_epi32 (rowsum)));
  y = qs_srdhm_avx2 (x, l->mult);
  /* RoundingDivideByPOT: ties away from zero. */
  neg = _mm256_cmpgt_epi32 (zero, y);
  threshold = _mm256_sub_epi32 (l->half, neg);
  up = _mm256_cmpgt_epi32 (_mm256_and_si256 (y, l->mask), threshold);
  y = _mm256_sub_epi32 (_mm256_srav_epi32 (y, l->shift), up);
  /* With no shift y comes within 255 of INT32_MAX (M near 2^31): clamped
   * before the zero point is added, so that cannot wrap. */
  y = _mm256_min_epi32 (_mm256_max_epi32 (y, _mm256_set1_epi32 (p->act_min - p->output_zp)),
                        _mm256_set1_epi32 (p->act_max - p->output_zp));
  return _mm256_add_epi32 (y, _mm256_set1_epi32 (p->output_zp));
}

/* Two vectors of codes in [0, 255] as 16 bytes, @lo's first. */
static inline __m128i
qs_codes_pack_avx2 (__m256i lo,
                    __m256i hi)
{
  __m256i w16 = _mm256_packs_epi32 (lo, hi);   /* lo0..3 hi0..3 | lo4..7 hi4..7 */
  __m128i a = _mm256_castsi256_si128 (w16), b = _mm256_extracti128_si256 (w16, 1);

  return _mm_packus_epi16 (_mm_unpacklo_epi64 (a, b), _mm_unpackhi_epi64 (a, b));
}

#endif
