/* qs-requantize-avx512.h: one vector of 16 accumulators to codes, shared by the requantization pass and the GEMM that stores codes.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The rules of qs-requantize-scalar.c, bit for bit (see qs-requantize-avx512.c):
 * for callers compiled with AVX-512F/BW only.
 */
#ifndef QS_REQUANTIZE_AVX512_H
#define QS_REQUANTIZE_AVX512_H

#include "qs-kernels.h"

#include <immintrin.h>

/* The per-channel parameters of 16 channels from @c on (@k their lanes). */
typedef struct {
  __m512i bias, mult, shift, wzp, mask, half;
} QsRequantLanes;

static inline QsRequantLanes
qs_requant_lanes_avx512 (const QsRequantParams *p,
                         size_t                 c,
                         __mmask16              k)
{
  const __m512i one = _mm512_set1_epi32 (1);
  QsRequantLanes l;

  l.bias = _mm512_maskz_loadu_epi32 (k, p->bias + c);
  l.mult = _mm512_maskz_loadu_epi32 (k, p->multiplier + c);
  l.shift = _mm512_maskz_loadu_epi32 (k, p->right_shift + c);
  l.wzp = p->weight_zp != NULL ? _mm512_maskz_loadu_epi32 (k, p->weight_zp + c)
                               : _mm512_setzero_si512 ();
  l.mask = _mm512_sub_epi32 (_mm512_sllv_epi32 (one, l.shift), one);
  l.half = _mm512_srai_epi32 (l.mask, 1);
  return l;
}

/* SaturatingRoundingDoublingHighMul as floor ((x * M + 2^30) / 2^31) with
 * vpmuldq and a 64-bit shift. */
static inline __m512i
qs_srdhm_avx512 (__m512i x,
                 __m512i m)
{
  const __m512i round = _mm512_set1_epi64 ((int64_t) 1 << 30);
  __m512i pe = _mm512_mul_epi32 (x, m);
  __m512i po = _mm512_mul_epi32 (_mm512_srli_epi64 (x, 32), _mm512_srli_epi64 (m, 32));

  pe = _mm512_srli_epi64 (_mm512_add_epi64 (pe, round), 31);
  po = _mm512_srli_epi64 (_mm512_add_epi64 (po, round), 31);
  return _mm512_mask_blend_epi32 ((__mmask16) 0xAAAA, pe, _mm512_slli_epi64 (po, 32));
}

/* Accumulators @acc of one row (its row sum @rowsum, read only with weight
 * zero points) to codes as int32 in [act_min, act_max]; RoundingDivideByPOT
 * with mask registers. */
static inline __m512i
qs_requant_vector_avx512 (const QsRequantLanes  *l,
                          const QsRequantParams *p,
                          __m512i                acc,
                          int32_t                rowsum)
{
  const __m512i one = _mm512_set1_epi32 (1), zero = _mm512_setzero_si512 ();
  __m512i x = _mm512_add_epi32 (acc, l->bias), y, threshold;
  __mmask16 neg, up;

  if (p->weight_zp != NULL)
    x = _mm512_sub_epi32 (x, _mm512_mullo_epi32 (l->wzp, _mm512_set1_epi32 (rowsum)));
  y = qs_srdhm_avx512 (x, l->mult);
  neg = _mm512_cmplt_epi32_mask (y, zero);
  threshold = _mm512_mask_add_epi32 (l->half, neg, l->half, one);
  up = _mm512_cmpgt_epi32_mask (_mm512_and_si512 (y, l->mask), threshold);
  y = _mm512_srav_epi32 (y, l->shift);
  y = _mm512_mask_add_epi32 (y, up, y, one);
  y = _mm512_add_epi32 (y, _mm512_set1_epi32 (p->output_zp));
  return _mm512_min_epi32 (_mm512_max_epi32 (y, _mm512_set1_epi32 (p->act_min)),
                           _mm512_set1_epi32 (p->act_max));
}

#endif
