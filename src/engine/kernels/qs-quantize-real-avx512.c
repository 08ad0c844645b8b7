/* qs-quantize-real-avx512.c: real outputs to uint8 codes and codes back to real numbers on AVX-512, bit for bit the references.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The steps of qs-quantize-real-avx2.c on 16 lanes, with mask registers
 * for the selects and a masked load and narrowing store (vpmovusdb) for
 * the tail, so every length runs in vector code. Its IEEE division is
 * what bounds it: a multiply by the reciprocal would round differently,
 * and one checked against the rounding boundaries, dividing only near
 * them, takes more instructions than the division (1.5 times the time
 * on Zen 4).
 * The dequantization widens 16 codes to int32 lanes, converts them
 * exactly and takes the reference's subtraction, then multiplication;
 * whole vectors store without a mask (a masked store makes it about 1.25
 * times as slow on Zen 4).
 * Built without contraction, like the references.
 */
#include "qs-kernels.h"

#include <immintrin.h>
#include <math.h>

static inline __mmask16
tail_mask (size_t left)
{
  return left >= 16 ? (__mmask16) 0xFFFF : (__mmask16) ((1u << left) - 1);
}

/* The codes of 16 outputs as int32 lanes. The fast path replaces the
 * division by a multiply-add by the float reciprocal: t = x * (1 / scale)
 * + zero_point, one rounding, against the reference's x / scale then
 * + zero_point, two. With u = 2^-24 and a = x / scale, the two sums
 * differ by at most 2u |a| + u |a + zp| + u |a + zp| (plus u^2 terms),
 * and |a| <= (|t| + |zp|) (1 + 5u), so by less than 8u (|t| + |zp|) +
 * 2^-140 (an underflowing product): BOUND (|t| + |zp| + 1) with BOUND =
 * 2^-20 is twice that. Where t lies farther than the bound from every
 * half-integer, rintf of the reference's sum is the integer nearest t;
 * that is 0.5 - |t - rint (t)| > bound, which fails for NaN (a NaN input,
 * or a reciprocal that overflowed), for |t| from 2^19 up (past every
 * code by far; vcvtps2dq's 0x80000000 beyond 2^31 among them), so those
 * lanes and the rare ones near a boundary (about 2^-19 (|t| + |zp|) of
 * them) take the reference's division, the whole vector at once.
 * rint (t) is vcvtps2dq in the default rounding mode (ties to even, as
 * rintf). The code range is then an integer max and min, or, where the
 * range is all of [0, 255] and the caller packs with signed then
 * unsigned saturation (@saturated), those packs alone (|t| < 2^19 in the
 * fast path). The division's path clamps as the reference does: max
 * returns its second operand, code_min, for a NaN, as !(v >= min) does
 * there. Inlined with constant @clamp and @saturated; @clamp false for
 * outputs a kernel has clamped already (infinite bounds, where the clamp
 * changes nothing). */
#define BOUND 0x1p-20f

typedef struct {
  __m512  lo, hi, scale, inv, zero_point, bound, limit, code_min, code_max;
  __m512i int_min, int_max;
} Consts;

static inline __attribute__ ((always_inline)) __m512i
codes16 (const Consts *k,
         __m512        x,
         bool          clamp,
         bool          saturated)
{
  __m512 v = x, t, e;
  __m512i n;
  __mmask16 safe;

  /* The reference's order: below lo first, then above hi; a NaN passes both. */
  if (clamp)
    {
      v = _mm512_mask_mov_ps (v, _mm512_cmp_ps_mask (x, k->hi, _CMP_GT_OQ), k->hi);
      v = _mm512_mask_mov_ps (v, _mm512_cmp_ps_mask (x, k->lo, _CMP_LT_OQ), k->lo);
    }
  t = _mm512_fmadd_ps (v, k->inv, k->zero_point);
  n = _mm512_cvtps_epi32 (t);
  e = _mm512_fmadd_ps (_mm512_abs_ps (t), k->bound, _mm512_abs_ps (_mm512_sub_ps (t, _mm512_cvtepi32_ps (n))));
  safe = _mm512_cmp_ps_mask (e, k->limit, _CMP_LT_OQ);
  if (__builtin_expect (safe != 0xFFFF, 0))
    {
      __m512 r = _mm512_roundscale_ps (_mm512_add_ps (_mm512_div_ps (v, k->scale), k->zero_point),
                                       _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);

      return _mm512_cvttps_epi32 (_mm512_min_ps (_mm512_max_ps (r, k->code_min), k->code_max));
    }
  if (!saturated)
    n = _mm512_min_epi32 (_mm512_max_epi32 (n, k->int_min), k->int_max);
  return n;
}

static inline __attribute__ ((always_inline)) void
quantize_real (const QsRealQuant *p,
               const float       *r,
               size_t             count,
               uint8_t           *out,
               bool               clamp,
               bool               full)
{
  /* The packs interleave 128-bit lanes: dword 4 l + j of their result
   * holds codes 4 l .. 4 l + 3 of vector j. */
  const __m512i order = _mm512_setr_epi32 (0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  Consts k = {
    .lo = _mm512_set1_ps (p->lo), .hi = _mm512_set1_ps (p->hi),
    .scale = _mm512_set1_ps (p->scale), .inv = _mm512_set1_ps (1.0f / p->scale),
    .zero_point = _mm512_set1_ps (p->zero_point), .bound = _mm512_set1_ps (BOUND),
    .limit = _mm512_set1_ps (0.5f - BOUND * (fabsf (p->zero_point) + 1.0f)),
    .code_min = _mm512_set1_ps ((float) p->code_min), .code_max = _mm512_set1_ps ((float) p->code_max),
    .int_min = _mm512_set1_epi32 (p->code_min), .int_max = _mm512_set1_epi32 (p->code_max),
  };
  size_t i = 0;

  for (; i + 64 <= count; i += 64)
    {
      __m512i c0 = codes16 (&k, _mm512_loadu_ps (r + i), clamp, full);
      __m512i c1 = codes16 (&k, _mm512_loadu_ps (r + i + 16), clamp, full);
      __m512i c2 = codes16 (&k, _mm512_loadu_ps (r + i + 32), clamp, full);
      __m512i c3 = codes16 (&k, _mm512_loadu_ps (r + i + 48), clamp, full);
      __m512i bytes = _mm512_packus_epi16 (_mm512_packs_epi32 (c0, c1), _mm512_packs_epi32 (c2, c3));

      _mm512_storeu_si512 (out + i, _mm512_permutexvar_epi32 (order, bytes));
    }
  for (; i < count; i += 16)
    {
      __mmask16 lanes = tail_mask (count - i);

      _mm512_mask_cvtusepi32_storeu_epi8 (out + i, lanes,
                                          codes16 (&k, _mm512_maskz_loadu_ps (lanes, r + i), clamp, false));
    }
}

void
qs_quantize_real_u8_avx512 (const QsRealQuant *p,
                            const float       *r,
                            size_t             count,
                            uint8_t           *out)
{
  bool full = p->code_min == 0 && p->code_max == 255;

  if (p->lo == -INFINITY && p->hi == INFINITY)
    {
      if (full)
        quantize_real (p, r, count, out, false, true);
      else
        quantize_real (p, r, count, out, false, false);
    }
  else if (full)
    quantize_real (p, r, count, out, true, true);
  else
    quantize_real (p, r, count, out, true, false);
}

void
qs_dequantize_u8_avx512 (float          scale,
                         float          zero_point,
                         const uint8_t *codes,
                         size_t         count,
                         float         *x)
{
  const __m512 s = _mm512_set1_ps (scale), z = _mm512_set1_ps (zero_point);

  for (size_t i = 0; i < count; i += 16)
    {
      __mmask16 lanes = tail_mask (count - i);
      __m512 c = _mm512_cvtepi32_ps (_mm512_cvtepu8_epi32 (_mm_maskz_loadu_epi8 (lanes, codes + i)));
      __m512 real = _mm512_mul_ps (_mm512_sub_ps (c, z), s);

      if (lanes == 0xFFFF)
        _mm512_storeu_ps (x + i, real);
      else
        _mm512_mask_storeu_ps (x + i, lanes, real);
    }
}
