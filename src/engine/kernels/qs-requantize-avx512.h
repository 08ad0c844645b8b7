/* qs-requantize-avx512.h: one vector of 16 accumulators to codes, shared by the requantization pass and the GEMM that stores codes.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The rules of qs-requantize-scalar.c, bit for bit, for callers compiled
 * with AVX-512F/BW only. Both roundings happen in one 64-bit shift: with
 * t = x * M (vpmuldq, even and odd lanes apart) and s the right shift,
 * SaturatingRoundingDoublingHighMul is q = floor ((t + 2^30) / 2^31), and
 * RoundingDivideByPOT (ties away from zero) is floor ((q + 2^(s-1) - [q < 0]) / 2^s)
 * for s >= 1 (q itself for s = 0). Since floor (floor (v / a) / b) = floor (v / ab),
 *
 *   y = (t + 2^30 + 2^(30+s) - [t < -2^30] * 2^31) >> (31 + s)    (s >= 1)
 *   y = (t + 2^30) >> 31                                          (s = 0)
 *
 * exactly, in int64 (|t| < 2^62). For s = 0, y can come within 255 of
 * INT32_MAX, so it is clamped before the output zero point is added.
 *
 * That costs two of everything (even and odd lanes), which on a GEMM of
 * 16 to 64 taps took as long as the products. So first one float32 FMA:
 * with v = x * M / 2^(31+s), the two roundings are exactly
 *
 *   y = floor (v + 1/2 + sign (x) * 2^-(s+1))    (s >= 1; floor (v + 1/2) for s = 0)
 *
 * (SRDHM rounds r = v * 2^s half up to q; y steps up where q reaches
 * (j + 1/2) 2^s, at v = j + 1/2 - 2^-(s+1), for j >= 0, and where q
 * passes it, at v = j + 1/2 + 2^-(s+1), below zero). Computed as
 * z = fma (float (x), float (M * 2^-(31+s)), 512 + zp + 1/2 +- 2^-(s+1)),
 * clamped to [512 + act_min + 1/2, 512 + act_max + 1/2], z lies in
 * [512, 1024), where a float's low 14 bits are its fraction and bits 14-21
 * the code. Within the clamp |v| <= 256, so the roundings (M and x to
 * float, the constant, the FMA) move z by at most 1.5 units of 2^-14:
 * where z's fraction is 2 units or more from an integer its floor is
 * exact, and the rare vectors with a lane closer (about 1 in 250) take the
 * 64-bit path. Outside the clamp the float's error cannot cross it.
 *
 * Two steps of that are folded away. The constant, and with it the
 * clamp, is raised by 2 units: adding a multiple of the unit to a float in
 * [512, 1024) before or after rounding is the same, so z' = z + 2 units
 * exactly, and "z's fraction within 2 units of an integer" becomes
 * "z''s fraction below 4 units", one vptestnmd; where z' is not near,
 * floor (z') = floor (z), and the clamp bounds' fraction, 1/2 + 2 units,
 * is not near.
 * And where act_min >= output_zp (a ReLU), the sign term is not needed.
 * For x < 0 (0 <= M < 2^31): x M + 2^30 < 2^31, so SRDHM's q <= 0, the
 * shift keeps y <= 0, and the code is act_min. The FMA with the x >= 0
 * addend A = float (512 + output_zp + 1/2 + 2^-(s+1) + 2 units) (no
 * 2^-(s+1) for s = 0) has an exact value of at most A (float (x) < 0),
 * so rounding (monotone, A a float) gives z <= A <= 512 + output_zp + 3/4
 * + 3 units, below 512 + act_min + 1; the lower clamp lifts it to at least
 * 512 + act_min, so floor (z) = 512 + act_min too, near or not.
 */
#ifndef QS_REQUANTIZE_AVX512_H
#define QS_REQUANTIZE_AVX512_H

#include "qs-kernels.h"

#include <immintrin.h>
#include <stdbool.h>

/* The per-channel parameters of 16 channels from @c on (@k their lanes):
 * even lanes' in the low half of each 64-bit lane, odd lanes' in _odd. */
typedef struct {
  __m512i   bias, wzp, mult, mult_odd;
  __m512i   round_even, round_odd, shift_even, shift_odd;
  /* Kept here since a caller storing codes through uint8_t pointers makes
   * GCC reload them from the parameters for every vector. */
  __m512i   lo, hi, zp;   /* act_min and act_max less the zero point, and the zero point */
  __mmask8  down_even, down_odd;  /* lanes with s >= 1 */
  /* The float32 path: M * 2^-(31+s), the FMA's addend for x >= 0 and
   * x < 0, the clamp in its terms; fast unless a parameter lies outside
   * the ranges the error bound above assumes. */
  __m512    scale, add_pos, add_neg, lo_f, hi_f;
  __m512i   near_test;  /* 0x3FFC, read from here rather than rebuilt per vector */
  bool      fast;
  bool      nonneg;     /* act_min >= output_zp: add_pos serves x < 0 too */
} QsRequantLanes;

/* The 64-bit rounding constant and shift of lanes @s (s in the low half of
 * each 64-bit lane) and the lanes where s >= 1. */
static inline void
qs_requant_round_avx512 (__m512i    s,
                         __m512i   *round,
                         __m512i   *shift,
                         __mmask8  *down)
{
  const __m512i one = _mm512_set1_epi64 (1), half = _mm512_set1_epi64 ((int64_t) 1 << 30);

  *down = _mm512_cmpgt_epi64_mask (s, _mm512_setzero_si512 ());
  *round = _mm512_mask_add_epi64 (half, *down, half,
                                  _mm512_sllv_epi64 (one, _mm512_add_epi64 (s, _mm512_set1_epi64 (30))));
  *shift = _mm512_add_epi64 (s, _mm512_set1_epi64 (31));
}

static inline QsRequantLanes
qs_requant_lanes_avx512 (const QsRequantParams *p,
                         size_t                 c,
                         __mmask16              k)
{
  QsRequantLanes l;
  __m512i shift = _mm512_maskz_loadu_epi32 (k, p->right_shift + c);

  l.bias = _mm512_maskz_loadu_epi32 (k, p->bias + c);
  l.mult = _mm512_maskz_loadu_epi32 (k, p->multiplier + c);
  l.mult_odd = _mm512_srli_epi64 (l.mult, 32);
  l.wzp = p->weight_zp != NULL ? _mm512_maskz_loadu_epi32 (k, p->weight_zp + c)
                               : _mm512_setzero_si512 ();
  qs_requant_round_avx512 (_mm512_and_si512 (shift, _mm512_set1_epi64 (0xFFFFFFFF)),
                           &l.round_even, &l.shift_even, &l.down_even);
  qs_requant_round_avx512 (_mm512_srli_epi64 (shift, 32), &l.round_odd, &l.shift_odd, &l.down_odd);
  l.lo = _mm512_set1_epi32 (p->act_min - p->output_zp);
  l.hi = _mm512_set1_epi32 (p->act_max - p->output_zp);
  l.zp = _mm512_set1_epi32 (p->output_zp);

  {
    /* scalef by a power of two is exact: one rounding, of M to float. */
    __m512i s31 = _mm512_add_epi32 (shift, _mm512_set1_epi32 (31));
    __m512 half_step = _mm512_maskz_scalef_ps (_mm512_cmpgt_epi32_mask (shift, _mm512_setzero_si512 ()),
                                               _mm512_set1_ps (0.5f),
                                               _mm512_cvtepi32_ps (_mm512_sub_epi32 (_mm512_setzero_si512 (), shift)));
    /* 2 units (2^-13) above: see the top of this file. */
    const float raise = 512.5f + 0x1p-13f;
    __m512 base = _mm512_set1_ps (raise + (float) p->output_zp);
    __mmask16 bad = _mm512_mask_cmplt_epi32_mask (k, l.mult, _mm512_setzero_si512 ())
                    | _mm512_mask_cmplt_epi32_mask (k, shift, _mm512_setzero_si512 ())
                    | _mm512_mask_cmpgt_epi32_mask (k, shift, _mm512_set1_epi32 (31));

    l.scale = _mm512_scalef_ps (_mm512_cvtepi32_ps (l.mult),
                                _mm512_cvtepi32_ps (_mm512_sub_epi32 (_mm512_setzero_si512 (), s31)));
    l.add_pos = _mm512_add_ps (base, half_step);
    l.add_neg = _mm512_sub_ps (base, half_step);
    l.lo_f = _mm512_set1_ps (raise + (float) p->act_min);
    l.hi_f = _mm512_set1_ps (raise + (float) p->act_max);
    l.near_test = _mm512_set1_epi32 (0x3FFC);
    l.nonneg = p->act_min >= p->output_zp;
    l.fast = bad == 0 && p->output_zp >= 0 && p->output_zp <= 255 && p->act_min >= 0
             && p->act_min <= p->act_max && p->act_max <= 255;
  }
  return l;
}

/* One half: the 64-bit products @t of a lane's sum and multiplier to
 * codes less the zero point (in the low 32 bits). */
static inline __m512i
qs_requant_half_avx512 (__m512i  t,
                        __m512i  round,
                        __m512i  shift,
                        __mmask8 down)
{
  __mmask8 neg = _mm512_mask_cmplt_epi64_mask (down, t, _mm512_set1_epi64 (-((int64_t) 1 << 30)));

  t = _mm512_add_epi64 (t, round);
  t = _mm512_mask_sub_epi64 (t, neg, t, _mm512_set1_epi64 ((int64_t) 1 << 31));
  return _mm512_srav_epi64 (t, shift);
}

/* The 64-bit path: totals @x (bias and weight zero point applied) to
 * codes as int32 in [act_min, act_max]. */
static inline __m512i
qs_requant_exact_avx512 (const QsRequantLanes *l,
                         __m512i               x)
{
  const __m512i interleave = _mm512_set_epi32 (30, 14, 28, 12, 26, 10, 24, 8, 22, 6, 20, 4, 18, 2, 16, 0);
  __m512i even, odd, y;

  even = qs_requant_half_avx512 (_mm512_mul_epi32 (x, l->mult), l->round_even, l->shift_even, l->down_even);
  odd = qs_requant_half_avx512 (_mm512_mul_epi32 (_mm512_srli_epi64 (x, 32), l->mult_odd), l->round_odd,
                                l->shift_odd, l->down_odd);
  y = _mm512_permutex2var_epi32 (even, interleave, odd);
  return _mm512_add_epi32 (_mm512_min_epi32 (_mm512_max_epi32 (y, l->lo), l->hi), l->zp);
}

/* The float32 path (only where l->fast): totals @x to codes in the low
 * byte of each lane; @near gets the lanes it cannot vouch for, whose
 * codes must come from qs_requant_exact_avx512. @nonneg: l->nonneg,
 * passed apart so that callers can make it a constant. */
static inline __m512i
qs_requant_fast_avx512 (const QsRequantLanes *l,
                        __m512i               x,
                        bool                  nonneg,
                        __mmask16            *near)
{
  __m512 add = nonneg ? l->add_pos
                      : _mm512_mask_blend_ps (_mm512_cmplt_epi32_mask (x, _mm512_setzero_si512 ()),
                                              l->add_pos, l->add_neg);
  __m512 z = _mm512_fmadd_ps (_mm512_cvtepi32_ps (x), l->scale, add);
  __m512i bits = _mm512_castps_si512 (_mm512_min_ps (_mm512_max_ps (z, l->lo_f), l->hi_f));

  /* Fraction (raised by 2 units) below 4 units. */
  *near = _mm512_testn_epi32_mask (bits, l->near_test);
  return _mm512_srli_epi32 (bits, 14);
}

/* Accumulators @acc of one row (its row sum @rowsum, read only with weight
 * zero points) to codes: the low byte of each int32 lane is the code, as
 * the reference's cast to uint8_t (store them with vpmovdb). */
static inline __m512i
qs_requant_vector_avx512 (const QsRequantLanes  *l,
                          const QsRequantParams *p,
                          __m512i                acc,
                          int32_t                rowsum)
{
  __m512i x = _mm512_add_epi32 (acc, l->bias);

  if (p->weight_zp != NULL)
    x = _mm512_sub_epi32 (x, _mm512_mullo_epi32 (l->wzp, _mm512_set1_epi32 (rowsum)));
  if (l->fast)
    {
      __mmask16 near;
      __m512i codes = qs_requant_fast_avx512 (l, x, l->nonneg, &near);

      if (near == 0)
        return codes;
    }
  return qs_requant_exact_avx512 (l, x);
}

#endif
