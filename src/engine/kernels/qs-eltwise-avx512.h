/* qs-eltwise-avx512.h: one tensor-wide MultiplyByQuantizedMultiplier on 16 int32 lanes, shared by the AVX-512 merge kernels.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The rules of qs-eltwise-scalar.c for callers compiled with AVX-512F/BW:
 * the saturating left shift, SaturatingRoundingDoublingHighMul with
 * vpmuldq on even and odd lanes, and RoundingDivideByPOT with mask
 * registers (ties away from zero).
 */
#ifndef QS_ELTWISE_AVX512_H
#define QS_ELTWISE_AVX512_H

#include "qs-graph-kernels.h"

#include <immintrin.h>

typedef struct {
  __m512i multiplier;
  __m128i left_shift, right_shift;
  __m512i limit_hi, limit_lo;  /* beyond these, the left shift saturates */
  __m512i half;                /* (2^right_shift - 1) / 2 */
  __m512i remainder_mask;
  bool    shifts_left;
} Rescaler;

static inline Rescaler
rescaler_init (int32_t multiplier,
               int32_t left_shift,
               int32_t right_shift)
{
  Rescaler r;
  int32_t mask = (int32_t) (((int64_t) 1 << right_shift) - 1);

  r.multiplier = _mm512_set1_epi32 (multiplier);
  r.left_shift = _mm_cvtsi32_si128 (left_shift);
  r.right_shift = _mm_cvtsi32_si128 (right_shift);
  r.limit_hi = _mm512_set1_epi32 (INT32_MAX >> left_shift);
  r.limit_lo = _mm512_set1_epi32 (INT32_MIN >> left_shift);
  r.half = _mm512_set1_epi32 (mask >> 1);
  r.remainder_mask = _mm512_set1_epi32 (mask);
  r.shifts_left = left_shift > 0;
  return r;
}

static inline __m512i
rescale (const Rescaler *r,
         __m512i         x)
{
  const __m512i round = _mm512_set1_epi64 ((int64_t) 1 << 30);
  const __m512i one = _mm512_set1_epi32 (1);
  __m512i even, odd, threshold;
  __mmask16 negative, up;

  if (r->shifts_left)
    {
      __mmask16 over = _mm512_cmpgt_epi32_mask (x, r->limit_hi);
      __mmask16 under = _mm512_cmpgt_epi32_mask (r->limit_lo, x);

      x = _mm512_sll_epi32 (x, r->left_shift);
      x = _mm512_mask_mov_epi32 (x, over, _mm512_set1_epi32 (INT32_MAX));
      x = _mm512_mask_mov_epi32 (x, under, _mm512_set1_epi32 (INT32_MIN));
    }
  even = _mm512_mul_epi32 (x, r->multiplier);
  odd = _mm512_mul_epi32 (_mm512_srli_epi64 (x, 32), r->multiplier);
  even = _mm512_srli_epi64 (_mm512_add_epi64 (even, round), 31);
  odd = _mm512_srli_epi64 (_mm512_add_epi64 (odd, round), 31);
  x = _mm512_mask_blend_epi32 ((__mmask16) 0xAAAA, even, _mm512_slli_epi64 (odd, 32));

  negative = _mm512_cmplt_epi32_mask (x, _mm512_setzero_si512 ());
  threshold = _mm512_mask_add_epi32 (r->half, negative, r->half, one);
  up = _mm512_cmpgt_epi32_mask (_mm512_and_si512 (x, r->remainder_mask), threshold);
  x = _mm512_sra_epi32 (x, r->right_shift);
  return _mm512_mask_add_epi32 (x, up, x, one);
}

#endif
