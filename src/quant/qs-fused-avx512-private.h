/* qs-fused-avx512-private.h: AVX-512 steps shared by the fused-pass and block-pass kernels.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each does exactly what the scalar reference does to sixteen elements
 * (the comments say why); include only from files built for x86-64.
 */
#pragma once

#include <immintrin.h>

#include "qs-fused-private.h"

#define AVX512 __attribute__((target ("avx512f,avx512dq,avx2,fma,popcnt")))

/* qs_clampf for a value that is never NaN, exactly (see clamp_ps in
 * qs-fused-avx2.c: max/min return the second operand on equality). */
static inline AVX512 __m512
clamp_ps (__m512 v, __m512 lo, __m512 hi)
{
  return _mm512_min_ps (hi, _mm512_max_ps (lo, v));
}

static inline AVX512 __m512
round_even_ps (__m512 v)
{
  const __m512 magic = _mm512_set1_ps (12582912.0f);
  return _mm512_sub_ps (_mm512_add_ps (v, magic), magic);
}

static inline AVX512 __m512
round_away_ps (__m512 v)
{
  const __m512i sign = _mm512_set1_epi32 ((int) 0x80000000u);
  __m512 a = _mm512_castsi512_ps (_mm512_andnot_si512 (sign, _mm512_castps_si512 (v)));
  __m512 r = round_even_ps (a);
  __mmask16 tie_down = _mm512_cmp_ps_mask (_mm512_sub_ps (r, a), _mm512_set1_ps (-0.5f), _CMP_EQ_OQ);
  r = _mm512_mask_add_ps (r, tie_down, r, _mm512_set1_ps (1.0f));
  return _mm512_castsi512_ps (_mm512_or_si512 (_mm512_castps_si512 (r),
                                               _mm512_and_si512 (_mm512_castps_si512 (v), sign)));
}

/* The histogram's constants, in registers for the whole run. */
typedef struct {
  __m512  lo;
  __m512  inv_width;
  __m512  top_slot;     /* bins + 1, as a float */
  __m512  hi;
  __m512i bins;
} HistConsts;

/* The constants of @a's histogram, and whether the top edge needs its own
 * test (see hist_slot_ps). */
static inline AVX512 HistConsts
hist_consts (const QsFusedArgs *a,
             bool              *top_fix)
{
  /* The slot hist_hi gets without the top-edge test, computed as
   * hist_slot_ps does (NaN would give 0, and keep the test). */
  float top_t = qs_clampf ((a->hist_hi - a->hist_lo) * a->hist_inv_width + 1.0f, 0.0f, (float) a->bins + 1.0f);
  HistConsts h = {
    _mm512_set1_ps (a->hist_lo), _mm512_set1_ps (a->hist_inv_width),
    _mm512_set1_ps ((float) a->bins + 1.0f), _mm512_set1_ps (a->hist_hi), _mm512_set1_epi32 (a->bins),
  };

  *top_fix = (int32_t) top_t != a->bins;
  return h;
}

/* @top_fix: whether the top edge needs its own test (see qs_fused_hist_slot);
 * where the arithmetic already puts hist_hi into the last bin, it does not. */
static inline AVX512 __m512i
hist_slot_ps (const HistConsts *h, __m512 x, bool top_fix)
{
  __m512 t = _mm512_add_ps (_mm512_mul_ps (_mm512_sub_ps (x, h->lo), h->inv_width), _mm512_set1_ps (1.0f));
  __m512i slot;

  /* NaN and the sign of a zero both end as slot 0 after truncation. */
  t = _mm512_min_ps (h->top_slot, _mm512_max_ps (t, _mm512_setzero_ps ()));
  slot = _mm512_cvttps_epi32 (t);
  if (top_fix)
    slot = _mm512_mask_mov_epi32 (slot, _mm512_cmp_ps_mask (x, h->hi, _CMP_EQ_OQ), h->bins);
  return slot;
}

/* Elements 0-7 and 8-15 of a vector, in double. */
static inline AVX512 __m512d
widen_lo (__m512 a)
{
  return _mm512_cvtps_pd (_mm512_castps512_ps256 (a));
}

static inline AVX512 __m512d
widen_hi (__m512 a)
{
  return _mm512_cvtps_pd (_mm256_castpd_ps (_mm512_extractf64x4_pd (_mm512_castps_pd (a), 1)));
}

