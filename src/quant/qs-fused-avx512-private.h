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
  __m512  last_slot;    /* bins, as a float */
  __m512  hi;
  __m512i above;        /* bins + 1 */
} HistConsts;

static inline AVX512 HistConsts
hist_consts (const QsFusedArgs *a)
{
  HistConsts h = {
    _mm512_set1_ps (a->hist_lo), _mm512_set1_ps (a->hist_inv_width),
    _mm512_set1_ps ((float) a->bins), _mm512_set1_ps (a->hist_hi), _mm512_set1_epi32 (a->bins + 1),
  };
  return h;
}

/* The slot of a value in [hist_lo, hist_hi] (see qs_fused_hist_slot): no
 * test for values above hist_hi. The clamps keep the slot in the table
 * whatever the value, so a caller that is wrong about the domain miscounts
 * but never writes out of bounds. */
static inline AVX512 __m512i
hist_slot_in_domain_ps (const HistConsts *h, __m512 x)
{
  __m512 t = _mm512_add_ps (_mm512_mul_ps (_mm512_sub_ps (x, h->lo), h->inv_width), _mm512_set1_ps (1.0f));

  /* NaN and the sign of a zero both end as slot 0 after truncation. */
  return _mm512_cvttps_epi32 (_mm512_min_ps (h->last_slot, _mm512_max_ps (t, _mm512_setzero_ps ())));
}

static inline AVX512 __m512i
hist_slot_ps (const HistConsts *h, __m512 x)
{
  return _mm512_mask_mov_epi32 (hist_slot_in_domain_ps (h, x), _mm512_cmp_ps_mask (x, h->hi, _CMP_GT_OQ), h->above);
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

